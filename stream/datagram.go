package stream

import (
	"errors"
	"fmt"
	"io"
	"net"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aio-go/aio/internal/hooks"
	"github.com/aio-go/aio/loop"
)

// Limits of a datagram endpoint. maxDatagram is the read buffer, allocated
// once per endpoint: a longer datagram is truncated to it. The send queue
// is bounded by both counts, so that its memory is too; a datagram longer
// than maxQueuedBytes is accepted only by an empty queue.
const (
	maxDatagram        = 64 << 10
	maxQueuedDatagrams = 4096
	maxQueuedBytes     = 1 << 20
)

// DatagramProtocol is asyncio's DatagramProtocol: the callbacks through
// which a DatagramTransport tells its user what happens on the endpoint.
// They run on the loop goroutine, one at a time, in this order:
// ConnectionMade once; then DatagramReceived and ErrorReceived any number
// of times, in the order the endpoint's goroutines met the events; then
// ConnectionLost once. ConnectionLost is called only if ConnectionMade was.
//
// A panic in ConnectionMade, DatagramReceived or ErrorReceived is reported
// to the loop's exception handler and aborts the endpoint, which then ends
// with ConnectionLost(err), err a *loop.PanicError.
type DatagramProtocol interface {
	// ConnectionMade is asyncio's connection_made: the endpoint is ready,
	// t is its transport. It runs in a loop iteration after the transport
	// was made (ListenPacket, AdoptPacket), before any other callback.
	ConnectionMade(t *DatagramTransport)
	// DatagramReceived is asyncio's datagram_received: a datagram arrived
	// from addr. data is valid only until DatagramReceived returns (the
	// transport reuses its buffer): copy what must be kept. addr may be
	// kept.
	DatagramReceived(data []byte, addr net.Addr)
	// ErrorReceived is asyncio's error_received: a read or a send failed
	// (an *OpError with Op "read" or "send"), for instance with
	// ECONNREFUSED on a connected UDP socket whose peer has no listener.
	// The endpoint stays open.
	ErrorReceived(err error)
	// ConnectionLost is asyncio's connection_lost: the endpoint is closed
	// and its goroutines are done. err is nil after Close and Abort, and
	// the cause otherwise: an error matching net.ErrClosed if the conn was
	// closed under the transport, a *loop.PanicError, or an error matching
	// loop.ErrClosed when the loop closed under the endpoint.
	ConnectionLost(err error)
}

// DatagramTransport is asyncio's DatagramTransport: the loop's side of one
// net.PacketConn (a UDP socket, a "unixgram" socket, ...), which calls its
// DatagramProtocol's callbacks and whose SendTo never blocks.
//
// Under it run two goroutines. A reader calls ReadFrom into a buffer of
// 64 KiB that it reuses, and hands each datagram to the loop; it reads the
// next one only once the loop is done with it, so one datagram is in
// flight at most, and PauseReading stops the reads themselves. A writer
// drains a bounded send queue with WriteTo.
//
// Lifecycle: open, then closing (Close, Abort, the conn closed under it, a
// panic in a callback), then lost (ConnectionLost has run). The loop owns
// its endpoints. A datagram endpoint has no end of its own (no peer closes
// it), so Shutdown waits until it is closed, by the program or by
// Shutdown's ctx ending; give Shutdown a ctx with a deadline, or close the
// endpoint first. Close (of the loop, or a Shutdown whose ctx ended)
// aborts it and runs its ConnectionLost with an error matching
// loop.ErrClosed.
//
// Its methods must be called on the loop goroutine, except Loop.
type DatagramTransport struct {
	l       *loop.Loop
	p       DatagramProtocol
	pc      net.PacketConn
	lostErr error // what ConnectionLost gets

	// Loop-only.
	made, lost bool
	closing    bool // no more datagrams delivered or sends accepted
	aborted    bool
	reading    bool // not paused
	ackOwed    bool // the reader waits for an ack until reading resumes
	held       bool // a read (rdata, raddr, rerr) arrived while paused
	stopped    bool // stop is closed

	wg   sync.WaitGroup
	live atomic.Int32  // goroutines not yet returned; the last one reports finished
	stop chan struct{} // closed by Close and Abort: the reader stops waiting for acks

	// Read side: the reader owns buf between acks; the loop owns rdata
	// (a slice of buf), raddr and rerr from the hand-off to the ack.
	ack   chan struct{} // cap 1: the reader may read once more
	buf   []byte
	rdata []byte
	raddr net.Addr
	rerr  error

	// Write side, under mu; the writer never holds mu across a conn call.
	wake      chan struct{} // cap 1: the writer has something to do
	mu        sync.Mutex
	queue     []datagram
	count     int  // datagrams queued or being sent
	bytes     int  // their bytes
	flush     bool // Close: send the queue, then close the conn
	dead      bool // Abort: the writer returns
	werrs     []error
	reporting bool // a report of werrs is in flight to the loop

	// The reports, bound once.
	onRead, onSendErrs, onFinished, deliverHeldFn func()
}

