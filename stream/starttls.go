package stream

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"sync"

	"github.com/aio-go/aio/future"
	"github.com/aio-go/aio/internal/hooks"
	"github.com/aio-go/aio/loop"
	"github.com/aio-go/aio/timer"
)

// StartTLS is asyncio's loop.start_tls: it upgrades t's live connection
// to TLS and returns the new transport, through which the protocol talks
// from then on. It suspends the task until the handshake is done. The
// handshake is a client's, or a server's with WithServerSide(true);
// cfg.ServerName is asyncio's server_hostname, and a client's defaults to
// the host Dial dialled, or else to the host of the remote address.
// WithHandshakeTimeout bounds the whole upgrade (DefaultHandshakeTimeout,
// 60 s, by default), and WithTLSPrefix gives back bytes of the peer's
// handshake that the protocol was handed as plaintext.
//
// The hand-over: what t buffered before the call is written first, in
// plaintext. t stops reading at a chunk boundary, and the bytes it read but
// had not delivered (a chunk kept while paused, a read in progress: the
// peer's ClientHello may be in them) are the first the handshake reads,
// after WithTLSPrefix's. No protocol callback runs during the upgrade, but
// for a ResumeWriting as the buffer drains. The new transport has t's
// protocol (ConnectionMade is not called again), write-buffer limits and
// reading state as at the call; it starts reading as StartTLS returns, so
// that its DataReceived runs only once the caller has it.
//
// The old transport: from the call on, t is closing. Its Write,
// WriteBuffers, WriteEOF and StartTLS return an error matching ErrUpgraded:
// a write during the upgrade is refused, neither buffered nor sent in
// plaintext. PauseReading and ResumeReading do nothing. Close or Abort
// during the upgrade aborts it, and the connection (StartTLS then returns
// an error matching ErrClosed, and ConnectionLost gets nil). Once the
// upgrade is done, t's Close returns ErrUpgraded too and Abort does
// nothing: the connection is the new transport's, which runs
// ConnectionLost when it ends.
//
// Errors: StartTLS returns an *OpError and leaves t as it was if t is
// closing (ErrClosed), TLS already (ErrAlreadyTLS) or handed over already
// (ErrUpgraded), after WriteEOF (ErrWriteAfterEOF), or if its conn cannot
// cut a read short (it has no read deadlines). Once the upgrade has begun,
// a failure ends the connection: a handshake that fails or times out (an
// *OpError matching ErrTLSHandshake, and also context.DeadlineExceeded for
// the timeout), a read or write error, Close or Abort. t's ConnectionLost
// then runs once, with the error StartTLS returns (nil after Close and
// Abort).
//
// Cancellation: if the task is cancelled while waiting, the connection is
// aborted, whichever step the upgrade was at (the handshake may even have
// completed): StartTLS returns an error matching future.ErrCancelled, and
// ConnectionLost gets an *OpError wrapping it. If the loop closes,
// StartTLS returns an error matching loop.ErrClosed, and ConnectionLost
// gets its usual error.
//
// StartTLS panics if cfg is nil.
//
// Must be called on the loop goroutine.
func (t *Transport) StartTLS(co *loop.Coro, cfg *tls.Config, opts ...Option) (*Transport, error) {
	t.check("StartTLS")
	if cfg == nil {
		panic("stream: StartTLS: nil config")
	}
	if err := t.startable(); err != nil {
		return nil, err
	}
	c := newConfig(opts)
	u := &upgrade{t: t, f: future.New[*Transport](t.l), cfg: cfg, server: c.side == sideServer, reading: t.reading}
	if !u.server && cfg.ServerName == "" {
		u.cfg = cfg.Clone()
		u.cfg.ServerName = t.extra().host
		if host, _, err := net.SplitHostPort(t.remote()); err == nil && t.extra().host == "" {
			u.cfg.ServerName = host
		}
	}
	if err := t.io.handOver(u.handedOver); err != nil {
		return nil, &OpError{"start TLS", t.remote(), err}
	}
	// The bytes in stream order: those the protocol gave back, the chunk
	// kept while paused; then (stash) chunks read before the hand-over
	// took effect, and the tail of the read it cut short.
	u.prefix = append(u.prefix, c.prefix...)
	if t.held == heldChunk {
		u.prefix = append(u.prefix, t.heldChunk...)
		t.held, t.heldChunk = heldNone, nil
	}
	t.up = u
	t.closing = true
	if c.handshake > 0 {
		u.timer = t.l.CallLater(c.handshake, u.expire)
	}
	nt, err := loop.Await(co, u.f)
	if err != nil {
		u.cancel(err)
		return nil, err
	}
	nt.consumed()
	if nt.writePaused {
		nt.drained()
	}
	return nt, nil
}

