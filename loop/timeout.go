package loop

import (
	"context"
	"errors"
	"math"
	"time"

	"github.com/aio-go/aio/future"
	"github.com/aio-go/aio/timer"
)

type timeoutError struct{}

func (timeoutError) Error() string { return "loop: timeout" }

// Is makes ErrTimeout match context.DeadlineExceeded.
func (timeoutError) Is(target error) bool { return target == context.DeadlineExceeded }

// Timeout reports true, as net.Error's Timeout and context.DeadlineExceeded
// do.
func (timeoutError) Timeout() bool { return true }

// NoTimeout, given as a timeout to Wait, WaitFor, AsCompleted or
// NewTimeout, means that there is none: asyncio's timeout=None. Every other
// duration is a deadline counted from the call, and a duration <= 0 is one
// that has already passed.
const NoTimeout time.Duration = math.MaxInt64

// timeoutState is where a Timeout is in its life: asyncio's _State.
type timeoutState uint8

const (
	timeoutCreated  timeoutState = iota
	timeoutActive                // entered, deadline not reached
	timeoutExpiring              // the deadline passed: the task was cancelled
	timeoutExpired               // left after expiring
	timeoutFinished              // left without expiring
)

var timeoutStateNames = [...]string{"created", "active", "expiring", "expired", "finished"}

// Timeout is asyncio's Timeout (asyncio.timeout and asyncio.timeout_at): a
// deadline for a block of a task's code. The block runs in Do (or in
// WithTimeout and WithTimeoutAt, which create the Timeout and run the block
// at once). When the deadline passes while the block runs, the task is
// cancelled; when the block then returns a cancellation error, Do returns
// ErrTimeout instead.
//
// Cancellations are told apart with the task's Cancelling count, as in
// asyncio: Do converts the cancellation only if this Timeout expired and
// no other cancellation of the task is pending. So with nested timeouts
// only the outermost expired one reports ErrTimeout (the inner blocks see
// the cancellation), and a cancellation from outside the block while the
// Timeout has not expired stays a cancellation. Either way the task is not
// left cancelled by the Timeout: Do withdraws its cancellation (Uncancel)
// when the block returns.
//
// A Timeout is used once. Its methods must be called on the loop goroutine.
type Timeout struct {
	l          *Loop
	when       time.Time // zero: no deadline
	state      timeoutState
	task       AnyTask
	cancelling int // the task's Cancelling count when Do began
	h          timer.Handle
}

// NewTimeout is asyncio.timeout(delay): a Timeout whose deadline is d from
// now on l's clock. The deadline is fixed here, not when Do starts the
// block. NoTimeout means no deadline (it can be set later with Reschedule);
// d <= 0 means a deadline that has already passed: the block runs until it
// first suspends, and is cancelled there.
//
// Must be called on the loop goroutine.
func NewTimeout(l *Loop, d time.Duration) *Timeout {
	if d == NoTimeout {
		return &Timeout{l: l}
	}
	return &Timeout{l: l, when: l.Now().Add(d)}
}

// NewTimeoutAt is asyncio.timeout_at(when): a Timeout with the deadline
// when on l's clock (see Loop.Now). The zero time means no deadline, as it
// does for net.Conn's SetDeadline.
//
// Must be called on the loop goroutine.
func NewTimeoutAt(l *Loop, when time.Time) *Timeout {
	return &Timeout{l: l, when: when}
}

// WithTimeout runs body in a Timeout of d created now (see NewTimeout), in
// the task co belongs to, and returns what Do returns: body's error, or
// ErrTimeout if the deadline cancelled body. It is asyncio's
//
//	async with asyncio.timeout(d) as tm:
//
// Cancellation: see Do.
//
// Must be called on the loop goroutine.
func WithTimeout(co *Coro, d time.Duration, body func(tm *Timeout) error) error {
	tm := NewTimeout(co.Loop(), d)
	return tm.Do(co, func() error { return body(tm) })
}

// WithTimeoutAt is WithTimeout with an absolute deadline: asyncio's
// timeout_at. The zero time means no deadline.
//
// Cancellation: see Do.
//
// Must be called on the loop goroutine.
func WithTimeoutAt(co *Coro, when time.Time, body func(tm *Timeout) error) error {
	tm := NewTimeoutAt(co.Loop(), when)
	return tm.Do(co, func() error { return body(tm) })
}

