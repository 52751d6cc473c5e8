package stream

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"sync"
	"time"

	"github.com/aio-go/aio/internal/hooks"
	"github.com/aio-go/aio/loop"
)

// Server is asyncio's Server: it accepts connections on a net.Listener,
// off the loop, and makes a transport with a new protocol for each. Close
// stops accepting; the connections already made stay until they end.
//
// The loop owns its servers: Shutdown closes them (the connections go on
// until they end or Shutdown's ctx does), and Close closes them and joins
// their goroutines.
//
// Its methods must be called on the loop goroutine, except Addr.
type Server struct {
	l           *loop.Loop
	ln          net.Listener
	newProtocol func() Protocol
	cfg         config
	wg          sync.WaitGroup
	stop        chan struct{}   // closed by Close: the accept goroutine returns
	hsCtx       context.Context // the TLS handshakes', cancelled by Close
	hsCancel    context.CancelFunc

	closed bool // loop-only: Close ran
	gone   bool // loop-only: untracked
	conns  int  // loop-only: transports not yet lost
	idle   loop.Event

	mu       sync.Mutex
	pending  map[net.Conn]struct{} // accepted, not yet adopted by the loop
	stopping bool                  // Close ran: accepted conns are closed
}

// Listen is asyncio's create_server: it listens on address (as net.Listen:
// "tcp", "tcp4", "tcp6", "unix") and serves it (see Serve). WithTLS makes
// it a TLS server.
//
// Listen panics if l or newProtocol is nil, and with an error matching
// loop.ErrClosed if the loop is closing or closed.
//
// Must be called on the loop goroutine.
func Listen(l *loop.Loop, network, address string, newProtocol func() Protocol, opts ...Option) (*Server, error) {
	if newProtocol == nil {
		panic("stream: Listen: nil protocol factory")
	}
	if l == nil {
		panic("stream: Listen: nil loop")
	}
	ln, err := net.Listen(network, address)
	if err != nil {
		return nil, &OpError{"listen", address, err}
	}
	return Serve(l, ln, newProtocol, opts...), nil
}

// Serve serves ln: an accept goroutine hands each connection to the loop,
// which makes a transport with the protocol newProtocol returns (after a
// TLS server handshake, off the loop, with WithTLS; a failed handshake
// only closes that conn). The server owns ln and closes it. Errors of
// Accept other than ln's closing are reported to the loop's exception
// handler, and accepting goes on after a pause (5 ms, doubling to 1 s), as
// net/http does.
//
// Serve panics if l, ln or newProtocol is nil, and with an error matching
// loop.ErrClosed if the loop is closing or closed.
//
// Must be called on the loop goroutine.
func Serve(l *loop.Loop, ln net.Listener, newProtocol func() Protocol, opts ...Option) *Server {
	if newProtocol == nil {
		panic("stream: Serve: nil protocol factory")
	}
	if ln == nil {
		panic("stream: Serve: nil listener")
	}
	if l == nil {
		panic("stream: Serve: nil loop")
	}
	s := &Server{l: l, ln: ln, newProtocol: newProtocol, cfg: newConfig(opts),
		stop: make(chan struct{}), pending: make(map[net.Conn]struct{})}
	s.hsCtx, s.hsCancel = context.WithCancel(context.Background())
	hooks.Loop.Track(l, (*serverResource)(s))
	s.wg.Add(1)
	go s.accept()
	return s
}

// Addr returns the listener's address.
//
// Safe for concurrent use by multiple goroutines.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Close is asyncio's Server.close: it stops accepting (closing the
// listener) and returns; connections already made stay open, and a
// connection accepted but not yet handed to a protocol (a TLS handshake in
// progress) is closed. Calls after the first do nothing.
//
// Must be called on the loop goroutine.
func (s *Server) Close() {
	if hooks.Debugging.Load() != 0 {
		hooks.Loop.Check(s.l, "Server.Close")
	}
	s.stopAccepting()
	s.maybeIdle()
}

// IsServing is asyncio's is_serving: it reports whether the server
// accepts connections (Close was not called).
//
// Must be called on the loop goroutine.
func (s *Server) IsServing() bool { return !s.closed }

// WaitClosed is asyncio's Server.wait_closed: it waits until the server is
// closed and all its connections are lost. It returns at once if that is
// already so, also long after (it never hangs on a closed server).
//
// Cancellation: if the task is cancelled while waiting, WaitClosed returns
// an error matching future.ErrCancelled and the server is left as it is.
// If the loop closes, the error matches loop.ErrClosed.
func (s *Server) WaitClosed(co *loop.Coro) error {
	return s.idle.Wait(co)
}

