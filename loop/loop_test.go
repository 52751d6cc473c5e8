package loop_test

import (
	"fmt"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aio-go/aio/future"
	"github.com/aio-go/aio/loop"
	"github.com/aio-go/aio/timer"
)

// recorder collects the trace of a scenario: each entry is a callback's name
// and the loop iteration it ran in ("a@1"), so that the traces show which
// snapshot every callback belonged to. Used on the loop goroutine only.
type recorder struct {
	l   *loop.Loop
	got []string
}

func (r *recorder) add(name string) {
	r.got = append(r.got, fmt.Sprintf("%s@%d", name, r.l.Stats().Iterations))
}

// cb returns a callback that records name, then calls each of then.
func (r *recorder) cb(name string, then ...func()) func() {
	return func() {
		r.add(name)
		for _, fn := range then {
			fn()
		}
	}
}

// stop returns a callback that records name and stops the loop.
func (r *recorder) stop(name string) func() { return r.cb(name, r.l.Stop) }

// threadsafe is CallSoonThreadsafe for scenario setups, which cannot assert:
// an error panics, and the scenario's exception check reports it.
func threadsafe(l *loop.Loop, fn func()) {
	if _, err := l.CallSoonThreadsafe(fn); err != nil {
		panic(err)
	}
}

// scenario is one row of an ordering table. setup schedules callbacks on a
// new loop; the loop then runs (RunForever) once per entry of want, calling
// again before every run after the first, and each run's trace must equal
// its entry of want.
type scenario struct {
	name  string
	setup func(l *loop.Loop, r *recorder)
	again func(l *loop.Loop, r *recorder)
	want  [][]string
}

// runScenarios runs each row in a synctest bubble of its own: time is
// virtual, and a loop that would wait forever fails the row as a deadlock
// instead of hanging the test.
func runScenarios(t *testing.T, table []scenario, opts ...loop.Option) {
	t.Helper()
	for _, sc := range table {
		t.Run(sc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var excs []loop.ExceptionContext
				l := loop.New(append(opts, loop.WithExceptionHandler(func(c loop.ExceptionContext) {
					excs = append(excs, c)
				}))...)
				r := &recorder{l: l}
				sc.setup(l, r)
				for i, want := range sc.want {
					if i > 0 && sc.again != nil {
						sc.again(l, r)
					}
					r.got = nil
					require.NoError(t, l.RunForever())
					assert.Equal(t, want, r.got, "run %d", i+1)
				}
				assert.Empty(t, excs, "exception handler calls")
				require.NoError(t, l.Close())
			})
		})
	}
}

// TestCallbackOrder covers asyncio's ready-queue rules (ASYNCIO_SEMANTICS
// §1.1, §1.2, §1.7): FIFO, the per-iteration snapshot, and stop().
func TestCallbackOrder(t *testing.T) { runScenarios(t, callbackOrderTable()) }

