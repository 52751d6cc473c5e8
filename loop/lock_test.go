package loop_test

import (
	"errors"
	"fmt"
	"testing"
	"testing/synctest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aio-go/aio/future"
	"github.com/aio-go/aio/loop"
)

// The helpers below are shared by the tests of the synchronisation
// primitives (lock, event, semaphore and queue tests).

// syncRun runs main as the first task of a new loop, in a synctest bubble
// of its own, until main returns, then closes the loop. main's error, and
// anything reported to the exception handler, fail the test. Inside main
// and the tasks it spawns, record values; assert on them after syncRun.
func syncRun(t *testing.T, main func(co *loop.Coro) error) {
	t.Helper()
	synctest.Test(t, func(t *testing.T) {
		var reports []string
		l := loop.New(loop.WithExceptionHandler(func(c loop.ExceptionContext) {
			reports = append(reports, fmt.Sprintf("%s: %v", c.Message, c.Err))
		}))
		task := loop.Spawn(l, func(co *loop.Coro) (struct{}, error) { return struct{}{}, main(co) })
		_, err := loop.RunUntilComplete(l, task.Future)
		require.NoError(t, l.Close())
		require.NoError(t, err)
		assert.Empty(t, reports)
	})
}

// syncGo spawns body as a task of co's loop.
func syncGo(co *loop.Coro, body func(co *loop.Coro) error) *loop.Task[struct{}] {
	return loop.Spawn(co.Loop(), func(co *loop.Coro) (struct{}, error) { return struct{}{}, body(co) })
}

// syncYield lets the loop run n iterations.
func syncYield(co *loop.Coro, n int) error {
	for range n {
		if err := loop.Sleep(co, 0); err != nil {
			return err
		}
	}
	return nil
}

