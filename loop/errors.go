package loop

import (
	"errors"
	"strings"
)

// Errors returned (or, for misuse, panicked with) by the loop and its
// tasks, combinators and primitives. Match them with errors.Is: the errors
// the package returns wrap them with the operation (see opError).
var (
	// ErrClosed: the loop is closed (or, for CallSoonThreadsafe, shutting
	// down): asyncio's "Event loop is closed". Await and Sleep in a task
	// whose loop closes return it too.
	ErrClosed = errors.New("loop: closed")
	// ErrRunning: the loop is already running (RunForever,
	// RunUntilComplete), cannot be closed because it is running, or a loop
	// was run from a callback or task body (asyncio's "Cannot run the event
	// loop while another loop is running").
	ErrRunning = errors.New("loop: already running")
	// ErrStoppedEarly: RunUntilComplete returned because the loop was
	// stopped before the future was done.
	ErrStoppedEarly = errors.New("loop: stopped before the future completed")
	// ErrWrongGoroutine: a method that must be called on the loop goroutine
	// was called from another goroutine. Always detected while the loop
	// waits idle; in debug mode, whenever the loop runs.
	ErrWrongGoroutine = errors.New("loop: called off the loop goroutine")
	// ErrOtherLoop: a future, task or primitive of another loop was used
	// with this one.
	ErrOtherLoop = errors.New("loop: future belongs to another loop")
	// ErrDiscarded: Close dropped callbacks that had been accepted and
	// will never run. The exception handler gets it; the default handler
	// logs it at Warn level.
	ErrDiscarded = errors.New("loop: callbacks discarded at Close")
	// ErrAwaitSelf is returned by Await when a task awaits its own future.
	ErrAwaitSelf = errors.New("loop: a task cannot await itself")
	// ErrChanClosed is the error of a FromChan future whose channel was
	// closed before a value arrived.
	ErrChanClosed = errors.New("loop: channel closed")
	// ErrEmpty is returned by Wait when it is given no futures: asyncio's
	// "Set of Tasks/Futures is empty".
	ErrEmpty = errors.New("loop: no futures to wait for")
	// ErrTimeout is the error of a timeout that expired: asyncio's
	// TimeoutError. It matches context.DeadlineExceeded too, and never
	// future.ErrCancelled: a timeout is reported instead of the cancellation
	// that enforced it.
	ErrTimeout error = timeoutError{}
	// ErrQueueFull is returned by PutNowait on a full queue: asyncio's
	// QueueFull.
	ErrQueueFull = errors.New("loop: queue full")
	// ErrQueueEmpty is returned by GetNowait on an empty queue: asyncio's
	// QueueEmpty.
	ErrQueueEmpty = errors.New("loop: queue empty")
	// ErrQueueShutDown is returned by the puts of a queue that was shut
	// down, and by its gets once it is empty: asyncio's QueueShutDown.
	ErrQueueShutDown = errors.New("loop: queue shut down")
)

// opError is the package's one error type for a failed operation: "loop:
// <op>: <what>", matching the sentinel it wraps (fs.PathError's form).
type opError struct {
	op  string
	err error
}

func (e *opError) Error() string {
	return "loop: " + e.op + ": " + strings.TrimPrefix(e.err.Error(), "loop: ")
}
func (e *opError) Unwrap() error { return e.err }
