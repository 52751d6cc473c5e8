package loop_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"testing/synctest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aio-go/aio/future"
	"github.com/aio-go/aio/loop"
)

// TestTaskResultCannotBeForged: SetResult or SetError through a running
// task's embedded future used to complete it, so awaiters got the forged
// outcome and the body's real result was dropped (asyncio's Task.set_result
// raises). Now they panic, and the task's readers see the body's result.
func TestTaskResultCannotBeForged(t *testing.T) {
	errForged := errors.New("forged")
	forgers := []struct {
		name  string
		forge func(tk *loop.Task[int]) bool
	}{
		{"SetResult", func(tk *loop.Task[int]) bool { return tk.SetResult(7) }},
		{"SetError", func(tk *loop.Task[int]) bool { return tk.SetError(errForged) }},
	}
	type outcome struct {
		v   int
		err error
	}
	for _, fc := range forgers {
		t.Run(fc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				l := loop.New()
				release := future.New[struct{}](l)
				tk := loop.Spawn(l, func(co *loop.Coro) (int, error) {
					_, err := loop.Await(co, release)
					return 42, err
				})
				var awaited outcome
				awaiter := loop.Spawn(l, func(co *loop.Coro) (struct{}, error) {
					awaited.v, awaited.err = loop.Await(co, tk.Future)
					return struct{}{}, nil
				})
				var called outcome
				tk.AddDoneCallback(func(f *future.Future[int]) { called.v, called.err = f.Result() })
				waited := make(chan outcome, 1)
				go func() {
					v, err := tk.Wait(context.Background())
					waited <- outcome{v, err}
				}()
				synctest.Wait() // the waiter is blocked in Wait, its callback handed in

				var forged any
				var doneAfter bool
				var pending error
				l.CallSoon(func() {
					// Both tasks have run their first step: tk waits on release.
					forged = catch(func() { fc.forge(tk) })
					doneAfter = tk.Done()
					_, pending = tk.Result()
					release.SetResult(struct{}{})
				})
				v, err := loop.RunUntilComplete(l, tk.Future)
				_, _ = loop.RunUntilComplete(l, awaiter.Future)

				perr, ok := forged.(error)
				require.Truef(t, ok, "%s on a running task: panic value %v (%T), want an error", fc.name, forged, forged)
				assert.ErrorIs(t, perr, future.ErrInvalidState)
				assert.True(t, strings.HasPrefix(perr.Error(), "future: "+fc.name+":"), "message %q", perr.Error())
				assert.False(t, doneAfter, "the forging call completed the task")
				assert.ErrorIs(t, pending, future.ErrInvalidState, "Result of the running task")

				want := outcome{42, nil}
				assert.Equal(t, want, outcome{v, err}, "RunUntilComplete")
				assert.Equal(t, want, awaited, "Await")
				assert.Equal(t, want, called, "AddDoneCallback")
				assert.Equal(t, want, <-waited, "Wait")
				assert.True(t, tk.Done())
				assert.False(t, tk.Cancelled())

				// Once the task is done, it is done: nothing changes it.
				assert.False(t, fc.forge(tk))
				v, err = tk.Result()
				assert.Equal(t, want, outcome{v, err})
				require.NoError(t, l.Close())
			})
		})
	}
}

// TestTaskFutureCancelAsksTheTask: cancelling the task's future of an owned
// task is still the task's Cancel: the body sees the cancellation at its
// await and decides how the task ends.
func TestTaskFutureCancelAsksTheTask(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := loop.New()
		var seen error
		tk := loop.Spawn(l, func(co *loop.Coro) (int, error) {
			seen = loop.Sleep(co, 1<<40)
			return 5, nil // the body absorbs the cancellation
		})
		var cancelled bool
		l.CallSoon(func() { cancelled = tk.Future.Cancel() })
		v, err := loop.RunUntilComplete(l, tk.Future)
		assert.True(t, cancelled, "Cancel reports the request")
		assert.ErrorIs(t, seen, future.ErrCancelled)
		assert.NoError(t, err)
		assert.Equal(t, 5, v)
		require.NoError(t, l.Close())
	})
}
