package loop

import (
	"time"

	"github.com/aio-go/aio/internal/hooks"
	"github.com/aio-go/aio/internal/sched"
	"github.com/aio-go/aio/timer"
)

// callFunc runs a func() stored as an argument; a func value fits in an
// interface without allocating.
func callFunc(fn any) { fn.(func())() }

// CallSoon is asyncio's loop.call_soon: it schedules fn to run in the next
// iteration of the loop, after every callback already scheduled. Callbacks
// run in the order they were scheduled. The returned handle cancels it.
// CallSoon panics with an error matching ErrClosed if the loop is closed,
// and with one matching ErrWrongGoroutine if it is called from another
// goroutine while the loop waits idle (see checkGoroutine's rule in the
// package doc).
//
// Must be called on the loop goroutine.
func (l *Loop) CallSoon(fn func()) timer.Handle {
	if fn == nil {
		panic("loop: CallSoon: nil func")
	}
	l.mustSchedule("CallSoon")
	if l.cfg.debug {
		return l.pushArg(l.traced(callFunc, fn))
	}
	if l.hasRemote.Load() {
		// Keep one goroutine's calls in order across CallSoonThreadsafe
		// and CallSoon.
		l.drainRemote()
	}
	return timer.Handle(l.ready.Push(fn))
}

// CallSoonArg is CallSoon for fn(arg): asyncio's call_soon(callback, arg).
// It schedules a callback without allocating a closure, which matters on hot
// paths (futures use it for their done-callbacks).
//
// Must be called on the loop goroutine.
func (l *Loop) CallSoonArg(fn func(any), arg any) timer.Handle {
	if fn == nil {
		panic("loop: CallSoonArg: nil func")
	}
	l.mustSchedule("CallSoonArg")
	if l.cfg.debug {
		fn, arg = l.traced(fn, arg)
	}
	return l.pushArg(fn, arg)
}

// mustSchedule panics unless a loop-only method that schedules work may
// run now. The common case is inlined.
func (l *Loop) mustSchedule(op string) {
	if l.gate.Load() != 0 {
		l.refuseSchedule(op)
	}
}

func (l *Loop) refuseSchedule(op string) {
	if l.IsClosed() {
		panic(&opError{op, ErrClosed})
	}
	l.checkGoroutine(op)
}

func (l *Loop) pushArg(fn func(any), arg any) timer.Handle {
	if l.hasRemote.Load() {
		l.drainRemote()
	}
	return timer.Handle(l.ready.PushArg(fn, arg))
}

// CallLater is asyncio's loop.call_later: it schedules fn to run once d has
// passed on the loop's clock, and never earlier. The deadline is fixed when
// CallLater is called. Timers with equal deadlines run in the order they
// were scheduled. With d <= 0, fn runs in the next iteration, after the
// callbacks already ready. CallLater panics with an error matching
// ErrClosed if the loop is closed.
//
// Must be called on the loop goroutine.
func (l *Loop) CallLater(d time.Duration, fn func()) timer.Handle {
	now := l.nanotime()
	when := now + int64(d)
	if d > 0 && when < now {
		// Past what nanoseconds since the epoch hold: the heap keeps the
		// deadline as a time, for When.
		return l.callAtTime("CallLater", l.Now().Add(d), fn)
	}
	return l.callAt("CallLater", when, fn)
}

// CallAt is asyncio's loop.call_at: CallLater with an absolute deadline on
// the loop's clock (see Now).
//
// Must be called on the loop goroutine.
func (l *Loop) CallAt(when time.Time, fn func()) timer.Handle {
	return l.callAtTime("CallAt", when, fn)
}

// callAt schedules fn at when, in nanoseconds since the epoch.
func (l *Loop) callAt(op string, when int64, fn func()) timer.Handle {
	l.checkTimer(op, fn)
	if l.cfg.debug {
		return timer.Handle(l.timers.PushNote(when, fn, &tracedCall{source: callerSource()}))
	}
	return timer.Handle(l.timers.Push(when, fn))
}

// callAtTime schedules fn at the time at, which the handle's When reports.
func (l *Loop) callAtTime(op string, at time.Time, fn func()) timer.Handle {
	l.checkTimer(op, fn)
	if l.cfg.debug {
		return timer.Handle(l.timers.PushAtNote(at, fn, &tracedCall{source: callerSource()}))
	}
	return timer.Handle(l.timers.PushAt(at, fn))
}

// checkTimer panics if fn may not be scheduled as a timer now. The common
// case is inlined.
func (l *Loop) checkTimer(op string, fn func()) {
	if fn == nil || l.gate.Load() != 0 {
		l.checkTimerSlow(op, fn)
	}
}

