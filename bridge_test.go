package aio_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aio-go/aio/future"
	"github.com/aio-go/aio/loop"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Goroutines feed a task through CallSoonThreadsafe while the task also
// awaits values received from channels (FromChan): a configuration that
// arrives first, a closed channel, and a receive cancelled before its value
// was sent, which leaves the value in the channel.
func TestThreadsafeProducersAndChannelFutures(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const producers, perProducer = 4, 50
		type item struct{ p, i int }
		l := loop.New()
		var q loop.Queue[item]
		start := make(chan struct{})
		config := make(chan string)
		var wg sync.WaitGroup
		var refused atomic.Int32
		for p := range producers {
			wg.Go(func() {
				<-start
				for i := range perProducer {
					if _, err := l.CallSoonThreadsafe(func() { _ = q.PutNowait(item{p, i}) }); err != nil {
						refused.Add(1)
						return
					}
				}
			})
		}
		wg.Go(func() { config <- "gzip" })
		closedCh := make(chan int)
		close(closedCh)
		spare := make(chan int, 1)

		type result struct {
			config    string
			got       [][]int
			closedErr error
			cancelled bool
		}
		main := loop.Spawn(l, func(co *loop.Coro) (result, error) {
			var r result
			var err error
			if r.config, err = loop.Await(co, loop.FromChan(l, config)); err != nil {
				return r, err
			}
			close(start)
			r.got = make([][]int, producers)
			for range producers * perProducer {
				it, err := q.Get(co)
				if err != nil {
					return r, err
				}
				r.got[it.p] = append(r.got[it.p], it.i)
			}
			_, r.closedErr = loop.Await(co, loop.FromChan(l, closedCh))
			f := loop.FromChan(l, spare)
			r.cancelled = f.Cancel()
			spare <- 7 // nobody receives it any more
			return r, loop.Sleep(co, 0)
		})
		r, err := loop.RunUntilComplete(l, main.Future)
		wg.Wait()
		require.NoError(t, l.Close())
		require.NoError(t, err)

		assert.Equal(t, "gzip", r.config)
		want := make([]int, perProducer)
		for i := range want {
			want[i] = i
		}
		for p, got := range r.got {
			assert.Equal(t, want, got, "producer %d's callbacks ran out of order", p)
		}
		assert.Zero(t, refused.Load())
		assert.ErrorIs(t, r.closedErr, loop.ErrChanClosed)
		assert.True(t, r.cancelled)
		select {
		case v := <-spare:
			assert.Equal(t, 7, v, "the cancelled receive took the value")
		default:
			t.Error("the cancelled receive took the value sent after Cancel")
		}
	})
}

// Blocking work off the loop: ToThread computes a result; a task blocked in
// ToThread is cancelled and its function sees its context end; a job queued
// behind it on the single worker is cancelled and never runs; a panic comes
// back as a *PanicError; the executor keeps working afterwards.
func TestExecutorToThreadCancellation(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var queuedRan atomic.Bool
		type result struct {
			sum       int
			jobErr    error
			sawCtx    error
			queuedErr error
			panicErr  error
			after     string
		}
		r, lines, err := program(t, func(co *loop.Coro, tr *trace) (result, error) {
			l := co.Loop()
			var r result
			var err error
			r.sum, err = loop.ToThread(co, func(context.Context) (int, error) {
				s := 0
				for i := 1; i <= 1000; i++ {
					s += i
				}
				return s, nil
			})
			if err != nil {
				return r, err
			}
			started := make(chan struct{}, 1)
			sawCtx := make(chan error, 1)
			job := loop.Spawn(l, func(co *loop.Coro) (string, error) {
				return loop.ToThread(co, func(ctx context.Context) (string, error) {
					started <- struct{}{}
					<-ctx.Done()
					sawCtx <- ctx.Err()
					return "too late", nil
				})
			})
			if _, err := loop.Await(co, loop.FromChan(l, started)); err != nil {
				return r, err
			}
			tr.logf("job running")
			queued := loop.RunInExecutor(l, func(context.Context) (int, error) {
				queuedRan.Store(true)
				return 1, nil
			})
			queued.Cancel()
			job.Cancel()
			_, r.jobErr = job.Await(co)
			tr.logf("job: %s", outcome(r.jobErr))
			if r.sawCtx, err = loop.Await(co, loop.FromChan(l, sawCtx)); err != nil {
				return r, err
			}
			_, r.queuedErr = queued.Result()
			_, r.panicErr = loop.ToThread(co, func(context.Context) (int, error) { panic("disk on fire") })
			r.after, err = loop.ToThread(co, func(context.Context) (string, error) { return "still working", nil })
			return r, err
		}, loop.WithWorkers(1))
		require.NoError(t, err)
		assert.Equal(t, 500500, r.sum)
		assert.ErrorIs(t, r.jobErr, future.ErrCancelled)
		assert.ErrorIs(t, r.sawCtx, context.Canceled, "the function's context ends with the task")
		assert.ErrorIs(t, r.queuedErr, future.ErrCancelled)
		assert.False(t, queuedRan.Load(), "a job cancelled before it started ran")
		var pe *loop.PanicError
		require.ErrorAs(t, r.panicErr, &pe)
		assert.Equal(t, "disk on fire", pe.Value)
		assert.Equal(t, "still working", r.after)
		assert.Equal(t, []string{"0ms job running", "0ms job: cancelled"}, lines)
	})
}

