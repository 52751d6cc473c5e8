package loop_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/aio-go/aio/loop"
)

// evWaiter is a task body that waits on ev and records name and the result.
func evWaiter(ev *loop.Event, name string, rec func(string)) func(co *loop.Coro) error {
	return func(co *loop.Coro) error {
		err := ev.Wait(co)
		rec(name + " " + syncErr(err))
		return err
	}
}

func TestEvent(t *testing.T) {
	runSyncCases(t, func(int) *loop.Event { return new(loop.Event) }, []syncCase[*loop.Event]{{
		name: "set wakes every waiter in order",
		run: func(co *loop.Coro, ev *loop.Event, rec func(string)) error {
			var ts []*loop.Task[struct{}]
			for i := range 3 {
				ts = append(ts, syncGo(co, evWaiter(ev, fmt.Sprint("w", i), rec)))
			}
			if err := syncYield(co, 1); err != nil {
				return err
			}
			rec(fmt.Sprintf("set=%v", ev.IsSet()))
			ev.Set()
			rec(fmt.Sprintf("set=%v", ev.IsSet()))
			return syncJoin(co, ts...)
		},
		want: []string{"set=false", "set=true", "w0 nil", "w1 nil", "w2 nil"},
	}, {
		// Waiters woken by Set return nil even though Clear comes before
		// they resume (asyncio, verified).
		name: "set then clear still wakes",
		run: func(co *loop.Coro, ev *loop.Event, rec func(string)) error {
			w0 := syncGo(co, evWaiter(ev, "w0", rec))
			w1 := syncGo(co, evWaiter(ev, "w1", rec))
			if err := syncYield(co, 1); err != nil {
				return err
			}
			ev.Set()
			ev.Clear()
			rec(fmt.Sprintf("set=%v", ev.IsSet()))
			return syncJoin(co, w0, w1)
		},
		want: []string{"set=false", "w0 nil", "w1 nil"},
	}, {
		name: "a waiter after clear waits for the next set",
		run: func(co *loop.Coro, ev *loop.Event, rec func(string)) error {
			ev.Set()
			ev.Clear()
			w := syncGo(co, evWaiter(ev, "w", rec))
			if err := syncYield(co, 3); err != nil {
				return err
			}
			rec(fmt.Sprintf("done=%v", w.Done()))
			ev.Set()
			ev.Set()
			return syncJoin(co, w)
		},
		want: []string{"done=false", "w nil"},
	}, {
		name: "cancelled waiter leaves, others still woken",
		run: func(co *loop.Coro, ev *loop.Event, rec func(string)) error {
			w0 := syncGo(co, evWaiter(ev, "w0", rec))
			w1 := syncGo(co, evWaiter(ev, "w1", rec))
			if err := syncYield(co, 1); err != nil {
				return err
			}
			w0.Cancel()
			if err := syncYield(co, 2); err != nil {
				return err
			}
			ev.Set()
			return syncJoin(co, w0, w1)
		},
		want: []string{"w0 cancelled", "w1 nil"},
	}, {
		// A cancellation that lands after Set woke the task, before it
		// resumed, wins (as asyncio's await of the waiter future).
		name: "cancelled after set",
		run: func(co *loop.Coro, ev *loop.Event, rec func(string)) error {
			w := syncGo(co, evWaiter(ev, "w", rec))
			if err := syncYield(co, 1); err != nil {
				return err
			}
			ev.Set()
			w.Cancel()
			err := syncJoin(co, w)
			rec(fmt.Sprintf("set=%v", ev.IsSet()))
			return err
		},
		want: []string{"w cancelled", "set=true"},
	}})
}

func TestEventWaitWhenSetDoesNotSuspend(t *testing.T) {
	var before, after uint64
	var err error
	syncRun(t, func(co *loop.Coro) error {
		var ev loop.Event
		ev.Set()
		before = co.Loop().Stats().Iterations
		err = ev.Wait(co)
		after = co.Loop().Stats().Iterations
		return nil
	})
	assert.NoError(t, err)
	assert.Equal(t, before, after)
}

// condWaiter is a task body that takes c's lock, waits on c, records name
// and the result (with whether it holds the lock then), and releases the
// lock if it holds it.
func condWaiter(c *loop.Condition, name string, rec func(string)) func(co *loop.Coro) error {
	return func(co *loop.Coro) error {
		if err := c.Acquire(co); err != nil {
			return err
		}
		err := c.Wait(co)
		rec(fmt.Sprintf("%s %s locked=%v", name, syncErr(err), c.Locked()))
		if c.Locked() {
			c.Release()
		}
		return err
	}
}

