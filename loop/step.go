package loop

// A step of a task: runStep resumes the body until it suspends (suspend,
// Sleep) or returns (finish), and runs the calls the body hands to the
// goroutine that stepped it (onStepper).

import (
	"context"
	"errors"

	"github.com/aio-go/aio/future"
	"github.com/aio-go/aio/internal/hooks"
)

// runStep is one step of the task a: asyncio's Task.__step. It resumes the
// body until its next suspension or its end. It is the callback itself,
// scheduled with CallSoonArg (Spawn, Sleep(0), cancel), and called
// directly by the wake-up closure: after a coroutine switch every return
// is mispredicted, so the step is one frame, not a wrapper and a method.
func runStep(a any) {
	t := a.(*task)
	l := t.l
	if l.borrower == t {
		// The task runs the loop while it waits (lend.go): it resumes on
		// its own goroutine, without a switch.
		l.resumed = true
		if l.obs != 0 {
			l.borrowedStep(t)
		}
		return
	}
	switch t.state {
	case taskPending:
		if t.mustCancel {
			// Cancelled before its first step: the body never runs.
			t.state, t.body = taskDone, nil
			if t.c.next != nil {
				l.idle(t.c)
				t.c = coroutine{}
			}
			t.owner.finish()
			return
		}
		if t.c.next == nil {
			t.c = l.coroutine()
		}
	case taskWaiting:
		if t.detached && t.waiter != nil && !t.waiter.Done() {
			return // a stale wake-up (see taskState)
		}
	default:
		return
	}
	prev := l.curTask
	l.curTask = t
	t.state = taskRunning
	if l.cfg.debug && t.rare != nil && t.rare.goid != 0 {
		l.cur.Store(t.rare.goid)
	}
	if l.obs != 0 {
		l.beforeStep(t)
	}
	_, parked := t.c.next()
	if l.handed.fn != nil || l.obs != 0 {
		parked = l.afterNext(t, parked)
	}
	if l.cfg.debug {
		l.cur.Store(l.goid.Load())
	}
	l.curTask = prev
	if t.again {
		t.again = false
		l.pushArg(runStep, t)
	}
	if t.returned {
		if parked {
			l.parked = append(l.parked, t.c)
		}
		t.c = coroutine{}
		t.state = taskDone
		t.owner.finish()
	}
}

// finish completes the task's future from what the body returned.
func (t *Task[T]) finish() {
	t.l.tasks.remove(&t.task)
	t.cancelCtx(context.Canceled)
	f := t.Future
	hooks.Future.Disown(f)
	switch {
	case t.panicked:
		f.SetError(t.err)
	case t.mustCancel:
		// Cancelled before it started, or cancelled during the step in
		// which it returned: asyncio ends such a task cancelled.
		hooks.Future.CancelNow(f, t.cancelCause())
	case t.err != nil && errors.Is(t.err, future.ErrCancelled):
		hooks.Future.CancelNow(f, t.err)
	case t.err != nil:
		f.SetError(t.err)
	default:
		f.SetResult(t.result)
	}
	t.result, t.err = *new(T), nil
}

// check panics unless co's task body is the code running now: a suspending
// call made from anywhere else must not touch the task.
func (co *Coro) check(op string) {
	if t := co.t; t.l.curTask != t || t.state != taskRunning && t.state != taskStopping {
		panic("loop: " + op + ": called outside its task's body")
	}
}

// suspend yields the running task's body to the loop. It reports false if
// the coroutine was stopped (the loop is closing); the caller must not
// yield again then. The caller has called check.
func (co *Coro) suspend() bool {
	t := co.t
	if t.state == taskStopping {
		return false
	}
	t.state = taskWaiting
	if l := t.l; l.lends && l.borrower == nil && len(l.resources) == l.daemons && l.lend(t) {
		t.state = taskRunning
		return true
	}
	if !co.yield(struct{}{}) || t.l.insp != nil && !co.probed() {
		t.state = taskStopping
		return false
	}
	return true
}

// A handedCall is a call that a task body hands to the goroutine that
// stepped it (onStepper), with the panic it raised there.
type handedCall struct {
	fn       func(arg any)
	arg      any
	panicked any
}

// onStepper runs fn(arg) on the stack of the goroutine that resumed the
// running task's body (the loop goroutine, or the task borrowing the loop),
// and then resumes the body; outside a task body it calls fn(arg) at once.
// A body's stack grows to the deepest call it ever makes and keeps that
// size while the task waits, so the I/O of package stream (syscalls, the
// net package) runs there instead: an idle connection's handler keeps the
// minimum stack. It costs two coroutine switches. fn must not suspend; a
// panic in fn is raised again in the body.
func (l *Loop) onStepper(fn func(arg any), arg any) {
	t := l.curTask
	if t == nil {
		fn(arg)
		return
	}
	l.handed = handedCall{fn: fn, arg: arg}
	if !t.co.yield(struct{}{}) {
		// The coroutine is being stopped (the loop is closing): fn did not
		// run, and the body must not yield again.
		l.handed = handedCall{}
		t.state = taskStopping
		return
	}
	if p := l.handed.panicked; p != nil {
		l.handed.panicked = nil
		panic(p)
	}
}

// afterNext is what a step does when the body yields with a call handed
// over (onStepper), or with observers on: it runs the handed calls,
// resuming the body after each, and then the observers' end of the step.
func (l *Loop) afterNext(t *task, parked bool) bool {
	for l.handed.fn != nil {
		l.runHanded()
		_, parked = t.c.next()
	}
	if l.obs != 0 {
		parked = l.afterStep(t, parked)
	}
	return parked
}

// runHanded runs the call a task body handed over (onStepper), keeping its
// panic for the body.
func (l *Loop) runHanded() {
	h := l.handed
	l.handed = handedCall{}
	t := l.curTask
	l.curTask = nil // fn runs as loop code, not in the body
	defer func() {
		l.curTask = t
		if p := recover(); p != nil {
			l.handed.panicked = p
		}
	}()
	h.fn(h.arg)
}

// takeCancel returns the pending cancellation error, if any, and clears it.
func (t *task) takeCancel() error {
	if !t.mustCancel {
		return nil
	}
	t.mustCancel = false
	return future.Cancelled(t.cancelCause())
}
