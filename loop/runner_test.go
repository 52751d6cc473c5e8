package loop_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aio-go/aio/future"
	"github.com/aio-go/aio/loop"
)

// collectExceptions returns an exception handler option and the slice it
// appends to (on the loop goroutine; read it after Run returns).
func collectExceptions() (loop.Option, *[]loop.ExceptionContext) {
	var excs []loop.ExceptionContext
	return loop.WithExceptionHandler(func(c loop.ExceptionContext) { excs = append(excs, c) }), &excs
}

func TestRunReturnsResult(t *testing.T) {
	errBad := errors.New("bad")
	synctest.Test(t, func(t *testing.T) {
		handler, excs := collectExceptions()
		v, err := loop.Run(context.Background(), func(co *loop.Coro) (int, error) {
			child := loop.Spawn(co.Loop(), func(co *loop.Coro) (int, error) {
				return 21, loop.Sleep(co, 10*time.Millisecond)
			})
			v, err := child.Await(co)
			return 2 * v, err
		}, handler)
		assert.NoError(t, err)
		assert.Equal(t, 42, v)

		_, err = loop.Run(context.Background(), func(*loop.Coro) (int, error) { return 0, errBad }, handler)
		assert.ErrorIs(t, err, errBad)
		assert.Empty(t, *excs, "the main task's error is returned, not reported")
	})
}

// TestRunCancelsLeftoverTasks: tasks still running when the body returns
// are cancelled and run to their end before Run returns; the loop is closed
// and no goroutine is left (the bubble would fail the test otherwise).
func TestRunCancelsLeftoverTasks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		handler, excs := collectExceptions()
		start := time.Now()
		var l *loop.Loop
		var waiter, sleeper, cleaner, swallower *loop.Task[int]
		var cleaned bool
		v, err := loop.Run(context.Background(), func(co *loop.Coro) (int, error) {
			l = co.Loop()
			never := future.New[int](l)
			waiter = loop.Spawn(l, func(co *loop.Coro) (int, error) { return loop.Await(co, never) })
			sleeper = loop.Spawn(l, func(co *loop.Coro) (int, error) { return 0, loop.Sleep(co, time.Hour) })
			cleaner = loop.Spawn(l, func(co *loop.Coro) (int, error) {
				err := loop.Sleep(co, time.Hour)
				if cerr := loop.Sleep(co, 10*time.Millisecond); cerr != nil {
					return 0, cerr
				}
				cleaned = true
				return 0, err
			})
			swallower = loop.Spawn(l, func(co *loop.Coro) (int, error) {
				_ = loop.Sleep(co, time.Hour)
				return 3, nil
			})
			return 1, loop.Sleep(co, 0)
		}, handler)
		require.NoError(t, err)
		assert.Equal(t, 1, v)

		assert.True(t, l.IsClosed())
		for _, tk := range []*loop.Task[int]{waiter, sleeper, cleaner} {
			assert.True(t, tk.Cancelled(), tk.Name())
			assert.Equal(t, 1, tk.Cancelling(), tk.Name())
		}
		assert.True(t, cleaned, "a task's cleanup after the cancellation runs")
		s, err := swallower.Result()
		assert.NoError(t, err)
		assert.Equal(t, 3, s, "a task that swallows the cancellation finishes with its result")
		assert.Equal(t, 10*time.Millisecond, time.Since(start), "cancelled sleeps end at once, cleanup takes its time")
		assert.Empty(t, *excs)
	})
}

func TestRunPanickingMain(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var left *loop.Task[int]
		_, err := loop.Run(context.Background(), func(co *loop.Coro) (int, error) {
			left = loop.Spawn(co.Loop(), func(co *loop.Coro) (int, error) { return 0, loop.Sleep(co, time.Hour) })
			_ = loop.Sleep(co, 0)
			explode("main")
			return 1, nil
		})
		var pe *loop.PanicError
		require.ErrorAs(t, err, &pe)
		assert.Equal(t, "main", pe.Value)
		assert.Contains(t, string(pe.Stack), "loop_test.explode")
		assert.True(t, left.Cancelled(), "the other tasks are still cancelled")
	})
}

