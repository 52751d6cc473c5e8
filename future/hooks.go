package future

import (
	"fmt"

	"github.com/aio-go/aio/internal/hooks"
)

// plumbing is what package loop does with a future beyond its public API,
// through hooks.Future. *Future[T] implements it, and so, by promotion, does
// every value that embeds one (a *loop.Task[T]): no other type can.
type plumbing interface {
	init(s Scheduler)
	setOnCancel(fn func(n any, cause error) bool)
	cancelNow(cause error) bool
	setNamer(n namer)
	namer() any
	onDone(fn func())
	onDoneCallback(fn any)
	setOwned(owned bool)
	baseAny() any
}

var _ plumbing = (*Future[int])(nil)

func init() {
	h := &hooks.Future
	h.Init = func(f any, s any) { plumb(f).init(s.(Scheduler)) }
	h.OnCancel = func(f any, fn func(n any, cause error) bool) { plumb(f).setOnCancel(fn) }
	h.CancelNow = func(f any, cause error) bool { return plumb(f).cancelNow(cause) }
	h.SetNamer = func(f any, n interface{ Name() string }) { plumb(f).setNamer(n) }
	h.Namer = func(f any) any { return plumb(f).namer() }
	h.OnDone = func(f any, fn func()) { plumb(f).onDone(fn) }
	h.OnDoneCallback = func(f any, fn any) { plumb(f).onDoneCallback(fn) }
	h.Own = func(f any) { plumb(f).setOwned(true) }
	h.Disown = func(f any) { plumb(f).setOwned(false) }
	h.Base = func(f any) any { return plumb(f).baseAny() }
}

// plumb returns f as the future it is or embeds; it panics for any other
// value.
func plumb(f any) plumbing {
	p, ok := f.(plumbing)
	if !ok {
		notAFuture(f)
	}
	return p
}

// notAFuture is plumb's panic, out of line so that plumb is inlined.
//
//go:noinline
func notAFuture(f any) { panic(fmt.Sprintf("future: %T is not a future", f)) }

// init binds f, a zero future, to s: New's work for a future that its
// owner allocates.
func (f *Future[T]) init(s Scheduler) {
	if s == nil || f.s != nil {
		panic("future: init of a future that is bound already, or with a nil Scheduler")
	}
	f.s = s
}

// setOnCancel replaces what Cancel and CancelWithCause do while f is
// pending: they call fn with f's namer and report its result, and fn
// decides when f is really cancelled (with cancelNow).
func (f *Future[T]) setOnCancel(fn func(n any, cause error) bool) { f.ext().onCancel = fn }

// setNamer makes f take its name from n, when a log or report needs it: a
// task's future is named after the task without formatting the name when
// the task is spawned.
func (f *Future[T]) setNamer(n namer) { f.ext().name = n }

// namer returns what f takes its name from, or nil.
func (f *Future[T]) namer() any {
	if f.x == nil {
		return nil
	}
	return f.x.namerAny()
}

// onDone is AddDoneFunc without a way to remove fn; it allocates nothing.
func (f *Future[T]) onDone(fn func()) { f.addCallback(fn, true, f) }

// onDoneCallback is AddDoneCallback without a way to remove fn, which must
// be a func(*Future[T]); it allocates nothing.
func (f *Future[T]) onDoneCallback(fn any) {
	g, ok := fn.(func(*Future[T]))
	if !ok {
		panic(fmt.Sprintf("future: OnDoneCallback with a %T for a %T", fn, f))
	}
	f.addCallback(erase(g), false, f)
}

// setOwned marks a pending f as owned, or no longer owned: while it is,
// SetResult and SetError panic. Owning a done future changes nothing.
func (f *Future[T]) setOwned(owned bool) {
	if f.state.Load() != statePending {
		return
	}
	switch x := f.x; {
	case owned:
		f.ext().err = errOwned
	case x != nil && x.err == errOwned:
		x.err = nil
	}
}

func (f *Future[T]) baseAny() any { return f }
