package loop_test

import (
	"errors"
	"testing"
	"testing/synctest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aio-go/aio/future"
	"github.com/aio-go/aio/loop"
)

// Regression: cancelling one of two tasks that await each other recursed
// (task cancel → awaited task's future → that task's cancel → ...) until
// the process died of a stack overflow.
func TestCancelAwaitCycleDoesNotOverflow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := loop.New()
		var a, b *loop.Task[int]
		a = loop.Spawn(l, func(co *loop.Coro) (int, error) { return b.Await(co) })
		b = loop.Spawn(l, func(co *loop.Coro) (int, error) { return a.Await(co) })
		var cancelled bool
		l.CallSoon(func() {
			l.CallSoon(func() {
				cancelled = a.Cancel()
				l.Stop()
			})
		})
		require.NoError(t, l.RunForever())
		assert.True(t, cancelled)
		// The request went around the cycle once and came back to a, where
		// the guard ended it.
		assert.Equal(t, 2, a.Cancelling())
		assert.Equal(t, 1, b.Cancelling())
		require.NoError(t, l.Close())
		for _, tk := range []*loop.Task[int]{a, b} {
			assert.True(t, tk.Done())
			assert.True(t, errors.Is(tk.Err(), future.ErrCancelled), "%v", tk.Err())
		}
	})
}
