package stream

import (
	"crypto/tls"
	"errors"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/aio-go/aio/internal/hooks"
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

// maxSpare is the largest written buffer the writer keeps for reuse.
const maxSpare = 256 << 10

// portable is the conduit over any net.Conn: a reader goroutine blocks in
// conn.Read and hands each chunk to the loop, or, for a socket on Linux,
// the loop's poller reports it readable and the loop reads it without
// blocking (tryRead); writes go to the conn from the loop goroutine when
// the conn takes them at once, and otherwise to a writer goroutine that
// runs only while there is something to write, or, for a polled socket,
// from the loop goroutine again each time the poller reports the socket
// writable (flush). The loop goroutine never blocks on the conn.
//
// Invariants:
//  1. At most one chunk is in flight: the reader reads only after an ack
//     (readNext), so it owns bufs between acks and the loop owns chunk (a
//     slice of bufs) from the hand-off to the ack. Read memory is at most
//     one buffer, and none while a socket waits for data (readRaw). A
//     polled socket has no reader goroutine: the loop owns bufs, and reads
//     only while the transport wants a chunk (want) and the socket may have
//     one (maybe: set by the poller's report, cleared by a read that found
//     the socket empty; the poller is edge-triggered, so data arriving after
//     that read is reported again). A short read empties the socket, except
//     once the stream has ended (ended): the end was reported with the data
//     before it, so the socket is read until it returns the end.
//  2. The write state (pending, spare, inflight, the requests, writing) is
//     shared under mu; the writer holds mu only to swap buffers, never
//     across a blocking conn call.
//  3. writing is true from the moment a writer goroutine is started until
//     it has decided, under mu, to return: so at most one exists, and a
//     write that finds writing false and pending empty may write itself.
//     Bytes go to the conn in the order Write accepted them: the loop writes
//     directly only when nothing is pending and no writer exists. A socket
//     whose writes are polled (pollW) has no writer: what the kernel did not
//     take stays pending, and the loop writes it on the poller's writable
//     reports, which it asks for (armed) the first time a write is left
//     over (a poller that cannot fails the write, as the socket would).
//     The kernel took less than it was given only when its buffer
//     was full, and it reports the socket writable after that, so pending
//     bytes always have a report coming.
//  4. live counts the reader, a running writer, and the conn itself until it
//     is closed; whoever takes it to zero reports finished, after
//     everything it reported before.
//  5. A polled socket stays registered with the poller (registered) until
//     its conn is closed or handed over, reading or not: a closing
//     transport's buffer is flushed on writable reports.
type portable struct {
	t    *Transport
	conn net.Conn
	rc   syscall.RawConn // conn's, if writes can be tried without blocking (TCP and Unix sockets)

	wg      sync.WaitGroup
	live    atomic.Int32
	stopped bool // loop-only: reading was stopped
	aborted bool // loop-only: abort ran

	// Read side.
	bufs readBuffer // the reader's
	gr   *goReader  // the reader goroutine's state, if it has one

	// Read side of a polled socket, loop-only (invariant 1).
	pl                 *poller // nil: a reader goroutine reads
	tok                uint64  // the socket's registration with pl
	registered         bool    // tok is registered (invariant 5)
	armed              bool    // the registration asks for writable reports
	want, maybe, ended bool
	delivering, posted bool // in received; onTryRead is on its way
	onTryRead          func()

	// Write side.
	mu       sync.Mutex
	pending  []byte
	off      int // pending[:off] is written: the loop's flush writes from off (invariant 3)
	spare    []byte
	inflight int  // bytes in the writer's conn.Write now
	writing  bool // a writer goroutine exists (invariant 3)
	pollW    bool // writes wait for the poller, not for a writer (invariant 3)
	eof      bool // WriteEOF requested
	eofDone  bool
	closing  bool // close requested: flush, then close the conn
	dead     bool // abort requested, or a write failed: nothing more is written
	shut     bool // the conn is closed or handed over: live no longer counts it
	watch    bool // report drained once the size is at most low
	low      int
	werr     error // why writing failed, in flight to the loop

	ho     *handover                // StartTLS's hand-over (handOver), once it has begun; under mu
	hoSeen atomic.Pointer[handover] // ho, for the reader goroutine, before its read is cut short
}

// goReader is the state of a reader goroutine, for a conn the poller does
// not read.
type goReader struct {
	stop  chan struct{} // closed by close and abort: the reader stops waiting for acks
	ack   chan struct{} // cap 1: the reader may read once more
	chunk []byte        // in flight to the loop: bytes of bufs
	rerr  error         // why reading ended, in flight to the loop
}

// The conduit's reports to the loop (post): each is the conduit itself, as
// a type whose RunPosted makes the report, so that none needs a closure.
type (
	chunkReport    portable
	readEndReport  portable
	writeErrReport portable
	drainedReport  portable
	finishedReport portable
	tryReadReport  portable
)

func (r *chunkReport) RunPosted(hooks.Token)    { r.t.received(r.gr.chunk) }
func (r *readEndReport) RunPosted(hooks.Token)  { r.t.readEnded(r.gr.rerr) }
func (r *writeErrReport) RunPosted(hooks.Token) { r.t.writeFailed(r.werr) }
func (r *drainedReport) RunPosted(hooks.Token)  { r.t.drained() }
func (r *finishedReport) RunPosted(hooks.Token) { (*portable)(r).finished() }
func (r *tryReadReport) RunPosted(hooks.Token)  { (*portable)(r).tryRead() }

// newPortable starts the conduit of conn; poll lets a socket's reads go to
// the loop's poller.
func newPortable(t *Transport, conn net.Conn, poll bool) *portable {
	p := &portable{t: t, conn: conn}
	if _, ok := conn.(*tls.Conn); !ok {
		p.rc = rawConn(conn)
	}
	p.live.Store(2) // the reader and the conn
	if p.rc != nil && poll {
		if pl := pollerFor(t.l); pl != nil {
			if tok, ok := pl.add(p); ok {
				p.pl, p.tok, p.maybe = pl, tok, true
				p.registered, p.pollW = true, true
				return p
			}
		}
	}
	p.gr = &goReader{stop: make(chan struct{}), ack: make(chan struct{}, 1)}
	p.wg.Add(1)
	go p.reader()
	return p
}

// ready is the poller's report of a polled socket: it may have data, or
// its stream has ended (in, ended), and it may take bytes (out).
func (p *portable) ready(in, ended, out bool) {
	if in {
		p.readable(ended)
	}
	if out {
		p.writable()
	}
}

// readable is the poller's report that the socket may have data, or that
// its stream has ended.
func (p *portable) readable(ended bool) {
	p.maybe = true
	p.ended = p.ended || ended
	if p.want && !p.delivering {
		p.tryRead()
	}
}

// tryRead reads a chunk from a polled socket without waiting, and delivers
// it or the end of the stream, if the transport wants one and the socket
// may have one. It runs as a callback of its own (readable's caller, or
// onTryRead), never inside the transport's, so received is not reentered.
func (p *portable) tryRead() {
	p.posted = false
	if !p.want || !p.maybe || p.stopped {
		return
	}
	n, err := readRaw(p.rc, &p.bufs, false)
	switch {
	case err != nil:
		p.stopPolled()
		p.t.readEnded(err)
	case n == 0:
		p.maybe = false
	default:
		p.want = false
		chunk := p.bufs.take(n)
		p.maybe = p.ended || len(chunk) == cap(chunk) // a short read emptied the socket
		p.delivering = true
		p.t.received(chunk)
		p.delivering = false
		if p.stopped {
			p.bufs.put() // stopped while the chunk was in use
			return
		}
		p.next()
	}
}

// next follows the consumption of a polled socket's chunk: the next read
// is scheduled, or, if the socket is empty, the buffer goes back to its
// pool until data arrives.
func (p *portable) next() {
	if !p.want {
		return // the chunk is held by the transport until it is consumed
	}
	if !p.maybe {
		p.bufs.put()
		return
	}
	p.postTryRead()
}

// postTryRead schedules tryRead if it has something to do: each chunk is
// a callback of its own, so one busy socket does not hold up the loop.
func (p *portable) postTryRead() {
	if p.want && p.maybe && !p.stopped && !p.posted {
		p.posted = true
		p.post((*tryReadReport)(p))
	}
}

// stopPolled ends a polled socket's reading: the reader's count of live
// goes. The socket stays registered for its writes (invariant 5).
func (p *portable) stopPolled() {
	p.stopped = true
	if !p.delivering {
		p.bufs.put()
	}
	p.release()
}

// post hands a report to the loop; false means the loop is closed.
func (p *portable) post(r hooks.Posted) bool { return hooks.Loop.Post(p.t.l, r) }

// release drops one count of live (invariant 4).
func (p *portable) release() {
	if p.live.Add(-1) == 0 {
		p.post((*finishedReport)(p))
	}
}

func (p *portable) reader() {
	defer p.wg.Done()
	defer p.release()
	var err error
	lent := false // a chunk of bufs went to the loop, which may still be using it
	gr := p.gr
	for {
		select {
		case <-gr.ack:
		case <-gr.stop:
			if !lent {
				p.bufs.put()
			}
			return
		}
		if err != nil {
			break
		}
		n := 0
		for n == 0 && err == nil {
			if p.rc != nil {
				n, err = readRaw(p.rc, &p.bufs, true)
			} else {
				n, err = p.conn.Read(p.bufs.get())
			}
		}
		if ho := p.handing(); err != nil && ho != nil && errors.Is(err, os.ErrDeadlineExceeded) {
			ho.tail = p.bufs.keep(n) // handOver cut this read short
			return
		}
		if n == 0 {
			break
		}
		gr.chunk = p.bufs.take(n)
		lent = true
		if !p.post((*chunkReport)(p)) {
			return
		}
	}
	p.bufs.put()
	gr.rerr = err
	p.post((*readEndReport)(p))
}

// unpoll takes a polled socket off the poller, before its conn is closed
// or handed over (invariant 5).
func (p *portable) unpoll() {
	if p.registered {
		p.registered = false
		p.pl.remove(p, p.tok)
	}
}

// closed notes that the conn is closed. The caller must hold mu.
func (p *portable) closed() {
	if !p.shut {
		p.shut = true
		p.release()
	}
}

func (p *portable) readNext() {
	if p.pl != nil {
		p.want = true
		if !p.delivering && !p.stopped {
			p.next()
		}
		return
	}
	select {
	case p.gr.ack <- struct{}{}:
	default:
	}
}

func (p *portable) writeEOF() {
	p.mu.Lock()
	p.eof = true
	p.flushOrStart()
	p.mu.Unlock()
}

func (p *portable) close() {
	p.stopReading()
	p.mu.Lock()
	p.closing = true
	if p.dead {
		p.closeDead()
	} else {
		p.flushOrStart()
	}
	p.mu.Unlock()
}

// flushOrStart has what waits for the buffer done: at once by a polled
// socket with nothing pending (with something pending, on a writable
// report), or by the writer. The caller must hold mu.
func (p *portable) flushOrStart() {
	switch {
	case !p.pollW:
		p.startWriter()
	case len(p.pending) == 0:
		p.flush()
	}
}

func (p *portable) abort() {
	if p.aborted {
		return
	}
	p.aborted = true
	p.stopReading()
	p.mu.Lock()
	p.dead = true
	p.pending, p.spare, p.off = nil, nil, 0
	p.closeDead()
	p.mu.Unlock()
}

// closeDead closes the conn of a conduit that writes no more, even one
// being handed over. The caller must hold mu. Closing the raw conn does not
// block: a TLS conn's close_notify is not sent.
func (p *portable) closeDead() {
	p.unpoll()
	rawOf(p.conn).Close()
	p.closed()
}

func (p *portable) stopReading() {
	switch {
	case p.stopped:
	case p.pl != nil:
		p.stopPolled()
	default:
		p.stopped = true
		close(p.gr.stop)
	}
}

func (p *portable) join() { p.wg.Wait() }

// closeWriter is a conn that can half-close: *net.TCPConn, *net.UnixConn,
// *tls.Conn.
type closeWriter interface{ CloseWrite() error }

// rawOf is what abort closes of conn: the conn under TLS, closed without
// a close_notify, or conn.
func rawOf(conn net.Conn) net.Conn {
	if tc, ok := conn.(*tls.Conn); ok {
		return tc.NetConn()
	}
	return conn
}

// handover is the portable conduit's state for handOver. The reader
// goroutine sees it (handing) once handOver has set the read deadline.
type handover struct {
	handDone func(tail []byte) // loop-only: set by handOver
	tail     []byte            // the bytes of the read that was cut short, in flight to the loop
}

// handing returns the hand-over under way, if any; on the reader
// goroutine, a deadline error after it means the read was cut short.
func (p *portable) handing() *handover { return p.hoSeen.Load() }

// handOver stops the conduit for StartTLS, without closing the conn:
// reading stops at a chunk boundary (a read in progress is cut short with a
// read deadline in the past; the chunks read before it are reported as
// usual, through received), the write buffer is written, and the goroutines
// return. Then, instead of finished, done(tail) runs on the loop goroutine,
// tail being the bytes of the read that was cut short, with the read
// deadline reset: the conn and tail are the caller's. Reports of errors
// come before done, as usual; an abort meanwhile closes the conn and
// reports finished instead of calling done. handOver returns the error of
// SetReadDeadline, having changed nothing, if the conn cannot cut a read
// short.
func (p *portable) handOver(done func(tail []byte)) error {
	ho := &handover{handDone: done}
	if p.pl == nil {
		p.hoSeen.Store(ho)
		if err := p.conn.SetReadDeadline(time.Now()); err != nil {
			p.hoSeen.Store(nil)
			return err
		}
	}
	p.stopReading()
	p.mu.Lock()
	p.ho = ho // the writer returns once the buffer is written
	p.unpoll()
	p.pollW = false // the writer writes what is pending: the poller is left
	p.compact()
	if len(p.pending) > 0 {
		p.startWriter()
	}
	p.closed() // the conn is the caller's once the goroutines are done
	p.mu.Unlock()
	return nil
}

// finished is the last goroutine's report (onFinished), on the loop
// goroutine: the hand-over's done, or the transport's finished.
func (p *portable) finished() {
	if p.ho == nil || p.aborted {
		p.t.finished()
		return
	}
	p.conn.SetReadDeadline(time.Time{})
	p.ho.handDone(p.ho.tail)
}
