package main

import "iter"

// A future is a result that is set once, with asyncio's callback rule: its
// done-callbacks are scheduled with callSoon when it completes, never run
// synchronously. Must be used on the loop goroutine.
type future[T any] struct {
	l         *loop
	done      bool
	result    T
	callbacks []func(*future[T])
}

func newFuture[T any](l *loop) *future[T] { return &future[T]{l: l} }

// addDoneCallback schedules cb(f) once f is done: now, if it is.
func (f *future[T]) addDoneCallback(cb func(*future[T])) {
	if f.done {
		f.l.callSoon(func() { cb(f) })
		return
	}
	f.callbacks = append(f.callbacks, cb)
}

// setResult completes f with v and schedules its done-callbacks. It panics
// if f is already done.
func (f *future[T]) setResult(v T) {
	if f.done {
		panic("naiveloop: future already done")
	}
	f.done, f.result = true, v
	for _, cb := range f.callbacks {
		f.l.callSoon(func() { cb(f) })
	}
	f.callbacks = nil
}

// onDone schedules fn once f is done; it makes a future something a task
// can await.
func (f *future[T]) onDone(fn func()) { f.addDoneCallback(func(*future[T]) { fn() }) }

// An awaitable is what a task suspends on. A nil awaitable is sleep(0):
// the task is rescheduled at once with callSoon.
type awaitable interface{ onDone(func()) }

// A task runs a coroutine on the loop: each step resumes the coroutine
// until it yields what it waits for, and the next step is scheduled when
// that is done. Its done future completes when the coroutine returns.
type task struct {
	l    *loop
	next func() (awaitable, bool)
	stop func()
	done *future[struct{}]
	step func() // t.resume, bound once
}

// spawn starts body as a task whose first step runs in a later loop
// iteration. body suspends by calling yield.
func spawn(l *loop, body func(yield func(awaitable) bool)) *task {
	t := &task{l: l, done: newFuture[struct{}](l)}
	t.next, t.stop = iter.Pull(iter.Seq[awaitable](body))
	t.step = t.resume
	l.callSoon(t.step)
	return t
}

func (t *task) resume() {
	w, ok := t.next()
	switch {
	case !ok:
		t.stop()
		t.done.setResult(struct{}{})
	case w == nil:
		t.l.callSoon(t.step)
	default:
		w.onDone(t.step)
	}
}

// await suspends the task that yield belongs to until f is done and
// returns f's result.
func await[T any](yield func(awaitable) bool, f *future[T]) T {
	yield(f)
	return f.result
}

// sleep0 is asyncio's sleep(0): yield to the loop once.
func sleep0(yield func(awaitable) bool) { yield(nil) }

// gather returns a future that completes when every task's done future
// has.
func gather(l *loop, ts []*task) *future[struct{}] {
	all := newFuture[struct{}](l)
	left := len(ts)
	if left == 0 {
		all.setResult(struct{}{})
	}
	for _, t := range ts {
		t.done.addDoneCallback(func(*future[struct{}]) {
			if left--; left == 0 {
				all.setResult(struct{}{})
			}
		})
	}
	return all
}
