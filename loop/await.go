package loop

import (
	"time"

	"github.com/aio-go/aio/future"
	"github.com/aio-go/aio/internal/hooks"
)

// Await is asyncio's await: it suspends the task until f is done and
// returns f's result and error. A future that is already done does not
// suspend the task at all. The task resumes in the iteration after f
// completes: f's done-callback resumes it, with no extra hop.
//
// Await returns an error matching ErrOtherLoop if f belongs to another
// loop, and ErrAwaitSelf if f is the task's own future; it panics if f is
// nil, and if it is called outside the body of the task co belongs to.
//
// Cancellation: if the task is cancelled while waiting, f is cancelled
// (asyncio cancels the awaited future) and Await returns f's cancellation
// error; if f cannot be cancelled any more, or the cancellation arrives
// after f completed but before the task resumed, Await returns an error
// matching future.ErrCancelled and f's result is left in f. If the loop
// closes, Await returns an error matching ErrClosed.
func Await[T any](co *Coro, f *future.Future[T]) (T, error) {
	if f == nil {
		panic("loop: Await: nil future")
	}
	co.check("Await")
	t := co.t
	var zero T
	if f.Scheduler() != future.Scheduler(t.l) {
		return zero, &opError{"Await", ErrOtherLoop}
	}
	if any(f) == t.owner.self() {
		return zero, ErrAwaitSelf
	}
	if f.Done() {
		return f.Result()
	}
	if t.state == taskStopping {
		return zero, errStopped
	}
	t.waiter = f
	hooks.Future.OnDone(f, t.wakeUp())
	if t.mustCancel && f.CancelWithCause(t.cancelCause()) {
		t.mustCancel = false
	}
	ok := co.suspend()
	t.waiter = nil
	if !ok {
		return zero, errStopped
	}
	if err := t.takeCancel(); err != nil {
		return zero, err
	}
	return f.Result()
}

// Await is the method form of the package function Await, for a task's own
// future: t.Await(co) waits for t.
func (t *Task[T]) Await(co *Coro) (T, error) { return Await(co, t.Future) }

// Sleep is asyncio's sleep: it suspends the task for d on the loop's clock.
// Sleep(co, 0) (or any d <= 0) yields to the loop for exactly one
// iteration: callbacks already scheduled run first.
//
// Cancellation: a cancelled Sleep returns an error matching
// future.ErrCancelled at once, and its timer is cancelled. If the loop
// closes, Sleep returns an error matching ErrClosed.
func Sleep(co *Coro, d time.Duration) error {
	t := co.t
	if l := t.l; d > 0 || t.state != taskRunning || l.curTask != t || l.lends && l.borrower == nil {
		return sleepSlow(co, d)
	}
	// Sleep(0) in a task stepped by the goroutine running the loop, which
	// does not lend: suspend's work, written out. The frame of Sleep is on
	// the waiting task's stack between its body's and yield's, and each
	// resumption reads those frames back from memory that has gone cold
	// while the other tasks ran: this one is kept small, and the next step
	// is scheduled by runStep, on the loop's stack, once the body has
	// yielded (again), so that no call goes deeper into the cold stack.
	if t.l.cfg.debug {
		t.l.CallSoonArg(runStep, t) // traced from here
	} else {
		t.again = true
	}
	t.state = taskWaiting
	if !co.yield(struct{}{}) || t.l.insp != nil && !co.probed() {
		t.state = taskStopping
		return errSleepStopped
	}
	if t.mustCancel {
		return t.takeCancel()
	}
	return nil
}

// sleepSlow is Sleep outside its fast path: with d > 0, a call outside
// the task's body, a stopped coroutine, or a task that may borrow the
// loop.
func sleepSlow(co *Coro, d time.Duration) error {
	co.check("Sleep")
	if d > 0 {
		return sleepFor(co, d)
	}
	t := co.t
	if t.state == taskStopping {
		return errSleepStopped
	}
	t.l.CallSoonArg(runStep, t)
	if !co.suspend() {
		return errSleepStopped
	}
	return t.takeCancel()
}

// sleepFor is Sleep for d > 0: it awaits a future that a timer completes.
func sleepFor(co *Coro, d time.Duration) error {
	t := co.t
	f := future.New[struct{}](t.l)
	h := t.l.CallLater(d, func() { f.SetResult(struct{}{}) })
	x := t.ext()
	x.until = h.When()
	_, err := Await(co, f)
	x.until = time.Time{}
	h.Cancel()
	if err == errStopped {
		err = errSleepStopped
	}
	return err
}
