package future

// Awaitable is a future of any result type: what combinators that do not
// need the result's type (waiting for the first of several futures, task
// groups) work with. Every *Future[T] is an Awaitable, and so is every
// value that embeds one, such as a *loop.Task[T]; only such values
// implement it.
type Awaitable interface {
	Scheduler() Scheduler
	Done() bool
	Cancelled() bool
	Err() error
	// AddDoneFunc schedules fn when the future completes, with a way to
	// remove it (see Future.AddDoneFunc).
	AddDoneFunc(fn func()) (remove func() bool)
	Cancel() bool
	CancelWithCause(cause error) bool
	String() string
	plumbing
}

var _ Awaitable = (*Future[int])(nil)

// Of is a future of T: a *Future[T], or a value that embeds one, such as a
// *loop.Task[T]. Functions that take futures of one result type take an
// Of[T], so that a task is passed as it is, without .Future. Only such
// values implement it.
type Of[T any] interface {
	Awaitable
	Result() (T, error)
	AddDoneCallback(fn func(*Future[T])) (remove func() bool)
	base() *Future[T]
}

var _ Of[int] = (*Future[int])(nil)

func (f *Future[T]) base() *Future[T] { return f }
