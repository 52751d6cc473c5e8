package loop

import (
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"time"

	"github.com/aio-go/aio/future"
	"github.com/aio-go/aio/internal/hooks"
	"github.com/aio-go/aio/timer"
)

// WaitMode says when Wait returns: asyncio's return_when. The zero value is
// AllCompleted, asyncio's default.
type WaitMode uint8

const (
	// AllCompleted makes Wait return when every future is done: asyncio's
	// ALL_COMPLETED.
	AllCompleted WaitMode = iota
	// FirstCompleted makes Wait return when any future is done: asyncio's
	// FIRST_COMPLETED.
	FirstCompleted
	// FirstError makes Wait return when a future fails (with an error, not
	// by being cancelled), or when every future is done: asyncio's
	// FIRST_EXCEPTION.
	FirstError
)

// String returns the mode's name.
//
// Safe for concurrent use by multiple goroutines.
func (m WaitMode) String() string {
	switch m {
	case AllCompleted:
		return "AllCompleted"
	case FirstCompleted:
		return "FirstCompleted"
	case FirstError:
		return "FirstError"
	}
	return "WaitMode(" + strconv.Itoa(int(m)) + ")"
}

// Wait is asyncio's wait: it suspends the task until the futures fs
// satisfy mode or the timeout passes, and returns which of them are done
// and which are still pending, each in the order of fs. A future given
// twice counts once. The partition is taken when the task resumes, so done
// may hold more futures than mode asked for (two with FirstCompleted, if
// two completed in the same iteration).
//
// timeout is counted from the call; NoTimeout means none, and a timeout
// <= 0 returns after one round of done-callbacks, with the futures that are
// done by then. When the timeout passes, Wait returns the partition with a
// nil error: a timeout is not an error here, and Wait never cancels
// anything. Wait always suspends the task, even when every future is
// already done (their done-callbacks are scheduled, never run inline), as
// asyncio's does.
//
// fs may be a slice of any future type: []future.Awaitable, or
// []*Task[T] and []*future.Future[T] as they are; done and pending have the
// type of fs.
//
// Wait returns ErrEmpty if fs is empty and an error matching ErrOtherLoop
// if a future belongs to another loop, in both cases at once. It panics if
// a future is nil, if mode is not a WaitMode, or if it is called outside the
// body of the task co belongs to.
//
// Cancellation: if the task is cancelled while waiting, Wait returns the
// partition at that moment with an error matching future.ErrCancelled; the
// futures are not cancelled (cancel the pending ones if that is what the
// caller wants). If the loop closes, the error matches ErrClosed.
//
// Must be called on the loop goroutine.
func Wait[F future.Awaitable](co *Coro, fs []F, timeout time.Duration, mode WaitMode) (done, pending []F, err error) {
	if mode > FirstError {
		panic("loop: Wait: invalid mode " + mode.String())
	}
	l := co.Loop()
	fs, err = distinct(l, fs, "Wait")
	if err != nil {
		return nil, nil, err
	}
	if len(fs) == 0 {
		return nil, nil, ErrEmpty
	}

	waiter := future.New[struct{}](l)
	release := func() { waiter.SetResult(struct{}{}) }
	var h timer.Handle
	if timeout != NoTimeout {
		h = l.CallLater(timeout, release)
	}
	left := len(fs)
	over := false // Wait has returned: callbacks already scheduled do nothing
	removes := make([]func() bool, len(fs))
	for i, f := range fs {
		removes[i] = f.AddDoneFunc(func() {
			if over {
				return
			}
			left--
			if left == 0 || mode == FirstCompleted ||
				mode == FirstError && !f.Cancelled() && f.Err() != nil {
				release()
			}
		})
	}

	_, err = Await(co, waiter)
	over = true
	h.Cancel()
	for _, remove := range removes {
		remove()
	}
	for _, f := range fs {
		if f.Done() {
			done = append(done, f)
		} else {
			pending = append(pending, f)
		}
	}
	return done, pending, err
}

