package loop

// Lending the loop to a waiting task.
//
// A task that suspends would switch to the loop goroutine, which runs
// callbacks until the task's wake-up comes up and then switches back: two
// coroutine switches per await, most of its cost. Instead, a task resumed by
// the loop goroutine that suspends runs the loop itself, on its own
// goroutine, while it waits (lend). The rules:
//
//  1. At most one task borrows the loop at a time (l.borrower), and only
//     one resumed by the loop goroutine: the loop goroutine is blocked in
//     that task's step meanwhile, so exactly one goroutine runs loop code.
//  2. The borrower runs the same iteration code (drive, iterate.go) in the
//     same order as the loop goroutine would: the rest of the current
//     iteration, then whole iterations. Other tasks' steps run from it as
//     from the loop goroutine; they yield back to it and never borrow.
//  3. When its own wake-up runs (step sees l.borrower == t), the borrower
//     stops where it is, in the middle of the iteration, and resumes its
//     body without a switch. Whoever runs the loop next, the task at its
//     next suspension or the loop goroutine when the task's body returns,
//     goes on with the rest of the iteration.
//  4. At the end of an iteration the borrower gives the loop back (the task
//     yields to the loop goroutine as usual) when nothing is ready (the loop
//     goroutine does the idle wait), or when Stop was called or the
//     lifecycle has left the open phase (the loop goroutine ends the run).
//     The loop goroutine resumes the task later by its wake-up.
//  5. Panics in callbacks are reported as on the loop goroutine. Debug mode
//     (which checks goroutines) and PanicCrash (which lets a panic unwind
//     the goroutine running the loop) do not lend.
//  6. A loop that owns I/O objects other than daemons (resources.go) does
//     not lend: the borrower's stack would grow to the depth of the I/O
//     callbacks it runs and stay grown while the task waits, so that every
//     idle connection's handler would hold twice the minimum stack.

// lend runs the loop on the calling task's goroutine while t waits. It
// reports true when t's wake-up has run: t resumes without a switch. It
// reports false when t must yield to the loop goroutine (rule 4).
func (l *Loop) lend(t *task) bool {
	if t.rare == nil || t.rare.goid == 0 {
		t.ext().goid = goid()
	}
	if id := t.rare.goid; l.cur.Load() != id {
		// OnLoop is true in the callbacks the task runs.
		l.cur.Store(id)
	}
	var start int64
	if l.obs != 0 {
		start = l.lentStart(t)
	}
	l.borrower = t
	l.curTask = nil
	l.drive(true, l.mustGiveBack)
	l.borrower = nil
	l.curTask = t
	if l.obs != 0 {
		l.lentEnd(t, start)
	}
	if l.resumed {
		l.resumed = false
		return true
	}
	return false
}

// mustGiveBack is the borrower's end-of-iteration check (rule 4).
func (l *Loop) mustGiveBack() bool {
	return l.stopping.Load() || l.phase() != open
}