// Do runs body under the Timeout in the task co belongs to: asyncio's
// async with on a Timeout. It arms the deadline, runs body, disarms it, and
// returns body's error, converted to ErrTimeout when the deadline cancelled
// body (see Timeout). If body handles the cancellation and returns nil (or
// another error), Do returns that, and Expired still reports true. A
// deadline that has already passed lets body run until it first suspends.
//
// Do returns an error matching ErrOtherLoop, without running body, if the
// Timeout belongs to another loop than co's. It panics if the Timeout was
// used before, or if it is called outside the body of the task co belongs
// to.
//
// Cancellation: a cancellation of the task from elsewhere reaches body as
// usual and comes out of Do as a cancellation error, also when the deadline
// passed meanwhile; the task's Cancelling count is back to what it was
// before Do, plus the cancellations from elsewhere.
//
// Must be called on the loop goroutine.
func (tm *Timeout) Do(co *Coro, body func() error) (err error) {
	if tm.state != timeoutCreated {
		panic("loop: Timeout.Do: the timeout has already been used")
	}
	if co.Loop() != tm.l {
		return &opError{"Timeout.Do", &otherLoopError{"the timeout"}}
	}
	t := CurrentTask(tm.l)
	if t == nil {
		panic("loop: Timeout.Do: called outside a task")
	}
	tm.task = t
	tm.cancelling = t.Cancelling()
	tm.state = timeoutActive
	tm.arm()
	defer func() { err = tm.exit(err) }()
	return body()
}

// Reschedule is asyncio's Timeout.reschedule: it moves the deadline to
// when, on the loop's clock; the zero time removes it. A deadline that has
// already passed expires the Timeout in the next iteration. Reschedule
// panics unless the block is running and the Timeout has not expired.
//
// Must be called on the loop goroutine.
func (tm *Timeout) Reschedule(when time.Time) {
	if tm.state != timeoutActive {
		if tm.state == timeoutCreated {
			panic("loop: Timeout.Reschedule: the timeout has not been entered")
		}
		panic("loop: Timeout.Reschedule: the timeout is " + timeoutStateNames[tm.state])
	}
	tm.when = when
	tm.arm()
}

// When is asyncio's Timeout.when: the deadline on the loop's clock, or the
// zero time if there is none.
//
// Must be called on the loop goroutine.
func (tm *Timeout) When() time.Time { return tm.when }

// Expired is asyncio's Timeout.expired: it reports whether the deadline
// passed while the block ran, and so cancelled the task.
//
// Must be called on the loop goroutine.
func (tm *Timeout) Expired() bool {
	return tm.state == timeoutExpiring || tm.state == timeoutExpired
}

// String describes the Timeout, as asyncio's repr: "Timeout<active
// when=...>", "Timeout<expired>", "Timeout<finished>".
//
// Must be called on the loop goroutine.
func (tm *Timeout) String() string {
	s := "Timeout<" + timeoutStateNames[tm.state]
	if tm.state <= timeoutActive && !tm.when.IsZero() {
		s += " when=" + tm.when.Format(time.RFC3339Nano)
	}
	return s + ">"
}

// arm schedules the expiry at tm.when, replacing any earlier schedule.
func (tm *Timeout) arm() {
	tm.h.Cancel()
	tm.h = timer.Handle{}
	switch {
	case tm.when.IsZero():
	case !tm.when.After(tm.l.Now()):
		tm.h = tm.l.CallSoon(tm.expire)
	default:
		tm.h = tm.l.CallAt(tm.when, tm.expire)
	}
}

// expire is the deadline: asyncio's _on_timeout.
func (tm *Timeout) expire() {
	tm.h = timer.Handle{}
	tm.task.Cancel()
	tm.state = timeoutExpiring
}

// exit ends the block that returned err: asyncio's __aexit__.
func (tm *Timeout) exit(err error) error {
	tm.h.Cancel()
	tm.h = timer.Handle{}
	switch tm.state {
	case timeoutExpiring:
		tm.state = timeoutExpired
		// Always withdraw our cancellation; convert only if no other
		// cancellation is left pending.
		if tm.task.Uncancel() <= tm.cancelling && err != nil && errors.Is(err, future.ErrCancelled) {
			return ErrTimeout
		}
	case timeoutActive:
		tm.state = timeoutFinished
	}
	return err
}
