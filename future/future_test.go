package future_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aio-go/aio/future"
	"github.com/aio-go/aio/internal/hooks"
	"github.com/aio-go/aio/loop"
)

var errBoom = errors.New("boom")

// inBubble runs body in a synctest bubble with a new loop, closed at the
// end. The exception handler fails the test: no scenario here should panic
// or leave an error unretrieved.
func inBubble(t *testing.T, body func(t *testing.T, l *loop.Loop)) {
	t.Helper()
	synctest.Test(t, func(t *testing.T) {
		var excs []loop.ExceptionContext
		l := loop.New(loop.WithExceptionHandler(func(c loop.ExceptionContext) { excs = append(excs, c) }))
		body(t, l)
		require.NoError(t, l.Close())
		assert.Empty(t, excs, "exception handler calls")
	})
}

// runBriefly runs the loop for exactly one iteration (a pre-stopped run).
func runBriefly(t *testing.T, l *loop.Loop) {
	t.Helper()
	l.Stop()
	require.NoError(t, l.RunForever())
}

// TestStates covers §2's states: pending, then done with a result, an
// error, or cancelled, and never changed after that.
func TestStates(t *testing.T) {
	type row struct {
		name      string
		complete  func(f *future.Future[int]) bool
		cancelled bool
		value     int
		errs      []error // what the error must match; none: nil error
	}
	table := []row{
		{"SetResult", func(f *future.Future[int]) bool { return f.SetResult(7) }, false, 7, nil},
		{"SetError", func(f *future.Future[int]) bool { return f.SetError(errBoom) }, false, 0,
			[]error{errBoom}},
		{"Cancel", func(f *future.Future[int]) bool { return f.Cancel() }, true, 0,
			[]error{future.ErrCancelled, context.Canceled}},
		{"CancelWithCause", func(f *future.Future[int]) bool { return f.CancelWithCause(errBoom) }, true, 0,
			[]error{future.ErrCancelled, context.Canceled, errBoom}},
	}
	for _, tc := range table {
		t.Run(tc.name, func(t *testing.T) {
			inBubble(t, func(t *testing.T, l *loop.Loop) {
				f := future.New[int](l)
				assert.False(t, f.Done())
				assert.False(t, f.Cancelled())
				_, err := f.Result()
				assert.ErrorIs(t, err, future.ErrInvalidState, "Result of a pending future")
				assert.ErrorIs(t, f.Err(), future.ErrInvalidState, "Err of a pending future")

				require.True(t, tc.complete(f), "the completing call reports true")
				assert.True(t, f.Done())
				assert.Equal(t, tc.cancelled, f.Cancelled())
				v, err := f.Result()
				assert.Equal(t, tc.value, v)
				for _, want := range tc.errs {
					assert.ErrorIs(t, err, want)
					assert.ErrorIs(t, f.Err(), want)
				}
				if tc.errs == nil {
					assert.NoError(t, err)
					assert.NoError(t, f.Err())
				}

				// A done future cannot change.
				assert.False(t, f.SetResult(99))
				assert.False(t, f.SetError(errors.New("late")))
				assert.False(t, f.Cancel())
				assert.False(t, f.CancelWithCause(errors.New("late")))
				assert.Equal(t, tc.cancelled, f.Cancelled())
				v2, err2 := f.Result()
				assert.Equal(t, v, v2)
				assert.Equal(t, err, err2)
				runBriefly(t, l)
			})
		})
	}
}

func TestSetErrorNilPanics(t *testing.T) {
	inBubble(t, func(t *testing.T, l *loop.Loop) {
		f := future.New[int](l)
		assert.Panics(t, func() { f.SetError(nil) })
		assert.False(t, f.Done())
	})
}

// TestCancelledErrorMatches checks the error of a cancelled future against
// both sentinels and the cause.
func TestCancelledErrorMatches(t *testing.T) {
	err := future.Cancelled(nil)
	assert.ErrorIs(t, err, future.ErrCancelled)
	assert.ErrorIs(t, err, context.Canceled)
	withCause := future.Cancelled(errBoom)
	assert.ErrorIs(t, withCause, future.ErrCancelled)
	assert.ErrorIs(t, withCause, context.Canceled)
	assert.ErrorIs(t, withCause, errBoom)
	assert.NotErrorIs(t, err, errBoom)
	assert.NotErrorIs(t, errBoom, future.ErrCancelled)
}

// tracer records a trace with the loop iteration of each entry ("cb1@2").
type tracer struct {
	l   *loop.Loop
	got []string
}

