package loop

import "iter"

// A coroutine runs task bodies: an iter.Pull coroutine that, when a body
// returns, parks to run the next task's body instead of ending. A task
// spawned while the loop runs takes one at once; a task spawned before,
// at its first step. It gives the coroutine back when its body returns, or
// when it is cancelled before its first step; so a program that keeps
// spawning short tasks pays for a goroutine once, not per task. Taking the
// coroutine at Spawn puts the cost of a new goroutine (its g and stack)
// where the program spawns, before the tasks run: a garbage collection
// that this allocation starts then scans the stacks of tasks that have not
// begun, not of a hundred thousand tasks in the middle of their bodies.
//
// The rules:
//
//  1. A coroutine serves one task at a time: t.c is the coroutine from
//     Spawn (loop running) or the first step (otherwise) until the body
//     returns or the task ends without running it. The step that resumes
//     an idle coroutine (a new one, or a parked one) is the first step of
//     the task it is to serve, which is l.curTask then.
//  2. After the body, the coroutine parks (yields) if the loop keeps it
//     (fewer than maxIdleCoroutines idle, loop not closing), and ends
//     otherwise; the step that resumed it sees which (next's ok).
//  3. Stopping a task (Close) stops its coroutine: it ends, it is not kept.
//     The idle ones end when the loop stops running, so that a loop that
//     is not running holds no goroutine but its unfinished tasks'.

// maxIdleCoroutines bounds the coroutines a loop keeps for later tasks:
// each holds a goroutine (at least a 2 KiB stack).
const maxIdleCoroutines = 256

// coroutine is the pair of funcs iter.Pull returns. Every coroutine of a
// loop runs the same func, l.serveFn, so that a coroutine costs nothing
// beyond what iter.Pull allocates.
type coroutine struct {
	next func() (struct{}, bool)
	stop func()
}

// coroutine returns an idle coroutine, or a new one.
func (l *Loop) coroutine() coroutine {
	if n := len(l.parked); n > 0 {
		c := l.parked[n-1]
		l.parked[n-1] = coroutine{}
		l.parked = l.parked[:n-1]
		return c
	}
	if l.serveFn == nil {
		l.serveFn = l.serve
	}
	var c coroutine
	c.next, c.stop = iter.Pull(l.serveFn)
	return c
}

// idle keeps a coroutine that has no task for a later one, or ends it if
// the loop keeps enough (rule 2).
func (l *Loop) idle(c coroutine) {
	if len(l.parked) >= maxIdleCoroutines || l.IsClosing() {
		c.stop()
		return
	}
	l.parked = append(l.parked, c)
}

// serve runs task bodies on a coroutine, one after another: at each
// resumption it is idle in, it runs the body of the task being stepped
// (rule 1), and then parks or ends (rule 2). Its frame marks a goroutine as
// a task body's (inTaskBody).
func (l *Loop) serve(yield func(struct{}) bool) {
	for {
		l.curTask.owner.start(yield)
		if len(l.parked) >= maxIdleCoroutines || l.IsClosing() || !yield(struct{}{}) {
			return
		}
	}
}

// stopIdle ends the idle coroutines (when the loop stops running).
func (l *Loop) stopIdle() {
	for _, c := range l.parked {
		c.stop()
	}
	clear(l.parked)
	l.parked = nil
}