func callbackOrderTable() []scenario {
	return []scenario{{
		name: "CallSoon is FIFO",
		setup: func(l *loop.Loop, r *recorder) {
			l.CallSoon(r.cb("a"))
			l.CallSoon(r.cb("b"))
			l.CallSoon(r.stop("c"))
		},
		want: [][]string{{"a@1", "b@1", "c@1"}},
	}, {
		name: "callbacks scheduled during an iteration run in the next one",
		setup: func(l *loop.Loop, r *recorder) {
			l.CallSoon(r.cb("a", func() { l.CallSoon(r.cb("a2", func() { l.CallSoon(r.stop("a3")) })) }))
			l.CallSoon(r.cb("b", func() { l.CallSoon(r.cb("b2")) }))
			l.CallSoon(r.cb("c"))
		},
		want: [][]string{{"a@1", "b@1", "c@1", "a2@2", "b2@2", "a3@3"}},
	}, {
		// asyncio: a schedules c; b stops then schedules d. First run a, b,
		// e; the next run c, d.
		name: "Stop in a callback finishes the snapshot and keeps later work",
		setup: func(l *loop.Loop, r *recorder) {
			l.CallSoon(r.cb("a", func() { l.CallSoon(r.cb("c")) }))
			l.CallSoon(r.cb("b", l.Stop, func() { l.CallSoon(r.cb("d")) }))
			l.CallSoon(r.cb("e"))
		},
		again: func(l *loop.Loop, r *recorder) { l.CallSoon(l.Stop) },
		want:  [][]string{{"a@1", "b@1", "e@1"}, {"c@2", "d@2"}},
	}, {
		name: "Stop before RunForever runs exactly one iteration",
		setup: func(l *loop.Loop, r *recorder) {
			l.CallSoon(r.cb("a", func() { l.CallSoon(r.cb("b")) }))
			l.CallSoon(r.cb("c"))
			l.Stop()
		},
		again: func(l *loop.Loop, r *recorder) { l.Stop() },
		want:  [][]string{{"a@1", "c@1"}, {"b@2"}},
	}, {
		name: "CallSoon(Stop) runs exactly the callbacks queued before RunForever",
		setup: func(l *loop.Loop, r *recorder) {
			l.CallSoon(r.cb("a"))
			l.CallSoon(l.Stop)
			l.CallSoon(r.cb("b", func() { l.CallSoon(r.cb("c")) }))
		},
		again: func(l *loop.Loop, r *recorder) { l.CallSoon(l.Stop) },
		want:  [][]string{{"a@1", "b@1"}, {"c@2"}},
	}, {
		name: "a second RunForever after Stop runs normally",
		setup: func(l *loop.Loop, r *recorder) {
			l.CallSoon(r.stop("a"))
		},
		again: func(l *loop.Loop, r *recorder) {
			l.CallSoon(r.cb("b", func() { l.CallSoon(r.cb("c", func() { l.CallSoon(r.stop("d")) })) }))
		},
		want: [][]string{{"a@1"}, {"b@2", "c@3", "d@4"}},
	}, {
		name: "a cancelled callback is skipped",
		setup: func(l *loop.Loop, r *recorder) {
			l.CallSoon(r.cb("a"))
			l.CallSoon(r.cb("b")).Cancel()
			l.CallSoon(r.stop("c"))
		},
		want: [][]string{{"a@1", "c@1"}},
	}, {
		name: "Cancel from an earlier callback of the same iteration prevents running",
		setup: func(l *loop.Loop, r *recorder) {
			var hb timer.Handle
			l.CallSoon(r.cb("a", func() { hb.Cancel() }))
			hb = l.CallSoon(r.cb("b"))
			l.CallSoon(r.stop("c"))
		},
		want: [][]string{{"a@1", "c@1"}},
	}, {
		name: "CallSoonThreadsafe then CallSoon on the loop goroutine keep their order",
		setup: func(l *loop.Loop, r *recorder) {
			l.CallSoon(r.cb("a", func() {
				threadsafe(l, r.cb("x"))
				l.CallSoon(r.cb("y"))
				threadsafe(l, r.cb("z"))
				l.CallSoon(r.stop("w"))
			}))
		},
		want: [][]string{{"a@1", "x@2", "y@2", "z@2", "w@2"}},
	}, {
		name: "CallSoonThreadsafe then CallSoon before RunForever keep their order",
		setup: func(l *loop.Loop, r *recorder) {
			threadsafe(l, r.cb("hello"))
			l.CallSoon(r.cb("world"))
			threadsafe(l, r.stop("again"))
		},
		want: [][]string{{"hello@1", "world@1", "again@1"}},
	}}
}

// TestThreadsafeAndStopWakeIdleLoop checks that another goroutine's
// CallSoonThreadsafe and Stop wake a loop that waits with nothing to do.
func TestThreadsafeAndStopWakeIdleLoop(t *testing.T) {
	for _, viaStop := range []bool{false, true} {
		t.Run(fmt.Sprintf("Stop=%v", viaStop), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				l := loop.New()
				r := &recorder{l: l}
				begin, exited := make(chan struct{}), make(chan error, 1)
				go func() {
					<-begin
					synctest.Wait() // the loop waits with nothing to do
					if viaStop {
						l.Stop()
						exited <- nil
						return
					}
					_, err := l.CallSoonThreadsafe(r.stop("remote"))
					exited <- err
				}()
				l.CallSoon(r.cb("a", func() { close(begin) }))
				require.NoError(t, l.RunForever())
				require.NoError(t, <-exited)
				want := []string{"a@1", "remote@2"}
				if viaStop {
					want = want[:1]
				}
				assert.Equal(t, want, r.got)
				assert.EqualValues(t, 2, l.Stats().Iterations)
				require.NoError(t, l.Close())
			})
		})
	}
}

