package stream

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime/debug"

	"github.com/aio-go/aio/internal/hooks"
	"github.com/aio-go/aio/loop"
)

// Default write-buffer limits, asyncio's: PauseWriting once more than
// DefaultHighWater bytes are buffered, ResumeWriting once at most
// DefaultHighWater/4 are.
const DefaultHighWater = 64 << 10

// Transport is asyncio's transport for a stream connection
// (asyncio.Transport): the loop's side of one net.Conn, which calls its
// Protocol's callbacks and whose Write never blocks. Make one with Dial,
// Adopt, or a Server.
//
// Reading: a transport reads while IsReading, and hands each chunk to
// Protocol.DataReceived; PauseReading stops the reads themselves, so a
// paused transport holds at most one chunk and the peer's writes block.
// Writing: Write copies into a buffer that goroutines of the transport
// drain into the conn; once the buffer passes the high-water mark the
// protocol's PauseWriting is called, and ResumeWriting once it drains to
// the low-water mark.
//
// Lifecycle: open, then closing (Close, Abort, EOFReceived returning false,
// a read or write error, StartTLS), then lost (ConnectionLost has run), or
// handed over (StartTLS made a new transport of its connection). The loop
// owns its transports: Shutdown waits for them to be lost (until its ctx
// ends), Close aborts them and runs their ConnectionLost.
//
// Its methods must be called on the loop goroutine.
type Transport struct {
	l       *loop.Loop
	p       Protocol
	wp      WritePauser // p, if it implements WritePauser
	conn    net.Conn
	io      conduit
	x       *transportExtra // what only some transports have
	srv     *Server         // the server that accepted the connection, told after ConnectionLost
	lostErr error           // what ConnectionLost gets
	up      *upgrade        // StartTLS in progress, or done: the connection is another transport's

	made, lost  bool
	closing     bool // no more reads delivered or writes accepted
	aborted     bool
	reading     bool // IsReading
	ackOwed     bool // the conduit waits for readNext until reading resumes
	held        held // what arrived while paused
	heldChunk   []byte
	heldErr     error
	eofWritten  bool
	handing     []byte // Write's bytes, for writeHanded
	handedSize  int    // the conduit's buffer size after writeHanded
	writePaused bool
	high, low   int
}

// transportExtra is what only dialled and TLS transports have.
type transportExtra struct {
	tls    *tls.ConnectionState
	onMade func() // after ConnectionMade (Dial completes its future)
	host   string // the host Dial dialled: a client StartTLS's default ServerName
}

// extra returns t.x, making it if t has none.
func (t *Transport) extra() *transportExtra {
	if t.x == nil {
		t.x = new(transportExtra)
	}
	return t.x
}

// tlsState returns the TLS state of t's conn, or nil for a plain conn.
func (t *Transport) tlsState() *tls.ConnectionState {
	if t.x == nil {
		return nil
	}
	return t.x.tls
}

// held is what a paused transport keeps until ResumeReading.
type held uint8

const (
	heldNone  held = iota
	heldChunk      // heldChunk, then the conduit waits for readNext
	heldEnd        // heldErr: reading ended (io.EOF or an error)
)

// Adopt makes a transport of conn on l, with p as its protocol: for a
// net.Conn accepted or dialled elsewhere, or one end of a net.Pipe. p's
// ConnectionMade runs in a later iteration. The transport owns conn from
// then on: do not read, write or close it directly. A *tls.Conn should have
// completed its handshake (Dial and Server do it); otherwise the handshake
// happens on the first read and write, off the loop, and
// TLSConnectionState reports the state as it was at Adopt. Of opts, only
// WithPortable applies.
//
// Adopt panics if l, conn or p is nil, and with an error matching
// loop.ErrClosed if the loop is closing or closed.
//
// Must be called on the loop goroutine.
func Adopt(l *loop.Loop, conn net.Conn, p Protocol, opts ...Option) *Transport {
	if l == nil {
		panic("stream: Adopt: nil loop")
	}
	if conn == nil {
		panic("stream: Adopt: nil conn")
	}
	if p == nil {
		panic("stream: Adopt: nil protocol")
	}
	var st *tls.ConnectionState
	if tc, ok := conn.(*tls.Conn); ok {
		s := tc.ConnectionState()
		st = &s
	}
	return newTransport(l, conn, p, st, nil, newConfig(opts).portable)
}

