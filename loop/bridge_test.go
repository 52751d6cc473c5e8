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

// startSignal returns a channel that a job sends on once, and its receive side
// for FromChan.
func startSignal() (chan struct{}, <-chan struct{}) {
	ch := make(chan struct{}, 1)
	return ch, ch
}

func TestExecutorDeliversOnLoop(t *testing.T) {
	errBad := errors.New("bad")
	synctest.Test(t, func(t *testing.T) {
		l := loop.New()
		var jobOnLoop atomic.Bool
		jobOnLoop.Store(true)
		good := loop.RunInExecutor(l, func(context.Context) (int, error) {
			jobOnLoop.Store(l.OnLoop())
			return 42, nil
		})
		bad := loop.RunInExecutor(l, func(context.Context) (int, error) { return 0, errBad })
		type delivery struct {
			onLoop bool
			v      int
			err    error
		}
		got := map[string]delivery{}
		for name, f := range map[string]*future.Future[int]{"good": good, "bad": bad} {
			f.AddDoneCallback(func(f *future.Future[int]) {
				v, err := f.Result()
				got[name] = delivery{l.OnLoop(), v, err}
			})
		}
		_, err := loop.RunUntilComplete(l, loop.GatherSettled(l, good, bad))
		require.NoError(t, err)
		require.NoError(t, l.Close())

		assert.False(t, jobOnLoop.Load(), "the job runs off the loop goroutine")
		assert.Equal(t, delivery{true, 42, nil}, got["good"])
		assert.True(t, got["bad"].onLoop)
		assert.ErrorIs(t, got["bad"].err, errBad)
	})
}

func TestExecutorCancelCancelsJobContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := loop.New(quiet())
		started, startedRx := startSignal()
		jobErr := make(chan error, 1)
		var f *future.Future[int]
		var cancelled bool
		var awaitErr error
		main := loop.Spawn(l, func(co *loop.Coro) (int, error) {
			f = loop.RunInExecutor(l, func(ctx context.Context) (int, error) {
				started <- struct{}{}
				<-ctx.Done()
				jobErr <- ctx.Err()
				return 0, ctx.Err()
			})
			if _, err := loop.Await(co, loop.FromChan(l, startedRx)); err != nil {
				return 0, err
			}
			cancelled = f.Cancel()
			_, awaitErr = loop.Await(co, f)
			return 0, nil
		})
		_, err := loop.RunUntilComplete(l, main.Future)
		require.NoError(t, err)
		assert.ErrorIs(t, <-jobErr, context.Canceled, "the job's ctx is cancelled with the future, before Close")
		assert.True(t, cancelled)
		assert.True(t, f.Cancelled())
		assert.ErrorIs(t, awaitErr, future.ErrCancelled)
		require.NoError(t, l.Close())
	})
}

func TestExecutorCancelledJobNeverRuns(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := loop.New(loop.WithWorkers(1))
		release := make(chan struct{})
		var secondRan atomic.Bool
		first := loop.RunInExecutor(l, func(context.Context) (int, error) { <-release; return 1, nil })
		second := loop.RunInExecutor(l, func(context.Context) (int, error) { secondRan.Store(true); return 2, nil })
		third := loop.RunInExecutor(l, func(context.Context) (int, error) { return 3, nil })
		var cancelled bool
		var results []int
		main := loop.Spawn(l, func(co *loop.Coro) (int, error) {
			cancelled = second.Cancel()
			close(release)
			for _, f := range []*future.Future[int]{first, third} {
				v, err := loop.Await(co, f)
				if err != nil {
					return 0, err
				}
				results = append(results, v)
			}
			return 0, nil
		})
		_, err := loop.RunUntilComplete(l, main.Future)
		require.NoError(t, err)
		require.NoError(t, l.Close())
		assert.True(t, cancelled)
		assert.True(t, second.Cancelled())
		assert.False(t, secondRan.Load(), "a job cancelled while queued never runs")
		assert.Equal(t, []int{1, 3}, results, "the worker goes on with the next job")
	})
}

func TestExecutorPanic(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := loop.New()
		f := loop.RunInExecutor(l, func(context.Context) (int, error) { explode("job"); return 1, nil })
		_, err := loop.RunUntilComplete(l, f)
		var pe *loop.PanicError
		require.ErrorAs(t, err, &pe)
		assert.Equal(t, "job", pe.Value)
		assert.Contains(t, string(pe.Stack), "loop_test.explode")
		require.NoError(t, l.Close())
	})
}

