// Package exampletest runs an example program's run func in the tests of
// examples/.
package exampletest

import (
	"io"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"
)

// InBubble runs run in a synctest bubble, where its sleeps and timers pass
// in virtual time, and returns the lines it wrote and the virtual time it
// took. It fails the test if run returns an error.
func InBubble(t *testing.T, run func(io.Writer) error) (lines []string, took time.Duration) {
	t.Helper()
	synctest.Test(t, func(t *testing.T) {
		var out strings.Builder
		start := time.Now()
		require.NoError(t, run(&out))
		took = time.Since(start)
		lines = strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	})
	return lines, took
}