func (r *tracer) add(name string) {
	r.got = append(r.got, fmt.Sprintf("%s@%d", name, r.l.Stats().Iterations))
}

func (r *tracer) cb(name string) func() { return func() { r.add(name) } }

// done returns a done-callback recording name; it checks that it receives
// the future it was added to.
func (r *tracer) done(name string, want *future.Future[int]) func(*future.Future[int]) {
	return func(f *future.Future[int]) {
		if f != want {
			name += "(wrong future)"
		}
		r.add(name)
	}
}

// TestDoneCallbackOrder covers §2 Callbacks: done-callbacks are scheduled
// with CallSoon in registration order, never run inline, also when added
// after completion. Each row's setup runs on the loop goroutine (in the
// first iteration, after "start"); the loop runs until the trace settles.
func TestDoneCallbackOrder(t *testing.T) {
	table := []struct {
		name  string
		setup func(l *loop.Loop, r *tracer, f *future.Future[int])
		want  []string
	}{{
		name: "call_soon(X); set_result; call_soon(Y) gives X, cb1, cb2, Y",
		setup: func(l *loop.Loop, r *tracer, f *future.Future[int]) {
			f.AddDoneCallback(r.done("cb1", f))
			f.AddDoneCallback(r.done("cb2", f))
			l.CallSoon(r.cb("X"))
			f.SetResult(1)
			l.CallSoon(r.cb("Y"))
		},
		want: []string{"start@1", "X@2", "cb1@2", "cb2@2", "Y@2"},
	}, {
		name: "added to a done future: scheduled, not run inline",
		setup: func(l *loop.Loop, r *tracer, f *future.Future[int]) {
			f.SetResult(1)
			l.CallSoon(r.cb("X"))
			f.AddDoneCallback(r.done("cb1", f))
			r.add("added")
			l.CallSoon(r.cb("Y"))
		},
		want: []string{"start@1", "added@1", "X@2", "cb1@2", "Y@2"},
	}, {
		name: "before and after completion, in registration order",
		setup: func(l *loop.Loop, r *tracer, f *future.Future[int]) {
			f.AddDoneCallback(r.done("cb1", f))
			f.Cancel()
			f.AddDoneCallback(r.done("cb2", f))
			hooks.Future.OnDone(f, r.cb("cb3"))
		},
		want: []string{"start@1", "cb1@2", "cb2@2", "cb3@2"},
	}, {
		name: "added by a done-callback: runs in the next iteration",
		setup: func(l *loop.Loop, r *tracer, f *future.Future[int]) {
			f.AddDoneCallback(func(f *future.Future[int]) {
				r.add("cb1")
				f.AddDoneCallback(r.done("cb3", f))
			})
			f.AddDoneCallback(r.done("cb2", f))
			f.SetError(errBoom)
			_ = f.Err()
		},
		want: []string{"start@1", "cb1@2", "cb2@2", "cb3@3"},
	}, {
		name: "OnDone and AddDoneCallback share one order",
		setup: func(l *loop.Loop, r *tracer, f *future.Future[int]) {
			hooks.Future.OnDone(f, r.cb("a"))
			f.AddDoneCallback(r.done("b", f))
			hooks.Future.OnDone(f, r.cb("c"))
			f.SetResult(1)
		},
		want: []string{"start@1", "a@2", "b@2", "c@2"},
	}, {
		name: "OnDoneCallback shares the order and gets the future, also after completion",
		setup: func(l *loop.Loop, r *tracer, f *future.Future[int]) {
			hooks.Future.OnDone(f, r.cb("a"))
			hooks.Future.OnDoneCallback(f, r.done("b", f))
			f.SetResult(1)
			hooks.Future.OnDoneCallback(f, r.done("c", f))
			f.AddDoneCallback(r.done("d", f))
		},
		want: []string{"start@1", "a@2", "b@2", "c@2", "d@2"},
	}, {
		name: "added after completion while earlier ones wait to run",
		setup: func(l *loop.Loop, r *tracer, f *future.Future[int]) {
			f.AddDoneCallback(r.done("cb1", f))
			rm := f.AddDoneCallback(r.done("cb2", f))
			f.AddDoneCallback(r.done("cb3", f))
			rm()
			f.SetResult(1)
			hooks.Future.OnDoneCallback(f, func(f *future.Future[int]) {
				r.add("cb4")
				hooks.Future.OnDoneCallback(f, r.done("cb6", f))
			})
			f.AddDoneCallback(r.done("cb5", f))
		},
		want: []string{"start@1", "cb1@2", "cb3@2", "cb4@2", "cb5@2", "cb6@3"},
	}, {
		name: "a chain of futures costs one iteration per hop",
		setup: func(l *loop.Loop, r *tracer, f *future.Future[int]) {
			g := future.New[int](l)
			f.AddDoneCallback(func(f *future.Future[int]) {
				r.add("f done")
				v, _ := f.Result()
				g.SetResult(v + 1)
			})
			g.AddDoneCallback(r.done("g done", g))
			l.CallSoon(func() { f.SetResult(1) })
		},
		want: []string{"start@1", "f done@3", "g done@4"},
	}, {
		name: "a panic in one done-callback does not stop the next",
		setup: func(l *loop.Loop, r *tracer, f *future.Future[int]) {
			f.AddDoneCallback(r.done("cb1", f))
			f.AddDoneCallback(func(*future.Future[int]) { panic("cb2") })
			f.AddDoneCallback(r.done("cb3", f))
			f.SetResult(1)
		},
		want: []string{"start@1", "cb1@2", "cb3@2"},
	}}
	for _, tc := range table {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var excs []loop.ExceptionContext
				l := loop.New(loop.WithExceptionHandler(func(c loop.ExceptionContext) { excs = append(excs, c) }))
				r := &tracer{l: l}
				f := future.New[int](l)
				l.CallSoon(func() {
					r.add("start")
					tc.setup(l, r, f)
				})
				for range 5 {
					runBriefly(t, l)
				}
				assert.Equal(t, tc.want, r.got)
				for _, e := range excs {
					var pe *loop.PanicError
					if assert.ErrorAs(t, e.Err, &pe) {
						assert.Equal(t, "cb2", pe.Value)
					}
				}
				require.NoError(t, l.Close())
			})
		})
	}
}

