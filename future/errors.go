package future

import (
	"context"
	"errors"
)

var (
	// ErrCancelled is the error of a cancelled future: asyncio's
	// CancelledError. It also matches context.Canceled, which is the same
	// thing in Go's terms: errors.Is(err, ErrCancelled) and errors.Is(err,
	// context.Canceled) both hold for the error of anything that was
	// cancelled.
	ErrCancelled error = &CancelledError{}

	// ErrInvalidState is returned for an operation the future's state does
	// not allow, such as reading the result of a pending future: asyncio's
	// InvalidStateError. Completing a task's future from outside the task
	// panics with an error matching it.
	ErrInvalidState = errors.New("future: invalid state")

	// ErrWouldDeadlock is returned by Wait when it is called on the loop
	// goroutine, where blocking would stop the loop that must complete the
	// future. Use Await inside a task, or AddDoneCallback.
	ErrWouldDeadlock = errors.New("future: Wait called on the loop goroutine would deadlock")

	// errOwned is never returned: it marks the error slot of a pending
	// future that its owner alone completes (hooks.Future.Own).
	errOwned = errors.New("future: owned")
)

// CancelledError is the error of a cancelled future or task. Cause, if not
// nil, says why it was cancelled (asyncio's cancel message). A
// *CancelledError matches ErrCancelled and context.Canceled, and its Cause.
type CancelledError struct {
	Cause error
}

// Error returns "future: cancelled", followed by the cause if there is one.
func (e *CancelledError) Error() string {
	if e.Cause != nil {
		return "future: cancelled: " + e.Cause.Error()
	}
	return "future: cancelled"
}

// Is reports whether target is ErrCancelled or context.Canceled.
func (e *CancelledError) Is(target error) bool {
	return target == ErrCancelled || target == context.Canceled
}

// Unwrap returns the cause.
func (e *CancelledError) Unwrap() error { return e.Cause }

// Cancelled returns an error matching ErrCancelled (and context.Canceled)
// that carries cause; with a nil cause it returns ErrCancelled itself.
//
// A cause that already matches ErrCancelled is returned as it is.
func Cancelled(cause error) error {
	if cause == nil {
		return ErrCancelled
	}
	if errors.Is(cause, ErrCancelled) {
		return cause
	}
	return &CancelledError{Cause: cause}
}

// ownedError is the panic of SetResult and SetError on a future that its
// owner alone completes. It matches ErrInvalidState.
type ownedError struct{ op string }

func (e *ownedError) Error() string {
	return "future: " + e.op + ": the future belongs to a task; only the task completes it"
}

func (e *ownedError) Is(target error) bool { return target == ErrInvalidState }