// datagram is one queued send.
type datagram struct {
	data []byte
	addr net.Addr
}

// ListenPacket is asyncio's create_datagram_endpoint with local_addr: it
// listens on address (as net.ListenPacket: "udp", "udp4", "udp6",
// "unixgram", "ip4:1", ...), and makes a transport of the conn with the
// protocol newProtocol returns (see AdoptPacket). An error of
// net.ListenPacket is returned as an *OpError with Op "listen". A host
// name in address is resolved on the loop goroutine: use a literal address.
//
// ListenPacket panics if l or newProtocol is nil or newProtocol returns
// nil, and with an error matching loop.ErrClosed if the loop is closing or
// closed; the conn is closed then.
//
// Must be called on the loop goroutine.
func ListenPacket(l *loop.Loop, network, address string, newProtocol func() DatagramProtocol) (*DatagramTransport, error) {
	if newProtocol == nil {
		panic("stream: ListenPacket: nil protocol factory")
	}
	if l == nil {
		panic("stream: ListenPacket: nil loop")
	}
	pc, err := net.ListenPacket(network, address)
	if err != nil {
		return nil, &OpError{"listen", address, err}
	}
	adopted := false
	defer func() {
		if !adopted {
			pc.Close()
		}
	}()
	p := newProtocol()
	if p == nil {
		panic("stream: ListenPacket: the protocol factory returned nil")
	}
	t := newDatagramTransport(l, pc, p)
	adopted = true
	return t, nil
}

// AdoptPacket makes a transport of pc on l, with p as its protocol: for a
// net.PacketConn made elsewhere, such as a connected UDP socket of
// net.DialUDP (asyncio's create_datagram_endpoint with remote_addr), to
// which SendTo with a nil addr sends. p's ConnectionMade runs in a later
// iteration. The transport owns pc from then on: do not read, write or
// close it directly.
//
// AdoptPacket panics if l, pc or p is nil, and with an error matching
// loop.ErrClosed if the loop is closing or closed.
//
// Must be called on the loop goroutine.
func AdoptPacket(l *loop.Loop, pc net.PacketConn, p DatagramProtocol) *DatagramTransport {
	if l == nil {
		panic("stream: AdoptPacket: nil loop")
	}
	if pc == nil {
		panic("stream: AdoptPacket: nil conn")
	}
	if p == nil {
		panic("stream: AdoptPacket: nil protocol")
	}
	return newDatagramTransport(l, pc, p)
}

// newDatagramTransport tracks a transport of pc, schedules its
// ConnectionMade and starts its goroutines.
func newDatagramTransport(l *loop.Loop, pc net.PacketConn, p DatagramProtocol) *DatagramTransport {
	t := &DatagramTransport{
		l: l, p: p, pc: pc, reading: true,
		stop: make(chan struct{}),
		ack:  make(chan struct{}, 1),
		wake: make(chan struct{}, 1),
		buf:  make([]byte, maxDatagram),
	}
	t.onRead = t.received
	t.onSendErrs = t.sendFailed
	t.onFinished = t.lose
	t.deliverHeldFn = t.deliverHeld
	hooks.Loop.Track(l, (*datagramResource)(t))
	l.CallSoon(t.connectionMade)
	t.live.Store(2)
	t.wg.Add(2)
	go t.reader()
	go t.writer()
	return t
}

