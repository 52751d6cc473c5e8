package loop

import (
	"errors"

	"github.com/aio-go/aio/future"
)

// Condition is asyncio's Condition: a condition variable over a Lock. A
// task holding the lock calls Wait, which releases the lock, suspends the
// task until another task calls Notify or NotifyAll, and takes the lock
// again before returning. Notified tasks wake in the order they started
// waiting. A Wait may return without a matching Notify (a spurious
// wake-up): check the condition in a loop, or use WaitFor.
//
// The zero value is a Condition with a lock of its own; NewCondition shares
// a Lock between conditions. A Condition binds to a loop the first time a
// task waits on it; from then on, a task of another loop gets an error
// matching ErrOtherLoop from Wait. A Condition must not be copied after
// first use.
//
// Its methods must be called on the loop goroutine.
type Condition struct {
	_       noCopy
	l       *Loop
	lk      *Lock
	waiters waitQueue
}

// NewCondition returns a Condition over lk: asyncio's Condition(lock). With
// a nil lk, the condition has a lock of its own, as the zero value has.
//
// Must be called on the loop goroutine.
func NewCondition(lk *Lock) *Condition {
	return &Condition{lk: lk}
}

// Acquire is asyncio's Condition.acquire: Lock.Acquire on the condition's
// lock.
//
// Cancellation: as for Lock.Acquire; the task does not hold the lock.
//
// Must be called on the loop goroutine.
func (c *Condition) Acquire(co *Coro) error {
	checkOn(c.l, "Condition.Acquire")
	return c.lock().Acquire(co)
}

// TryAcquire is Lock.TryAcquire on the condition's lock.
//
// Must be called on the loop goroutine.
func (c *Condition) TryAcquire() bool {
	checkOn(c.l, "Condition.TryAcquire")
	return c.lock().TryAcquire()
}

// Release is asyncio's Condition.release: Lock.Release on the condition's
// lock. It panics if the lock is not locked (see Lock.Release).
//
// Must be called on the loop goroutine.
func (c *Condition) Release() {
	checkOn(c.l, "Condition.Release")
	c.lock().release("Condition.Release")
}

// Locked is asyncio's Condition.locked: it reports whether the condition's
// lock is held.
//
// Must be called on the loop goroutine.
func (c *Condition) Locked() bool {
	checkOn(c.l, "Condition.Locked")
	return c.lock().locked
}

// Wait is asyncio's Condition.wait: it releases the lock, suspends the task
// until it is notified, then acquires the lock again and returns nil. The
// task must hold the lock (Wait panics if the lock is not locked), and
// holds it again when Wait returns, even with an error (see below). Wait
// returns an error matching ErrOtherLoop, changing nothing and keeping the
// lock, if the condition is bound to another loop.
//
// Cancellation: Wait always takes the lock again before it returns, even
// when the task is cancelled, waiting for it as long as it takes (further
// cancellations during that wait are absorbed); it then returns an error
// matching future.ErrCancelled (the latest cancellation). A notification
// the cancelled task had already received passes to the next waiter, so
// none is lost; that waiter may see it as a spurious wake-up. If the loop
// closes, Wait returns an error matching ErrClosed, holding the lock only
// if it could take it without waiting; the caller's Release that usually
// follows does nothing then (see Lock.Release).
//
// Must be called on the loop goroutine.
func (c *Condition) Wait(co *Coro) error {
	checkOn(c.l, "Condition.Wait")
	return c.wait(co, "Condition.Wait")
}

// wait is Wait for the method op.
func (c *Condition) wait(co *Coro, op string) error {
	lk := c.lock()
	if !lk.locked {
		panic("loop: " + op + ": lock is not held")
	}
	if err := bindLoop(&c.l, co, "Condition"); err != nil {
		return err
	}
	lk.release(op)
	_, err := c.waiters.wait(co, c)

	// Take the lock again, whatever happens.
	for {
		aerr := lk.Acquire(co)
		if aerr == nil {
			break
		}
		err = aerr
		if !errors.Is(aerr, future.ErrCancelled) {
			// Not a cancellation (the loop is closing): retrying
			// would fail forever.
			c.waiters.wake(1)
			return err
		}
	}
	if err != nil {
		// We may have been notified before the error: pass it on.
		c.waiters.wake(1)
	}
	return err
}

// WaitFor is asyncio's Condition.wait_for: it calls Wait until pred returns
// true, and returns nil then, holding the lock. pred is called with the
// lock held, once before the first Wait. The task must hold the lock.
//
// Cancellation: as for Wait; WaitFor returns Wait's error at once, holding
// the lock as Wait does.
//
// Must be called on the loop goroutine.
func (c *Condition) WaitFor(co *Coro, pred func() bool) error {
	checkOn(c.l, "Condition.WaitFor")
	for !pred() {
		if err := c.wait(co, "Condition.WaitFor"); err != nil {
			return err
		}
	}
	return nil
}

// Notify is asyncio's Condition.notify(n): it wakes the first n tasks
// waiting on the condition, in the order they started waiting; tasks
// already notified do not count. The caller must hold the lock: Notify
// panics if it is not locked. Woken tasks resume once they get the lock.
//
// Must be called on the loop goroutine.
func (c *Condition) Notify(n int) {
	checkOn(c.l, "Condition.Notify")
	if !c.lock().locked {
		panic("loop: Condition.Notify: lock is not held")
	}
	c.waiters.wake(n)
}

// NotifyAll is asyncio's Condition.notify_all: it wakes every task waiting
// on the condition. The caller must hold the lock: NotifyAll panics if it
// is not locked.
//
// Must be called on the loop goroutine.
func (c *Condition) NotifyAll() {
	checkOn(c.l, "Condition.NotifyAll")
	if !c.lock().locked {
		panic("loop: Condition.NotifyAll: lock is not held")
	}
	c.waiters.wakeAll()
}

// lock returns the condition's lock, creating its own on first use.
func (c *Condition) lock() *Lock {
	if c.lk == nil {
		c.lk = new(Lock)
	}
	return c.lk
}
