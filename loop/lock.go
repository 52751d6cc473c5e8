package loop

import "github.com/aio-go/aio/future"

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
	if lk.TryAcquire() {
		return nil
	}
	if err := bindLoop(&lk.l, co, "Lock"); err != nil {
		return err
	}
	if _, err := lk.waiters.wait(co); err != nil {
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
	if !lk.locked {
		if lk.l != nil && lk.l.IsClosing() {
			// Close is stopping tasks: a Condition.Wait that ended with
			// ErrClosed without the lock is followed by its caller's
			// Release; a clean teardown matters more than the misuse.
			return
		}
		panic("loop: Release of an unlocked Lock")
	}
	lk.locked = false
	lk.wakeFirst()
}

// Locked is asyncio's Lock.locked: it reports whether the lock is held.
//
// Must be called on the loop goroutine.
func (lk *Lock) Locked() bool { return lk.locked }

// wakeFirst wakes the first waiter unless it is already done: woken, or
// cancelled (a cancelled waiter wakes the next one itself when it resumes).
func (lk *Lock) wakeFirst() {
	if f := lk.waiters.first(); f != nil {
		f.SetResult(struct{}{})
	}
}

// waitQueue is the FIFO of waiter futures the primitives in this package
// share. A waiter is removed by the task that waits on it (wait), usually
// from the front, so removal is O(1) in the common case; Queue's wake-ups
// remove the waiters they wake instead (popFirst).
type waitQueue struct {
	q    []*future.Future[struct{}]
	head int
}

func (w *waitQueue) len() int { return len(w.q) - w.head }

// wait parks co on a new waiter at the back of w until the waiter is woken
// or the wait fails, then takes the waiter out of w. It returns Await's
// error, and whether the waiter was woken: after an error, that is a
// wake-up the caller did not use. The primitive must be bound to co's loop.
func (w *waitQueue) wait(co *Coro) (woken bool, err error) {
	f := future.New[struct{}](co.Loop())
	w.push(f)
	_, err = Await(co, f)
	w.remove(f)
	return f.Done() && !f.Cancelled(), err
}

// wake wakes the first n waiters that are not done (already woken, or
// cancelled and not yet resumed) and returns how many it woke.
func (w *waitQueue) wake(n int) int {
	woken := 0
	for _, f := range w.all() {
		if woken >= n {
			break
		}
		if f.SetResult(struct{}{}) {
			woken++
		}
	}
	return woken
}

func (w *waitQueue) push(f *future.Future[struct{}]) {
	if w.head > 0 && len(w.q) == cap(w.q) && 2*w.head >= len(w.q) {
		n := copy(w.q, w.q[w.head:])
		clear(w.q[n:])
		w.q, w.head = w.q[:n], 0
	}
	w.q = append(w.q, f)
}

// first returns the first waiter, or nil.
func (w *waitQueue) first() *future.Future[struct{}] {
	if w.len() == 0 {
		return nil
	}
	return w.q[w.head]
}

// popFirst removes and returns the first waiter, or nil.
func (w *waitQueue) popFirst() *future.Future[struct{}] {
	f := w.first()
	if f != nil {
		w.q[w.head] = nil
		w.head++
		if w.head == len(w.q) {
			w.q, w.head = w.q[:0], 0
		}
	}
	return f
}

// remove removes f and reports whether it was there.
func (w *waitQueue) remove(f *future.Future[struct{}]) bool {
	if w.first() == f && f != nil {
		w.popFirst()
		return true
	}
	for i := w.head + 1; i < len(w.q); i++ {
		if w.q[i] == f {
			copy(w.q[i:], w.q[i+1:])
			w.q[len(w.q)-1] = nil
			w.q = w.q[:len(w.q)-1]
			return true
		}
	}
	return false
}

// all returns the waiters in order; the slice is valid until the next
// change to w.
func (w *waitQueue) all() []*future.Future[struct{}] { return w.q[w.head:] }

// allCancelled reports whether every waiter is cancelled (true when there
// are none): cancelled waiters that have not left the queue yet do not make
// a newcomer wait.
func (w *waitQueue) allCancelled() bool {
	for _, f := range w.all() {
		if !f.Cancelled() {
			return false
		}
	}
	return true
}

// otherLoopError is what a primitive bound to one loop returns to a task of
// another loop: asyncio's "is bound to a different event loop".
type otherLoopError struct{ what string }

func (e *otherLoopError) Error() string { return "loop: " + e.what + " is bound to a different loop" }
func (e *otherLoopError) Unwrap() error { return ErrOtherLoop }

// bindLoop binds a primitive to co's loop on first use (*bound is nil); it
// returns an error matching ErrOtherLoop if the primitive is bound to
// another loop.
func bindLoop(bound **Loop, co *Coro, what string) error {
	if *bound == nil {
		*bound = co.Loop()
	}
	if *bound != co.Loop() {
		return &otherLoopError{what}
	}
	return nil
}