// TestRemoveDoneCallback covers remove_done_callback (the remove funcs).
func TestRemoveDoneCallback(t *testing.T) {
	// r is set for each row before run is called.
	var r *tracer
	table := []struct {
		name    string
		run     func(f *future.Future[int]) []bool // what the removes reported
		removed []bool
		want    []string
	}{{
		name: "remove before completion: never runs; twice: false",
		run: func(f *future.Future[int]) []bool {
			f.AddDoneCallback(r.done("cb1", f))
			rm2 := f.AddDoneCallback(r.done("cb2", f))
			f.AddDoneCallback(r.done("cb3", f))
			res := []bool{rm2(), rm2()}
			f.SetResult(1)
			return append(res, rm2())
		},
		removed: []bool{true, false, false},
		want:    []string{"cb1", "cb3"},
	}, {
		name: "remove after completion: false, and it still runs",
		run: func(f *future.Future[int]) []bool {
			rm1 := f.AddDoneCallback(r.done("cb1", f))
			f.SetResult(1)
			rm2 := f.AddDoneCallback(r.done("cb2", f))
			return []bool{rm1(), rm2()}
		},
		removed: []bool{false, false},
		want:    []string{"cb1", "cb2"},
	}, {
		name: "remove the first, then add more",
		run: func(f *future.Future[int]) []bool {
			rm1 := f.AddDoneCallback(r.done("cb1", f))
			f.AddDoneCallback(r.done("cb2", f))
			res := []bool{rm1()}
			f.AddDoneCallback(r.done("cb3", f))
			hooks.Future.OnDone(f, r.cb("cb4"))
			f.Cancel()
			return res
		},
		removed: []bool{true},
		want:    []string{"cb2", "cb3", "cb4"},
	}, {
		name: "remove the last ones, then add",
		run: func(f *future.Future[int]) []bool {
			f.AddDoneCallback(r.done("cb1", f))
			rm2 := f.AddDoneCallback(r.done("cb2", f))
			rm3 := f.AddDoneCallback(r.done("cb3", f))
			res := []bool{rm3(), rm2()}
			f.AddDoneCallback(r.done("cb4", f))
			f.SetError(errBoom)
			_ = f.Err()
			return res
		},
		removed: []bool{true, true},
		want:    []string{"cb1", "cb4"},
	}, {
		name: "remove every callback",
		run: func(f *future.Future[int]) []bool {
			rm1 := f.AddDoneCallback(r.done("cb1", f))
			rm2 := f.AddDoneCallback(r.done("cb2", f))
			res := []bool{rm2(), rm1()}
			f.SetResult(1)
			return res
		},
		removed: []bool{true, true},
	}, {
		name: "remove, complete, add again",
		run: func(f *future.Future[int]) []bool {
			rm1 := f.AddDoneCallback(r.done("cb1", f))
			f.AddDoneCallback(r.done("cb2", f))
			res := []bool{rm1()}
			f.SetResult(1)
			f.AddDoneCallback(r.done("cb3", f))
			return append(res, rm1())
		},
		removed: []bool{true, false},
		want:    []string{"cb2", "cb3"},
	}}
	for _, tc := range table {
		t.Run(tc.name, func(t *testing.T) {
			inBubble(t, func(t *testing.T, l *loop.Loop) {
				r = &tracer{l: l}
				f := future.New[int](l)
				removed := tc.run(f)
				assert.Empty(t, r.got, "ran inline")
				runBriefly(t, l)
				assert.Equal(t, tc.removed, removed)
				var want []string
				for _, name := range tc.want {
					want = append(want, fmt.Sprintf("%s@%d", name, l.Stats().Iterations))
				}
				assert.Equal(t, want, r.got)
			})
		})
	}
}

