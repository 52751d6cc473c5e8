package future

import (
	"fmt"
	"runtime"
	"sync/atomic"

	"github.com/aio-go/aio/internal/hooks"
)

// Future states.
const (
	statePending uint32 = iota
	stateDone
	stateCancelled
)

// Future is asyncio's Future, typed: a result of type T (or an error) that
// will be set later, once, on the loop goroutine. A Future is pending until
// SetResult, SetError or Cancel completes it; it cannot change after that.
//
// Done-callbacks registered with AddDoneCallback are always scheduled with
// the loop's CallSoon, in registration order, when the future completes;
// they never run inline, not even when added to a future that is already
// done.
//
// Setting, cancelling and adding callbacks must happen on the loop
// goroutine. Done, Cancelled and Wait are safe for concurrent use by
// multiple goroutines; so are Result and Err once Done reports true.
type Future[T any] struct {
	core
	value T
}

// core is the part of a future that does not depend on its result type:
// the loop, the done-callbacks and the state. A future that succeeds with
// at most one callback takes 48 bytes (for a word-sized T); one that needs
// extra, 64 more.
type core struct {
	// Pointers first, so that the collector scans less of a future.
	s     Scheduler
	first func() // done-callbacks: the first inline, the others in x (see callbacks.go)
	x     *extra // rarely used fields
	state atomic.Uint32
	seq   uint32 // callback ids, and firstNoArg (see callbacks.go)
}

// extra holds the fields most futures never need.
type extra struct {
	// err is the error f completed with (SetError's in a *trackedError).
	// While f is pending it is nil, or errOwned if f is owned (Own): the
	// two never coexist, so they share the slot.
	err      error
	more     []entry
	name     namer
	onCancel func(n any, cause error) bool // called with name (namerAny)
}

// trackedError is an error set with SetError, with the tracker that reports
// it if nobody retrieves it. Only extra.err holds one; error unwraps it.
type trackedError struct {
	err   error
	track hooks.ErrorTracker
}

func (e *trackedError) Error() string { return e.err.Error() }

// New returns a pending future bound to the loop s: asyncio's
// loop.create_future.
//
// Safe for concurrent use by multiple goroutines: it only allocates.
func New[T any](s Scheduler) *Future[T] {
	if s == nil {
		panic("future: New with a nil Scheduler")
	}
	return &Future[T]{core: core{s: s}}
}

// Scheduler returns the loop the future is bound to: asyncio's get_loop.
func (f *Future[T]) Scheduler() Scheduler { return f.s }

// SetResult is asyncio's set_result: it completes f with v and schedules its
// done-callbacks. It reports whether this call completed f; it does nothing
// and reports false if f was already done or cancelled. On the pending
// future of a task, which only the task completes, it panics with an error
// matching ErrInvalidState.
//
// Must be called on the loop goroutine.
func (f *Future[T]) SetResult(v T) bool {
	if f.x != nil || hooks.Debugging.Load() != 0 {
		f.checkSet("Future.SetResult", "SetResult")
	}
	if f.state.Load() != statePending {
		return false
	}
	f.value = v
	f.complete(stateDone)
	return true
}

// SetError is asyncio's set_exception: it completes f with err and schedules
// its done-callbacks. It reports whether this call completed f; it does
// nothing and reports false if f was already done or cancelled. If nobody
// retrieves err (with Result, Err, Wait or Cancel) before f is garbage
// collected or the loop closes, the loop reports it through its exception
// handler. SetError panics if err is nil, and, as SetResult does, on the
// pending future of a task.
//
// Must be called on the loop goroutine.
func (f *Future[T]) SetError(err error) bool {
	checkLoop(f.s, "Future.SetError")
	if err == nil {
		panic("future: SetError(nil)")
	}
	if f.state.Load() != statePending {
		return false
	}
	f.checkOwned("SetError")
	x := f.ext()
	x.err = err
	// The tracker must exist before another goroutine can see f done and
	// retrieve the error (Wait).
	if trackError := hooks.Loop.TrackError; trackError != nil {
		if track := trackError(f.s, err, f.describe(stateDone)); track != nil {
			x.err = &trackedError{err, track}
			runtime.AddCleanup(f, hooks.ErrorTracker.Collected, track)
		}
	}
	f.complete(stateDone)
	return true
}

// Cancel is asyncio's cancel: if f is pending, it completes f as cancelled,
// schedules its done-callbacks and reports true; otherwise it reports false.
// Even when it reports false, it marks an error f failed with as retrieved.
//
// Must be called on the loop goroutine.
func (f *Future[T]) Cancel() bool {
	checkLoop(f.s, "Future.Cancel")
	return f.cancel(nil)
}

// CancelWithCause is Cancel with a cause, asyncio's cancel(msg): the
// future's error then matches cause as well as ErrCancelled.
//
// Cancelling a task's future asks the task to cancel: it is the task's
// Cancel (asyncio's Task.cancel).
//
// Must be called on the loop goroutine.
func (f *Future[T]) CancelWithCause(cause error) bool {
	checkLoop(f.s, "Future.CancelWithCause")
	return f.cancel(cause)
}

