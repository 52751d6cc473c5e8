package sched

import (
	"time"

	"github.com/aio-go/aio/internal/hooks"
)

// Slot states.
const (
	pending uint8 = iota
	cancelled
	done       // run, or taken by the loop to run
	pendingArg // a Queue's callback with an argument, or a due timer: pending
)

// A Slot is a timer: a callback with a deadline, kept by a Heap until it is
// due and then handed to the ready Queue. It takes 32 bytes.
type Slot struct {
	fn     func()
	o      *origin
	when   int64  // nanoseconds since the Heap's Epoch, saturated
	seq    uint32 // order of scheduling, for equal deadlines (wraps)
	state  uint8
	inHeap bool
}

// An origin is what a Slot refers back to: its Heap, and for a deadline
// that nanoseconds since the Heap's Epoch cannot hold (before 1678 or after
// 2262, for an Epoch of today), the deadline as given, so that When reports
// it. The timers of a Heap share the Heap's own origin; a timer with such a
// deadline has one of its own, which keeps every Slot at 32 bytes.
type origin struct {
	h     *Heap
	at    time.Time
	exact bool // at is the deadline; when is saturated
}

// take marks a due timer as run and returns its callback and note, or nils
// if it was cancelled.
func (s *Slot) take() (fn func(), note any) {
	if h := s.o.h; h.notes != nil {
		note = h.notes[s]
		delete(h.notes, s)
	}
	if s.state != pending {
		return nil, nil
	}
	fn = s.fn
	s.state = done
	s.fn = nil
	return fn, note
}

// Handle is a scheduled callback: asyncio's Handle and TimerHandle. It is a
// small value; copies refer to the same callback. The zero Handle refers to
// nothing: Cancel reports false and When reports the zero time.
//
// A Handle stays valid after its callback has run: Cancel then reports false
// and Cancelled keeps reporting what happened.
type Handle struct {
	c   *chunk // a callback in a Queue
	s   *Slot  // a timer
	i   uint32 // the callback's index in c
	gen uint32 // c's generation when the callback was scheduled
}

// Cancel is asyncio's Handle.cancel: it stops the callback from running. It
// reports whether this call cancelled it: false if the callback has already
// run, is running, or was cancelled before. Cancel releases the callback and
// its argument at once.
//
// Must be called on the loop goroutine. While a loop is in debug mode,
// Cancel has hooks.Loop.Check verify that for the handle's owner.
func (h Handle) Cancel() bool {
	if hooks.Debugging.Load() != 0 {
		h.check("Handle.Cancel")
	}
	if c := h.c; c != nil {
		if st := c.states[h.i]; c.gen != h.gen || st != pending && st != pendingArg {
			return false
		}
		c.states[h.i] = cancelled
		c.clear(h.i)
		c.tainted = true
		return true
	}
	s := h.s
	if s == nil || s.state != pending {
		return false
	}
	s.state = cancelled
	s.fn = nil
	hp := s.o.h
	if hp.notes != nil {
		delete(hp.notes, s)
	}
	if s.inHeap {
		hp.cancelled++
		hp.maybeCompact()
	}
	return true
}

// Cancelled is asyncio's Handle.cancelled: it reports whether Cancel
// cancelled the callback.
//
// Must be called on the loop goroutine.
func (h Handle) Cancelled() bool { return h.state() == cancelled }

// Pending reports whether the callback is still waiting to run.
//
// Must be called on the loop goroutine.
func (h Handle) Pending() bool { return h.state() == pending }

// check has hooks.Loop.Check check that op may run loop-only code of the
// handle's owner now, if the handle has an owner.
func (h Handle) check(op string) {
	var owner any
	switch {
	case h.c != nil:
		owner = h.c.owner
	case h.s != nil:
		owner = h.s.o.h.Owner
	}
	if owner != nil && hooks.Loop.Check != nil {
		hooks.Loop.Check(owner, op)
	}
}

func (h Handle) state() uint8 {
	switch {
	case h.c != nil:
		if h.c.gen != h.gen {
			// The chunk was reused, so the callback ran: chunks that held
			// a cancelled callback are never reused.
			return done
		}
		if st := h.c.states[h.i]; st != pendingArg {
			return st
		}
		return pending
	case h.s != nil:
		return h.s.state
	}
	return done
}

// When is asyncio's TimerHandle.when: the time the callback is scheduled
// for, exactly as given to Heap.PushAt when nanoseconds since the Heap's
// Epoch cannot hold it. It is the zero time for callbacks that were not scheduled with a
// deadline (CallSoon, CallSoonThreadsafe).
//
// Safe for concurrent use by multiple goroutines.
func (h Handle) When() time.Time {
	if h.s == nil {
		return time.Time{}
	}
	o := h.s.o
	if o.exact {
		return o.at
	}
	return o.h.Epoch.Add(time.Duration(h.s.when))
}

// String describes the handle's state, for logs.
func (h Handle) String() string {
	kind := "Handle"
	switch {
	case h.s != nil:
		kind = "TimerHandle"
	case h.c == nil:
		return "Handle<nil>"
	}
	switch h.state() {
	case cancelled:
		return kind + "<cancelled>"
	case pending:
		switch {
		case h.s == nil:
		case h.s.o.exact:
			return kind + "<pending when=" + h.s.o.at.String() + ">"
		default:
			return kind + "<pending when=" + time.Duration(h.s.when).String() + ">"
		}
		return kind + "<pending>"
	}
	return kind + "<done>"
}