// SendTo is asyncio's sendto: it copies data into the send queue and
// returns at once; the transport sends it to addr in the background. addr
// is kept until then: do not modify it. A nil addr sends on a connected
// conn (one that has a Write method, as a *net.UDPConn of net.DialUDP). A
// failed send is reported to the protocol's ErrorReceived, not here.
//
// SendTo returns an error matching ErrClosed once the transport is
// closing, and one matching ErrSendQueueFull if the queue is at its bound
// (a slow conn); the datagram is not queued then.
//
// Must be called on the loop goroutine.
func (t *DatagramTransport) SendTo(data []byte, addr net.Addr) error {
	t.check("SendTo")
	if t.closing {
		return &OpError{"send", addrString(addr), ErrClosed}
	}
	t.mu.Lock()
	if t.count >= maxQueuedDatagrams || (t.count > 0 && t.bytes+len(data) > maxQueuedBytes) {
		t.mu.Unlock()
		return &OpError{"send", addrString(addr), ErrSendQueueFull}
	}
	t.queue = append(t.queue, datagram{append([]byte(nil), data...), addr})
	t.count++
	t.bytes += len(data)
	t.mu.Unlock()
	t.signal()
	return nil
}

// Close is asyncio's close: it stops reading at once, sends what is
// queued, and then closes the conn; ConnectionLost(nil) follows. Calls
// after the first do nothing. It returns nil.
//
// Must be called on the loop goroutine.
func (t *DatagramTransport) Close() error {
	t.check("Close")
	if t.closing {
		return nil
	}
	t.closing = true
	t.held = false
	t.stopReading()
	t.mu.Lock()
	t.flush = true
	t.mu.Unlock()
	t.signal()
	return nil
}

// Abort is asyncio's abort: it closes the conn at once, dropping what is
// queued; ConnectionLost(nil) follows, in a later iteration.
//
// Must be called on the loop goroutine.
func (t *DatagramTransport) Abort() {
	t.check("Abort")
	t.forceClose(nil)
}

// IsClosing is asyncio's is_closing: it reports whether the transport is
// closing or closed.
//
// Must be called on the loop goroutine.
func (t *DatagramTransport) IsClosing() bool { return t.closing }

// PauseReading is asyncio's pause_reading: no DatagramReceived (or
// ErrorReceived of a read) is called until ResumeReading, and the
// transport reads nothing more from the conn, so datagrams wait in (and
// overflow from) the kernel's buffer; one already read is kept for then.
// It does nothing on a closing or paused transport.
//
// Must be called on the loop goroutine.
func (t *DatagramTransport) PauseReading() {
	t.check("PauseReading")
	if !t.closing {
		t.reading = false
	}
}

// ResumeReading is asyncio's resume_reading: reading goes on; a datagram
// kept while paused is delivered in a later iteration. It does nothing on
// a closing or reading transport.
//
// Must be called on the loop goroutine.
func (t *DatagramTransport) ResumeReading() {
	t.check("ResumeReading")
	if t.closing || t.reading {
		return
	}
	t.reading = true
	switch {
	case t.held:
		t.l.CallSoon(t.deliverHeldFn)
	case t.ackOwed:
		t.ackOwed = false
		t.readNext()
	}
}

// IsReading is asyncio's is_reading: it reports whether the transport
// delivers what it reads (not paused, not closing).
//
// Must be called on the loop goroutine.
func (t *DatagramTransport) IsReading() bool { return t.reading && !t.closing }

// WriteBufferSize is asyncio's get_write_buffer_size: the bytes of the
// datagrams accepted by SendTo and not yet sent.
//
// Must be called on the loop goroutine.
func (t *DatagramTransport) WriteBufferSize() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.bytes
}

// LocalAddr is the conn's local address (asyncio's
// get_extra_info("sockname")).
//
// Must be called on the loop goroutine.
func (t *DatagramTransport) LocalAddr() net.Addr { return t.pc.LocalAddr() }