// newTransport tracks a transport of conn, schedules its ConnectionMade and
// starts its conduit (without the poller if portable is set). onMade, if
// set, runs after ConnectionMade.
func newTransport(l *loop.Loop, conn net.Conn, p Protocol, st *tls.ConnectionState, onMade func(), portable bool) *Transport {
	t := &Transport{l: l, p: p, conn: conn, reading: true, high: DefaultHighWater, low: DefaultHighWater / 4}
	if st != nil || onMade != nil {
		t.x = &transportExtra{tls: st, onMade: onMade}
	}
	t.wp, _ = p.(WritePauser)
	hooks.Loop.Track(l, (*tracked)(t))
	t.io = newPortable(t, conn, !portable)
	l.CallSoon(t.connectionMade)
	return t
}

// Write is asyncio's write: it copies b into the write buffer and returns
// at once; the transport writes it to the conn in the background. It may
// call the protocol's PauseWriting before it returns. It returns an error
// matching ErrClosed once the transport is closing, ErrWriteAfterEOF after
// WriteEOF, and ErrUpgraded once it was handed to StartTLS; the data is not
// buffered then.
//
// Must be called on the loop goroutine.
func (t *Transport) Write(b []byte) error {
	t.check("Write")
	if err := t.writable("write"); err != nil {
		return err
	}
	if len(b) == 0 {
		return nil
	}
	t.handing = b
	hooks.Loop.OnStepper(t.l, writeHanded, t)
	t.maybePause(t.handedSize)
	return nil
}

// writeHanded is Write's call of the conduit. Called from a task body, it
// runs on the loop's stack (hooks.Loop.OnStepper): the syscalls under it
// would grow the body's stack for as long as the task lives.
func writeHanded(arg any) {
	t := arg.(*Transport)
	t.handedSize = t.io.write(t.handing)
	t.handing = nil
}

// onLoopStack runs fn as writeHanded runs the conduit's write, for the
// conduit's other calls that may reach a syscall.
func (t *Transport) onLoopStack(fn func()) {
	hooks.Loop.OnStepper(t.l, callHanded, fn)
}

func callHanded(fn any) { fn.(func())() }

// WriteBuffers is asyncio's writelines: Write for each of bs, in order.
//
// Must be called on the loop goroutine.
func (t *Transport) WriteBuffers(bs net.Buffers) error {
	t.check("WriteBuffers")
	if err := t.writable("write"); err != nil {
		return err
	}
	t.onLoopStack(func() { t.handedSize = t.io.writev(bs) })
	t.maybePause(t.handedSize)
	return nil
}

// WriteEOF is asyncio's write_eof: it half-closes the connection once the
// buffered data is written; reading goes on. A second call does nothing.
// It returns an error matching ErrCannotWriteEOF if the conn cannot
// half-close (see CanWriteEOF), and one matching ErrClosed if the
// transport is closing.
//
// Must be called on the loop goroutine.
func (t *Transport) WriteEOF() error {
	t.check("WriteEOF")
	if err := t.handedOver("write EOF"); err != nil {
		return err
	}
	if t.closing {
		return &OpError{"write EOF", t.remote(), ErrClosed}
	}
	if !t.CanWriteEOF() {
		return &OpError{"write EOF", t.remote(), ErrCannotWriteEOF}
	}
	if !t.eofWritten {
		t.eofWritten = true
		t.onLoopStack(t.io.writeEOF)
	}
	return nil
}

// CanWriteEOF is asyncio's can_write_eof: it reports whether the conn can
// half-close (it has a CloseWrite method: TCP, Unix and TLS connections;
// net.Pipe cannot).
//
// Must be called on the loop goroutine.
func (t *Transport) CanWriteEOF() bool {
	_, ok := t.conn.(closeWriter)
	return ok
}

// Close is asyncio's close: it stops reading at once, writes what is
// buffered, and then closes the conn; ConnectionLost(nil) follows. Calls
// after the first do nothing. It returns nil, except on a transport handed
// to StartTLS: during the upgrade Close aborts it, and once the upgrade is
// done it returns an error matching ErrUpgraded (close the new transport).
//
// Must be called on the loop goroutine.
func (t *Transport) Close() error {
	t.check("Close")
	if t.up != nil {
		return t.up.closeOld()
	}
	if t.closing {
		return nil
	}
	t.closing = true
	t.held = heldNone
	t.onLoopStack(t.io.close)
	return nil
}

// Abort is asyncio's abort: it closes the conn at once, dropping what is
// buffered; ConnectionLost(nil) follows, in a later iteration. A TLS
// connection is closed without a close_notify. During StartTLS it aborts
// the upgrade; once the upgrade is done it does nothing.
//
// Must be called on the loop goroutine.
func (t *Transport) Abort() {
	t.check("Abort")
	t.forceClose(nil)
}

