package weakref

import (
	"log/slog"
	"slices"
	"weak"

	"github.com/aio-go/aio/loop"
)

// Signal is a subject whose subscribers are held weakly: the observer
// pattern of Python's weakref.WeakMethod-based signals, delivered through
// the loop. Emit schedules one call per live subscriber with the loop's
// CallSoon, in subscription order, so each runs as a callback of its own
// (a panic in one is reported by the loop and does not stop the others).
// A subscriber whose receiver was collected without unsubscribing is
// skipped and dropped by the next Emit, with a warning (see WithLogger).
//
// Must be called on the loop goroutine.
type Signal[T any] struct {
	l    *loop.Loop
	log  *slog.Logger
	subs []subscriber[T] // in subscription order
}

// subscriber is one Subscribe: a receiver of some type, held weakly, and
// its method.
type subscriber[T any] interface {
	// schedule schedules the call with v and reports true, or reports
	// false if the receiver was collected.
	schedule(l *loop.Loop, v T) bool
	alive() bool
	describe() (receiver, callback string)
}

// NewSignal returns a signal with no subscribers, whose calls run on l.
//
// Safe for concurrent use by multiple goroutines.
func NewSignal[T any](l *loop.Loop, opts ...Option) *Signal[T] {
	if l == nil {
		panic("weakref: NewSignal with a nil loop")
	}
	return &Signal[T]{l: l, log: newConfig(opts).logger}
}

// Subscribe adds recv's method to s's subscribers, holding recv weakly: it
// connects a WeakMethod to a signal. The returned unsubscribe func removes
// it; after unsubscribe returns, method is not called again, not even for
// an Emit that happened before. Calling unsubscribe again does nothing.
// Subscribing the same receiver twice makes two subscriptions.
//
// As with DoneCallback, method must not hold recv: pass a method expression
// such as (*Display).Show. Subscribe panics if recv or method is nil.
//
// Must be called on the loop goroutine.
func Subscribe[R, T any](s *Signal[T], recv *R, method func(r *R, v T)) (unsubscribe func()) {
	if recv == nil || method == nil {
		panic("weakref: Subscribe with a nil receiver or method")
	}
	b := &binding[R, T]{recv: weak.Make(recv), method: method}
	s.subs = append(s.subs, b)
	return func() {
		if b.off {
			return
		}
		b.off = true
		if i := slices.Index(s.subs, subscriber[T](b)); i >= 0 {
			s.subs = slices.Delete(s.subs, i, i+1)
		}
	}
}

// Emit schedules a call of every live subscriber with v, in subscription
// order, each with the loop's CallSoon. A subscriber whose receiver is
// alive now is called even if nothing else keeps the receiver alive until
// the call runs. Subscribers whose receivers were collected are dropped,
// and each drop is logged as a warning: it usually means the program forgot
// to unsubscribe. Subscribers added during the calls get the next Emit.
// Like CallSoon, Emit panics with an error matching loop.ErrClosed if the
// loop is closed.
//
// Must be called on the loop goroutine.
func (s *Signal[T]) Emit(v T) {
	kept := s.subs[:0]
	for _, b := range s.subs {
		if b.schedule(s.l, v) {
			kept = append(kept, b)
			continue
		}
		receiver, callback := b.describe()
		s.log.Warn("weakref: subscriber dropped: its receiver was collected without unsubscribing",
			"receiver", receiver, "callback", callback)
	}
	clear(s.subs[len(kept):])
	s.subs = kept
}

// Len reports the number of subscribers whose receivers are alive.
//
// Must be called on the loop goroutine.
func (s *Signal[T]) Len() int {
	n := 0
	for _, b := range s.subs {
		if b.alive() {
			n++
		}
	}
	return n
}

// binding is a subscriber with a receiver of type R.
type binding[R, T any] struct {
	recv   weak.Pointer[R]
	method func(*R, T)
	off    bool
}

func (b *binding[R, T]) schedule(l *loop.Loop, v T) bool {
	r := b.recv.Value()
	if r == nil {
		return false
	}
	l.CallSoon(func() {
		if !b.off {
			b.method(r, v)
		}
	})
	return true
}

func (b *binding[R, T]) alive() bool { return b.recv.Value() != nil }

func (b *binding[R, T]) describe() (string, string) {
	return describe[R](b.method)
}
