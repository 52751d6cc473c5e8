package stream

import (
	"github.com/aio-go/aio/loop"
)

// Writer is asyncio's StreamWriter: the writing half of a stream
// connection, over its Transport. Write never blocks; Drain is where a task
// waits for the peer to keep up. Make one with OpenConnection,
// AdoptStreams, StartServer or ServeStreams.
//
// Lifecycle: open; closing once Close (or anything else that closes the
// transport) ran, when Write fails and Drain returns at once; closed once
// the transport's ConnectionLost ran, when WaitClosed returns.
//
// Differences from asyncio:
//   - Drain returns an error at once when the transport is closing, and a
//     Drain waiting when Close is called returns then; asyncio's waits until
//     the connection is lost.
//   - Write returns an error after Close (asyncio's drops the data and
//     warns).
//   - Write and Drain return an error during StartTLS (asyncio's write
//     goes to the raw transport, in plaintext, in the middle of the
//     handshake).
//
// Its methods must be called on the loop goroutine.
type Writer struct {
	t       *Transport
	r       *Reader    // the connection's, whose source StartTLS replaces
	server  bool       // a server's streams: StartTLS is a server handshake
	paused  bool       // PauseWriting was called, ResumeWriting not yet
	wake    loop.Event // set by ResumeWriting, Close and ConnectionLost: Drain looks again
	lost    bool       // ConnectionLost ran
	lostErr error      // what ConnectionLost got
	closed  loop.Event // set once ConnectionLost ran
}

// Write is asyncio's StreamWriter.write: it buffers a copy of b in the
// transport and returns at once (see Transport.Write); Drain waits for the
// buffer to drain. It returns an error matching ErrClosed after Close (or
// once the connection is lost) and one matching ErrWriteAfterEOF after
// WriteEOF; b is not buffered then.
//
// Must be called on the loop goroutine.
func (w *Writer) Write(b []byte) error { return w.t.Write(b) }

// WriteString is Write for a string.
//
// Must be called on the loop goroutine.
func (w *Writer) WriteString(s string) error { return w.t.Write([]byte(s)) }

// Drain is asyncio's StreamWriter.drain: it returns at once if the
// transport's write buffer is within its high-water mark, and otherwise
// suspends the task until the buffer drains to the low-water mark
// (ResumeWriting). It returns nil then.
//
// It never waits for a connection that cannot drain: if the transport is
// closing (Close, Abort, a fatal error), Drain returns at once, with the
// error ConnectionLost got if it already ran with one (a write error when
// the peer is gone, an error matching loop.ErrClosed when the loop closed),
// and an error matching ErrClosed otherwise. A Drain that is waiting when
// that happens returns the same way: at Close, or once the connection is
// lost. Drain over TLS waits for the plaintext bytes buffered, as over TCP.
// During StartTLS it does not wait either: it returns nil if the buffer is
// within its high-water mark, and an error matching ErrUpgraded otherwise.
//
// Cancellation: if the task is cancelled while waiting, Drain returns an
// error matching future.ErrCancelled; what was written stays buffered and
// is still written to the conn, and other tasks waiting in Drain are not
// affected. If the loop closes, Drain returns an error matching
// loop.ErrClosed.
//
// Must be called on the loop goroutine.
func (w *Writer) Drain(co *loop.Coro) error {
	for {
		if err := w.closedErr("drain"); err != nil {
			return err
		}
		if !w.paused {
			return nil
		}
		w.wake.Clear()
		if err := w.wake.Wait(co); err != nil {
			return err
		}
	}
}

// WriteEOF is asyncio's StreamWriter.write_eof: it half-closes the
// connection once what is buffered is written (Transport.WriteEOF); the
// Reader goes on reading. It returns an error matching ErrCannotWriteEOF if
// the conn cannot half-close, and one matching ErrClosed after Close.
//
// Must be called on the loop goroutine.
func (w *Writer) WriteEOF() error { return w.t.WriteEOF() }

// CanWriteEOF is asyncio's StreamWriter.can_write_eof: it reports whether
// the conn can half-close (TCP, Unix and TLS connections can, net.Pipe
// cannot).
//
// Must be called on the loop goroutine.
func (w *Writer) CanWriteEOF() bool { return w.t.CanWriteEOF() }

// Close is asyncio's StreamWriter.close: it closes the transport, which
// writes what is buffered and then closes the conn (Transport.Close), and
// wakes the tasks waiting in Drain. WaitClosed waits for the end. Calls
// after the first do nothing. It returns nil.
//
// Must be called on the loop goroutine.
func (w *Writer) Close() error {
	err := w.t.Close()
	if !w.t.l.IsClosing() {
		w.wake.Set()
	}
	return err
}

// IsClosing is asyncio's StreamWriter.is_closing: it reports whether the
// transport is closing or closed.
//
// Must be called on the loop goroutine.
func (w *Writer) IsClosing() bool { return w.t.IsClosing() }

// WaitClosed is asyncio's StreamWriter.wait_closed: it waits until the
// connection is lost (the transport's ConnectionLost ran) and returns the
// error ConnectionLost got: nil after Close, or an EOF from the peer, the
// read or write error otherwise. It returns at once if the connection is
// already lost, also long after; it does not close the connection itself
// (Close does).
//
// Cancellation: if the task is cancelled while waiting, WaitClosed returns
// an error matching future.ErrCancelled and the connection is left as it
// is. If the loop closes, it returns an error matching loop.ErrClosed.
//
// Must be called on the loop goroutine.
func (w *Writer) WaitClosed(co *loop.Coro) error {
	if err := w.closed.Wait(co); err != nil {
		return err
	}
	return w.lostErr
}

// Transport returns the writer's transport (asyncio's
// StreamWriter.transport), for what the Writer does not cover: addresses,
// TLS state, SetWriteBufferLimits, Abort.
//
// Must be called on the loop goroutine.
func (w *Writer) Transport() *Transport { return w.t }

// String describes the writer by its transport.
func (w *Writer) String() string { return "stream.Writer(" + w.t.String() + ")" }

// closedErr returns why nothing more can drain, or nil.
func (w *Writer) closedErr(op string) error {
	switch {
	case w.lost && w.lostErr != nil:
		return w.lostErr
	case w.t.up != nil && w.paused:
		return &OpError{op, w.t.remote(), ErrUpgraded}
	case w.t.up != nil:
		return nil // nothing to wait for
	case w.t.IsClosing():
		return &OpError{op, w.t.remote(), ErrClosed}
	}
	return nil
}

// The transport's side, through the streams protocol.

func (w *Writer) pauseWriting() { w.paused = true }

func (w *Writer) resumeWriting() {
	w.paused = false
	w.wake.Set()
}

func (w *Writer) connectionLost(err error) {
	w.lost, w.lostErr, w.paused = true, err, false
	if w.t.l.IsClosing() {
		return // the tasks are stopped: there is no one to wake
	}
	w.wake.Set()
	w.closed.Set()
}
