package loop_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aio-go/aio/future"
	"github.com/aio-go/aio/loop"
)

// Regression: with tasks a and b awaiting each other, a.Cancel() reported
// true but woke neither, so a third task's WaitFor(a) never returned and
// Run's clean-up hung.
func TestCancelAwaitCycleWakesBoth(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var a, b *loop.Task[int]
		var waitErr error
		_, err := loop.Run(context.Background(), func(co *loop.Coro) (int, error) {
			l := co.Loop()
			a = loop.Spawn(l, func(co *loop.Coro) (int, error) { return b.Await(co) })
			b = loop.Spawn(l, func(co *loop.Coro) (int, error) { return a.Await(co) })
			_, waitErr = loop.WaitFor(co, a.Future, time.Second)
			return 0, nil
		})
		require.NoError(t, err)
		assert.ErrorIs(t, waitErr, loop.ErrTimeout)
		assert.True(t, a.Cancelled(), "a: %v", a.Err())
		assert.True(t, b.Cancelled(), "b: %v", b.Err())
	})
}

// Regression: a task body that called Future.Wait before its first
// suspension blocked the whole loop (outside debug mode), so nothing could
// ever complete the future.
func TestWaitInTaskBodyWouldDeadlock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var errs []error
		_, err := loop.Run(context.Background(), func(co *loop.Coro) (int, error) {
			l := co.Loop()
			f := future.New[int](l)
			_, err := f.Wait(context.Background())
			errs = append(errs, err)
			// A task resumed by a lending one, after a suspension.
			t2 := loop.Spawn(l, func(co *loop.Coro) (int, error) {
				if err := loop.Sleep(co, 0); err != nil {
					return 0, err
				}
				_, err := f.Wait(context.Background())
				errs = append(errs, err)
				return 0, nil
			})
			_, err = t2.Await(co)
			return 0, err
		})
		require.NoError(t, err)
		require.Len(t, errs, 2)
		for _, err := range errs {
			assert.ErrorIs(t, err, future.ErrWouldDeadlock)
		}
	})
}

// Regression: loop.Run inside a task body ran a nested loop that blocked
// the outer one (asyncio raises RuntimeError).
func TestRunInsideLoopCodeFails(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var inTask, inCallback error
		_, err := loop.Run(context.Background(), func(co *loop.Coro) (int, error) {
			_, inTask = loop.Run(context.Background(), func(*loop.Coro) (int, error) { return 1, nil })
			done := future.New[struct{}](co.Loop())
			co.Loop().CallSoon(func() {
				other := loop.New()
				other.CallSoon(other.Stop)
				inCallback = other.RunForever()
				_ = other.Close()
				done.SetResult(struct{}{})
			})
			_, err := loop.Await(co, done)
			return 0, err
		})
		require.NoError(t, err)
		assert.ErrorIs(t, inTask, loop.ErrRunning)
		assert.Contains(t, fmt.Sprint(inTask), "loop: Run:")
		assert.ErrorIs(t, inCallback, loop.ErrRunning)
		assert.Contains(t, fmt.Sprint(inCallback), "loop: RunForever:")
	})
}

// Regression: Shutdown(ctx) waited forever for an executor job that
// ignored its context, although ctx had ended; it must return ctx's error
// naming the job and where it was submitted.
func TestShutdownGivesUpOnStuckJob(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := loop.New(stressLogger())
		release := make(chan struct{})
		f := loop.RunInExecutor(l, func(context.Context) (int, error) {
			<-release // ignores its context
			return 1, nil
		})
		_, file, line, _ := runtime.Caller(0)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		err := l.Shutdown(ctx)
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Contains(t, err.Error(), "loop: Shutdown:")
		assert.Contains(t, err.Error(), "1 executor job")
		assert.Contains(t, err.Error(), fmt.Sprintf("%s:%d", file, line-4), "where the job was submitted")
		assert.True(t, l.IsClosed())
		assert.True(t, f.Cancelled(), "the job's future is cancelled, not left pending")
		assert.ErrorIs(t, f.Err(), loop.ErrClosed)
		close(release)
		require.NoError(t, l.Close(), "Close waits for the job's goroutine")
	})
}

