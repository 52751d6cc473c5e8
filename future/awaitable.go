package future

// Awaitable is a future of any result type: what combinators that do not
// need the result's type (waiting for the first of several futures, task
// groups) work with. Every *Future[T] is an Awaitable.
type Awaitable interface {
	Scheduler() Scheduler
	Done() bool
	Cancelled() bool
	Err() error
	// OnDone schedules fn when the future completes (see Future.OnDone).
	OnDone(fn func())
	// AddDoneFunc is OnDone with a way to remove fn (see Future.AddDoneFunc).
	AddDoneFunc(fn func()) (remove func() bool)
	Cancel() bool
	CancelWithCause(cause error) bool
	String() string
}

var _ Awaitable = (*Future[int])(nil)
