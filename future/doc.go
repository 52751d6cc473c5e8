// Package future is aio's typed future: asyncio's Future, as Future[T].
//
// A Future is created for a loop (New, or the loop's own helpers), starts
// pending, and is completed once, on the loop goroutine, with a result
// (SetResult), an error (SetError), or a cancellation (Cancel). Code that
// wants the outcome either registers a done-callback (AddDoneCallback), which
// the loop runs soon after completion, awaits the future inside a task
// (loop.Await), or blocks another goroutine on it (Wait).
//
// The package needs only a small part of a loop, the Scheduler interface;
// *loop.Loop implements it. That keeps this package free of the loop's
// import, as asyncio's futures.py is free of base_events.py.
//
// # Concurrency
//
// Completing a future and adding callbacks must happen on the loop
// goroutine. Done, Cancelled and Wait are safe from any goroutine; Result
// and Err are too, once Done has reported true (the outcome never changes
// after that).
//
// In the loop's debug mode, completing a future, cancelling it or adding a
// callback from another goroutine while the loop runs panics, as the loop's
// own loop-only methods do (asyncio's _check_thread). Outside debug mode,
// the check costs one atomic load.
//
// # Ordering guarantees
//
// Done-callbacks are always scheduled through the loop's CallSoon, in
// registration order, when the future completes, or at once if it is
// already done. They never run inline. Each is a callback of its own: a
// panic in one does not stop the next.
//
// # Cancellation
//
// Cancel completes a pending future as cancelled; its error then matches
// ErrCancelled and context.Canceled, and the cause given to
// CancelWithCause. A task's future belongs to its task: Cancel on it asks
// the task to cancel (asyncio's Task.cancel), and SetResult and SetError on
// it panic with an error matching ErrInvalidState, since only the task
// completes it (asyncio's Task.set_result raises).
//
// # Errors and panics
//
// An error set with SetError that nobody retrieves (with Result, Err, Wait,
// or Cancel) is reported through the loop's exception handler when the
// future is garbage collected or the loop closes: asyncio's "exception was
// never retrieved".
//
// # Differences from asyncio
//
//   - The result is typed; Result returns (T, error) instead of raising.
//   - SetResult, SetError and Cancel report whether they completed the
//     future instead of raising InvalidStateError.
//   - AddDoneCallback returns a remove func, since Go funcs are not
//     comparable (as context.AfterFunc returns stop).
//   - Wait blocks a goroutine until the future is done, which asyncio leaves
//     to concurrent.futures.
package future
