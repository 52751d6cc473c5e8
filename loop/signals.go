package loop

import (
	"fmt"
	"os"
	"os/signal"
	"reflect"
	"runtime"
	"slices"
	"sync"
	"weak"
)

// AddSignalHandler is asyncio's loop.add_signal_handler: each time the
// process receives sig, fn runs on the loop goroutine, as a callback (a
// panic in it goes to the exception handler). Signals that arrive faster
// than the loop runs the handler may be merged into one call, as with
// os/signal. A second AddSignalHandler for the same signal replaces the
// handler. Every loop with a handler for sig gets it, as does every
// channel of the program's registered with signal.Notify.
//
// AddSignalHandler panics if fn is nil. It returns an error matching
// ErrClosed if the loop is closing or closed, and an error if sig cannot
// be caught (SIGKILL, SIGSTOP, or not a signal of this system).
//
// Handlers keep working during a Shutdown (a second Ctrl-C can still be
// seen), and do not keep it from finishing. Close removes them: the
// signals go back to their default action, unless another handler or
// signal.Notify channel of the program's takes them. Signals come from
// outside any testing/synctest bubble: a loop in a bubble cannot take
// them.
//
// Must be called on the loop goroutine.
func (l *Loop) AddSignalHandler(sig os.Signal, fn func()) error {
	if fn == nil {
		panic("loop: AddSignalHandler: nil func")
	}
	l.checkGoroutine("AddSignalHandler")
	if l.IsClosing() {
		return &opError{"AddSignalHandler", ErrClosed}
	}
	if !catchable(sig) {
		return &opError{"AddSignalHandler", fmt.Errorf("signal %v cannot be caught", sig)}
	}
	s := l.signals
	if s == nil {
		s = l.startSignals()
	}
	if h, ok := s.handlers[sig]; ok {
		h.fn = fn
		s.handlers[sig] = h
		return nil
	}
	sub := &signalSub{sig: sig, ch: make(chan os.Signal, 1)}
	s.handlers[sig] = signalHandler{fn: fn, sub: sub}
	s.w.add(sub)
	return nil
}

// RemoveSignalHandler is asyncio's loop.remove_signal_handler: it removes
// the handler for sig and reports whether there was one. A delivery of sig
// not yet run is dropped. Unless another handler or signal.Notify channel
// of the program's takes sig, it goes back to its default action.
//
// Must be called on the loop goroutine.
func (l *Loop) RemoveSignalHandler(sig os.Signal) bool {
	l.checkGoroutine("RemoveSignalHandler")
	s := l.signals
	if s == nil {
		return false
	}
	h, ok := s.handlers[sig]
	if !ok {
		return false
	}
	delete(s.handlers, sig)
	if len(s.handlers) == 0 {
		// The last one: the goroutine ends, and the loop owns nothing for
		// signals until the next AddSignalHandler.
		l.untrack(s)
		s.Close()
		s.Join()
		return true
	}
	s.w.remove(h.sub)
	return true
}

// signals is a loop's signal handlers: a resource (hooks.Resource) the
// loop owns while it has a handler, with one goroutine forwarding the
// signals to the loop. It is a daemon: a Shutdown does not wait for it.
// Its fields belong to the loop goroutine.
type signals struct {
	l        *Loop
	handlers map[os.Signal]signalHandler
	w        *signalWatch
	cleanup  runtime.Cleanup // stops w if the loop is collected unclosed
}

type signalHandler struct {
	fn  func()
	sub *signalSub
}

// signalSub is one signal's subscription: the channel signal.Notify sends
// it on. Each signal has its own channel, so that removing one is a
// signal.Stop of its channel alone: re-subscribing the others would leave
// them at their default action (for most, ending the process) meanwhile.
type signalSub struct {
	sig os.Signal
	ch  chan os.Signal
}

// signalWatch is the forwarding goroutine's side. It holds the loop only
// weakly, so that a loop collected without Close is still reported, and
// its cleanup ends the goroutine.
type signalWatch struct {
	loop    weak.Pointer[Loop]
	changed chan struct{} // 1-buffered: subs changed
	quit    chan struct{} // closed by stop
	done    chan struct{} // closed as the goroutine returns

	mu      sync.Mutex
	subs    []*signalSub // under mu
	stopped bool         // under mu
}