// WaitFor is asyncio's wait_for: Await with a timeout. It waits for f and
// returns its result; if the timeout passes first, it cancels f, waits
// until f has really finished, and returns ErrTimeout, which matches
// context.DeadlineExceeded (and not future.ErrCancelled). If f handles the
// cancellation and completes anyway, WaitFor returns what f completed with:
// its value, or its error if that is not a cancellation.
//
// timeout is counted from the call; NoTimeout means none (WaitFor is then
// Await). With a timeout <= 0, a future that is already done gives its
// outcome at once, and any other is cancelled and waited for as above, so
// a task that has not started yet never runs its body.
//
// f is a future or a task, passed as it is. WaitFor returns an error
// matching ErrOtherLoop if f belongs to another loop; it panics if f is nil
// or if called outside the body of the task co belongs to.
//
// Cancellation: cancelling the task cancels f too, and WaitFor still waits
// until f has finished, then returns f's outcome (an error matching
// future.ErrCancelled, unless f completed anyway). If the loop closes, the
// error matches ErrClosed.
//
// Must be called on the loop goroutine.
func WaitFor[T any, F future.Of[T]](co *Coro, of F, timeout time.Duration) (T, error) {
	f := futureOf[T](of, "WaitFor")
	var zero T
	if f.Scheduler() != future.Scheduler(co.Loop()) {
		return zero, &opError{"WaitFor", ErrOtherLoop}
	}
	switch {
	case timeout == NoTimeout:
		return Await(co, f)
	case timeout > 0:
		var v T
		err := WithTimeout(co, timeout, func(*Timeout) error {
			var err error
			v, err = Await(co, f)
			return err
		})
		return v, err
	}
	if f.Done() {
		return f.Result()
	}
	if err := cancelAndWait(co, f); err != nil {
		return zero, err
	}
	v, err := f.Result()
	if err != nil && errors.Is(err, future.ErrCancelled) {
		return zero, ErrTimeout
	}
	return v, err
}

// cancelAndWait cancels f and waits until it is done, on a future of its
// own so that cancelling the waiting task does not cancel f again:
// asyncio's _cancel_and_wait.
func cancelAndWait[T any](co *Coro, f *future.Future[T]) error {
	waiter := future.New[struct{}](co.Loop())
	remove := f.AddDoneCallback(func(*future.Future[T]) { waiter.SetResult(struct{}{}) })
	defer remove()
	f.Cancel()
	_, err := Await(co, waiter)
	return err
}

// futureOf returns the *future.Future[T] that f is or embeds, for the
// function op; it panics if f is nil.
func futureOf[T any, F future.Of[T]](f F, op string) *future.Future[T] {
	var b *future.Future[T]
	switch f := any(f).(type) {
	case *future.Future[T]:
		b = f
	case *Task[T]:
		if f != nil {
			b = f.Future
		}
	case nil:
	default:
		if isNil(f) {
			break
		}
		base := hooks.Future.Base
		if base == nil {
			panic(fmt.Sprintf("loop: %s: unsupported future type %T", op, f))
		}
		b = base(f).(*future.Future[T])
	}
	if b == nil {
		panic(nilFuture(op))
	}
	return b
}

// distinct returns fs without repeats, in order, for the function op. It
// panics if a future is nil, and returns an error matching ErrOtherLoop if
// one belongs to another loop.
func distinct[F future.Awaitable](l *Loop, fs []F, op string) ([]F, error) {
	out := make([]F, 0, len(fs))
	var seen map[any]struct{} // once fs is too long to search out
	for _, f := range fs {
		if isNil(f) {
			panic(nilFuture(op))
		}
		if f.Scheduler() != future.Scheduler(l) {
			return nil, &opError{op, ErrOtherLoop}
		}
		if seen == nil && len(out) < distinctScan {
			if !containsFuture(out, f) {
				out = append(out, f)
			}
			continue
		}
		if seen == nil {
			seen = make(map[any]struct{}, len(fs))
			for _, g := range out {
				seen[g] = struct{}{}
			}
		}
		if _, ok := seen[f]; !ok {
			seen[f] = struct{}{}
			out = append(out, f)
		}
	}
	return out, nil
}

// distinctScan is how many distinct futures distinct compares one by one
// before it builds a map.
const distinctScan = 16

func containsFuture[F future.Awaitable](fs []F, f F) bool {
	for _, g := range fs {
		if any(g) == any(f) {
			return true
		}
	}
	return false
}

// isNil reports whether f is nil, or a nil pointer in an interface.
func isNil(f any) bool {
	if f == nil {
		return true
	}
	v := reflect.ValueOf(f)
	return v.Kind() == reflect.Pointer && v.IsNil()
}

// nilFuture is the panic value for a nil future given to op.
func nilFuture(op string) string { return "loop: " + op + ": nil future" }