func (f *Future[T]) cancel(cause error) bool {
	if f.x != nil && f.x.onCancel != nil && f.state.Load() == statePending {
		return f.x.onCancel(f.x.namerAny(), cause)
	}
	return f.cancelNow(cause)
}

// cancelNow cancels f even if onCancel is set (hooks.Future.CancelNow).
func (f *Future[T]) cancelNow(cause error) bool {
	f.retrieved()
	if f.state.Load() != statePending {
		return false
	}
	f.ext().err = Cancelled(cause)
	f.complete(stateCancelled)
	return true
}

// Done is asyncio's done: it reports whether f is completed (with a result,
// an error, or cancelled).
//
// Safe for concurrent use by multiple goroutines.
func (f *Future[T]) Done() bool { return f.state.Load() != statePending }

// Cancelled is asyncio's cancelled: it reports whether f was cancelled.
//
// Safe for concurrent use by multiple goroutines.
func (f *Future[T]) Cancelled() bool { return f.state.Load() == stateCancelled }

// Result is asyncio's result: the value and error f completed with. For a
// pending future it returns ErrInvalidState; for a cancelled one an error
// matching ErrCancelled.
//
// Must be called on the loop goroutine, unless Done has reported true.
func (f *Future[T]) Result() (T, error) {
	switch f.state.Load() {
	case statePending:
		var zero T
		return zero, ErrInvalidState
	case stateCancelled:
		var zero T
		return zero, f.x.err
	}
	f.retrieved()
	return f.value, f.error()
}

// Err is asyncio's exception: the error f completed with, nil if it
// succeeded, an error matching ErrCancelled if it was cancelled, and
// ErrInvalidState if it is still pending.
//
// Must be called on the loop goroutine, unless Done has reported true.
func (f *Future[T]) Err() error {
	_, err := f.Result()
	return err
}

// namer names a future in logs and reports, when asked.
type namer interface{ Name() string }

type fixedName string

func (n fixedName) Name() string { return string(n) }

// SetName names f in logs and reports (String): asyncio's Task.set_name,
// for any future.
//
// Must be called on the loop goroutine.
func (f *Future[T]) SetName(name string) { f.ext().name = fixedName(name) }

// String describes f: its name (or type) and state.
func (f *Future[T]) String() string { return f.describe(f.state.Load()) }

func (f *Future[T]) describe(state uint32) string {
	name := ""
	if f.x != nil && f.x.name != nil {
		name = f.x.name.Name()
	}
	if name == "" {
		var zero T
		name = fmt.Sprintf("Future[%T]", zero)
	}
	switch state {
	case statePending:
		return name + "<pending>"
	case stateCancelled:
		return name + "<cancelled>"
	}
	if err := f.error(); err != nil {
		return name + "<error: " + err.Error() + ">"
	}
	return name + "<done>"
}

// error returns the error f completed with, if any.
func (f *Future[T]) error() error {
	if f.x == nil {
		return nil
	}
	if t, ok := f.x.err.(*trackedError); ok {
		return t.err
	}
	return f.x.err
}

// namerAny returns x.name as an any: nil if there is none.
func (x *extra) namerAny() any {
	if x.name == nil {
		return nil
	}
	return x.name
}

func (c *core) ext() *extra {
	if c.x == nil {
		c.x = new(extra)
	}
	return c.x
}

// checkLoop asks the loop, while a loop is in debug mode, whether the caller
// may run op, loop-only code, now (hooks.Loop.Check). Otherwise it costs
// one atomic load.
func checkLoop(s Scheduler, op string) {
	if hooks.Debugging.Load() != 0 {
		checkDebug(s, op)
	}
}

// checkDebug is checkLoop's call, out of line so that checkLoop is inlined.
//
//go:noinline
func checkDebug(s Scheduler, op string) {
	if check := hooks.Loop.Check; check != nil {
		check(s, op)
	}
}

// checkOwned panics if the pending f is owned: only its owner completes it.
func (f *Future[T]) checkOwned(op string) {
	if f.x != nil && f.x.err == errOwned {
		panicOwned(op)
	}
}

// checkSet is SetResult's checks, out of its common path: the loop's (in
// debug mode), then the owner's, for a pending future.
func (f *Future[T]) checkSet(loopOp, op string) {
	checkLoop(f.s, loopOp)
	if f.state.Load() == statePending {
		f.checkOwned(op)
	}
}

// panicOwned is the panic of SetResult and SetError on an owned future.
//
//go:noinline
func panicOwned(op string) { panic(&ownedError{op}) }

func (f *Future[T]) retrieved() {
	if f.x == nil {
		return
	}
	if t, ok := f.x.err.(*trackedError); ok {
		t.track.Retrieved()
	}
}

// complete records the new state and schedules every done-callback.
func (f *Future[T]) complete(state uint32) {
	f.state.Store(state)
	f.schedule(f)
	f.seq = 0
}