// Loop returns the loop the transport belongs to (asyncio's get_loop).
//
// Safe for concurrent use by multiple goroutines.
func (t *DatagramTransport) Loop() *loop.Loop { return t.l }

// String describes the transport: its local address and state.
func (t *DatagramTransport) String() string {
	state := "open"
	switch {
	case t.lost:
		state = "closed"
	case t.closing:
		state = "closing"
	}
	return fmt.Sprintf("stream.DatagramTransport(%s, %s)", t.pc.LocalAddr(), state)
}

func (t *DatagramTransport) check(op string) {
	if hooks.Debugging.Load() != 0 {
		hooks.Loop.Check(t.l, op)
	}
}

// forceClose closes the conn at once; ConnectionLost(err) follows.
func (t *DatagramTransport) forceClose(err error) {
	if t.aborted || t.lost {
		return
	}
	t.closing, t.aborted, t.held = true, true, false
	if t.lostErr == nil {
		t.lostErr = err
	}
	t.stopReading()
	t.mu.Lock()
	t.dead = true
	t.queue, t.count, t.bytes, t.werrs = nil, 0, 0, nil
	t.mu.Unlock()
	t.signal()
	t.pc.Close()
}

func (t *DatagramTransport) stopReading() {
	if !t.stopped {
		t.stopped = true
		close(t.stop)
	}
}

