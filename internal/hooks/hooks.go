// Package hooks is the plumbing between aio's own packages: what package
// loop does with a future beyond the future's public API, and what package
// future asks of the loop beyond future.Scheduler. Users never see it.
//
// Package future fills Future in its init; package loop fills Loop in its
// init. Since loop imports future, both are set before any loop code runs.
// Every func takes the future as an any: a *future.Future[T], or a value
// embedding one (a *loop.Task[T]); a value of any other type panics.
package hooks

import "sync/atomic"

// Future is set by package future.
var Future struct {
	// Init binds f, a zero future, to the scheduler s (a
	// future.Scheduler): for a future allocated inside its owner, as a
	// task's is, instead of by future.New.
	Init func(f any, s any)
	// OnCancel replaces what Cancel and CancelWithCause do while f is
	// pending: they call fn and report its result, and fn decides when f
	// is really cancelled (with CancelNow). fn gets what f takes its name
	// from (SetNamer), or nil: so a task routes the cancellation of its
	// future to itself with a plain func, not a closure per task.
	OnCancel func(f any, fn func(n any, cause error) bool)
	// CancelNow cancels f even if OnCancel is set, and reports whether it
	// did. Even when f is done, it marks f's error as retrieved.
	CancelNow func(f any, cause error) bool
	// SetNamer makes f take its name from n, when a log or report needs it.
	SetNamer func(f any, n interface{ Name() string })
	// Namer returns what f takes its name from (SetNamer, or SetName's
	// fixed name), or nil. A loop's snapshot finds a task, or a gather,
	// from the future a task awaits with it.
	Namer func(f any) any
	// OnDone schedules fn when f completes, with no way to remove it; it
	// allocates nothing. A waiting task wakes up through it.
	OnDone func(f any, fn func())
	// OnDoneCallback schedules fn(f) when f completes, with no way to
	// remove it; fn is a func(*future.Future[T]) of f's T. It allocates
	// nothing.
	OnDoneCallback func(f any, fn any)
	// Own makes f a future that only its owner completes: SetResult and
	// SetError panic, and Cancel goes through OnCancel, until Disown.
	Own func(f any)
	// Disown lets the owner complete f (a task, when its body returns).
	Disown func(f any)
	// Base returns the *future.Future[T] that f is or embeds, as an any.
	Base func(f any) any
}

// ErrorTracker follows one failed future's error until it is retrieved or
// the future is collected.
type ErrorTracker interface {
	// Retrieved records that the program saw the error. Safe for
	// concurrent use by multiple goroutines.
	Retrieved()
	// Collected records that the future was garbage collected: if the
	// error was never retrieved, it is reported. Safe for concurrent use by
	// multiple goroutines.
	Collected()
}

// Loop is set by package loop.
var Loop struct {
	// TrackError is told that a future of the scheduler s failed with err;
	// what describes the future. It returns nil if s is not a loop.
	TrackError func(s any, err error, what string) ErrorTracker
	// CallSoonInternal hands fn to the loop s from any goroutine on behalf
	// of the loop's own machinery (an I/O resource's goroutines): it is
	// accepted until the loop is closed, Shutdown included, and it never
	// counts as the program's discarded work. It reports false once the
	// loop is closed.
	CallSoonInternal func(s any, fn func()) bool
	// Post is CallSoonInternal for c.RunPosted, without a closure: c is
	// usually a pointer to the I/O object itself, converted to a type whose
	// RunPosted says what to run.
	Post func(s any, c Posted) bool
	// Track makes the loop s own r until Untrack is called with r (see
	// Resource). Called on the loop goroutine; it panics if the loop is
	// closing or closed.
	Track func(s any, r Resource)
	// Untrack ends the loop s's ownership of r, if it owns r. Called on
	// the loop goroutine.
	Untrack func(s any, r Resource)
	// OnStepper runs fn(arg) for loop code called from a task body of s
	// on the stack of the goroutine that stepped the body, so that deep
	// calls (syscalls) leave the body's stack small; outside a task body it
	// calls fn(arg) directly. fn must not suspend. Called on the loop
	// goroutine.
	OnStepper func(s any, fn func(arg any), arg any)
	// Check panics if the caller may not run loop-only code of s now (see
	// loop's debug mode); op names the method called. It is called only
	// while Debugging is not zero.
	Check func(s any, op string)
}

// Posted is a callback that Loop.Post hands to a loop. Only this module
// can implement it: RunPosted takes a Token.
type Posted interface{ RunPosted(Token) }

// Token is what RunPosted takes.
type Token struct{}

// Debugging counts the loops running in debug mode (package loop adds one
// as such a loop starts and removes it as it stops): while it is zero, the
// checks behind Loop.Check cost one atomic load.
var Debugging atomic.Int32

// Resource is an I/O object that a loop owns: a server or a transport of
// package stream, a subprocess, the loop's signal handlers. The loop's
// lifecycle ends it: Shutdown stops it accepting new work and waits for it
// to untrack itself, unless it has a method Daemon() bool that reports true
// (signal handlers: they keep working during a Shutdown and never hold it
// up); Close closes it and joins its goroutines. Its methods are called on
// the loop goroutine, except Join.
type Resource interface {
	// StopAccepting is called once when a Shutdown begins: a server stops
	// accepting connections; most resources do nothing.
	StopAccepting()
	// Close closes the resource at once (Close, or a Shutdown whose ctx
	// ended). It must not block. No iteration follows it: what the
	// resource owes its user (a protocol's ConnectionLost) it runs from
	// Close itself.
	Close()
	// Join waits for the goroutines the resource started to return. It is
	// called after Close, by the goroutine closing the loop.
	Join()
	// String describes the resource in the reports of what a Shutdown
	// waits for.
	String() string
}
