package loop

import "github.com/aio-go/aio/future"

// Shield is asyncio's shield: it protects f from cancellation by whoever
// awaits it. It returns a new future that completes as f does (with f's
// result, f's error, or cancelled if f is cancelled), but cancelling it
// does not cancel f: f keeps running, and its outcome is then dropped (an
// error it fails with counts as retrieved if f finishes before the shield
// lets go of it). If f is already done, Shield returns f itself.
//
// A task that must not be interrupted by its caller's cancellation is
// awaited as
//
//	v, err := loop.Await(co, loop.Shield(l, t))
//
// If the awaiting task is cancelled, Await returns a cancellation error at
// once while t carries on. Cancelling t itself still cancels it.
//
// f is a future or a task, passed as it is. Shield panics if f is nil. If
// f belongs to another loop, the returned future has already failed with
// an error matching ErrOtherLoop.
//
// Must be called on the loop goroutine.
func Shield[T any, F future.Of[T]](l *Loop, of F) *future.Future[T] {
	f := futureOf[T](of, "Shield")
	if f.Scheduler() != future.Scheduler(l) {
		outer := future.New[T](l)
		outer.SetError(&opError{"Shield", ErrOtherLoop})
		return outer
	}
	if f.Done() {
		return f
	}
	outer := future.New[T](l)
	remove := f.AddDoneCallback(func(inner *future.Future[T]) {
		if outer.Done() {
			// Cancelled meanwhile: nobody will read inner's outcome.
			if !inner.Cancelled() {
				_ = inner.Err()
			}
			return
		}
		v, err := inner.Result()
		switch {
		case inner.Cancelled():
			outer.CancelWithCause(err)
		case err != nil:
			outer.SetError(err)
		default:
			outer.SetResult(v)
		}
	})
	outer.AddDoneCallback(func(*future.Future[T]) {
		if !f.Done() {
			remove()
		}
	})
	return outer
}
