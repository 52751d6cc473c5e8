package stream

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/aio-go/aio/future"
	"github.com/aio-go/aio/internal/hooks"
	"github.com/aio-go/aio/loop"
)

// Dial is asyncio's create_connection: it connects to address on the named
// network (as net.Dial: "tcp", "tcp4", "tcp6", "unix"), off the loop, and
// returns a future of the transport, which completes on the loop after the
// protocol made by newProtocol got ConnectionMade. WithTLS adds a TLS
// client handshake, also off the loop; WithTimeout bounds the whole.
//
// The future fails with an *OpError (Op "dial") wrapping the cause: the
// dial error (connection refused, ctx's error), or one matching
// ErrTLSHandshake. When WithTimeout's bound (or WithHandshakeTimeout's)
// ends it, the error matches context.DeadlineExceeded and its message says
// "timed out after" the bound; ctx's own end gives ctx's error.
// WithDialer replaces the net.Dialer. Cancelling the future cancels the dial; a connection
// that completes anyway is closed. If the loop closes first, the future is
// cancelled with an error matching loop.ErrClosed. newProtocol runs on the
// loop goroutine, once the connection is up.
//
// Dial panics if ctx, l or newProtocol is nil, and with an error matching
// loop.ErrClosed if the loop is closing or closed.
//
// Must be called on the loop goroutine.
func Dial(ctx context.Context, l *loop.Loop, network, address string, newProtocol func() Protocol, opts ...Option) *future.Future[*Transport] {
	if newProtocol == nil {
		panic("stream: Dial: nil protocol factory")
	}
	if ctx == nil {
		panic("stream: Dial: nil ctx")
	}
	if l == nil {
		panic("stream: Dial: nil loop")
	}
	if hooks.Debugging.Load() != 0 {
		hooks.Loop.Check(l, "Dial")
	}
	d := &dialer{l: l, network: network, address: address, newProtocol: newProtocol, cfg: newConfig(opts), parent: ctx}
	d.ctx, d.cancel = context.WithCancel(ctx)
	if d.cfg.timeout > 0 {
		d.ctx, d.cancel = context.WithTimeout(ctx, d.cfg.timeout)
	}
	d.f = future.New[*Transport](l)
	hooks.Loop.Track(l, d)
	hooks.Future.OnCancel(d.f, func(_ any, cause error) bool {
		d.cancel()
		return hooks.Future.CancelNow(d.f, cause)
	})
	d.wg.Add(1)
	go d.run()
	return d.f
}

// dialer is one Dial in progress, a resource of its loop until the
// connection is handed over.
type dialer struct {
	l           *loop.Loop
	network     string
	address     string
	newProtocol func() Protocol
	cfg         config
	parent      context.Context // Dial's ctx
	ctx         context.Context // parent, with WithTimeout's bound
	cancel      context.CancelFunc
	f           *future.Future[*Transport]
	wg          sync.WaitGroup

	// The hand-over, between the dialling goroutine and the loop.
	mu     sync.Mutex
	conn   net.Conn
	err    error
	tls    *tls.ConnectionState
	closed bool // the loop closed: the goroutine closes what it got
}

func (d *dialer) run() {
	defer d.wg.Done()
	dial := d.cfg.dial
	if dial == nil {
		dial = d.cfg.netDialer().DialContext
	}
	conn, err := dial(d.ctx, d.network, d.address)
	switch {
	case err != nil && conn != nil: // a WithDialer's func breaking its contract
		conn.Close()
		conn = nil
	case err == nil && conn == nil:
		err = errors.New("the dialer returned neither a conn nor an error")
	}
	var st *tls.ConnectionState
	if err == nil && d.cfg.tls != nil {
		conn, st, err = clientHandshake(d.ctx, conn, d.cfg, d.address)
	}
	if err != nil && d.cfg.timeout > 0 && d.ctx.Err() == context.DeadlineExceeded && d.parent.Err() == nil {
		err = timedOut(d.cfg.timeout, err)
	}
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		if conn != nil {
			conn.Close()
		}
		return
	}
	d.conn, d.err, d.tls = conn, err, st
	d.mu.Unlock()
	hooks.Loop.CallSoonInternal(d.l, d.done)
}

// clientHandshake runs the TLS client handshake on conn; on failure it
// closes conn.
func clientHandshake(ctx context.Context, conn net.Conn, cfg config, address string) (net.Conn, *tls.ConnectionState, error) {
	tc := cfg.tls
	if tc.ServerName == "" {
		tc = tc.Clone()
		tc.ServerName = hostOf(address)
	}
	c := tls.Client(conn, tc)
	if err := handshake(ctx, c, cfg.handshake); err != nil {
		conn.Close()
		return nil, nil, err
	}
	st := c.ConnectionState()
	return c, &st, nil
}

// handshake runs c's handshake within d (if positive) and ctx.
func handshake(ctx context.Context, c *tls.Conn, d time.Duration) error {
	hctx := ctx
	if d > 0 {
		var cancel context.CancelFunc
		hctx, cancel = context.WithTimeout(ctx, d)
		defer cancel()
	}
	if err := c.HandshakeContext(hctx); err != nil {
		if d > 0 && hctx.Err() == context.DeadlineExceeded && ctx.Err() == nil {
			err = timedOut(d, err)
		}
		return fmt.Errorf("%w: %w", ErrTLSHandshake, err)
	}
	return nil
}

// timedOut is the error of a dial or handshake that its own bound d ended:
// it says so, and matches context.DeadlineExceeded whatever err is.
func timedOut(d time.Duration, err error) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("timed out after %v: %w", d, err)
	}
	return fmt.Errorf("timed out after %v: %w: %w", d, context.DeadlineExceeded, err)
}

// done completes the Dial on the loop goroutine.
func (d *dialer) done() {
	d.mu.Lock()
	conn, err, st := d.conn, d.err, d.tls
	d.conn = nil
	d.mu.Unlock()
	hooks.Loop.Untrack(d.l, d)
	d.cancel()
	if d.f.Done() { // cancelled meanwhile
		if conn != nil {
			conn.Close()
		}
		return
	}
	if err != nil {
		d.f.SetError(&OpError{"dial", d.address, err})
		return
	}
	var p Protocol
	func() {
		defer func() {
			if r := recover(); r != nil {
				err = &loop.PanicError{Value: r}
			}
		}()
		p = d.newProtocol()
	}()
	if p == nil {
		conn.Close()
		if err == nil {
			err = fmt.Errorf("nil protocol from the factory")
		}
		d.f.SetError(&OpError{"dial", d.address, err})
		return
	}
	var t *Transport
	t = newTransport(d.l, conn, p, st, func() {
		if !d.f.SetResult(t) {
			t.Close()
		}
	}, d.cfg.portable)
	t.extra().host = hostOf(d.address)
}

func (d *dialer) StopAccepting() {}

func (d *dialer) Close() {
	d.cancel()
	d.mu.Lock()
	d.closed = true
	conn := d.conn
	d.conn = nil
	d.mu.Unlock()
	if conn != nil {
		conn.Close()
	}
	hooks.Future.CancelNow(d.f, loop.ErrClosed)
}

func (d *dialer) Join() { d.wg.Wait() }

func (d *dialer) String() string { return "stream.Dial(" + d.network + " " + d.address + ")" }
