package future

import "github.com/aio-go/aio/timer"

// Scheduler is what a Future needs from the event loop it belongs to: the
// part of asyncio's event loop that its futures call. *loop.Loop implements
// it; a test may implement it to drive futures by hand.
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
}
