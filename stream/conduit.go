package stream

import (
	"crypto/tls"
	"errors"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aio-go/aio/internal/hooks"
	"github.com/aio-go/aio/loop"
)

// conduit is how a transport's bytes move between its conn and the loop:
// the portable goroutines below, or a poller on the loop goroutine. Its
// methods are called on the loop goroutine. It reports back through the
// transport's received, readEnded, writeFailed, drained and finished, on the
// loop goroutine, in the order the events happened.
type conduit interface {
	// readNext lets the conduit read once more: the previous chunk (if
	// any) was consumed. Before the first readNext it does not read.
	readNext()
	// write appends b to the write buffer and returns the buffer's size.
	write(b []byte) int
	// writev is write for several slices.
	writev(bs net.Buffers) int
	// bufferSize returns the bytes accepted and not yet written to the conn.
	bufferSize() int
	// watchLow asks for a drained report once the buffer size is at most
	// low. It returns false, asking nothing, if the size is already there.
	watchLow(low int) bool
	// writeEOF half-closes the conn once the buffer is written.
	writeEOF()
	// close stops reading, writes the buffer, then closes the conn.
	close()
	// abort closes the conn at once, dropping the buffer. It must not block.
	abort()
	// join waits for the conduit's goroutines.
	join()
	// handOver stops the conduit for StartTLS, leaving the conn open: see
	// the method at the end of this file.
	handOver(done func(tail []byte)) error
}

// Read buffer sizes of the portable conduit: it starts small, so that an
// idle connection costs little, and doubles each time a read fills it.
const (
	minReadBuffer = 4 << 10
	maxReadBuffer = 64 << 10
	// maxSpare is the largest written buffer the writer keeps for reuse.
	maxSpare = 256 << 10
)

// portable is the conduit over any net.Conn: a reader goroutine blocks in
// conn.Read and hands each chunk to the loop; a writer goroutine drains the
// write buffer with conn.Write. The loop goroutine never blocks on the conn.
//
// Invariants:
//  1. At most one chunk is in flight: the reader reads only after an ack
//     (readNext), so it owns buf between acks and the loop owns chunk (a
//     slice of buf) from the hand-off to the ack. Read memory is one buf.
//  2. The write buffer (pending, spare, inflight and the requests) is
//     shared under mu; the writer holds mu only to swap buffers, never
//     across a conn call.
//  3. Each goroutine, on its way out, decrements live; the last one reports
//     finished, after everything it reported before.
type portable struct {
	t    *Transport
	l    *loop.Loop
	conn net.Conn
	raw  net.Conn // what abort closes: the conn under TLS, closed without a close_notify

	wg      sync.WaitGroup
	live    atomic.Int32
	stop    chan struct{} // closed by close and abort: the reader stops waiting for acks
	stopped bool          // loop-only: stop is closed
	aborted bool          // loop-only: abort ran

	// Read side.
	ack   chan struct{} // cap 1: the reader may read once more
	buf   []byte        // the reader's
	chunk []byte        // in flight to the loop
	rerr  error         // why reading ended, in flight to the loop

	// Write side.
	wake     chan struct{} // cap 1: the writer has something to do
	mu       sync.Mutex
	pending  []byte
	spare    []byte
	inflight int  // bytes in the writer's conn.Write now
	eof      bool // WriteEOF requested
	eofDone  bool
	closing  bool // close requested: flush, then close the conn
	dead     bool // abort requested: the writer returns
	watch    bool // report drained once the size is at most low
	low      int
	werr     error // why writing failed, in flight to the loop

	handover // StartTLS's hand-over (handOver)

	// The reports, bound once.
	onChunk, onReadEnd, onWriteErr, onDrained, onFinished func()
}

func newPortable(t *Transport, conn net.Conn) *portable {
	p := &portable{
		t: t, l: t.l, conn: conn, raw: conn,
		stop: make(chan struct{}),
		ack:  make(chan struct{}, 1),
		wake: make(chan struct{}, 1),
		buf:  make([]byte, minReadBuffer),
	}
	if tc, ok := conn.(*tls.Conn); ok {
		p.raw = tc.NetConn()
	}
	p.onChunk = func() { p.t.received(p.chunk) }
	p.onReadEnd = func() { p.t.readEnded(p.rerr) }
	p.onWriteErr = func() { p.t.writeFailed(p.werr) }
	p.onDrained = p.t.drained
	p.onFinished = p.finished
	p.live.Store(2)
	p.wg.Add(2)
	go p.reader()
	go p.writer()
	return p
}

// post hands fn to the loop; false means the loop is closed.
func (p *portable) post(fn func()) bool { return hooks.Loop.CallSoonInternal(p.l, fn) }

// exit is each goroutine's last act (invariant 3).
func (p *portable) exit() {
	if p.live.Add(-1) == 0 {
		p.post(p.onFinished)
	}
	p.wg.Done()
}