// StartTLS is asyncio's StreamWriter.start_tls (Python 3.11): it upgrades
// the connection to TLS in place (Transport.StartTLS) and suspends the task
// until the handshake is done; the Writer and its Reader then go on over
// the new transport, which Transport returns. The handshake is a server's
// for the streams of StartServer and ServeStreams and a client's
// otherwise; WithServerSide overrides it. What was written before is
// written first, in plaintext. Bytes already buffered in the Reader stay
// readable, before the decrypted ones; a server whose peer sent its
// ClientHello right behind its request for TLS takes those bytes out of the
// Reader and gives them back with WithTLSPrefix.
//
// During the upgrade Write, WriteEOF and Drain return an error matching
// ErrUpgraded (nothing is buffered), and Close aborts the upgrade and the
// connection. Errors are Transport.StartTLS's; a failure after the upgrade
// began ends the connection, and the Reader's reads and WaitClosed then
// report the same error.
//
// Cancellation: if the task is cancelled while waiting, the connection is
// aborted and StartTLS returns an error matching future.ErrCancelled. If
// the loop closes, the error matches loop.ErrClosed.
//
// StartTLS panics if cfg is nil.
//
// Must be called on the loop goroutine.
func (w *Writer) StartTLS(co *loop.Coro, cfg *tls.Config, opts ...Option) error {
	if w.server {
		opts = append([]Option{WithServerSide(true)}, opts...)
	}
	nt, err := w.t.StartTLS(co, cfg, opts...)
	if err != nil {
		return err
	}
	w.t = nt
	if w.r != nil {
		// The Reader may have asked the old transport, in vain, to resume.
		w.r.SetSource(nt)
		if !w.r.paused {
			nt.ResumeReading()
		}
	}
	return nil
}

// upgrade is one StartTLS, from the call on: first the old transport's
// conduit hands over, then the handshake runs on a goroutine of its own,
// and the upgrade is the old transport's conduit meanwhile (its abort
// closes the conn, its join waits for that goroutine).
//
// It ends one of two ways: the new transport is made (nt) and the old one
// is lost without a ConnectionLost of its own; or the old one is lost (a
// failure, an abort), and lost fails f.
type upgrade struct {
	t       *Transport // the old transport
	f       *future.Future[*Transport]
	cfg     *tls.Config
	server  bool
	reading bool   // t's reading state at the call: the new transport's
	prefix  []byte // what the handshake reads first
	timer   timer.Handle
	nt      *Transport // the new transport, once made

	// The handshake, once the conduit has handed over.
	raw     net.Conn
	tc      *tls.Conn
	wg      sync.WaitGroup
	err     error // the handshake's, in flight to the loop
	aborted bool
}

var _ conduit = (*upgrade)(nil)

// startable returns why t cannot start TLS, or nil.
func (t *Transport) startable() error {
	var err error
	switch {
	case t.up != nil:
		err = ErrUpgraded
	case t.closing:
		err = ErrClosed
	case t.tlsState() != nil:
		err = ErrAlreadyTLS
	case t.eofWritten:
		err = ErrWriteAfterEOF
	default:
		return nil
	}
	return &OpError{"start TLS", t.remote(), err}
}

// handedOver returns the error of op on a transport handed to StartTLS,
// or nil.
func (t *Transport) handedOver(op string) error {
	if t.up == nil {
		return nil
	}
	return &OpError{op, t.remote(), ErrUpgraded}
}

// stash keeps a chunk read before the hand-over took effect, for the
// handshake.
func (u *upgrade) stash(chunk []byte) { u.prefix = append(u.prefix, chunk...) }

// handedOver is the conduit's done: tail is the rest of the bytes to put
// in front of the conn. It starts the handshake.
func (u *upgrade) handedOver(tail []byte) {
	t := u.t
	u.prefix = append(u.prefix, tail...)
	u.raw = t.conn
	pc := &prefixConn{Conn: t.conn, prefix: u.prefix}
	if u.server {
		u.tc = tls.Server(pc, u.cfg)
	} else {
		u.tc = tls.Client(pc, u.cfg)
	}
	t.io = u
	u.wg.Add(1)
	go u.shake()
}