// protect runs a protocol callback; a panic in it is reported to the
// exception handler and aborts the endpoint with the *loop.PanicError.
func (t *DatagramTransport) protect(what string, fn func()) {
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

// The loop's side of the goroutines' reports.

func (t *DatagramTransport) connectionMade() {
	if t.lost {
		return
	}
	t.made = true
	t.protect("ConnectionMade", func() { t.p.ConnectionMade(t) })
	t.consumed()
}

// consumed lets the reader read once more, now or at ResumeReading.
func (t *DatagramTransport) consumed() {
	switch {
	case t.closing:
	case t.reading:
		t.readNext()
	default:
		t.ackOwed = true
	}
}

func (t *DatagramTransport) readNext() {
	select {
	case t.ack <- struct{}{}:
	default:
	}
}

// received takes the reader's hand-off: a datagram or a read error.
func (t *DatagramTransport) received() {
	if t.closing {
		return
	}
	if t.rerr != nil && isClosedConn(t.rerr) {
		// Closed under the transport: nothing more will be read, paused
		// or not.
		t.forceClose(&OpError{"read", "", t.rerr})
		return
	}
	if !t.reading {
		t.held = true
		return
	}
	t.deliver()
}

func (t *DatagramTransport) deliver() {
	if err := t.rerr; err != nil {
		t.protect("ErrorReceived", func() { t.p.ErrorReceived(&OpError{"read", "", err}) })
	} else {
		t.protect("DatagramReceived", func() { t.p.DatagramReceived(t.rdata, t.raddr) })
	}
	t.consumed()
}

func (t *DatagramTransport) deliverHeld() {
	if t.closing || !t.reading || !t.held {
		return
	}
	t.held = false
	t.deliver()
}

// sendFailed reports the writer's errors, in the order of the sends.
func (t *DatagramTransport) sendFailed() {
	t.mu.Lock()
	errs := t.werrs
	t.werrs, t.reporting = nil, false
	t.mu.Unlock()
	for _, err := range errs {
		if t.aborted || t.lost {
			return
		}
		t.protect("ErrorReceived", func() { t.p.ErrorReceived(err) })
	}
}

// lose ends the transport: ConnectionLost, once, if ConnectionMade ran.
// It runs when the last goroutine returns, or from the loop's Close.
func (t *DatagramTransport) lose() {
	if t.lost {
		return
	}
	t.closing, t.lost, t.held = true, true, false
	hooks.Loop.Untrack(t.l, (*datagramResource)(t))
	if t.made {
		t.protect("ConnectionLost", func() { t.p.ConnectionLost(t.lostErr) })
	}
}

// The goroutines.

// post hands fn to the loop; false means the loop is closed.
func (t *DatagramTransport) post(fn func()) bool { return hooks.Loop.CallSoonInternal(t.l, fn) }

// exit is each goroutine's last act: the last one reports finished, after
// everything it reported before.
func (t *DatagramTransport) exit() {
	if t.live.Add(-1) == 0 {
		t.post(t.onFinished)
	}
	t.wg.Done()
}

// reader reads a datagram per ack until stop is closed. A read error is
// handed over as a datagram is; after consecutive errors it waits before
// reading again (5 ms, doubling to 1 s), so that an error that persists
// does not spin.
func (t *DatagramTransport) reader() {
	defer t.exit()
	var later error // an error that came with data, handed over next
	var delay time.Duration
	failed := false
	for {
		select {
		case <-t.ack:
		case <-t.stop:
			return
		}
		if later != nil {
			t.rdata, t.raddr, t.rerr, later = nil, nil, later, nil
			if !t.post(t.onRead) {
				return
			}
			continue
		}
		if delay > 0 {
			tm := time.NewTimer(delay)
			select {
			case <-tm.C:
			case <-t.stop:
				tm.Stop()
				return
			}
		}
		n, addr, err := t.pc.ReadFrom(t.buf)
		if err != nil && n > 0 {
			later, err = err, nil
		}
		switch {
		case err == nil:
			failed, delay = false, 0
		case failed:
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
		default:
			failed = true
		}
		t.rdata, t.raddr, t.rerr = nil, nil, err
		if err == nil {
			t.rdata, t.raddr = t.buf[:n], addr
		}
		if !t.post(t.onRead) {
			return
		}
	}
}

// writer sends the queue, in order, until Abort, or until Close once the
// queue is empty; then it closes the conn (Close).
func (t *DatagramTransport) writer() {
	defer t.exit()
	var batch []datagram
	for range t.wake {
		for {
			t.mu.Lock()
			if t.dead {
				t.mu.Unlock()
				return
			}
			if len(t.queue) == 0 {
				flush := t.flush
				t.mu.Unlock()
				if flush {
					t.pc.Close()
					return
				}
				break
			}
			batch, t.queue = t.queue, batch[:0]
			t.mu.Unlock()
			for i, d := range batch {
				batch[i] = datagram{}
				err := t.send(d)
				t.mu.Lock()
				if t.dead { // forceClose reset the counts
					t.mu.Unlock()
					return
				}
				t.count--
				t.bytes -= len(d.data)
				report := false
				if err != nil {
					t.werrs = append(t.werrs, &OpError{"send", addrString(d.addr), err})
					report, t.reporting = !t.reporting, true
				}
				t.mu.Unlock()
				if report {
					t.post(t.onSendErrs)
				}
			}
		}
	}
}

func (t *DatagramTransport) send(d datagram) error {
	if d.addr == nil {
		if w, ok := t.pc.(io.Writer); ok {
			_, err := w.Write(d.data)
			return err
		}
	}
	_, err := t.pc.WriteTo(d.data, d.addr)
	return err
}

// signal wakes the writer.
func (t *DatagramTransport) signal() {
	select {
	case t.wake <- struct{}{}:
	default:
	}
}

// isClosedConn reports whether a read error means the conn is closed.
func isClosedConn(err error) bool { return errors.Is(err, net.ErrClosed) || errors.Is(err, io.EOF) }

func addrString(a net.Addr) string {
	if a == nil {
		return ""
	}
	return a.String()
}

// datagramResource is a DatagramTransport as the loop's resource
// (hooks.Resource).
type datagramResource DatagramTransport

// StopAccepting does nothing: an endpoint has no connections to refuse, and
// Shutdown waits until it is closed.
func (r *datagramResource) StopAccepting() {}

func (r *datagramResource) Close() {
	t := (*DatagramTransport)(r)
	t.forceClose(&OpError{"close", "", loop.ErrClosed})
	t.lose()
}

func (r *datagramResource) Join() { r.wg.Wait() }

func (r *datagramResource) String() string { return (*DatagramTransport)(r).String() }
