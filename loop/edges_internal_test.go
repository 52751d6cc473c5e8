package loop

import (
	"testing"
	"testing/synctest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Regression: Close counted the loop's own notifications (reports of
// collected futures, executor results) as discarded callbacks of the
// program's, reporting thousands when the program scheduled nothing.
func TestCloseDoesNotCountInternalCallbacks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		reports := 0
		l := New(WithExceptionHandler(func(ExceptionContext) { reports++ }))
		for range 2000 {
			require.True(t, l.callSoonQuietly(func() {}))
		}
		require.NoError(t, l.Close())
		assert.Zero(t, l.Stats().Discarded)
		assert.Zero(t, reports)
	})
}