// shake runs the handshake, on its own goroutine.
func (u *upgrade) shake() {
	defer u.wg.Done()
	u.err = u.tc.Handshake()
	hooks.Loop.CallSoonInternal(u.t.l, u.shaken)
}

// shaken is the handshake's end, on the loop goroutine.
func (u *upgrade) shaken() {
	t := u.t
	if !u.aborted && u.err != nil {
		t.forceClose(&OpError{"start TLS", t.remote(), fmt.Errorf("%w: %w", ErrTLSHandshake, u.err)})
	}
	if u.aborted {
		t.finished() // the conduit's last report
		return
	}
	u.succeed()
}

// succeed makes the new transport and retires the old one.
func (u *upgrade) succeed() {
	t := u.t
	u.timer.Cancel()
	st := u.tc.ConnectionState()
	nt := &Transport{l: t.l, p: t.p, wp: t.wp, conn: u.tc, x: &transportExtra{tls: &st, host: t.extra().host}, srv: t.srv,
		made: t.made, reading: u.reading, writePaused: t.writePaused, high: t.high, low: t.low}
	hooks.Loop.Track(t.l, (*tracked)(nt))
	nt.io = newPortable(nt, u.tc, false)
	t.srv = nil
	t.lost = true
	hooks.Loop.Untrack(t.l, (*tracked)(t))
	u.nt = nt
	// If the task was cancelled meanwhile, f is done: the task aborts nt
	// as it resumes (cancel).
	u.f.SetResult(nt)
}

// expire is the handshake timeout.
func (u *upgrade) expire() {
	if u.nt != nil || u.t.up != u {
		return
	}
	u.t.forceClose(&OpError{"start TLS", u.t.remote(), fmt.Errorf("%w: %w", ErrTLSHandshake, context.DeadlineExceeded)})
}

// lost is the old transport's lose: the upgrade failed with its lostErr.
func (u *upgrade) lost() {
	t := u.t
	t.up = nil
	u.timer.Cancel()
	err := t.lostErr
	if err == nil {
		err = &OpError{"start TLS", t.remote(), ErrClosed}
	}
	if t.l.IsClosing() {
		hooks.Future.CancelNow(u.f, err) // no task will take the error
		return
	}
	u.f.SetError(err)
}

// cancel aborts the connection of a StartTLS whose Await failed, whichever
// transport has it.
func (u *upgrade) cancel(err error) {
	if u.t.l.IsClosing() {
		return // the loop's Close ends the connection
	}
	e := &OpError{"start TLS", u.t.remote(), err}
	switch {
	case u.nt != nil:
		u.nt.forceClose(e)
	case u.t.up == u:
		u.t.forceClose(e)
	}
}

// closeOld is the old transport's Close.
func (u *upgrade) closeOld() error {
	if u.nt != nil {
		return &OpError{"close", u.t.remote(), ErrUpgraded}
	}
	u.t.forceClose(nil)
	return nil
}

// The upgrade as the old transport's conduit, during the handshake. The
// transport is closing, so it only aborts and joins.

func (u *upgrade) readNext()                   {}
func (u *upgrade) write([]byte) int            { return 0 }
func (u *upgrade) writev(net.Buffers) int      { return 0 }
func (u *upgrade) bufferSize() int             { return 0 }
func (u *upgrade) watchLow(int) bool           { return false }
func (u *upgrade) writeEOF()                   {}
func (u *upgrade) close()                      { u.abort() }
func (u *upgrade) join()                       { u.wg.Wait() }
func (u *upgrade) handOver(func([]byte)) error { return ErrUpgraded }

func (u *upgrade) abort() {
	if !u.aborted {
		u.aborted = true
		u.raw.Close() // the handshake returns, and shaken reports finished
	}
}

// prefixConn is a net.Conn whose reads return prefix first: the bytes
// read from the conn before the hand-over, for the TLS conn over it.
type prefixConn struct {
	net.Conn
	prefix []byte
}

func (c *prefixConn) Read(b []byte) (int, error) {
	if len(c.prefix) == 0 {
		return c.Conn.Read(b)
	}
	n := copy(b, c.prefix)
	c.prefix = c.prefix[n:]
	if len(c.prefix) == 0 {
		c.prefix = nil
	}
	return n, nil
}

// hostOf is the host of a "host:port" address, or the address.
func hostOf(address string) string {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return address
	}
	return host
}
