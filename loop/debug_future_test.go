package loop_test

import (
	"errors"
	"strings"
	"testing"
	"testing/synctest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aio-go/aio/future"
	"github.com/aio-go/aio/loop"
)

// TestDebugFutureWrongGoroutine: a future completed or given a callback
// from another goroutine while a debug loop ran used to go unnoticed, a
// data race on the future's state. Debug mode now panics with
// ErrWrongGoroutine, as for the loop's own loop-only methods, before the
// future changes.
func TestDebugFutureWrongGoroutine(t *testing.T) {
	calls := []struct {
		op   string
		call func(f *future.Future[int], ran *bool)
	}{
		{"Future.SetResult", func(f *future.Future[int], _ *bool) { f.SetResult(7) }},
		{"Future.SetError", func(f *future.Future[int], _ *bool) { f.SetError(errors.New("boom")) }},
		{"Future.Cancel", func(f *future.Future[int], _ *bool) { f.Cancel() }},
		{"Future.CancelWithCause", func(f *future.Future[int], _ *bool) { f.CancelWithCause(errors.New("why")) }},
		{"Future.AddDoneCallback", func(f *future.Future[int], ran *bool) {
			f.AddDoneCallback(func(*future.Future[int]) { *ran = true })
		}},
		{"Future.AddDoneFunc", func(f *future.Future[int], ran *bool) { f.AddDoneFunc(func() { *ran = true }) }},
	}
	for _, c := range calls {
		t.Run(c.op, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				l := loop.New(loop.WithDebug(true))
				f := future.New[int](l)
				var got any
				var doneAfter, completed, ran bool
				l.CallSoon(func() {
					res := make(chan any)
					go func() { res <- catch(func() { c.call(f, &ran) }) }()
					got = <-res
					doneAfter = f.Done()
					completed = f.SetResult(1) // on the loop goroutine: allowed
					l.CallSoon(l.Stop)
				})
				require.NoError(t, l.RunForever())
				err, ok := got.(error)
				require.Truef(t, ok, "%s from another goroutine: panic value %v (%T), want an error", c.op, got, got)
				assert.ErrorIs(t, err, loop.ErrWrongGoroutine)
				assert.True(t, strings.HasPrefix(err.Error(), "loop: "+c.op+":"), "message %q", err.Error())
				assert.False(t, doneAfter, "the future changed")
				assert.True(t, completed, "the future was left pending")
				assert.False(t, ran, "the callback was registered")
				v, rerr := f.Result()
				assert.NoError(t, rerr)
				assert.Equal(t, 1, v)
				require.NoError(t, l.Close())
			})
		})
	}
}

// TestDebugFutureFromTaskBody: a task body runs loop code too: in debug
// mode it completes futures and adds callbacks without a panic.
func TestDebugFutureFromTaskBody(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := loop.New(loop.WithDebug(true))
		f := future.New[int](l)
		var ran bool
		tk := loop.Spawn(l, func(co *loop.Coro) (int, error) {
			if err := loop.Sleep(co, 0); err != nil {
				return 0, err
			}
			f.AddDoneCallback(func(*future.Future[int]) { ran = true })
			f.SetResult(3)
			return loop.Await(co, f)
		})
		v, err := loop.RunUntilComplete(l, tk.Future)
		require.NoError(t, err)
		assert.Equal(t, 3, v)
		assert.True(t, ran)
		require.NoError(t, l.Close())
	})
}
