package main

import (
	"testing"
	"time"

	"github.com/aio-go/aio/examples/internal/exampletest"
	"github.com/stretchr/testify/assert"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestRun runs the program in a synctest bubble: the fetches' delays pass in
// virtual time, so the fetches run concurrently (30ms for three, not 60ms)
// and the failing gather returns at 10ms.
func TestRun(t *testing.T) {
	lines, took := exampletest.InBubble(t, run)
	assert.Equal(t, 40*time.Millisecond, took)
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
	}, lines)
}