func TestCondition(t *testing.T) {
	errFirst, errSecond := errors.New("first"), errors.New("second")
	runSyncCases(t, func(int) *loop.Condition { return new(loop.Condition) }, []syncCase[*loop.Condition]{{
		// asyncio, verified: notify(2) wakes the first two waiters.
		name: "notify(2) wakes the first two in order",
		run: func(co *loop.Coro, c *loop.Condition, rec func(string)) error {
			var ts []*loop.Task[struct{}]
			for i := range 4 {
				ts = append(ts, syncGo(co, condWaiter(c, fmt.Sprint("w", i), rec)))
			}
			if err := syncYield(co, 1); err != nil {
				return err
			}
			if err := c.Acquire(co); err != nil {
				return err
			}
			c.Notify(2)
			c.Release()
			if err := syncYield(co, 3); err != nil {
				return err
			}
			if err := c.Acquire(co); err != nil {
				return err
			}
			rec("notify all")
			c.NotifyAll()
			c.Release()
			return syncJoin(co, ts...)
		},
		want: []string{"w0 nil locked=true", "w1 nil locked=true", "notify all", "w2 nil locked=true", "w3 nil locked=true"},
	}, {
		name: "notify skips waiters already notified",
		run: func(co *loop.Coro, c *loop.Condition, rec func(string)) error {
			w0 := syncGo(co, condWaiter(c, "w0", rec))
			w1 := syncGo(co, condWaiter(c, "w1", rec))
			if err := syncYield(co, 1); err != nil {
				return err
			}
			if err := c.Acquire(co); err != nil {
				return err
			}
			c.Notify(1)
			c.Notify(1)
			c.Release()
			return syncJoin(co, w0, w1)
		},
		want: []string{"w0 nil locked=true", "w1 nil locked=true"},
	}, {
		// Wait always takes the lock again, even when cancelled: w
		// returns only after the main task releases it.
		name: "wait re-acquires after cancel",
		run: func(co *loop.Coro, c *loop.Condition, rec func(string)) error {
			w := syncGo(co, condWaiter(c, "w", rec))
			if err := syncYield(co, 1); err != nil {
				return err
			}
			if err := c.Acquire(co); err != nil {
				return err
			}
			w.Cancel()
			if err := syncYield(co, 3); err != nil {
				return err
			}
			rec("release")
			c.Release()
			return syncJoin(co, w)
		},
		want: []string{"release", "w cancelled locked=true"},
	}, {
		name: "cancelled again while re-acquiring",
		run: func(co *loop.Coro, c *loop.Condition, rec func(string)) error {
			var err error
			w := syncGo(co, func(co *loop.Coro) error {
				if aerr := c.Acquire(co); aerr != nil {
					return aerr
				}
				err = c.Wait(co)
				rec(fmt.Sprintf("w first=%v second=%v locked=%v", errors.Is(err, errFirst), errors.Is(err, errSecond), c.Locked()))
				c.Release()
				return err
			})
			if err := syncYield(co, 1); err != nil {
				return err
			}
			if err := c.Acquire(co); err != nil {
				return err
			}
			w.CancelWithCause(errFirst)
			if err := syncYield(co, 2); err != nil {
				return err
			}
			w.CancelWithCause(errSecond)
			if err := syncYield(co, 2); err != nil {
				return err
			}
			rec("release")
			c.Release()
			return syncJoin(co, w)
		},
		want: []string{"release", "w first=false second=true locked=true"},
	}, {
		// A waiter notified, then cancelled before it resumes, passes the
		// notification on, so w1 wakes without another Notify.
		name: "notified then cancelled passes the notification on",
		run: func(co *loop.Coro, c *loop.Condition, rec func(string)) error {
			w0 := syncGo(co, condWaiter(c, "w0", rec))
			w1 := syncGo(co, condWaiter(c, "w1", rec))
			if err := syncYield(co, 1); err != nil {
				return err
			}
			if err := c.Acquire(co); err != nil {
				return err
			}
			c.Notify(1)
			w0.Cancel()
			c.Release()
			if err := syncYield(co, 5); err != nil {
				return err
			}
			rec(fmt.Sprintf("w1 done=%v", w1.Done()))
			if !w1.Done() {
				if err := c.Acquire(co); err != nil {
					return err
				}
				c.NotifyAll()
				c.Release()
			}
			return syncJoin(co, w0, w1)
		},
		want: []string{"w0 cancelled locked=true", "w1 nil locked=true", "w1 done=true"},
	}, {
		// asyncio notifies one waiter whenever Wait fails, notified or
		// not: w0's cancellation wakes w1 spuriously, so the Notify
		// that follows wakes w2.
		name: "cancelled waiter wakes the next one",
		run: func(co *loop.Coro, c *loop.Condition, rec func(string)) error {
			w0 := syncGo(co, condWaiter(c, "w0", rec))
			w1 := syncGo(co, condWaiter(c, "w1", rec))
			w2 := syncGo(co, condWaiter(c, "w2", rec))
			if err := syncYield(co, 1); err != nil {
				return err
			}
			w0.Cancel()
			if err := syncYield(co, 2); err != nil {
				return err
			}
			if err := c.Acquire(co); err != nil {
				return err
			}
			c.Notify(1)
			c.Release()
			if err := syncYield(co, 3); err != nil {
				return err
			}
			rec(fmt.Sprintf("w2 done=%v", w2.Done()))
			w2.Cancel()
			return syncJoin(co, w0, w1, w2)
		},
		want: []string{"w0 cancelled locked=true", "w1 nil locked=true", "w2 nil locked=true", "w2 done=true"},
	}})
}