// TestRunReportsLeftoverFailure: a leftover task that fails with something
// other than a cancellation while Run cancels it is reported once, through
// the exception handler, with a message and the task.
func TestRunReportsLeftoverFailure(t *testing.T) {
	errCleanup := errors.New("cleanup failed")
	synctest.Test(t, func(t *testing.T) {
		handler, excs := collectExceptions()
		var failing *loop.Task[int]
		v, err := loop.Run(context.Background(), func(co *loop.Coro) (int, error) {
			failing = loop.SpawnNamed(co.Loop(), "failing", func(co *loop.Coro) (int, error) {
				_ = loop.Sleep(co, time.Hour)
				return 0, errCleanup
			})
			return 1, loop.Sleep(co, 0)
		}, handler)
		require.NoError(t, err)
		assert.Equal(t, 1, v)
		require.Len(t, *excs, 1)
		exc := (*excs)[0]
		assert.NotEmpty(t, exc.Message)
		assert.ErrorIs(t, exc.Err, errCleanup)
		require.NotNil(t, exc.Task)
		assert.Contains(t, exc.Task.String(), "failing")
		assert.False(t, failing.Cancelled())
	})
}

func TestRunContextCancelledMidRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		started := make(chan struct{})
		go func() {
			<-started
			cancel()
		}()
		start := time.Now()
		var sleepErr error
		_, err := loop.Run(ctx, func(co *loop.Coro) (int, error) {
			close(started)
			sleepErr = loop.Sleep(co, time.Hour)
			return 0, sleepErr
		})
		assert.ErrorIs(t, err, context.Canceled)
		assert.ErrorIs(t, err, future.ErrCancelled)
		assert.ErrorIs(t, sleepErr, context.Canceled, "the body sees the cancellation")
		assert.Zero(t, time.Since(start))
	})
}

func TestRunContextDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := loop.Run(ctx, func(co *loop.Coro) (int, error) { return 0, loop.Sleep(co, time.Hour) })
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		assert.ErrorIs(t, err, future.ErrCancelled)
		assert.Equal(t, 50*time.Millisecond, time.Since(start))
	})
}

// TestRunContextAlreadyCancelled: with ctx done before Run, the body never
// runs. Repeated, because the cancellation must not race the first step.
func TestRunContextAlreadyCancelled(t *testing.T) {
	const runs = 50
	ran, notCancelled := 0, 0
	for range runs {
		synctest.Test(t, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			_, err := loop.Run(ctx, func(*loop.Coro) (int, error) { ran++; return 1, nil })
			if !errors.Is(err, context.Canceled) || !errors.Is(err, future.ErrCancelled) {
				notCancelled++
			}
		})
	}
	assert.Zero(t, ran, "bodies that ran, out of %d", runs)
	assert.Zero(t, notCancelled, "Runs that did not return the cancellation, out of %d", runs)
}

// TestRunWaitsForExecutor: executor work still running when the body
// returns is waited for, and its result is delivered, before Run returns.
func TestRunWaitsForExecutor(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var finished, jobCtxDone atomic.Bool
		delivered := 0
		v, err := loop.Run(context.Background(), func(co *loop.Coro) (int, error) {
			f := loop.RunInExecutor(co.Loop(), func(ctx context.Context) (int, error) {
				time.Sleep(time.Second)
				finished.Store(true)
				jobCtxDone.Store(ctx.Err() != nil)
				return 5, nil
			})
			f.AddDoneCallback(func(f *future.Future[int]) {
				if v, err := f.Result(); err == nil && v == 5 {
					delivered++
				}
			})
			return 1, nil
		})
		require.NoError(t, err)
		assert.Equal(t, 1, v)
		assert.True(t, finished.Load())
		assert.False(t, jobCtxDone.Load(), "the job's ctx is not cancelled")
		assert.Equal(t, 1, delivered, "the result reaches its done-callback")
	})
}

func TestRunStoppedFromInside(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var main loop.AnyTask
		_, err := loop.Run(context.Background(), func(co *loop.Coro) (int, error) {
			main = loop.CurrentTask(co.Loop())
			co.Loop().Stop()
			return 0, loop.Sleep(co, time.Hour)
		})
		assert.ErrorIs(t, err, loop.ErrStoppedEarly)
		assert.True(t, main.Done())
		assert.True(t, main.Cancelled())
	})
}
