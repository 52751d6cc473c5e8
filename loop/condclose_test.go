package loop_test

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aio-go/aio/loop"
)

// Regression: Close made Condition.Wait return ErrClosed without the lock,
// so the usual Acquire / defer Release / Wait released another task's lock,
// and that task's own deferred Release then panicked.
func TestConditionWaitAtCloseKeepsReleasesHarmless(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := loop.New()
		var c loop.Condition
		waiter := loop.Spawn(l, func(co *loop.Coro) (int, error) {
			if err := c.Acquire(co); err != nil {
				return 0, err
			}
			defer c.Release()
			return 0, c.Wait(co)
		})
		holder := loop.Spawn(l, func(co *loop.Coro) (int, error) {
			if err := c.Acquire(co); err != nil {
				return 0, err
			}
			defer c.Release()
			return 0, loop.Sleep(co, time.Hour)
		})
		l.CallLater(time.Second, l.Stop)
		require.NoError(t, l.RunForever())
		require.NoError(t, l.Close())
		for _, tk := range []*loop.Task[int]{waiter, holder} {
			var pe *loop.PanicError
			assert.NotErrorAs(t, tk.Err(), &pe, "%s", tk)
			assert.ErrorIs(t, tk.Err(), loop.ErrClosed)
		}
		assert.False(t, c.Locked())
	})
}