func (p *portable) reader() {
	defer p.exit()
	var err error
	filled := false
	for {
		select {
		case <-p.ack:
		case <-p.stop:
			return
		}
		if err != nil {
			break
		}
		if filled && len(p.buf) < maxReadBuffer {
			p.buf = make([]byte, 2*len(p.buf))
		}
		n := 0
		for n == 0 && err == nil {
			n, err = p.conn.Read(p.buf)
		}
		if err != nil && p.handing.Load() && errors.Is(err, os.ErrDeadlineExceeded) {
			p.tail = p.buf[:n] // handOver cut this read short
			return
		}
		if n == 0 {
			break
		}
		filled = n == len(p.buf)
		p.chunk = p.buf[:n]
		if !p.post(p.onChunk) {
			return
		}
	}
	p.rerr = err
	p.post(p.onReadEnd)
}

func (p *portable) writer() {
	defer p.exit()
	for range p.wake {
		for {
			p.mu.Lock()
			if p.dead {
				p.mu.Unlock()
				return
			}
			if len(p.pending) == 0 {
				if p.handed { // handOver: all is written, and the conn is not ours to close
					p.mu.Unlock()
					return
				}
				eof := p.eof && !p.eofDone
				p.eofDone = p.eofDone || eof
				closing := p.closing
				p.mu.Unlock()
				if eof {
					if err := p.conn.(closeWriter).CloseWrite(); err != nil {
						p.fail(err)
						return
					}
				}
				if closing {
					p.conn.Close()
					return
				}
				break
			}
			out := p.pending
			p.pending, p.spare = p.spare[:0], nil
			p.inflight = len(out)
			p.mu.Unlock()

			_, err := p.conn.Write(out)

			p.mu.Lock()
			p.inflight = 0
			if cap(out) <= maxSpare {
				p.spare = out[:0]
			}
			drained := p.watch && len(p.pending) <= p.low
			p.watch = p.watch && !drained
			dead := p.dead
			p.mu.Unlock()
			if err != nil {
				if !dead {
					p.fail(err)
				}
				return
			}
			if drained {
				p.post(p.onDrained)
			}
		}
	}
}

// fail reports a write error; the writer returns after it.
func (p *portable) fail(err error) {
	p.werr = err
	p.post(p.onWriteErr)
}

// signal wakes the writer.
func (p *portable) signal() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

func (p *portable) readNext() {
	select {
	case p.ack <- struct{}{}:
	default:
	}
}

func (p *portable) write(b []byte) int {
	p.mu.Lock()
	p.pending = append(p.pending, b...)
	n := len(p.pending) + p.inflight
	p.mu.Unlock()
	p.signal()
	return n
}

func (p *portable) writev(bs net.Buffers) int {
	p.mu.Lock()
	for _, b := range bs {
		p.pending = append(p.pending, b...)
	}
	n := len(p.pending) + p.inflight
	p.mu.Unlock()
	p.signal()
	return n
}

func (p *portable) bufferSize() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.pending) + p.inflight
}

func (p *portable) watchLow(low int) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.low = low
	p.watch = len(p.pending)+p.inflight > low
	return p.watch
}

func (p *portable) writeEOF() {
	p.mu.Lock()
	p.eof = true
	p.mu.Unlock()
	p.signal()
}

func (p *portable) close() {
	p.stopReading()
	p.mu.Lock()
	p.closing = true
	p.mu.Unlock()
	p.signal()
}

func (p *portable) abort() {
	if p.aborted {
		return
	}
	p.aborted = true
	p.stopReading()
	p.mu.Lock()
	p.dead = true
	p.pending, p.spare = nil, nil
	p.mu.Unlock()
	p.signal()
	p.raw.Close()
}

func (p *portable) stopReading() {
	if !p.stopped {
		p.stopped = true
		close(p.stop)
	}
}

func (p *portable) join() { p.wg.Wait() }

// closeWriter is a conn that can half-close: *net.TCPConn, *net.UnixConn,
// *tls.Conn.
type closeWriter interface{ CloseWrite() error }

// handover is the portable conduit's state for handOver.
type handover struct {
	handing  atomic.Bool       // set before the read deadline: a deadline error means handed over
	handed   bool              // under mu: the writer returns once the buffer is written
	handDone func(tail []byte) // loop-only: set by handOver
	tail     []byte            // the bytes of the read cut short, in flight to the loop
}

// handOver stops the conduit for StartTLS, without closing the conn:
// reading stops at a chunk boundary (a read in progress is cut short with a
// read deadline in the past; the chunks read before it are reported as
// usual, through received), the write buffer is written, and both
// goroutines return. Then, instead of finished, done(tail) runs on the loop
// goroutine, tail being the bytes of the read that was cut short, with the
// read deadline reset: the conn and tail are the caller's. Reports of
// errors come before done, as usual; an abort meanwhile reports finished
// instead of calling done. handOver returns the error of SetReadDeadline,
// having changed nothing, if the conn cannot cut a read short.
func (p *portable) handOver(done func(tail []byte)) error {
	p.handing.Store(true)
	if err := p.conn.SetReadDeadline(time.Now()); err != nil {
		p.handing.Store(false)
		return err
	}
	p.handDone = done
	p.stopReading()
	p.mu.Lock()
	p.handed = true
	p.mu.Unlock()
	p.signal()
	return nil
}

// finished is the last goroutine's report (onFinished), on the loop
// goroutine: the hand-over's done, or the transport's finished.
func (p *portable) finished() {
	if p.handDone == nil || p.aborted {
		p.t.finished()
		return
	}
	p.conn.SetReadDeadline(time.Time{})
	p.handDone(p.tail)
}
