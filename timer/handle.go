package timer

import (
	"time"

	"github.com/aio-go/aio/internal/sched"
)

// Handle is a scheduled callback: asyncio's Handle and TimerHandle. It is a
// small value; copies refer to the same callback. The zero Handle refers to
// nothing: Cancel reports false and When reports the zero time.
//
// A Handle stays valid after its callback has run: Cancel then reports false
// and Cancelled keeps reporting what happened.
type Handle sched.Handle

// Cancel is asyncio's Handle.cancel: it stops the callback from running. It
// reports whether this call cancelled it: true if the callback was still
// waiting to run and now never will; false if it has already run, is
// running, or was cancelled before. Cancel releases the callback and what it
// holds at once.
//
// Must be called on the loop goroutine.
func (h Handle) Cancel() bool { return sched.Handle(h).Cancel() }

// Cancelled is asyncio's Handle.cancelled: it reports whether a call of
// Cancel cancelled the callback, so that it will never run. It is false for
// a callback that ran or is still waiting.
//
// Must be called on the loop goroutine.
func (h Handle) Cancelled() bool { return sched.Handle(h).Cancelled() }

// Pending reports whether the callback is still waiting to run: true until
// the loop takes it to run or Cancel cancels it, false after either and for
// the zero Handle.
//
// Must be called on the loop goroutine.
func (h Handle) Pending() bool { return sched.Handle(h).Pending() }

// When is asyncio's TimerHandle.when: the time the callback is scheduled
// for, as given to CallAt, or the loop's Now plus the delay given to
// CallLater. It is the zero time for callbacks that were not scheduled with
// a deadline (CallSoon, CallSoonThreadsafe) and for the zero Handle.
//
// Safe for concurrent use by multiple goroutines.
func (h Handle) When() time.Time { return sched.Handle(h).When() }

// String describes the handle's kind and state, for logs: for example
// "TimerHandle<pending when=1.5s>", "Handle<cancelled>" or "Handle<done>".
//
// Must be called on the loop goroutine.
func (h Handle) String() string { return sched.Handle(h).String() }