func (l *Loop) checkTimerSlow(op string, fn func()) {
	if fn == nil {
		panic("loop: " + op + ": nil func")
	}
	l.refuseSchedule(op)
}

// CallSoonThreadsafe is asyncio's call_soon_threadsafe: CallSoon for any
// goroutine. It wakes the loop if the loop is idle, and never waits for
// the loop to make progress. Callbacks handed in by one goroutine run in
// the order they were handed in, also when that goroutine mixes
// CallSoonThreadsafe and CallSoon. After Close (and once Shutdown has
// begun) it returns an error matching ErrClosed and fn will not run; a call
// that returned nil runs fn unless Close discards it, which Close reports.
//
// The returned handle's methods must still be called on the loop goroutine.
//
// Safe for concurrent use by multiple goroutines.
func (l *Loop) CallSoonThreadsafe(fn func()) (timer.Handle, error) {
	if fn == nil {
		panic("loop: CallSoonThreadsafe: nil func")
	}
	var f func(any)
	var arg any
	if l.cfg.debug {
		f, arg = l.traced(callFunc, fn)
	}
	h, ok := l.pushRemote(fn, f, arg, false, true)
	if !ok {
		return timer.Handle{}, &opError{"CallSoonThreadsafe", ErrClosed}
	}
	return h, nil
}

// callSoonInternal hands fn in from another goroutine on behalf of the loop
// itself (executor results, collected futures): it is accepted until the
// loop is closed, Shutdown included, and it never counts as the program's
// work in Close's report.
func (l *Loop) callSoonInternal(fn func()) bool {
	_, ok := l.pushRemote(nil, runInternal, &internalCall{fn}, true, true)
	return ok
}

// callSoonQuietly is callSoonInternal without waking an idle loop: for the
// runtime's cleanup goroutine, which may not touch a loop's channels (a
// loop in a testing/synctest bubble belongs to the bubble). The callback
// runs at the loop's next iteration.
func (l *Loop) callSoonQuietly(fn func()) bool {
	_, ok := l.pushRemote(nil, runInternal, &internalCall{fn}, true, false)
	return ok
}

// internalCall is a callback of the loop's own: Close does not count it
// among the program's callbacks it discards.
type internalCall struct{ fn func() }

func runInternal(a any) { a.(*internalCall).fn() }

// loopsOwn reports whether a callback popped from a queue with argument
// arg is the loop's own.
func loopsOwn(arg any) bool {
	switch arg.(type) {
	case *internalCall, hooks.Posted:
		return true
	}
	return false
}

// pushRemote queues afn(arg) if afn is not nil, else fn, and wakes an idle
// loop if wake is set. While the loop is open every call is accepted,
// without a lock; after that the phase says what is accepted (lifecycle.go):
// only the loop's own calls, until it is closed.
func (l *Loop) pushRemote(fn func(), afn func(any), arg any, internal, wake bool) (timer.Handle, bool) {
	var h sched.Handle
	var ok bool
	if afn != nil {
		h, ok = l.remote.PushArg(afn, arg)
	} else {
		h, ok = l.remote.Push(fn)
	}
	if !ok {
		if h, ok = l.pushLate(fn, afn, arg, internal); !ok {
			return timer.Handle{}, false
		}
	}
	if !l.hasRemote.Load() {
		l.hasRemote.Store(true)
	}
	if wake && l.isIdle() {
		l.wakeUp()
	}
	return timer.Handle(h), true
}

// pushLate is pushRemote once the loop has left open, and advance has
// refused the remote queue: it holds remoteMu, which advance holds, so the
// phase it checks is the phase the call is accepted in.
func (l *Loop) pushLate(fn func(), afn func(any), arg any, internal bool) (sched.Handle, bool) {
	l.remoteMu.Lock()
	defer l.remoteMu.Unlock()
	if p := l.phase(); p == closed || p != open && !internal {
		return sched.Handle{}, false
	}
	if afn != nil {
		return l.late.PushArg(afn, arg), true
	}
	return l.late.Push(fn), true
}

// wakeUp makes an idle loop return from its wait.
func (l *Loop) wakeUp() {
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// drainRemote moves the callbacks handed in by other goroutines to the end
// of the ready queue, in the order they were handed in. The late queue only
// fills once advance has refused the remote queue, and both are taken under
// remoteMu then, so that no late callback overtakes one accepted before.
func (l *Loop) drainRemote() {
	l.hasRemote.Store(false)
	if l.phase() == open {
		l.ready.Take(&l.remote)
		return
	}
	l.remoteMu.Lock()
	l.ready.Take(&l.remote)
	l.ready.Splice(&l.late)
	l.ready.ShareFree(&l.late)
	l.remoteMu.Unlock()
}