// startSignals makes the loop own a new, empty set of handlers and starts
// its goroutine.
func (l *Loop) startSignals() *signals {
	w := &signalWatch{
		loop:    weak.Make(l),
		changed: make(chan struct{}, 1),
		quit:    make(chan struct{}),
		done:    make(chan struct{}),
	}
	s := &signals{l: l, handlers: make(map[os.Signal]signalHandler), w: w}
	s.cleanup = runtime.AddCleanup(l, (*signalWatch).stop, w)
	l.track(s)
	l.signals = s
	go w.run()
	return s
}

// deliverSignal runs the handler sub was made for, on the loop goroutine, unless
// it was removed since.
func (l *Loop) deliverSignal(sub *signalSub) {
	if s := l.signals; s != nil {
		if h, ok := s.handlers[sub.sig]; ok && h.sub == sub {
			h.fn()
		}
	}
}

// StopAccepting does nothing: handlers keep working during a Shutdown.
func (s *signals) StopAccepting() {}

// Close stops the notifications; the goroutine returns without waiting.
func (s *signals) Close() {
	s.l.signals = nil
	s.cleanup.Stop()
	s.w.stop()
}

// Join waits for the forwarding goroutine to return.
func (s *signals) Join() { <-s.w.done }

func (s *signals) String() string { return "signal handlers" }

// Daemon reports true: a Shutdown does not wait for signal handlers.
func (s *signals) Daemon() bool { return true }

// add subscribes sub and tells the goroutine.
func (w *signalWatch) add(sub *signalSub) {
	w.mu.Lock()
	signal.Notify(sub.ch, sub.sig)
	w.subs = append(w.subs, sub)
	w.mu.Unlock()
	w.poke()
}

// remove unsubscribes sub and tells the goroutine. Once signal.Stop
// returns, nothing more is sent on sub.ch.
func (w *signalWatch) remove(sub *signalSub) {
	w.mu.Lock()
	signal.Stop(sub.ch)
	w.subs = slices.DeleteFunc(w.subs, func(x *signalSub) bool { return x == sub })
	w.mu.Unlock()
	w.poke()
}

func (w *signalWatch) poke() {
	select {
	case w.changed <- struct{}{}:
	default:
	}
}

// stop unsubscribes everything and ends the goroutine. It is idempotent:
// the loop's Close and the cleanup of a collected loop both call it.
func (w *signalWatch) stop() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stopped {
		return
	}
	w.stopped = true
	for _, sub := range w.subs {
		signal.Stop(sub.ch)
	}
	w.subs = nil
	close(w.quit)
}

// run is the forwarding goroutine: it waits on every subscription's
// channel at once (reflect.Select, as their number changes), and hands
// each signal to the loop with callSoonInternal, which the loop accepts
// until it is closed, Shutdown included.
func (w *signalWatch) run() {
	defer close(w.done)
	recv := func(ch any) reflect.SelectCase {
		return reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(ch)}
	}
	cases := []reflect.SelectCase{recv(w.quit), recv(w.changed)}
	var subs []*signalSub
	for {
		w.mu.Lock()
		subs = append(subs[:0], w.subs...)
		w.mu.Unlock()
		cases = cases[:2]
		for _, sub := range subs {
			cases = append(cases, recv(sub.ch))
		}
		for changed := false; !changed; {
			i, _, _ := reflect.Select(cases)
			switch i {
			case 0:
				return
			case 1:
				changed = true
			default:
				if !w.forward(subs[i-2]) {
					return
				}
			}
		}
	}
}

// forward hands one delivery of sub to the loop, and reports whether the
// loop is still there to take more.
func (w *signalWatch) forward(sub *signalSub) bool {
	l := w.loop.Value()
	if l == nil {
		return false
	}
	return l.callSoonInternal(func() { l.deliverSignal(sub) })
}