// TestOnDoneCallbackAllocs: hooks.Future.OnDoneCallback allocates nothing; a future
// with one callback is a single allocation.
func TestOnDoneCallbackAllocs(t *testing.T) {
	l := loop.New()
	defer l.Close()
	fn := func(*future.Future[int]) {}
	allocs := testing.AllocsPerRun(100, func() {
		hooks.Future.OnDoneCallback(future.New[int](l), fn)
	})
	assert.Equal(t, 1.0, allocs)
}

// TestAddDoneCallbackAllocs: AddDoneCallback and AddDoneFunc are inlined,
// so the remove func of a caller that drops it is not allocated: a future
// with a callback is a single allocation.
func TestAddDoneCallbackAllocs(t *testing.T) {
	l := loop.New()
	defer l.Close()
	fn := func(*future.Future[int]) {}
	allocs := testing.AllocsPerRun(100, func() {
		future.New[int](l).AddDoneCallback(fn)
	})
	assert.Equal(t, 1.0, allocs, "AddDoneCallback")
	fn0 := func() {}
	allocs = testing.AllocsPerRun(100, func() {
		future.New[int](l).AddDoneFunc(fn0)
	})
	assert.Equal(t, 1.0, allocs, "AddDoneFunc")
}

// TestWait covers Wait from goroutines other than the loop's: it blocks
// until the future is done and returns its outcome (the loop runs on the
// test goroutine meanwhile).
func TestWait(t *testing.T) {
	table := []struct {
		name     string
		complete func(f *future.Future[int])
		value    int
		err      error
	}{
		{"result", func(f *future.Future[int]) { f.SetResult(42) }, 42, nil},
		{"error", func(f *future.Future[int]) { f.SetError(errBoom) }, 0, errBoom},
		{"cancelled", func(f *future.Future[int]) { f.CancelWithCause(errBoom) }, 0, future.ErrCancelled},
	}
	for _, tc := range table {
		t.Run(tc.name, func(t *testing.T) {
			inBubble(t, func(t *testing.T, l *loop.Loop) {
				type outcome struct {
					v   int
					err error
				}
				f := future.New[int](l)
				const waiters = 3
				got := make(chan outcome, waiters)
				for range waiters {
					go func() {
						v, err := f.Wait(context.Background())
						got <- outcome{v, err}
					}()
				}
				synctest.Wait() // every waiter is blocked in Wait
				require.Empty(t, got, "Wait returned before the future was done")
				l.CallSoon(func() { tc.complete(f) })
				_, _ = loop.RunUntilComplete(l, f)
				for range waiters {
					o := <-got
					assert.Equal(t, tc.value, o.v)
					if tc.err != nil {
						assert.ErrorIs(t, o.err, tc.err)
					} else {
						assert.NoError(t, o.err)
					}
				}
				// A done future: Wait returns at once, loop or not.
				v, err := f.Wait(context.Background())
				assert.Equal(t, tc.value, v)
				assert.Equal(t, tc.err == nil, err == nil)
			})
		})
	}
}

