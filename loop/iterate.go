package loop

import "time"

// One iteration, asyncio's _run_once, is begin followed by the run of its
// snapshot in driveRecovering:
//
//  1. Drop cancelled timers from the heap (rebuild it if too many are
//     cancelled).
//  2. If nothing is ready and no Stop is pending, wait (idleWait) until a
//     callback is handed in, Stop is called, or the earliest timer is due.
//     A lending task does not wait: it gives the loop back instead.
//  3. Move the callbacks handed in by other goroutines, then the timers
//     that are due, to the ready queue.
//  4. Run exactly the callbacks that were ready then (the snapshot): what
//     they schedule runs in the next iteration.
//
// Whoever runs the loop runs this code: the loop goroutine (RunForever,
// RunUntilComplete, Shutdown), and a waiting task lending its goroutine
// (lend.go). Debug mode is a branch in that run, not another loop.

// drive runs iterations until done reports true at the end of one. A
// lending task (lent) stops instead of waiting when nothing is ready, and
// as soon as its own wake-up has run. A panic in a callback is recovered
// and reported, and the iteration goes on with its next callback; with
// PanicCrash the panic propagates, and the callbacks left run in the next
// run's first iteration.
func (l *Loop) drive(lent bool, done func() bool) {
	for !l.driveRecovering(lent, done) {
	}
}

// driveRecovering is drive's loop under one deferred recover, for many
// iterations rather than for each callback: a deferred call per callback,
// or per iteration, would cost more than most callbacks. After a panic it
// reports false, and drive calls it again to go on with the snapshot.
func (l *Loop) driveRecovering(lent bool, done func() bool) (finished bool) {
	if l.cfg.panicMode != PanicCrash {
		defer func() {
			if !finished {
				if r := recover(); r != nil {
					l.callbackPanicked(r)
				}
			}
		}()
	}
	for {
		observed := l.cfg.debug || l.obs&obsTrace != 0
		// The rest of the current iteration's snapshot: this is the only
		// place where callbacks are called. On a lent goroutine it stops
		// early when the borrower's own wake-up has run (lend.go, rule 3).
		for l.left > 0 && !l.resumed {
			l.left--
			fn, afn, arg := l.ready.Pop()
			switch {
			case observed:
				l.runObserved(fn, afn, arg)
			case fn != nil:
				l.stats.CallbacksRun++
				fn()
			case afn != nil:
				l.stats.CallbacksRun++
				afn(arg)
			}
		}
		// done is called only when the loop may have to stop: while it is
		// open and no Stop is pending, neither run ends.
		if l.resumed || (l.stopping.Load() || l.phase() != open) && done() || !l.begin(lent) {
			return true
		}
	}
}

// begin starts an iteration: steps 1 to 3. On a lent goroutine it reports
// false, starting nothing, if no callback is ready.
func (l *Loop) begin(lent bool) bool {
	if l.timers.Len() > 0 {
		l.timers.Purge()
	}
	if !lent && l.ready.Len() == 0 && !l.stopping.Load() {
		l.idleWait()
	}
	if l.hasRemote.Load() || l.timers.Len() > 0 {
		l.collect()
	}
	n := l.ready.Len()
	if lent && n == 0 {
		return false
	}
	l.stats.Iterations++
	if l.observing {
		l.observeIteration()
	}
	l.left = n
	return true
}

// collect moves the callbacks handed in by other goroutines, then the
// timers that are due, to the ready queue.
func (l *Loop) collect() {
	if l.hasRemote.Load() {
		l.drainRemote()
	}
	if l.timers.Len() > 0 {
		l.timers.MoveDue(l.nanotime(), &l.ready)
	}
}

// idleWait blocks until a callback is handed in, Stop is called, the
// lifecycle needs the loop, or the earliest timer is due. It waits only on
// channels and one time.Timer, so testing/synctest can drive it with
// virtual time.
func (l *Loop) idleWait() {
	d := time.Duration(-1)
	if when, ok := l.timers.Next(); ok {
		if d = time.Duration(when - l.nanotime()); d <= 0 {
			return
		}
	}
	l.gate.Or(gateIdle)
	if l.hasRemote.Load() || l.stopping.Load() || l.lifecycleWaits() {
		l.gate.And(^gateIdle)
		return
	}
	if d < 0 {
		<-l.wake
	} else {
		if l.sleep == nil {
			l.sleep = time.NewTimer(d)
		} else {
			l.sleep.Reset(d)
		}
		select {
		case <-l.wake:
			l.sleep.Stop()
		case <-l.sleep.C:
		}
	}
	l.gate.And(^gateIdle)
}

// lifecycleWaits reports whether a Shutdown needs the end of this
// iteration now: to cancel the tasks, to close a quiescent loop, or to
// give up.
func (l *Loop) lifecycleWaits() bool {
	switch l.phase() {
	case draining, expired:
		return true
	case finishing:
		return l.quiescent()
	}
	return false
}