// TestRunForeverWhileRunning checks that a failed start changes nothing in
// the running loop (the 3.12 behaviour; CPython 3.13.0 regressed,
// gh-130145).
func TestRunForeverWhileRunning(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := loop.New()
		r := &recorder{l: l}
		var nested, other error
		var running, onLoop bool
		l.CallSoon(func() {
			nested = l.RunForever()
			res := make(chan error)
			go func() { res <- l.RunForever() }()
			other = <-res
			running, onLoop = l.IsRunning(), l.OnLoop()
			l.CallSoon(r.cb("after"))
			l.CallSoon(r.stop("stop"))
		})
		require.NoError(t, l.RunForever())
		assert.ErrorIs(t, nested, loop.ErrRunning)
		assert.ErrorIs(t, other, loop.ErrRunning)
		assert.True(t, running, "IsRunning after a failed RunForever")
		assert.True(t, onLoop, "OnLoop after a failed RunForever")
		assert.Equal(t, []string{"after@2", "stop@2"}, r.got)
		assert.False(t, l.IsRunning())
		require.NoError(t, l.Close())
	})
}

// TestCloseWhileRunning checks that Close inside a callback returns
// ErrRunning and leaves the loop open and running.
func TestCloseWhileRunning(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := loop.New()
		r := &recorder{l: l}
		var closeErr error
		var closed bool
		l.CallSoon(func() {
			closeErr = l.Close()
			closed = l.IsClosed()
			l.CallSoon(r.stop("after"))
		})
		require.NoError(t, l.RunForever())
		assert.ErrorIs(t, closeErr, loop.ErrRunning)
		assert.False(t, closed)
		assert.Equal(t, []string{"after@2"}, r.got)
		require.NoError(t, l.Close())
		assert.True(t, l.IsClosed())
	})
}

// TestCloseDiscardsQueuedWork checks that Close drops queued callbacks and
// timers without running them, and reports how many it dropped.
func TestCloseDiscardsQueuedWork(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var excs []loop.ExceptionContext
		l := loop.New(loop.WithExceptionHandler(func(c loop.ExceptionContext) { excs = append(excs, c) }))
		ran := 0
		inc := func() { ran++ }
		l.CallSoon(inc)
		l.CallSoon(inc).Cancel() // cancelled: not counted
		l.CallSoon(inc)
		l.CallLater(time.Second, inc)
		l.CallLater(time.Hour, inc).Cancel() // cancelled: not counted
		l.CallAt(l.Now().Add(time.Minute), inc)
		accepted := make(chan error)
		go func() {
			_, err := l.CallSoonThreadsafe(inc)
			accepted <- err
		}()
		require.NoError(t, <-accepted)

		require.NoError(t, l.Close())
		assert.Zero(t, ran, "callbacks run by Close")
		assert.True(t, l.IsClosed())
		assert.EqualValues(t, 5, l.Stats().Discarded)
		assert.EqualValues(t, 2, l.Stats().DiscardedTimers)
		require.Len(t, excs, 1, "one report, of the callbacks: pending timers are only counted")
		assert.NotEmpty(t, excs[0].Message)
		assert.Regexp(t, `\b3\b`, excs[0].Message, "the report gives the count of callbacks")
		assert.ErrorIs(t, excs[0].Err, loop.ErrDiscarded)
		select {
		case <-l.Done():
		default:
			t.Error("Done() not closed after Close")
		}

		// Close is idempotent: nothing is reported or counted twice.
		require.NoError(t, l.Close())
		assert.Len(t, excs, 1)
		assert.EqualValues(t, 5, l.Stats().Discarded)
	})
}

// TestCloseEmptyLoopReportsNothing checks that a loop with nothing queued
// closes silently.
func TestCloseEmptyLoopReportsNothing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		calls := 0
		l := loop.New(loop.WithExceptionHandler(func(loop.ExceptionContext) { calls++ }))
		l.CallSoon(l.Stop)
		require.NoError(t, l.RunForever())
		require.NoError(t, l.Close())
		assert.Zero(t, calls)
		assert.Zero(t, l.Stats().Discarded)
	})
}

