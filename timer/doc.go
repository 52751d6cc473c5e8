// Package timer holds Handle, what a caller of an aio event loop keeps to
// cancel a callback: the loop's CallSoon, CallSoonThreadsafe, CallLater and
// CallAt return one.
//
// # Handles
//
// A Handle is a small value, copied freely: copies refer to the same
// callback. Keeping one costs the loop nothing, and a Handle stays valid
// after its callback has run: Cancel then reports false, and Cancelled and
// Pending keep reporting what happened. The zero Handle refers to nothing.
//
// # Concurrency
//
// A Handle's Cancel, Cancelled, Pending and String must be called on the
// goroutine of the loop that returned it, also for a Handle returned by
// CallSoonThreadsafe; a loop in debug mode panics when Cancel is called
// from another goroutine. When is safe from any goroutine: a deadline never
// changes.
//
// # Differences from asyncio
//
// asyncio's Handle and TimerHandle are one type here; When reports the zero
// time for a callback scheduled without a deadline. Pending has no asyncio
// counterpart.
package timer