// IsClosing is asyncio's is_closing: it reports whether the transport is
// closing or closed.
//
// Must be called on the loop goroutine.
func (t *Transport) IsClosing() bool { return t.closing }

// PauseReading is asyncio's pause_reading: no DataReceived (or
// EOFReceived) is called until ResumeReading, and the transport reads
// nothing more from the conn; a chunk already read is kept for then. It
// does nothing on a closing or paused transport.
//
// Must be called on the loop goroutine.
func (t *Transport) PauseReading() {
	t.check("PauseReading")
	if !t.closing {
		t.reading = false
	}
}

// ResumeReading is asyncio's resume_reading: reading goes on; what was
// kept while paused is delivered in a later iteration. It does nothing on a
// closing or reading transport.
//
// Must be called on the loop goroutine.
func (t *Transport) ResumeReading() {
	t.check("ResumeReading")
	if t.closing || t.reading {
		return
	}
	t.reading = true
	switch {
	case t.held != heldNone:
		t.l.CallSoonArg(deliverHeld, t)
	case t.ackOwed:
		t.ackOwed = false
		t.io.readNext()
	}
}

// IsReading is asyncio's is_reading: it reports whether the transport
// delivers what it reads (not paused, not closing).
//
// Must be called on the loop goroutine.
func (t *Transport) IsReading() bool { return t.reading && !t.closing }

// SetWriteBufferLimits is asyncio's set_write_buffer_limits: PauseWriting
// is called once the write buffer holds more than high bytes, and
// ResumeWriting once it holds at most low. The defaults are
// DefaultHighWater and DefaultHighWater/4; high 0 pauses whenever anything
// is buffered. It may call PauseWriting before it returns.
//
// It panics unless 0 <= low <= high.
//
// Must be called on the loop goroutine.
func (t *Transport) SetWriteBufferLimits(high, low int) {
	t.check("SetWriteBufferLimits")
	if low < 0 || high < low {
		panic(fmt.Sprintf("stream: SetWriteBufferLimits: want 0 <= low <= high, got high %d, low %d", high, low))
	}
	t.high, t.low = high, low
	if t.writePaused {
		if !t.io.watchLow(low) {
			t.l.CallSoon(t.drained)
		}
		return
	}
	t.maybePause(t.io.bufferSize())
}

// WriteBufferSize is asyncio's get_write_buffer_size: the bytes accepted by
// Write and not yet written to the conn.
//
// Must be called on the loop goroutine.
func (t *Transport) WriteBufferSize() int { return t.io.bufferSize() }

// LocalAddr is the conn's local address (asyncio's
// get_extra_info("sockname")).
//
// Must be called on the loop goroutine.
func (t *Transport) LocalAddr() net.Addr { return t.conn.LocalAddr() }

// RemoteAddr is the conn's remote address (asyncio's
// get_extra_info("peername")).
//
// Must be called on the loop goroutine.
func (t *Transport) RemoteAddr() net.Addr { return t.conn.RemoteAddr() }

// TLSConnectionState returns the TLS state of a TLS connection and true,
// or false for a connection without TLS (asyncio's
// get_extra_info("ssl_object")).
//
// Must be called on the loop goroutine.
func (t *Transport) TLSConnectionState() (tls.ConnectionState, bool) {
	if t.tlsState() == nil {
		return tls.ConnectionState{}, false
	}
	return *t.x.tls, true
}

// Loop returns the loop the transport belongs to (asyncio's get_loop).
//
// Safe for concurrent use by multiple goroutines.
func (t *Transport) Loop() *loop.Loop { return t.l }

// String describes the transport: its addresses and state.
func (t *Transport) String() string {
	state := "open"
	switch {
	case t.lost:
		state = "closed"
	case t.closing:
		state = "closing"
	}
	return fmt.Sprintf("stream.Transport(%s->%s, %s)", t.conn.LocalAddr(), t.conn.RemoteAddr(), state)
}

func (t *Transport) check(op string) {
	if hooks.Debugging.Load() != 0 {
		hooks.Loop.Check(t.l, op)
	}
}

func (t *Transport) remote() string {
	if a := t.conn.RemoteAddr(); a != nil {
		return a.String()
	}
	return ""
}

func (t *Transport) writable(op string) error {
	if err := t.handedOver(op); err != nil {
		return err
	}
	if t.closing {
		return &OpError{op, t.remote(), ErrClosed}
	}
	if t.eofWritten {
		return &OpError{op, t.remote(), ErrWriteAfterEOF}
	}
	return nil
}

