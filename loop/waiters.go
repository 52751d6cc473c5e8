package loop

import "github.com/aio-go/aio/future"

// waitQueue is the FIFO of waiter futures that every primitive of this
// package (Lock, Event, Condition, Semaphore, Queue) parks its tasks on.
//
// Invariants:
//
//  1. A waiter is pushed at the back by the task that waits on it (wait),
//     and taken out by that same task when it resumes, whatever woke it.
//     Waiters are woken front to back and resume in the order they were
//     woken, so that removal is from the front and O(1), except for a
//     cancelled waiter, which may leave from the middle.
//  2. Every waiter in q[head:next] is done (woken or cancelled): wake
//     starts at next, so a burst of wake-ups in one iteration (a Put per
//     item for as many blocked getters, a Release per unit) costs O(1)
//     each instead of rescanning the waiters it already woke. Waking a
//     waiter out of order (Lock's wakeFirst) keeps the invariant, since
//     done waiters never become pending again.
//
// A woken waiter stays in the queue until it resumes: that is what keeps a
// newcomer from barging in (Lock.TryAcquire, Semaphore.Locked) between a
// wake-up and the resumption it causes.
type waitQueue struct {
	q    []*future.Future[struct{}]
	head int // index in q of the first waiter
	next int // index in q of the first waiter wake has not passed
}

// len returns the number of waiters, woken ones that have not resumed
// included.
func (w *waitQueue) len() int { return len(w.q) - w.head }

// wait parks co on a new waiter at the back of w until the waiter is woken
// or the wait fails, then takes the waiter out of w. It returns Await's
// error, and whether the waiter was woken: after an error, that is a
// wake-up the caller did not use. The primitive, on, must be bound to co's
// loop; a Snapshot taken meanwhile reports that the task waits on it.
func (w *waitQueue) wait(co *Coro, on waitable) (woken bool, err error) {
	f := future.New[struct{}](co.Loop())
	w.push(f)
	x := co.t.ext()
	x.on = on
	_, err = Await(co, f)
	x.on = nil
	w.remove(f)
	return f.Done() && !f.Cancelled(), err
}

// wake wakes the first n waiters that are not done (already woken, or
// cancelled and not yet resumed), in order, and returns how many it woke.
func (w *waitQueue) wake(n int) int {
	woken := 0
	for woken < n && w.next < len(w.q) {
		f := w.q[w.next]
		w.next++
		if f.SetResult(struct{}{}) {
			woken++
		}
	}
	return woken
}

// wakeAll wakes every waiter that is not done and returns how many it woke.
func (w *waitQueue) wakeAll() int { return w.wake(w.len()) }

// first returns the first waiter, or nil.
func (w *waitQueue) first() *future.Future[struct{}] {
	if w.len() == 0 {
		return nil
	}
	return w.q[w.head]
}

// allCancelled reports whether every waiter is cancelled (true when there
// are none): cancelled waiters that have not left the queue yet do not make
// a newcomer wait.
func (w *waitQueue) allCancelled() bool {
	for _, f := range w.q[w.head:] {
		if !f.Cancelled() {
			return false
		}
	}
	return true
}

func (w *waitQueue) push(f *future.Future[struct{}]) {
	if w.head > 0 && len(w.q) == cap(w.q) && 2*w.head >= len(w.q) {
		// Slide the waiters to the front rather than grow.
		n := copy(w.q, w.q[w.head:])
		clear(w.q[n:])
		w.q, w.next, w.head = w.q[:n], w.next-w.head, 0
	}
	w.q = append(w.q, f)
}

// remove takes f out of w, if it is there.
func (w *waitQueue) remove(f *future.Future[struct{}]) {
	if w.len() == 0 {
		return
	}
	if w.q[w.head] == f {
		w.q[w.head] = nil
		w.head++
		if w.next < w.head {
			w.next = w.head
		}
		if w.head == len(w.q) {
			w.q, w.head, w.next = w.q[:0], 0, 0
		}
		return
	}
	for i := w.head + 1; i < len(w.q); i++ {
		if w.q[i] == f {
			copy(w.q[i:], w.q[i+1:])
			w.q[len(w.q)-1] = nil
			w.q = w.q[:len(w.q)-1]
			if i < w.next {
				w.next--
			}
			return
		}
	}
}

// noCopy makes go vet's copylocks check report a primitive copied after
// first use (sync.noCopy): it is a zero-size field with Lock and Unlock
// methods.
type noCopy struct{}

func (*noCopy) Lock()   {}
func (*noCopy) Unlock() {}

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

// checkOn is debug mode's check at the entry of a primitive's loop-only
// method op: it panics with ErrWrongGoroutine if the primitive is bound to
// l, l is in debug mode and running, and the caller is not running its
// code. Outside debug mode it costs a nil check and a load.
func checkOn(l *Loop, op string) {
	if l != nil && l.cfg.debug {
		l.checkGoroutine(op)
	}
}
