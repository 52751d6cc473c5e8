package future

import "github.com/aio-go/aio/timer"

// Scheduler is what a Future needs from the event loop it belongs to.
// *loop.Loop implements it; a test may implement it to drive futures by hand.
type Scheduler interface {
	// CallSoon schedules fn to run on the loop goroutine in a later
	// iteration. It is called on the loop goroutine only.
	CallSoon(fn func()) timer.Handle

	// CallSoonArg is CallSoon for fn(arg), which saves a closure.
	CallSoonArg(fn func(any), arg any) timer.Handle

	// CallSoonThreadsafe is CallSoon for any goroutine; it returns an error
	// if the loop is closed.
	CallSoonThreadsafe(fn func()) (timer.Handle, error)

	// Done returns a channel that is closed when the loop is closed. After
	// that, CallSoonThreadsafe returns the loop's error.
	Done() <-chan struct{}

	// OnLoop reports whether the caller runs loop code (a callback, or a
	// task body), where blocking would stop the loop. It may be slow (about
	// a microsecond); futures call it only before blocking.
	OnLoop() bool

	// TrackError is told that a future failed with err; what describes the
	// future in a report. The scheduler reports err through its exception
	// handler unless the returned tracker's Retrieved is called first. The
	// tracker's Collected is called, from any goroutine, when the future is
	// garbage collected. A nil tracker tracks nothing.
	TrackError(err error, what string) ErrorTracker
}

// ErrorTracker follows one failed future's error until someone retrieves it
// or the future is collected.
type ErrorTracker interface {
	// Retrieved records that the error was seen by the program. Safe for
	// concurrent use by multiple goroutines.
	Retrieved()
	// Collected records that the future was garbage collected: if the
	// error was never retrieved, it is reported now. Safe for concurrent use
	// by multiple goroutines.
	Collected()
}
