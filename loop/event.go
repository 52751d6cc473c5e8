package loop

// Event is asyncio's Event: a flag that tasks can wait for. Set raises the
// flag and wakes every waiting task; Clear lowers it.
//
// A task woken by Set returns from Wait with nil even if Clear is called
// before it resumes: the wake-up is not taken back.
//
// The zero value is a cleared Event. It binds to a loop the first time a
// task has to wait for it; from then on, a task of another loop that has to
// wait gets an error matching ErrOtherLoop. An Event must not be copied
// after first use.
//
// Its methods must be called on the loop goroutine.
type Event struct {
	_       noCopy
	l       *Loop
	waiters waitQueue
	set     bool
}

// Wait is asyncio's Event.wait: it returns nil at once if the flag is set,
// and otherwise suspends the task until Set is called.
//
// Wait returns an error matching ErrOtherLoop if the task would have to
// wait and the event is bound to another loop.
//
// Cancellation: if the task is cancelled while waiting, Wait returns an
// error matching future.ErrCancelled and the task leaves the queue of
// waiters; the event is unchanged. A cancellation that arrives after Set
// woke the task, but before it resumed, also makes Wait return that error
// (as asyncio's await does). If the loop closes, Wait returns an error
// matching ErrClosed.
//
// Must be called on the loop goroutine.
func (e *Event) Wait(co *Coro) error {
	checkOn(e.l, "Event.Wait")
	if e.set {
		return nil
	}
	if err := bindLoop(&e.l, co, "Event"); err != nil {
		return err
	}
	_, err := e.waiters.wait(co, e)
	return err
}

// Set is asyncio's Event.set: it raises the flag and wakes every waiting
// task. It does nothing if the flag is already set.
//
// Must be called on the loop goroutine.
func (e *Event) Set() {
	checkOn(e.l, "Event.Set")
	if e.set {
		return
	}
	e.set = true
	e.waiters.wakeAll()
}

// Clear is asyncio's Event.clear: it lowers the flag. Tasks already woken
// by Set are not affected.
//
// Must be called on the loop goroutine.
func (e *Event) Clear() {
	checkOn(e.l, "Event.Clear")
	e.set = false
}

// IsSet is asyncio's Event.is_set: it reports whether the flag is set.
//
// Must be called on the loop goroutine.
func (e *Event) IsSet() bool {
	checkOn(e.l, "Event.IsSet")
	return e.set
}