// syncJoin awaits every task; a task that ended cancelled is fine, any
// other error is returned.
func syncJoin(co *loop.Coro, ts ...*loop.Task[struct{}]) error {
	var errs []error
	for _, t := range ts {
		if _, err := t.Await(co); err != nil && !t.Cancelled() {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// syncErr names an error in a trace.
func syncErr(err error) string {
	switch {
	case err == nil:
		return "nil"
	case errors.Is(err, future.ErrCancelled):
		return "cancelled"
	}
	return err.Error()
}

// syncPanic returns what fn panics with, or nil.
func syncPanic(fn func()) (v any) {
	defer func() { v = recover() }()
	fn()
	return nil
}

// lockHolder is a task body that takes lk and records name, then waits for
// blocker (or one iteration, if blocker is nil) and releases the lock; if
// Acquire fails, it records the error and returns it.
func lockHolder(lk *loop.Lock, name string, rec func(string), blocker *future.Future[struct{}]) func(co *loop.Coro) error {
	return func(co *loop.Coro) error {
		if err := lk.Acquire(co); err != nil {
			rec(name + " " + syncErr(err))
			return err
		}
		rec(name)
		var err error
		if blocker != nil {
			_, err = loop.Await(co, blocker)
		} else {
			err = loop.Sleep(co, 0)
		}
		lk.Release()
		return err
	}
}

// syncTaker is a task body that takes a Lock or a unit of a Semaphore with
// acquire and keeps it, recording name or the error.
func syncTaker(acquire func(co *loop.Coro) error, name string, rec func(string)) func(co *loop.Coro) error {
	return func(co *loop.Coro) error {
		err := acquire(co)
		if err != nil {
			rec(name + " " + syncErr(err))
		} else {
			rec(name)
		}
		return err
	}
}

func TestLockZeroValue(t *testing.T) {
	var lk loop.Lock
	var got []string
	syncRun(t, func(co *loop.Coro) error {
		got = append(got, fmt.Sprint(lk.Locked()))
		if err := lk.Acquire(co); err != nil {
			return err
		}
		got = append(got, fmt.Sprint(lk.Locked(), lk.TryAcquire()))
		lk.Release()
		got = append(got, fmt.Sprint(lk.Locked(), lk.TryAcquire(), lk.Locked()))
		lk.Release()
		return nil
	})
	assert.Equal(t, []string{"false", "true false", "false true true"}, got)
	assert.Equal(t, "loop: Lock.Release: lock is not locked", syncPanic(lk.Release))
}

func TestLockAcquireFastPathDoesNotSuspend(t *testing.T) {
	var before, after uint64
	syncRun(t, func(co *loop.Coro) error {
		var lk loop.Lock
		before = co.Loop().Stats().Iterations
		err := lk.Acquire(co)
		after = co.Loop().Stats().Iterations
		return err
	})
	assert.Equal(t, before, after)
}

// syncCase is one row of a synchronisation primitive's ordering table:
// run drives the scenario from the main task on a new primitive p, made
// with n (a Semaphore's value, a Queue's maxsize), and the trace it
// records must equal want.
type syncCase[P any] struct {
	name string
	n    int
	run  func(co *loop.Coro, p P, rec func(string)) error
	want []string
}

// runSyncCases runs each row with syncRun, on the primitive newP(row.n).
func runSyncCases[P any](t *testing.T, newP func(n int) P, table []syncCase[P]) {
	t.Helper()
	for _, tc := range table {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			syncRun(t, func(co *loop.Coro) error {
				return tc.run(co, newP(tc.n), func(s string) { got = append(got, s) })
			})
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestLockOrdering(t *testing.T) {
	runSyncCases(t, func(int) *loop.Lock { return new(loop.Lock) }, []syncCase[*loop.Lock]{{
		// Release wakes w0 without handing it the lock: the lock is
		// unlocked, yet the releasing task cannot take it back before
		// the waiters (asyncio: order 0,1,2 then the barger).
		name: "fifo without barging",
		run: func(co *loop.Coro, lk *loop.Lock, rec func(string)) error {
			if err := lk.Acquire(co); err != nil {
				return err
			}
			var ts []*loop.Task[struct{}]
			for i := range 3 {
				ts = append(ts, syncGo(co, lockHolder(lk, fmt.Sprint("w", i), rec, nil)))
			}
			if err := syncYield(co, 1); err != nil {
				return err
			}
			lk.Release()
			rec(fmt.Sprintf("released locked=%v try=%v", lk.Locked(), lk.TryAcquire()))
			if err := lk.Acquire(co); err != nil {
				return err
			}
			rec("barger")
			lk.Release()
			return syncJoin(co, ts...)
		},
		want: []string{"released locked=false try=false", "w0", "w1", "w2", "barger"},
	}, {
		name: "cancelled waiter leaves the queue",
		run: func(co *loop.Coro, lk *loop.Lock, rec func(string)) error {
			if err := lk.Acquire(co); err != nil {
				return err
			}
			var ts []*loop.Task[struct{}]
			for i := range 3 {
				ts = append(ts, syncGo(co, lockHolder(lk, fmt.Sprint("w", i), rec, nil)))
			}
			if err := syncYield(co, 1); err != nil {
				return err
			}
			ts[1].Cancel()
			lk.Release()
			err := syncJoin(co, ts...)
			rec(fmt.Sprintf("locked=%v cancelled=%v", lk.Locked(), ts[1].Cancelled()))
			return err
		},
		want: []string{"w1 cancelled", "w0", "w2", "locked=false cancelled=true"},
	}, {
		// asyncio's test_cancel_race: B's waiter is cancelled as A
		// releases; A's Release finds B's cancelled waiter first, so B
		// must wake C when it leaves.
		name: "cancel race",
		run: func(co *loop.Coro, lk *loop.Lock, rec func(string)) error {
			fa := future.New[struct{}](co.Loop())
			ta := syncGo(co, lockHolder(lk, "A", rec, fa))
			if err := syncYield(co, 1); err != nil {
				return err
			}
			tb := syncGo(co, lockHolder(lk, "B", rec, nil))
			tc := syncGo(co, lockHolder(lk, "C", rec, nil))
			if err := syncYield(co, 1); err != nil {
				return err
			}
			fa.SetResult(struct{}{})
			tb.Cancel()
			if err := syncYield(co, 1); err != nil {
				return err
			}
			rec(fmt.Sprintf("locked=%v a=%v b=%v", lk.Locked(), ta.Done(), tb.Cancelled()))
			return syncJoin(co, ta, tb, tc)
		},
		want: []string{"A", "B cancelled", "locked=false a=true b=true", "C"},
	}, {
		// asyncio's test_cancel_release_race: a callback cancels the
		// first waiter and releases the lock; exactly one waiter takes it.
		name: "cancel then release",
		run:  cancelReleaseRace(func(t1 *loop.Task[struct{}], lk *loop.Lock) { t1.Cancel(); lk.Release() }),
		want: []string{"t1 cancelled", "t2", "locked=true", "t3 cancelled"},
	}, {
		// The same, the other way round: t1 is woken, then cancelled
		// before it resumes; it must pass the wake-up to t2.
		name: "release then cancel",
		run:  cancelReleaseRace(func(t1 *loop.Task[struct{}], lk *loop.Lock) { lk.Release(); t1.Cancel() }),
		want: []string{"t1 cancelled", "t2", "locked=true", "t3 cancelled"},
	}, {
		// asyncio's test_finished_waiter_cancelled: with only a cancelled
		// waiter left in the queue, a newcomer takes the lock at once.
		name: "finished waiter cancelled",
		run: func(co *loop.Coro, lk *loop.Lock, rec func(string)) error {
			if err := lk.Acquire(co); err != nil {
				return err
			}
			tb := syncGo(co, syncTaker(lk.Acquire, "b", rec))
			if err := syncYield(co, 1); err != nil {
				return err
			}
			tc := syncGo(co, syncTaker(lk.Acquire, "c", rec))
			tb.Cancel()
			lk.Release()
			if err := syncYield(co, 1); err != nil {
				return err
			}
			rec(fmt.Sprintf("locked=%v", lk.Locked()))
			err := syncJoin(co, tb, tc)
			lk.Release()
			return err
		},
		want: []string{"c", "b cancelled", "locked=true"},
	}, {
		name: "cancelled before waiting",
		run: func(co *loop.Coro, lk *loop.Lock, rec func(string)) error {
			if err := lk.Acquire(co); err != nil {
				return err
			}
			w := syncGo(co, func(co *loop.Coro) error {
				loop.CurrentTask(co.Loop()).Cancel()
				return syncTaker(lk.Acquire, "w", rec)(co)
			})
			if err := syncYield(co, 2); err != nil {
				return err
			}
			lk.Release()
			rec(fmt.Sprintf("try=%v", lk.TryAcquire()))
			lk.Release()
			return syncJoin(co, w)
		},
		want: []string{"w cancelled", "try=true"},
	}})
}

// cancelReleaseRace is asyncio's test_cancel_release_race: the main task
// holds the lock and t1, t2, t3 wait for it; a callback runs trigger, and
// then only t2 must hold the lock.
func cancelReleaseRace(trigger func(t1 *loop.Task[struct{}], lk *loop.Lock)) func(*loop.Coro, *loop.Lock, func(string)) error {
	return func(co *loop.Coro, lk *loop.Lock, rec func(string)) error {
		if err := lk.Acquire(co); err != nil {
			return err
		}
		t1 := syncGo(co, syncTaker(lk.Acquire, "t1", rec))
		t2 := syncGo(co, syncTaker(lk.Acquire, "t2", rec))
		t3 := syncGo(co, syncTaker(lk.Acquire, "t3", rec))
		if err := syncYield(co, 1); err != nil {
			return err
		}
		co.Loop().CallSoon(func() { trigger(t1, lk) })
		if _, err := t1.Await(co); !errors.Is(err, future.ErrCancelled) {
			return fmt.Errorf("t1 ended with %v, want a cancellation", err)
		}
		if err := syncYield(co, 1); err != nil {
			return err
		}
		rec(fmt.Sprintf("locked=%v", lk.Locked()))
		t3.Cancel()
		err := syncJoin(co, t2, t3)
		lk.Release()
		return err
	}
}

func TestLockAcquireCancelledLeavesLockUsable(t *testing.T) {
	var got []string
	syncRun(t, func(co *loop.Coro) error {
		var lk loop.Lock
		rec := func(s string) { got = append(got, s) }
		if err := lk.Acquire(co); err != nil {
			return err
		}
		w := syncGo(co, syncTaker(lk.Acquire, "w", rec))
		if err := syncYield(co, 1); err != nil {
			return err
		}
		w.CancelWithCause(errors.New("stop"))
		if err := syncJoin(co, w); err != nil {
			return err
		}
		_, err := w.Result()
		rec(fmt.Sprintf("cause=%v locked=%v", err, lk.Locked()))
		lk.Release()
		rec(fmt.Sprintf("try=%v", lk.TryAcquire()))
		lk.Release()
		return nil
	})
	assert.Equal(t, []string{"w cancelled", "cause=future: cancelled: stop locked=true", "try=true"}, got)
}

// TestLocksOtherLoop, for every primitive of asyncio's locks.py and
// queues.py: a primitive binds to the loop of the first task that waits
// for it; a task of another loop that would have to wait gets an error
// matching ErrOtherLoop, and the paths that do not wait keep working
// (asyncio's _LoopBoundMixin).
func TestLocksOtherLoop(t *testing.T) {
	var (
		lk   loop.Lock
		ev   loop.Event
		cond loop.Condition
		sem  = loop.NewSemaphore(1)
		q    = loop.NewQueue[int](1)
	)
	// bind runs on the first loop and makes a task wait; use runs on the
	// second loop: a call that does not wait, then one that would.
	table := []struct {
		name string
		bind func(co *loop.Coro) error
		use  func(co *loop.Coro) (fast, wait error)
	}{{
		name: "Lock",
		bind: func(co *loop.Coro) error {
			if err := lk.Acquire(co); err != nil {
				return err
			}
			w := syncGo(co, func(co *loop.Coro) error { return lk.Acquire(co) })
			err := syncYield(co, 1)
			lk.Release()
			err = errors.Join(err, syncJoin(co, w))
			lk.Release()
			return err
		},
		use: func(co *loop.Coro) (error, error) {
			fast := lk.Acquire(co)
			wait := lk.Acquire(co)
			lk.Release()
			return fast, wait
		},
	}, {
		name: "Event",
		bind: func(co *loop.Coro) error {
			w := syncGo(co, ev.Wait)
			err := syncYield(co, 1)
			ev.Set()
			return errors.Join(err, syncJoin(co, w))
		},
		use: func(co *loop.Coro) (error, error) {
			fast := ev.Wait(co)
			ev.Clear()
			return fast, ev.Wait(co)
		},
	}, {
		name: "Condition",
		bind: func(co *loop.Coro) error {
			w := syncGo(co, func(co *loop.Coro) error {
				if err := cond.Acquire(co); err != nil {
					return err
				}
				err := cond.Wait(co)
				cond.Release()
				return err
			})
			err := syncYield(co, 1)
			err = errors.Join(err, cond.Acquire(co))
			cond.NotifyAll()
			cond.Release()
			return errors.Join(err, syncJoin(co, w))
		},
		use: func(co *loop.Coro) (error, error) {
			fast := cond.Acquire(co)
			wait := cond.Wait(co)
			if !cond.Locked() {
				return fast, errors.New("Wait released the lock")
			}
			cond.Release()
			return fast, wait
		},
	}, {
		name: "Semaphore",
		bind: func(co *loop.Coro) error {
			if err := sem.Acquire(co); err != nil {
				return err
			}
			w := syncGo(co, sem.Acquire)
			err := syncYield(co, 1)
			sem.Release()
			err = errors.Join(err, syncJoin(co, w))
			sem.Release()
			return err
		},
		use: func(co *loop.Coro) (error, error) {
			fast := sem.Acquire(co)
			wait := sem.Acquire(co)
			sem.Release()
			return fast, wait
		},
	}, {
		name: "Queue",
		bind: func(co *loop.Coro) error {
			w := syncGo(co, func(co *loop.Coro) error { _, err := q.Get(co); return err })
			err := syncYield(co, 1)
			err = errors.Join(err, q.PutNowait(1))
			return errors.Join(err, syncJoin(co, w))
		},
		use: func(co *loop.Coro) (error, error) {
			fast := q.Put(co, 1)
			wait := q.Put(co, 2)
			_, err := q.GetNowait()
			return errors.Join(fast, err), wait
		},
	}}
	for _, tc := range table {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				run := func(l *loop.Loop, body func(co *loop.Coro) error) error {
					task := loop.Spawn(l, func(co *loop.Coro) (struct{}, error) { return struct{}{}, body(co) })
					_, err := loop.RunUntilComplete(l, task.Future)
					return err
				}
				l1, l2 := loop.New(), loop.New()
				defer l1.Close()
				defer l2.Close()
				require.NoError(t, run(l1, tc.bind))
				var fast, wait error
				require.NoError(t, run(l2, func(co *loop.Coro) error {
					fast, wait = tc.use(co)
					return nil
				}))
				assert.NoError(t, fast)
				assert.ErrorIs(t, wait, loop.ErrOtherLoop)
				assert.ErrorContains(t, wait, "loop: "+tc.name+" is bound to a different loop")
			})
		})
	}
}

// TestLocksLoopClosed: closing the loop ends the tasks blocked on a
// primitive; each wait returns an error matching ErrClosed, and the
// clean-up (waking the next waiter, giving units back) runs without panics.
func TestLocksLoopClosed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var (
			lk   loop.Lock
			ev   loop.Event
			cond loop.Condition
			sem  = loop.NewSemaphore(0)
			full = loop.NewQueue[int](1)
			q    = loop.NewQueue[int](0)
		)
		require.NoError(t, full.PutNowait(1))
		waits := map[string]func(co *loop.Coro) error{
			"Lock":      lk.Acquire,
			"Lock 2":    lk.Acquire,
			"Event":     ev.Wait,
			"Semaphore": sem.Acquire,
			"Put":       func(co *loop.Coro) error { return full.Put(co, 2) },
			"Get":       func(co *loop.Coro) error { _, err := q.Get(co); return err },
			"Condition": func(co *loop.Coro) error {
				if err := cond.Acquire(co); err != nil {
					return err
				}
				return cond.Wait(co)
			},
		}
		got := map[string]error{}
		l := loop.New(loop.WithExceptionHandler(func(loop.ExceptionContext) {}))
		main := loop.Spawn(l, func(co *loop.Coro) (struct{}, error) {
			if err := lk.Acquire(co); err != nil {
				return struct{}{}, err
			}
			for name, wait := range waits {
				syncGo(co, func(co *loop.Coro) error {
					got[name] = wait(co)
					return nil
				})
			}
			return struct{}{}, syncYield(co, 2)
		})
		_, err := loop.RunUntilComplete(l, main.Future)
		require.NoError(t, err)
		require.Empty(t, got, "no wait may return before Close")
		require.NoError(t, l.Close())
		require.Len(t, got, len(waits))
		for name, err := range got {
			assert.ErrorIs(t, err, loop.ErrClosed, name)
		}
		assert.Equal(t, 1, full.Len())
		assert.Equal(t, 0, q.Len())
	})
}