func TestExecutorWorkerLimit(t *testing.T) {
	const workers, jobs = 3, 10
	synctest.Test(t, func(t *testing.T) {
		l := loop.New(loop.WithWorkers(workers))
		var running, most atomic.Int32
		fs := make([]*future.Future[int], jobs)
		for i := range fs {
			fs[i] = loop.RunInExecutor(l, func(context.Context) (int, error) {
				n := running.Add(1)
				for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
				}
				time.Sleep(time.Millisecond)
				running.Add(-1)
				return i, nil
			})
		}
		got, err := loop.RunUntilComplete(l, loop.Gather(l, fs...))
		require.NoError(t, err)
		require.NoError(t, l.Close())
		assert.Equal(t, []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, got)
		assert.Equal(t, int32(workers), most.Load(), "at most WithWorkers jobs run at once, and that many do")
	})
}

// TestExecutorClose: Close waits for the running job (after cancelling its
// ctx) and cancels the queued job's future with ErrClosed without running
// it. The running job's future stays pending; Wait on it reports ErrClosed.
func TestExecutorClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := loop.New(loop.WithWorkers(1), quiet())
		started, startedRx := startSignal()
		var finished, queuedRan atomic.Bool
		running := loop.RunInExecutor(l, func(ctx context.Context) (int, error) {
			started <- struct{}{}
			<-ctx.Done()
			time.Sleep(time.Second)
			finished.Store(true)
			return 0, ctx.Err()
		})
		queued := loop.RunInExecutor(l, func(context.Context) (int, error) { queuedRan.Store(true); return 0, nil })
		_, err := loop.RunUntilComplete(l, loop.FromChan(l, startedRx))
		require.NoError(t, err)

		require.NoError(t, l.Close())
		assert.True(t, finished.Load(), "Close waits for the running job")
		assert.False(t, queuedRan.Load())
		assert.True(t, queued.Cancelled())
		assert.ErrorIs(t, queued.Err(), loop.ErrClosed)
		_, err = running.Wait(context.Background())
		assert.ErrorIs(t, err, loop.ErrClosed)
	})
}

func TestToThread(t *testing.T) {
	errBad := errors.New("bad")
	synctest.Test(t, func(t *testing.T) {
		l := loop.New(quiet())
		started, startedRx := startSignal()
		jobErr := make(chan error, 1)
		var v int
		var errOK, errBadGot, errCancelled error
		blocked := loop.Spawn(l, func(co *loop.Coro) (int, error) {
			_, errCancelled = loop.ToThread(co, func(ctx context.Context) (int, error) {
				started <- struct{}{}
				<-ctx.Done()
				jobErr <- ctx.Err()
				return 1, nil
			})
			return 0, errCancelled
		})
		main := loop.Spawn(l, func(co *loop.Coro) (int, error) {
			v, errOK = loop.ToThread(co, func(context.Context) (int, error) { return 42, nil })
			_, errBadGot = loop.ToThread(co, func(context.Context) (int, error) { return 0, errBad })
			if _, err := loop.Await(co, loop.FromChan(l, startedRx)); err != nil {
				return 0, err
			}
			blocked.Cancel()
			_, _ = blocked.Await(co)
			return 0, nil
		})
		_, err := loop.RunUntilComplete(l, main.Future)
		require.NoError(t, err)
		assert.ErrorIs(t, <-jobErr, context.Canceled, "cancelling the task cancels the job's ctx")
		require.NoError(t, l.Close())

		assert.NoError(t, errOK)
		assert.Equal(t, 42, v)
		assert.ErrorIs(t, errBadGot, errBad)
		assert.ErrorIs(t, errCancelled, future.ErrCancelled)
		assert.True(t, blocked.Cancelled())
	})
}

// runInBackground runs l on a goroutine of its own; the returned channel
// gets RunForever's error.
func runInBackground(l *loop.Loop) <-chan error {
	done := make(chan error, 1)
	go func() { done <- l.RunForever() }()
	return done
}

func TestSpawnThreadsafeWait(t *testing.T) {
	errBad := errors.New("bad")
	synctest.Test(t, func(t *testing.T) {
		l := loop.New()
		ran := runInBackground(l)
		ctx := context.Background()

		ok, err := loop.SpawnThreadsafe(l, func(co *loop.Coro) (int, error) {
			if err := loop.Sleep(co, 10*time.Millisecond); err != nil {
				return 0, err
			}
			return 42, nil
		})
		require.NoError(t, err)
		bad, err := loop.SpawnThreadsafe(l, func(*loop.Coro) (int, error) { return 0, errBad })
		require.NoError(t, err)

		v, err := ok.Wait(ctx)
		assert.NoError(t, err)
		assert.Equal(t, 42, v)
		_, err = bad.Wait(ctx)
		assert.ErrorIs(t, err, errBad)

		short, cancel := context.WithTimeout(ctx, time.Millisecond)
		defer cancel()
		slow, err := loop.SpawnThreadsafe(l, func(co *loop.Coro) (int, error) { return 7, loop.Sleep(co, time.Second) })
		require.NoError(t, err)
		_, err = slow.Wait(short)
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		v, err = slow.Wait(ctx)
		assert.NoError(t, err, "a Wait that gives up does not cancel the task")
		assert.Equal(t, 7, v)

		require.NoError(t, l.Shutdown(ctx))
		require.NoError(t, <-ran)
	})
}