// String describes the server.
func (s *Server) String() string { return "stream.Server(" + s.ln.Addr().String() + ")" }

func (s *Server) stopAccepting() {
	if s.closed {
		return
	}
	s.closed = true
	s.mu.Lock()
	s.stopping = true
	pending := s.pending
	s.pending = nil
	s.mu.Unlock()
	close(s.stop)
	s.hsCancel()
	s.ln.Close()
	for c := range pending {
		c.Close()
	}
}

func (s *Server) maybeIdle() {
	if s.closed && s.conns == 0 && !s.l.IsClosing() {
		s.idle.Set()
	}
}

// accept runs on the server's accept goroutine until the listener closes.
func (s *Server) accept() {
	defer s.wg.Done()
	var hs sync.WaitGroup
	var delay time.Duration
	for {
		c, err := s.ln.Accept()
		if err != nil {
			if s.isStopping() || errors.Is(err, net.ErrClosed) {
				break
			}
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			hooks.Loop.CallSoonInternal(s.l, func() {
				s.l.CallExceptionHandler(loop.ExceptionContext{
					Message: "stream: accept failed on " + s.String() + "; retrying in " + delay.String(),
					Err:     &OpError{"accept", s.ln.Addr().String(), err},
				})
			})
			t := time.NewTimer(delay)
			select {
			case <-t.C:
			case <-s.stop:
				t.Stop()
			}
			continue
		}
		delay = 0
		if !s.hold(c) {
			c.Close()
			continue
		}
		if s.cfg.tls == nil {
			s.handOver(c, nil)
			continue
		}
		hs.Add(1)
		go func() {
			defer hs.Done()
			tc := tls.Server(c, s.cfg.tls)
			if err := handshake(s.hsCtx, tc, s.cfg.handshake); err != nil {
				if s.release(c) {
					c.Close()
				}
				return
			}
			st := tc.ConnectionState()
			s.handOver(tc, &st)
		}()
	}
	hs.Wait()
	hooks.Loop.CallSoonInternal(s.l, s.acceptDone)
}

func (s *Server) isStopping() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stopping
}

// hold records c as accepted and not yet adopted; false means the server is
// stopping.
func (s *Server) hold(c net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopping {
		return false
	}
	s.pending[c] = struct{}{}
	return true
}

// release forgets c; false means Close took it (and closed it).
func (s *Server) release(raw net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.pending[raw]; !ok {
		return false
	}
	delete(s.pending, raw)
	return true
}

// handOver passes c (raw as accepted, or its TLS conn) to the loop.
func (s *Server) handOver(c net.Conn, st *tls.ConnectionState) {
	raw := c
	if tc, ok := c.(*tls.Conn); ok {
		raw = tc.NetConn()
	}
	hooks.Loop.CallSoonInternal(s.l, func() { s.adopt(raw, c, st) })
}

// adopt makes the transport of an accepted conn, on the loop goroutine.
func (s *Server) adopt(raw, c net.Conn, st *tls.ConnectionState) {
	if !s.release(raw) {
		return
	}
	if s.closed || s.l.IsClosing() {
		raw.Close()
		return
	}
	var p Protocol
	func() {
		defer func() {
			if r := recover(); r != nil {
				s.l.CallExceptionHandler(loop.ExceptionContext{
					Message: "stream: the protocol factory of " + s.String() + " panicked",
					Err:     &loop.PanicError{Value: r},
				})
			}
		}()
		p = s.newProtocol()
	}()
	if p == nil {
		raw.Close()
		return
	}
	t := newTransport(s.l, c, p, st, nil, s.cfg.portable)
	s.conns++
	t.srv = s
}

// connectionLost counts a connection of the server's out, after its
// ConnectionLost.
func (s *Server) connectionLost() {
	s.conns--
	s.maybeIdle()
}

// acceptDone runs once the accept goroutine has returned.
func (s *Server) acceptDone() {
	if !s.gone {
		s.gone = true
		hooks.Loop.Untrack(s.l, (*serverResource)(s))
	}
}

// serverResource is a Server as the loop's resource (hooks.Resource).
type serverResource Server

func (r *serverResource) StopAccepting() { (*Server)(r).Close() }

func (r *serverResource) Close() {
	s := (*Server)(r)
	s.stopAccepting()
	s.gone = true
	hooks.Loop.Untrack(s.l, (*serverResource)(s))
}

func (r *serverResource) Join() { r.wg.Wait() }

func (r *serverResource) String() string { return (*Server)(r).String() }