func TestConditionWaitFor(t *testing.T) {
	var got []string
	syncRun(t, func(co *loop.Coro) error {
		var c loop.Condition
		n, calls := 0, 0
		w := syncGo(co, func(co *loop.Coro) error {
			if err := c.Acquire(co); err != nil {
				return err
			}
			defer c.Release()
			err := c.WaitFor(co, func() bool { calls++; return n >= 3 })
			got = append(got, fmt.Sprintf("n=%d calls=%d err=%s", n, calls, syncErr(err)))
			return err
		})
		for range 4 {
			if err := syncYield(co, 1); err != nil {
				return err
			}
			if err := c.Acquire(co); err != nil {
				return err
			}
			n++
			c.NotifyAll()
			c.Release()
		}
		return syncJoin(co, w)
	})
	assert.Equal(t, []string{"n=3 calls=4 err=nil"}, got)
}

func TestConditionWaitForTrueAtOnce(t *testing.T) {
	var before, after uint64
	var err error
	syncRun(t, func(co *loop.Coro) error {
		var c loop.Condition
		if err := c.Acquire(co); err != nil {
			return err
		}
		before = co.Loop().Stats().Iterations
		err = c.WaitFor(co, func() bool { return true })
		after = co.Loop().Stats().Iterations
		c.Release()
		return nil
	})
	assert.NoError(t, err)
	assert.Equal(t, before, after)
}

func TestConditionSharedLock(t *testing.T) {
	var got []string
	syncRun(t, func(co *loop.Coro) error {
		var lk loop.Lock
		c1, c2 := loop.NewCondition(&lk), loop.NewCondition(&lk)
		if err := lk.Acquire(co); err != nil {
			return err
		}
		got = append(got, fmt.Sprint(c1.Locked(), c2.Locked(), c2.TryAcquire()))
		c1.Release()
		got = append(got, fmt.Sprint(lk.Locked(), c2.Locked()))
		own := loop.NewCondition(nil)
		got = append(got, fmt.Sprint(own.TryAcquire(), lk.Locked()))
		own.Release()
		return nil
	})
	assert.Equal(t, []string{"true true false", "false false", "true false"}, got)
}

func TestConditionMisusePanics(t *testing.T) {
	var waitPanic, notifyPanic, notifyAllPanic any
	syncRun(t, func(co *loop.Coro) error {
		var c loop.Condition
		waitPanic = syncPanic(func() { _ = c.Wait(co) })
		notifyPanic = syncPanic(func() { c.Notify(1) })
		notifyAllPanic = syncPanic(c.NotifyAll)
		return nil
	})
	assert.Equal(t, "loop: Condition.Wait: lock is not held", waitPanic)
	assert.Equal(t, "loop: Condition.Notify: lock is not held", notifyPanic)
	assert.Equal(t, "loop: Condition.NotifyAll: lock is not held", notifyAllPanic)
}