// Regression: Close and Run waited forever, silently, for executor jobs
// that ignored their context. They wait, and say what for.
func TestCloseAndRunReportStuckJobs(t *testing.T) {
	for _, via := range []string{"Close", "Run"} {
		t.Run(via, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				logs := &syncBuffer{said: make(chan struct{}, 16)}
				logger := slog.New(slog.NewTextHandler(logs, nil))
				release, started := make(chan struct{}), make(chan struct{})
				job := func(context.Context) (int, error) {
					close(started)
					<-release // ignores its context
					return 1, nil
				}
				ended := make(chan error, 1)
				if via == "Close" {
					l := loop.New(loop.WithLogger(logger))
					loop.RunInExecutor(l, job)
					<-started
					go func() { ended <- l.Close() }()
				} else {
					go func() {
						_, err := loop.Run(context.Background(), func(co *loop.Coro) (int, error) {
							loop.RunInExecutor(co.Loop(), job)
							return 0, nil
						}, loop.WithLogger(logger))
						ended <- err
					}()
				}
				<-logs.said // after a second of virtual time
				assert.Contains(t, logs.String(), "is waiting")
				assert.Contains(t, logs.String(), "edges_test.go", "the report says where the job was submitted")
				close(release)
				require.NoError(t, <-ended)
			})
		})
	}
}

// syncBuffer is a log sink that signals each write.
type syncBuffer struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	said chan struct{}
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	select {
	case b.said <- struct{}{}:
	default:
	}
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Regression: at Close, the futures of executor jobs still running stayed
// pending forever. They are cancelled with ErrClosed.
func TestCloseCancelsRunningJobsFutures(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := loop.New()
		started := make(chan struct{})
		f := loop.RunInExecutor(l, func(ctx context.Context) (int, error) {
			close(started)
			<-ctx.Done()
			return 7, nil
		})
		<-started
		require.NoError(t, l.Close())
		assert.True(t, f.Cancelled())
		assert.ErrorIs(t, f.Err(), loop.ErrClosed)
	})
}

// Regression: in debug mode, Spawn and Task.Cancel from another goroutine
// panicked only after changing the loop (a task counted but never
// scheduled; a task that never woke), and the panic named CallSoon.
func TestDebugChecksAtEntry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := loop.New(loop.WithDebug(true))
		var tk *loop.Task[int]
		inLoop, proceed := make(chan struct{}), make(chan struct{})
		tk = loop.Spawn(l, func(co *loop.Coro) (int, error) { return 0, loop.Sleep(co, time.Hour) })
		l.CallSoon(func() {})
		l.CallSoon(func() {
			close(inLoop)
			<-proceed // the loop is busy, not idle: only debug mode can tell
		})
		runErr := make(chan error, 1)
		go func() { runErr <- l.RunForever() }()
		<-inLoop
		checks := []struct {
			op   string
			call func()
		}{
			{"Spawn", func() { loop.Spawn(l, func(*loop.Coro) (int, error) { return 0, nil }) }},
			{"Task.Cancel", func() { tk.Cancel() }},
			{"Stats", func() { l.Stats() }},
			{"Tasks", func() { l.Tasks() }},
			{"RunInExecutor", func() {
				loop.RunInExecutor(l, func(context.Context) (int, error) { return 0, nil })
			}},
			{"CallSoon", func() { l.CallSoon(func() {}) }},
		}
		for _, c := range checks {
			v := catch(c.call)
			err, _ := v.(error)
			if assert.ErrorIs(t, err, loop.ErrWrongGoroutine, c.op) {
				assert.Contains(t, err.Error(), "loop: "+c.op+":", "the panic names the method")
			}
		}
		close(proceed)
		_, err := l.CallSoonThreadsafe(func() {
			assert.Equal(t, 1, l.Stats().Tasks, "nothing was counted by the refused Spawn")
			assert.Zero(t, tk.Cancelling(), "the refused Cancel changed nothing")
			tk.Cancel()
			l.Stop()
		})
		require.NoError(t, err)
		require.NoError(t, <-runErr)
		require.NoError(t, l.Close())
	})
}

