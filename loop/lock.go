package loop

// Lock is asyncio's Lock: a mutual-exclusion lock for tasks of one loop.
// Acquire suspends the task until the lock is free; Release frees it.
//
// Tasks acquire the lock in the order they started waiting (strict FIFO).
// Release does not hand the lock over: it wakes the first waiter, which
// takes the lock when it resumes. In between, Locked reports false, yet a
// task that calls Acquire or TryAcquire then still queues behind the woken
// waiter: nobody can barge in.
//
// The lock is not owned by a task: any task, or a plain callback, may
// release it.
//
// The zero value is an unlocked Lock. It binds to a loop the first time a
// task has to wait for it (asyncio's _LoopBoundMixin); from then on, a task
// of another loop that has to wait gets an error matching ErrOtherLoop. A
// Lock must not be copied after first use.
//
// Its methods must be called on the loop goroutine.
type Lock struct {
	_       noCopy
	l       *Loop
	waiters waitQueue
	locked  bool
}

// Acquire is asyncio's Lock.acquire: it takes the lock and returns nil. If
// the lock is locked, or other tasks already wait for it, the task waits
// its turn (FIFO) first; otherwise Acquire returns without suspending.
//
// Acquire returns an error matching ErrOtherLoop, changing nothing, if the
// task would have to wait and the lock is bound to another loop. Like
// Await, it panics if it has to wait outside the body of co's task.
//
// Cancellation: if the task is cancelled while waiting, Acquire returns an
// error matching future.ErrCancelled and the task does not hold the lock.
// The task leaves the queue; if Release had already woken it, the wake-up
// passes to the next waiter, so no waiter is stranded. If the loop closes,
// Acquire returns an error matching ErrClosed, with the same clean-up.
//
// Must be called on the loop goroutine.
func (lk *Lock) Acquire(co *Coro) error {
	checkOn(lk.l, "Lock.Acquire")
	if lk.tryAcquire() {
		return nil
	}
	if err := bindLoop(&lk.l, co, "Lock"); err != nil {
		return err
	}
	if _, err := lk.waiters.wait(co, lk); err != nil {
		// With the lock free, Release either woke us (a wake-up we do
		// not use) or skipped our cancelled waiter: either way the next
		// waiter must run.
		if !lk.locked {
			lk.wakeFirst()
		}
		return err
	}
	lk.locked = true
	return nil
}

// TryAcquire takes the lock if Acquire would take it without waiting: the
// lock is unlocked and no task waits for it (other than cancelled ones that
// have not left the queue yet). It reports whether it took the lock.
// asyncio has no counterpart; it is the fast path of Lock.acquire.
//
// Must be called on the loop goroutine.
func (lk *Lock) TryAcquire() bool {
	checkOn(lk.l, "Lock.TryAcquire")
	return lk.tryAcquire()
}

func (lk *Lock) tryAcquire() bool {
	if lk.locked || !lk.waiters.allCancelled() {
		return false
	}
	lk.locked = true
	return true
}

// Release is asyncio's Lock.release: it unlocks the lock and wakes the
// first waiting task, which takes the lock when it resumes. Release panics
// if the lock is not locked, except while the loop it is bound to is
// closing, when it does nothing (see Condition.Wait).
//
// Must be called on the loop goroutine.
func (lk *Lock) Release() {
	checkOn(lk.l, "Lock.Release")
	lk.release("Lock.Release")
}

// release is Release for the method op.
func (lk *Lock) release(op string) {
	if !lk.locked {
		if lk.l != nil && lk.l.IsClosing() {
			// Close is stopping tasks: a Condition.Wait that ended with
			// ErrClosed without the lock is followed by its caller's
			// Release; a clean teardown matters more than the misuse.
			return
		}
		panic("loop: " + op + ": lock is not locked")
	}
	lk.locked = false
	lk.wakeFirst()
}

// Locked is asyncio's Lock.locked: it reports whether the lock is held.
//
// Must be called on the loop goroutine.
func (lk *Lock) Locked() bool {
	checkOn(lk.l, "Lock.Locked")
	return lk.locked
}

// wakeFirst wakes the first waiter unless it is already done: woken, or
// cancelled (a cancelled waiter wakes the next one itself when it resumes).
func (lk *Lock) wakeFirst() {
	if f := lk.waiters.first(); f != nil {
		f.SetResult(struct{}{})
	}
}