// catch runs fn and returns what it panicked with.
func catch(fn func()) (v any) {
	defer func() { v = recover() }()
	fn()
	return nil
}

func TestClosedLoopMisuse(t *testing.T) {
	calls := []struct {
		name string
		call func(l *loop.Loop, fn func())
	}{
		{"CallSoon", func(l *loop.Loop, fn func()) { l.CallSoon(fn) }},
		{"CallLater", func(l *loop.Loop, fn func()) { l.CallLater(time.Second, fn) }},
		{"CallLater zero", func(l *loop.Loop, fn func()) { l.CallLater(0, fn) }},
		{"CallAt", func(l *loop.Loop, fn func()) { l.CallAt(l.Now(), fn) }},
	}
	for _, c := range calls {
		t.Run(c.name+" panics", func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				l := loop.New()
				require.NoError(t, l.Close())
				v := catch(func() { c.call(l, func() {}) })
				err, ok := v.(error)
				require.Truef(t, ok, "panic value %v (%T) is not an error", v, v)
				assert.ErrorIs(t, err, loop.ErrClosed)
				assert.True(t, strings.HasPrefix(err.Error(), "loop:"), "message %q", err.Error())
			})
		})
	}
	t.Run("CallSoonThreadsafe returns ErrClosed", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			l := loop.New()
			require.NoError(t, l.Close())
			res := make(chan error)
			ran := make(chan struct{}, 1)
			go func() {
				_, err := l.CallSoonThreadsafe(func() { ran <- struct{}{} })
				res <- err
			}()
			err := <-res
			assert.ErrorIs(t, err, loop.ErrClosed)
			require.Error(t, err)
			assert.True(t, strings.HasPrefix(err.Error(), "loop:"), "message %q", err.Error())
			assert.Empty(t, ran)
		})
	})
	t.Run("RunForever and RunUntilComplete return ErrClosed", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			l := loop.New()
			f := future.New[int](l)
			require.NoError(t, l.Close())
			assert.ErrorIs(t, l.RunForever(), loop.ErrClosed)
			_, err := loop.RunUntilComplete(l, f)
			assert.ErrorIs(t, err, loop.ErrClosed)
			assert.Zero(t, l.Stats().Iterations)
		})
	})
}

// TestRunUntilCompleteIterations checks that the loop stops through a
// done-callback, so the iteration counts are asyncio's (§1.3).
func TestRunUntilCompleteIterations(t *testing.T) {
	errBoom := fmt.Errorf("boom")
	table := []struct {
		name       string
		setup      func(l *loop.Loop, f *future.Future[int])
		iterations uint64
		want       int
		wantErr    error
	}{
		{"future set by a CallSoon", func(l *loop.Loop, f *future.Future[int]) {
			l.CallSoon(func() { f.SetResult(1) })
		}, 2, 1, nil},
		{"already-done future", func(l *loop.Loop, f *future.Future[int]) {
			f.SetResult(2)
		}, 1, 2, nil},
		{"future set two hops away", func(l *loop.Loop, f *future.Future[int]) {
			l.CallSoon(func() { l.CallSoon(func() { f.SetResult(3) }) })
		}, 3, 3, nil},
		{"future set by a zero-delay timer", func(l *loop.Loop, f *future.Future[int]) {
			l.CallLater(0, func() { f.SetResult(4) })
		}, 2, 4, nil},
		{"future failed by a CallSoon", func(l *loop.Loop, f *future.Future[int]) {
			l.CallSoon(func() { f.SetError(errBoom) })
		}, 2, 0, errBoom},
		{"future cancelled by a CallSoon", func(l *loop.Loop, f *future.Future[int]) {
			l.CallSoon(func() { f.Cancel() })
		}, 2, 0, future.ErrCancelled},
	}
	for _, tc := range table {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				l := loop.New()
				f := future.New[int](l)
				tc.setup(l, f)
				v, err := loop.RunUntilComplete(l, f)
				if tc.wantErr != nil {
					assert.ErrorIs(t, err, tc.wantErr)
				} else {
					assert.NoError(t, err)
				}
				assert.Equal(t, tc.want, v)
				assert.Equal(t, tc.iterations, l.Stats().Iterations)
				assert.False(t, l.IsRunning())
				require.NoError(t, l.Close())
			})
		})
	}
}