func TestCancelThreadsafe(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := loop.New()
		ran := runInBackground(l)
		started := make(chan struct{})
		var sleepErr error
		var tk loop.AnyTask
		f, err := loop.SpawnThreadsafe(l, func(co *loop.Coro) (int, error) {
			tk = loop.CurrentTask(l)
			close(started)
			sleepErr = loop.Sleep(co, time.Hour)
			return 0, sleepErr
		})
		require.NoError(t, err)
		<-started
		require.NoError(t, loop.CancelThreadsafe(l, f))
		_, err = f.Wait(context.Background())
		assert.ErrorIs(t, err, future.ErrCancelled)
		assert.True(t, f.Cancelled())

		require.NoError(t, l.Shutdown(context.Background()))
		require.NoError(t, <-ran)
		assert.ErrorIs(t, sleepErr, future.ErrCancelled)
		assert.True(t, tk.Cancelled(), "the task itself is cancelled")
		assert.ErrorIs(t, loop.CancelThreadsafe(l, f), loop.ErrClosed)
	})
}

func TestSpawnThreadsafeAfterClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := loop.New()
		require.NoError(t, l.Close())
		f, err := loop.SpawnThreadsafe(l, func(*loop.Coro) (int, error) { return 1, nil })
		assert.ErrorIs(t, err, loop.ErrClosed)
		assert.Nil(t, f)
	})
}

func TestFromChan(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := loop.New()
		ready := make(chan int, 1)
		ready <- 5
		later := make(chan int)
		closed := make(chan int)
		close(closed)
		fReady, fLater, fClosed := loop.FromChan(l, ready), loop.FromChan(l, later), loop.FromChan(l, closed)
		go func() { later <- 6 }()

		got, err := loop.RunUntilComplete(l, loop.GatherSettled(l, fReady, fLater, fClosed))
		require.NoError(t, err)
		require.NoError(t, l.Close())
		assert.Equal(t, loop.Outcome[int]{Value: 5}, got[0])
		assert.Equal(t, loop.Outcome[int]{Value: 6}, got[1])
		assert.ErrorIs(t, got[2].Err, loop.ErrChanClosed)
	})
}

// fromChanCancelThenSend cancels a FromChan future on the loop and, right
// after Cancel returns, sends a value; it reports whether the value is still
// in the channel once the loop is closed. parked says whether the receiving
// goroutine is already waiting on the channel when the loop runs.
func fromChanCancelThenSend(t *testing.T, parked bool) bool {
	l := loop.New(quiet())
	ch := make(chan int, 1)
	f := loop.FromChan(l, ch)
	if parked {
		synctest.Wait()
	}
	var cancelled bool
	l.CallSoon(func() {
		cancelled = f.Cancel()
		ch <- 7
		l.Stop()
	})
	require.NoError(t, l.RunForever())
	require.NoError(t, l.Close())
	require.True(t, cancelled)
	assert.ErrorIs(t, f.Err(), future.ErrCancelled)
	return len(ch) == 1
}

// TestFromChanCancelLeavesValue: a value sent after the future was
// cancelled stays in the channel.
func TestFromChanCancelLeavesValue(t *testing.T) {
	t.Run("receiver waiting", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			assert.True(t, fromChanCancelThenSend(t, true))
		})
	})
	// The receiving goroutine may not have reached its receive yet when
	// the future is cancelled; the value sent afterwards must not be taken
	// then either.
	t.Run("receiver not yet waiting", func(t *testing.T) {
		const runs = 100
		lost := 0
		for range runs {
			synctest.Test(t, func(t *testing.T) {
				if !fromChanCancelThenSend(t, false) {
					lost++
				}
			})
		}
		assert.Zero(t, lost, "values taken from the channel after Cancel, out of %d", runs)
	})
}

// TestFromChanClose: Close stops the goroutine waiting on the channel
// (the bubble and goleak would find it otherwise) and cancels the future
// with ErrClosed, so that no waiter waits forever.
func TestFromChanClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := loop.New()
		ch := make(chan int)
		f := loop.FromChan(l, ch)
		require.NoError(t, l.Close())
		assert.True(t, f.Cancelled())
		_, err := f.Wait(context.Background())
		assert.ErrorIs(t, err, loop.ErrClosed)
	})
}