// maybePause calls PauseWriting if size passed the high-water mark.
func (t *Transport) maybePause(size int) {
	if size <= t.high || t.writePaused {
		return
	}
	t.writePaused = true
	if t.wp != nil {
		t.protect("PauseWriting", t.wp.PauseWriting)
	}
	if t.writePaused && !t.lost && !t.io.watchLow(t.low) {
		t.l.CallSoon(t.drained)
	}
}

// forceClose closes the conn at once; ConnectionLost(err) follows.
func (t *Transport) forceClose(err error) {
	if t.aborted || t.lost {
		return
	}
	t.closing, t.aborted = true, true
	t.held = heldNone
	if t.lostErr == nil {
		t.lostErr = err
	}
	t.onLoopStack(t.io.abort)
}

// protect runs a protocol callback; a panic in it is reported to the
// exception handler and aborts the connection with the *loop.PanicError.
func (t *Transport) protect(what string, fn func()) {
	defer func() {
		if r := recover(); r != nil {
			err := &loop.PanicError{Value: r, Stack: debug.Stack()}
			t.l.CallExceptionHandler(loop.ExceptionContext{
				Message: "stream: " + what + " panicked; aborting " + t.String(),
				Err:     err,
			})
			t.forceClose(err)
		}
	}()
	fn()
}

// The transport's side of its conduit's reports, on the loop goroutine.

func (t *Transport) connectionMade() {
	if t.lost {
		return
	}
	t.made = true
	t.protect("ConnectionMade", func() { t.p.ConnectionMade(t) })
	t.consumed()
	if t.x != nil && t.x.onMade != nil {
		t.x.onMade()
	}
}

// consumed lets the conduit read once more, now or at ResumeReading.
func (t *Transport) consumed() {
	switch {
	case t.closing:
	case t.reading:
		t.io.readNext()
	default:
		t.ackOwed = true
	}
}

func (t *Transport) received(chunk []byte) {
	if t.up != nil {
		t.up.stash(chunk)
		return
	}
	if t.closing {
		return
	}
	if !t.reading {
		t.held, t.heldChunk = heldChunk, chunk
		return
	}
	t.protect("DataReceived", func() { t.p.DataReceived(chunk) })
	t.consumed()
}

func (t *Transport) readEnded(err error) {
	if t.closing {
		return
	}
	if !t.reading {
		t.held, t.heldErr = heldEnd, err
		return
	}
	if !errors.Is(err, io.EOF) {
		t.forceClose(&OpError{"read", t.remote(), err})
		return
	}
	keepOpen := false
	t.protect("EOFReceived", func() { keepOpen = t.p.EOFReceived() })
	if !keepOpen {
		t.Close()
	}
}

func deliverHeld(t any) { t.(*Transport).deliverHeld() }

func (t *Transport) deliverHeld() {
	if t.closing || !t.reading {
		return
	}
	h := t.held
	t.held = heldNone
	switch h {
	case heldChunk:
		c := t.heldChunk
		t.heldChunk = nil
		t.received(c)
	case heldEnd:
		t.readEnded(t.heldErr)
	}
}

func (t *Transport) writeFailed(err error) {
	if t.aborted || t.lost {
		return
	}
	t.forceClose(&OpError{"write", t.remote(), err})
}

func (t *Transport) drained() {
	if !t.writePaused || t.lost || t.io.watchLow(t.low) {
		return
	}
	t.writePaused = false
	if t.wp != nil {
		t.protect("ResumeWriting", t.wp.ResumeWriting)
	}
}

func (t *Transport) finished() { t.lose() }

// lose ends the transport: ConnectionLost, once, if ConnectionMade ran.
func (t *Transport) lose() {
	if t.lost {
		return
	}
	t.closing, t.lost = true, true
	t.held, t.heldChunk = heldNone, nil
	hooks.Loop.Untrack(t.l, (*tracked)(t))
	if t.up != nil {
		t.up.lost()
	}
	if t.made {
		t.protect("ConnectionLost", func() { t.p.ConnectionLost(t.lostErr) })
	}
	if t.srv != nil {
		t.srv.connectionLost()
	}
}

// tracked is a Transport as the loop's resource (hooks.Resource).
type tracked Transport

func (r *tracked) StopAccepting() {}

func (r *tracked) Close() {
	t := (*Transport)(r)
	t.forceClose(&OpError{"close", t.remote(), loop.ErrClosed})
	t.lose()
}

func (r *tracked) Join() { r.io.join() }

func (r *tracked) String() string { return (*Transport)(r).String() }