// TestRunUntilCompleteStoppedEarly checks ErrStoppedEarly and that the
// done-callback is removed, so a later run gets no stale stop.
func TestRunUntilCompleteStoppedEarly(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := loop.New()
		f := future.New[int](l)
		l.CallSoon(l.Stop)
		_, err := loop.RunUntilComplete(l, f)
		assert.ErrorIs(t, err, loop.ErrStoppedEarly)
		assert.False(t, f.Done(), "f is left as it is")

		// f completes at once in the next run; had the first run's
		// done-callback stayed, it would stop the loop before g is done.
		g := future.New[string](l)
		l.CallSoon(func() { f.SetResult(1) })
		l.CallSoon(func() { l.CallSoon(func() { l.CallSoon(func() { g.SetResult("g") }) }) })
		v, err := loop.RunUntilComplete(l, g)
		require.NoError(t, err)
		assert.Equal(t, "g", v)

		// A pre-stopped RunUntilComplete also stops early.
		h := future.New[int](l)
		l.Stop()
		_, err = loop.RunUntilComplete(l, h)
		assert.ErrorIs(t, err, loop.ErrStoppedEarly)
		require.NoError(t, l.Close())
	})
}

func TestRunUntilCompleteMisuse(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l, other := loop.New(), loop.New()
		f := future.New[int](other)
		f.SetResult(1)
		_, err := loop.RunUntilComplete(l, f)
		assert.ErrorIs(t, err, loop.ErrOtherLoop)
		assert.Zero(t, l.Stats().Iterations, "the loop did not run")

		g := future.New[int](l)
		g.SetResult(2)
		var nested error
		l.CallSoon(func() { _, nested = loop.RunUntilComplete(l, g) })
		l.CallSoon(func() { l.CallSoon(l.Stop) })
		require.NoError(t, l.RunForever())
		assert.ErrorIs(t, nested, loop.ErrRunning)
		require.NoError(t, l.Close())
		require.NoError(t, other.Close())
	})
}

// TestStats checks the counters and queue lengths that Stats reports.
func TestStats(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		excs := 0
		l := loop.New(loop.WithExceptionHandler(func(loop.ExceptionContext) { excs++ }))
		l.CallSoon(func() {})
		l.CallSoon(func() { panic("boom") })
		l.CallSoon(func() {}).Cancel()
		l.CallLater(time.Minute, func() {}).Cancel() // at the head: purged
		l.CallLater(time.Hour, func() {})
		s := l.Stats()
		assert.Equal(t, 3, s.Ready, "Ready counts the cancelled callback until its turn (Stats doc)")
		assert.Equal(t, 2, s.Timers)
		assert.Equal(t, 1, s.CancelledTimers)
		assert.Zero(t, s.Iterations)
		assert.Zero(t, s.CallbacksRun)
		assert.Zero(t, s.Tasks)

		l.Stop()
		require.NoError(t, l.RunForever())
		s = l.Stats()
		assert.EqualValues(t, 1, s.Iterations)
		assert.EqualValues(t, 2, s.CallbacksRun, "the cancelled callback is not counted")
		assert.EqualValues(t, 1, s.Panics)
		assert.EqualValues(t, 1, s.Exceptions)
		assert.Zero(t, s.SlowCallbacks)
		assert.Zero(t, s.Discarded)
		assert.Zero(t, s.Ready)
		assert.Equal(t, 1, s.Timers, "the cancelled head timer was purged")
		assert.Zero(t, s.CancelledTimers)

		require.NoError(t, l.Close())
		s = l.Stats()
		assert.EqualValues(t, 1, s.Discarded)
		assert.EqualValues(t, 1, s.DiscardedTimers)
		assert.EqualValues(t, 1, s.Exceptions, "a pending timer at Close is counted, not reported")
		assert.Zero(t, s.Timers)
		assert.Equal(t, 1, excs)
	})
}
