package loop

import "iter"

// A coroutine runs task bodies: an iter.Pull coroutine that, when a body
// returns, parks to run the next task's body instead of ending. A task
// takes one at its first step (a task cancelled before then never needs
// one) and gives it back when its body returns; so a program that keeps
// spawning short tasks pays for a goroutine once, not per task.
//
// The rules:
//
//  1. A coroutine serves one task at a time: from the task's first step
//     until its body returns, t.c is the coroutine, and c.job is the
//     task's body until it starts.
//  2. After the body, the coroutine parks (yields) if the loop keeps it
//     (fewer than maxIdleCoroutines idle, loop not closing), and ends
//     otherwise; the step that resumed it sees which (next's ok).
//  3. Stopping a task (Close) stops its coroutine: it ends, it is not kept.
//     The idle ones end when the loop stops running, so that a loop that
//     is not running holds no goroutine but its unfinished tasks'.

// maxIdleCoroutines bounds the coroutines a loop keeps for later tasks:
// each holds a goroutine (at least a 2 KiB stack).
const maxIdleCoroutines = 256

type coroutine struct {
	l    *Loop
	next func() (struct{}, bool)
	stop func()
	job  func(yield func(struct{}) bool) // the body to run next
}

// coroutine returns an idle coroutine, or a new one.
func (l *Loop) coroutine() *coroutine {
	if n := len(l.parked); n > 0 {
		c := l.parked[n-1]
		l.parked[n-1] = nil
		l.parked = l.parked[:n-1]
		return c
	}
	c := &coroutine{l: l}
	c.next, c.stop = iter.Pull(c.serve)
	return c
}

// serve runs the coroutine's jobs, one task body after another (rule 2).
// Its frame marks a goroutine as a task body's (inTaskBody).
func (c *coroutine) serve(yield func(struct{}) bool) {
	for {
		job := c.job
		c.job = nil
		job(yield)
		if len(c.l.parked) >= maxIdleCoroutines || c.l.IsClosing() || !yield(struct{}{}) {
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