// TestWaitContextEnds checks that a ctx that ends makes Wait return ctx's
// error, leaving the future pending and its done-callback list as it was.
func TestWaitContextEnds(t *testing.T) {
	table := []struct {
		name string
		ctx  func() (context.Context, context.CancelFunc)
		end  func(cancel context.CancelFunc) // ends ctx (or lets it expire)
		want error
	}{
		{"cancelled", func() (context.Context, context.CancelFunc) {
			return context.WithCancel(context.Background())
		}, func(cancel context.CancelFunc) { cancel() }, context.Canceled},
		{"deadline", func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), time.Minute)
		}, func(context.CancelFunc) {}, context.DeadlineExceeded},
	}
	for _, tc := range table {
		t.Run(tc.name, func(t *testing.T) {
			inBubble(t, func(t *testing.T, l *loop.Loop) {
				f := future.New[int](l)
				ctx, cancel := tc.ctx()
				defer cancel()
				got := make(chan error, 1)
				go func() {
					_, err := f.Wait(ctx)
					got <- err
				}()
				synctest.Wait()
				runBriefly(t, l) // the waiter's done-callback is registered
				tc.end(cancel)
				err := <-got // for "deadline", virtual time passes here
				assert.ErrorIs(t, err, tc.want)
				assert.Equal(t, ctx.Err(), err)
				assert.False(t, f.Done(), "Wait changed the future")

				runBriefly(t, l) // the waiter's removal runs
				before := l.Stats().CallbacksRun
				require.True(t, f.SetResult(1))
				runBriefly(t, l)
				assert.Equal(t, before, l.Stats().CallbacksRun,
					"the waiter's done-callback was still registered")
			})
		})
	}
	t.Run("already ended", func(t *testing.T) {
		inBubble(t, func(t *testing.T, l *loop.Loop) {
			f := future.New[int](l)
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			_, err := f.Wait(ctx)
			assert.ErrorIs(t, err, context.Canceled)
			assert.False(t, f.Done())
		})
	})
}

// TestWaitOnLoopGoroutine checks that Wait in a callback returns
// ErrWouldDeadlock at once for a pending future (in the bubble, blocking
// would be reported as a deadlock), and the outcome for a done one.
func TestWaitOnLoopGoroutine(t *testing.T) {
	inBubble(t, func(t *testing.T, l *loop.Loop) {
		pending, done := future.New[int](l), future.New[int](l)
		done.SetResult(5)
		var errPending, errDone error
		var v int
		l.CallSoon(func() {
			_, errPending = pending.Wait(context.Background())
			v, errDone = done.Wait(context.Background())
			l.Stop()
		})
		require.NoError(t, l.RunForever())
		assert.ErrorIs(t, errPending, future.ErrWouldDeadlock)
		assert.False(t, pending.Done())
		assert.NoError(t, errDone)
		assert.Equal(t, 5, v)
	})
}

// TestWaitLoopClosed checks that closing the loop wakes waiters with an
// error matching loop.ErrClosed, and that Wait on a closed loop fails.
func TestWaitLoopClosed(t *testing.T) {
	for _, registered := range []bool{false, true} {
		t.Run(fmt.Sprintf("registered=%v", registered), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				l := loop.New(loop.WithExceptionHandler(func(loop.ExceptionContext) {}))
				f := future.New[int](l)
				got := make(chan error, 1)
				go func() {
					_, err := f.Wait(context.Background())
					got <- err
				}()
				synctest.Wait()
				if registered {
					runBriefly(t, l)
				}
				require.NoError(t, l.Close())
				assert.ErrorIs(t, <-got, loop.ErrClosed)

				_, err := f.Wait(context.Background())
				assert.ErrorIs(t, err, loop.ErrClosed, "Wait after Close")
			})
		})
	}
}

// TestDoneFromOtherGoroutines reads Done, Cancelled, and (once Done reports
// true) Result from another goroutine while the loop completes the futures;
// the race detector checks the claim that this is safe.
func TestDoneFromOtherGoroutines(t *testing.T) {
	inBubble(t, func(t *testing.T, l *loop.Loop) {
		f, g := future.New[int](l), future.New[int](l)
		start, finished := make(chan struct{}), make(chan struct{})
		type view struct {
			fDone, gDone, gCancelled bool
			bad                      int // inconsistent reads seen
		}
		res := make(chan view, 1)
		go func() {
			<-start
			var v view
			for range 2000 {
				if f.Done() {
					if x, err := f.Result(); x != 42 || err != nil {
						v.bad++
					}
				}
				if g.Cancelled() && !g.Done() {
					v.bad++ // cancelled is a done state
				}
			}
			<-finished
			v.fDone, v.gDone, v.gCancelled = f.Done(), g.Done(), g.Cancelled()
			res <- v
		}()
		l.CallSoon(func() {
			close(start)
			l.CallSoon(func() {
				f.SetResult(42)
				g.Cancel()
				close(finished)
				l.Stop()
			})
		})
		require.NoError(t, l.RunForever())
		v := <-res
		assert.Zero(t, v.bad)
		assert.True(t, v.fDone)
		assert.True(t, v.gDone)
		assert.True(t, v.gCancelled)
	})
}