// Debug mode catches a loop-only call made from another goroutine while the
// loop runs (asyncio's "Non-thread-safe operation invoked on an event loop
// other than the current one"), and a task body blocking in Future.Wait.
func TestDebugModeCatchesWrongGoroutine(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var ran []string
		type result struct{ callSoon, callLater, wait error }
		r, _, err := program(t, func(co *loop.Coro, tr *trace) (result, error) {
			l := co.Loop()
			var r result
			misuse := func(call func()) error {
				_, err := loop.ToThread(co, func(context.Context) (struct{}, error) {
					var err error
					func() {
						defer func() {
							if p := recover(); p != nil {
								err, _ = p.(error)
								if err == nil {
									err = errors.New("panic without an error")
								}
							}
						}()
						call()
					}()
					// The right way from a goroutine:
					if _, terr := l.CallSoonThreadsafe(func() { ran = append(ran, "threadsafe") }); terr != nil {
						return struct{}{}, terr
					}
					return struct{}{}, err
				})
				return err
			}
			r.callSoon = misuse(func() { l.CallSoon(func() { ran = append(ran, "CallSoon") }) })
			r.callLater = misuse(func() { l.CallLater(time.Millisecond, func() { ran = append(ran, "CallLater") }) })
			pending := future.New[int](l)
			_, r.wait = pending.Wait(context.Background())
			if err := loop.Sleep(co, 10*time.Millisecond); err != nil {
				return r, err
			}
			return r, nil
		}, loop.WithDebug(true))
		require.NoError(t, err)
		assert.ErrorIs(t, r.callSoon, loop.ErrWrongGoroutine)
		assert.ErrorIs(t, r.callLater, loop.ErrWrongGoroutine)
		assert.ErrorIs(t, r.wait, future.ErrWouldDeadlock)
		assert.Equal(t, []string{"threadsafe", "threadsafe"}, ran, "a refused call must not be scheduled")
	})
}

// Shutdown while goroutines are still submitting callbacks: every
// CallSoonThreadsafe that returned nil runs exactly once, the later ones
// return ErrClosed, the tasks are cancelled and finish their clean-up,
// Shutdown waits for the executor's job to notice its cancelled context,
// and a timer that never came due is dropped and counted, not reported.
func TestShutdownWhileProducersSubmit(t *testing.T) {
	const producers = 4
	var reports []string
	l := loop.New(loop.WithExceptionHandler(func(c loop.ExceptionContext) { reports = append(reports, c.Message) }))
	var (
		accepted [producers]atomic.Int64
		refusal  [producers]error
		ran      [producers]int64
		lastSeen [producers]int64
		order    = true
		cleanup  []string
	)
	busy, serving, working := make(chan struct{}), make(chan struct{}), make(chan struct{})
	jobEnded := make(chan error, 1)
	var wg sync.WaitGroup
	for p := range producers {
		wg.Go(func() {
			for i := int64(1); ; i++ {
				_, err := l.CallSoonThreadsafe(func() {
					ran[p]++
					order = order && lastSeen[p] == i-1
					lastSeen[p] = i
					if ran[p] == 100 && p == 0 {
						close(busy)
					}
				})
				if err != nil {
					refusal[p] = err
					return
				}
				accepted[p].Add(1)
			}
		})
	}
	var never loop.Event
	loop.SpawnNamed(l, "server", func(co *loop.Coro) (struct{}, error) {
		close(serving)
		err := never.Wait(co)
		cleanup = append(cleanup, "server: "+outcome(err))
		return struct{}{}, err
	})
	loop.SpawnNamed(l, "worker", func(co *loop.Coro) (struct{}, error) {
		_, err := loop.ToThread(co, func(ctx context.Context) (struct{}, error) {
			close(working)
			<-ctx.Done()
			jobEnded <- ctx.Err()
			return struct{}{}, nil
		})
		cleanup = append(cleanup, "worker: "+outcome(err))
		return struct{}{}, err
	})
	l.CallLater(time.Hour, func() { cleanup = append(cleanup, "hourly job ran") })
	runErr := make(chan error, 1)
	go func() { runErr <- l.RunForever() }()

	<-busy
	<-serving
	<-working
	require.NoError(t, l.Shutdown(context.Background()))
	require.NoError(t, <-runErr)
	wg.Wait()

	assert.True(t, l.IsClosed())
	_, err := l.CallSoonThreadsafe(func() {})
	assert.ErrorIs(t, err, loop.ErrClosed)
	for p := range producers {
		assert.ErrorIs(t, refusal[p], loop.ErrClosed)
		assert.Equal(t, accepted[p].Load(), ran[p], "producer %d: accepted callbacks must run exactly once", p)
	}
	assert.True(t, order, "a producer's callbacks ran out of order")
	assert.Equal(t, []string{"server: cancelled", "worker: cancelled"}, cleanup)
	select {
	case err := <-jobEnded:
		assert.ErrorIs(t, err, context.Canceled)
	default:
		t.Error("Shutdown returned before the executor's job did")
	}
	assert.Empty(t, reports, "a pending timer at Close is counted, not reported")
	assert.EqualValues(t, 1, l.Stats().DiscardedTimers, "the hourly job's timer")
}
