package main

import (
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestRun runs the program in a synctest bubble: the fetches' delays pass in
// virtual time, so the fetches run concurrently (30ms for three, not 60ms)
// and the failing gather returns at 10ms.
func TestRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var out strings.Builder
		start := time.Now()
		require.NoError(t, run(&out))
		assert.Equal(t, 40*time.Millisecond, time.Since(start))
		assert.Equal(t, []string{
			"-- three fetches at once --",
			"t=10ms  pen: 300, <nil>",
			"t=20ms  lamp: 2700, <nil>",
			"t=30ms  book: 1250, <nil>",
			"t=30ms  gathered [1250 300 2700]: argument order, after the slowest",
			"-- one fetch fails --",
			"t=10ms  pen: 0, out of stock",
			"t=10ms  gather failed fast: out of stock",
			"t=10ms  still running: book true, lamp true; cancelling them",
			"t=10ms  child 0: 0, future: cancelled",
			"t=10ms  child 1: 0, out of stock",
			"t=10ms  child 2: 0, future: cancelled",
		}, strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n"))
	})
}