// Regression: CallSoon from another goroutine lost callbacks and logged
// internal panics as "panic in callback". While the loop waits idle, any
// caller of a loop-only method is certainly another goroutine: it panics.
func TestCallSoonWhileIdlePanics(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := loop.New()
		runErr := startLoop(t, l)
		synctest.Wait() // the loop is in its idle wait
		for op, call := range map[string]func(){
			"CallSoon":  func() { l.CallSoon(func() {}) },
			"CallLater": func() { l.CallLater(time.Second, func() {}) },
			"Spawn":     func() { loop.Spawn(l, func(*loop.Coro) (int, error) { return 0, nil }) },
		} {
			err, _ := catch(call).(error)
			if assert.ErrorIs(t, err, loop.ErrWrongGoroutine, op) {
				assert.Contains(t, err.Error(), "loop: "+op+":")
			}
		}
		l.Stop()
		require.NoError(t, <-runErr)
		assert.Zero(t, l.Stats().Tasks)
		require.NoError(t, l.Close())
	})
}

// Regression: a nil future given to Await or RunUntilComplete was a
// nil-pointer dereference; it is a clear loop: panic.
func TestNilFutureMisuse(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := loop.New()
		assert.PanicsWithValue(t, "loop: RunUntilComplete: nil future", func() {
			_, _ = loop.RunUntilComplete[int](l, nil)
		})
		var awaitPanic any
		tk := loop.Spawn(l, func(co *loop.Coro) (int, error) {
			awaitPanic = catch(func() { _, _ = loop.Await[int](co, nil) })
			return 0, nil
		})
		_, err := loop.RunUntilComplete(l, tk.Future)
		require.NoError(t, err)
		assert.Equal(t, "loop: Await: nil future", awaitPanic)
		require.NoError(t, l.Close())
	})
}

// Regression: Close reported a pending timer (a heartbeat, the timer of a
// finished WaitFor) at Error level as discarded work. Timers are counted
// only; accepted callbacks that will never run are reported at Warn.
func TestCloseReportsOnlyCallbacks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var buf bytes.Buffer
		l := loop.New(loop.WithLogger(newLogger(&buf)))
		l.CallLater(time.Hour, func() {})
		require.NoError(t, l.Close())
		assert.Empty(t, logRecords(t, &buf), "a pending timer is normal")
		assert.EqualValues(t, 1, l.Stats().DiscardedTimers)

		buf.Reset()
		l = loop.New(loop.WithLogger(newLogger(&buf)))
		l.CallSoon(func() {})
		require.NoError(t, l.Close())
		rs := logRecords(t, &buf)
		require.Len(t, rs, 1)
		assert.Equal(t, "WARN", rs[0]["level"])
		assert.Contains(t, rs[0]["msg"], "discarded 1 callbacks")
	})
}

// Regression: a loop that was never closed leaked silently; when it is
// garbage collected, it says so (asyncio's "unclosed event loop").
func TestUnclosedLoopReported(t *testing.T) {
	logs := &syncBuffer{said: make(chan struct{}, 1)}
	func() {
		l := loop.New(loop.WithLogger(slog.New(slog.NewTextHandler(logs, nil))))
		l.CallSoon(l.Stop)
		require.NoError(t, l.RunForever())
	}()
	for i := 0; i < 100; i++ {
		runtime.GC()
		select {
		case <-logs.said:
			assert.Contains(t, logs.String(), "without Close")
			assert.Contains(t, logs.String(), "edges_test.go", "where the loop was created")
			return
		default:
			runtime.Gosched()
		}
	}
	t.Fatal("the unclosed loop was not reported")
}

// Regression: Sleep in a task whose loop closed returned an error naming
// Await.
func TestSleepAfterCloseNamesSleep(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := loop.New()
		var err error
		loop.Spawn(l, func(co *loop.Coro) (int, error) {
			err = loop.Sleep(co, time.Hour)
			return 0, err
		})
		l.CallSoon(l.Stop)
		require.NoError(t, l.RunForever())
		require.NoError(t, l.Close())
		assert.ErrorIs(t, err, loop.ErrClosed)
		assert.True(t, strings.HasPrefix(err.Error(), "loop: Sleep:"), err.Error())
	})
}

// WithWorkers with n <= 0 was ignored silently; it is a misuse.
func TestWithWorkersRejectsNonPositive(t *testing.T) {
	assert.Panics(t, func() { loop.WithWorkers(0) })
	assert.Panics(t, func() { loop.WithWorkers(-1) })
}
