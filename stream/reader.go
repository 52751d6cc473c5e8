package stream

import (
	"bytes"
	"fmt"
	"io"

	"github.com/aio-go/aio/future"
	"github.com/aio-go/aio/internal/hooks"
	"github.com/aio-go/aio/loop"
)

// DefaultLimit is the buffer limit of a Reader made with a limit <= 0:
// asyncio's _DEFAULT_LIMIT, 64 KiB.
const DefaultLimit = 64 << 10

// Source is what a Reader asks to stop and start sending bytes: the
// transport that feeds it. A *Transport satisfies it. The Reader calls it on
// the loop goroutine, never twice in a row with the same method.
type Source interface {
	PauseReading()
	ResumeReading()
}

// IncompleteReadError is asyncio's IncompleteReadError: the stream ended
// (FeedEOF) before ReadExactly had its count or ReadUntil its separator.
// The read consumed what was left, and Partial holds it.
//
// It matches io.ErrUnexpectedEOF, and also io.EOF when Partial is empty (the
// stream ended on a boundary between reads), so that errors.Is(err, io.EOF)
// tells a clean end from a truncated message.
type IncompleteReadError struct {
	Partial  []byte // the bytes read before the end of the stream
	Expected int    // the count ReadExactly wanted, or -1 for ReadUntil
}

// Error describes how much was read of what was expected.
func (e *IncompleteReadError) Error() string {
	if e.Expected < 0 {
		return fmt.Sprintf("stream: incomplete read: %d bytes before EOF, separator not found", len(e.Partial))
	}
	return fmt.Sprintf("stream: incomplete read: %d of %d bytes before EOF", len(e.Partial), e.Expected)
}

// Is reports whether target is io.ErrUnexpectedEOF, or io.EOF with nothing
// read.
func (e *IncompleteReadError) Is(target error) bool {
	return target == io.ErrUnexpectedEOF || target == io.EOF && len(e.Partial) == 0
}

// LimitOverrunError is asyncio's LimitOverrunError: ReadUntil or ReadLine
// found more than the Reader's limit of bytes before the separator, or no
// separator within them. Nothing was consumed: the data stays readable, and
// Consumed says how much of it to take (with Read or ReadExactly) to get
// past the part known to hold no start of the separator.
type LimitOverrunError struct {
	Consumed int // bytes at the front of the buffer with no separator starting in them
	Limit    int // the Reader's limit
}

// Error says how far the separator was looked for.
func (e *LimitOverrunError) Error() string {
	return fmt.Sprintf("stream: limit overrun: no separator starts in the first %d bytes (limit %d)", e.Consumed, e.Limit)
}

// Reader is asyncio's StreamReader: a buffer of bytes that its protocol
// fills (Feed, FeedEOF, SetError) and that one task at a time reads from,
// suspending until the bytes it asks for have arrived (Read, ReadExactly,
// ReadLine, ReadUntil).
//
// One task at a time reads: a read called while another task waits in one
// panics. A read that fails consumes nothing, except at the end of the
// stream, where an *IncompleteReadError hands over what was left. The
// Reader holds its Source back while it buffers more than twice its limit
// (see SetSource).
//
// Differences from asyncio:
//   - After SetError, the bytes buffered are still read first; asyncio
//     raises the exception from every read at once.
//   - Any read called while another task waits panics; asyncio raises only
//     if the second read has to wait too.
//   - A cancelled read consumes nothing, Read(-1) included (asyncio's loses
//     the blocks it had gathered).
//   - Read reports the end with io.EOF, and ReadLine does once the last
//     partial line is read (asyncio returns b""). An *IncompleteReadError
//     with nothing read also matches io.EOF.
//   - ReadLine's limit overrun is a *LimitOverrunError that leaves the
//     data readable (asyncio discards it and raises ValueError).
//   - A Feed while a read waits does not pause the source; the read
//     pauses it, if need be, as it returns.
//
// A Reader is made for one loop. Its methods must be called on the loop
// goroutine.
type Reader struct {
	// Invariants:
	//
	//  1. At most one read waits at a time, on r.waiter; a read called while
	//     another waits panics. Feed, FeedEOF and SetError wake it.
	//  2. A read consumes bytes only when it returns them: a read that fails
	//     (cancelled, loop closed, SetError, limit overrun) leaves the buffer
	//     as it was. The exception is IncompleteReadError, which hands over
	//     what was left of an ended stream.
	//  3. Flow control, by the limit L: the source is paused when the buffer
	//     holds more than 2L bytes and no read waits for more, and resumed
	//     when a read leaves at most L bytes, or has to wait for more (so that
	//     a read of more than 2L bytes cannot stall). A waiting read may see
	//     the buffer grow past 2L; the source is paused, if need be, as the
	//     read returns.
	//  4. The buffer is pooled (takeFeedBuffer) from the first Feed until a
	//     read that finds it empty waits; while the caller holds the slice of
	//     the last Next (lent), no byte before off is moved or overwritten.

	l      *loop.Loop
	limit  int
	buf    []byte // the bytes buffered are buf[off:]
	off    int
	eof    bool
	err    error
	waiter *future.Future[struct{}] // the waiting read's wake-up, or nil
	src    Source
	paused bool   // the Reader wants its source paused (told to src if set)
	lent   bool   // buf[:off] holds the bytes of the last Next, still the caller's
	old    []byte // or old holds them: buf was replaced meanwhile
}

// NewReader returns an empty Reader for l with a buffer limit of limit
// bytes, or DefaultLimit if limit is 0: asyncio's StreamReader(limit,
// loop). The limit bounds the line or chunk that ReadLine and ReadUntil
// accept, and sets the flow control thresholds (see SetSource). It panics
// if l is nil or limit is negative.
//
// Must be called on the loop goroutine.
func NewReader(l *loop.Loop, limit int) *Reader {
	if l == nil {
		panic("stream: NewReader: nil loop")
	}
	if limit < 0 {
		panic(fmt.Sprintf("stream: NewReader: negative limit %d", limit))
	}
	if limit == 0 {
		limit = DefaultLimit
	}
	return &Reader{l: l, limit: limit}
}

// SetSource is asyncio's StreamReader.set_transport: from now on the Reader
// calls s.PauseReading when it holds more than twice its limit while no
// read waits for more, and s.ResumeReading when a read leaves it at most
// its limit, or has to wait for more bytes. If the Reader holds its current
// source paused, s is paused at once, and the old source is left as it is.
// A nil s detaches the source.
//
// Must be called on the loop goroutine.
func (r *Reader) SetSource(s Source) {
	r.check("SetSource")
	r.src = s
	if s != nil && r.paused {
		s.PauseReading()
	}
}

// Feed is asyncio's StreamReader.feed_data: it appends a copy of data to the
// buffer and wakes the waiting read; if no read waits and the buffer now
// holds more than twice the limit, it pauses the source. Feeding no bytes
// does nothing. It panics if FeedEOF has been called.
//
// Must be called on the loop goroutine.
func (r *Reader) Feed(data []byte) {
	r.check("Feed")
	if r.eof {
		panic("stream: Reader.Feed: called after FeedEOF")
	}
	if len(data) == 0 {
		return
	}
	if len(r.buf)+len(data) > cap(r.buf) {
		r.grow(len(data))
	}
	r.buf = append(r.buf, data...)
	if r.waiter != nil && !r.waiter.Done() {
		r.waiter.SetResult(struct{}{})
		return
	}
	r.flow() // a read that was woken and has not run yet waits for no more
}

// FeedEOF is asyncio's StreamReader.feed_eof: the stream has ended. The
// bytes buffered stay readable; then reads report the end (see each read).
// It wakes the waiting read. Calling it again does nothing.
//
// Must be called on the loop goroutine.
func (r *Reader) FeedEOF() {
	r.check("FeedEOF")
	r.eof = true
	r.wake()
}

// SetError is asyncio's StreamReader.set_exception: the connection failed
// with err. The bytes buffered stay readable: a read that can complete from
// them does. A read that would have to wait for more bytes, or would report
// the end of the stream, returns err instead, consuming nothing; the
// waiting read is woken to do so, and every later such read does the same.
// err takes precedence over FeedEOF. Only the first error is kept; SetError
// panics if err is nil.
//
// Must be called on the loop goroutine.
func (r *Reader) SetError(err error) {
	r.check("SetError")
	if err == nil {
		panic("stream: Reader.SetError: nil error")
	}
	if r.err == nil {
		r.err = err
	}
	r.wake()
}

// Err is asyncio's StreamReader.exception: the error given to SetError, or
// nil.
//
// Must be called on the loop goroutine.
func (r *Reader) Err() error {
	r.check("Err")
	return r.err
}

// AtEOF is asyncio's StreamReader.at_eof: it reports whether FeedEOF has
// been called and every byte has been read.
//
// Must be called on the loop goroutine.
func (r *Reader) AtEOF() bool {
	r.check("AtEOF")
	return r.eof && r.buffered() == 0
}

// Buffered returns the number of bytes that can be read without waiting.
//
// Must be called on the loop goroutine.
func (r *Reader) Buffered() int {
	r.check("Buffered")
	return r.buffered()
}

// Read is asyncio's StreamReader.read(n). With n > 0 it returns up to n
// bytes, as soon as at least one is buffered, waiting for one if need be;
// once the stream has ended and every byte is read, it returns io.EOF. With
// n == 0 it returns no bytes and a nil error at once. With n < 0 it is
// io.ReadAll: it waits for the end of the stream and returns every byte
// left, with a nil error even if there is none.
//
// If SetError was called, a Read that finds no byte buffered (n < 0: any
// Read) returns that error.
//
// Cancellation: if the task is cancelled while waiting, Read returns an
// error matching future.ErrCancelled and consumes nothing. If the loop
// closes, Read returns an error matching loop.ErrClosed and consumes
// nothing.
//
// It panics if another task is waiting in a read of r. Must be called on
// the loop goroutine.
func (r *Reader) Read(co *loop.Coro, n int) ([]byte, error) {
	r.enter("Read")
	if n == 0 {
		return nil, nil
	}
	defer r.flow()
	for {
		b := r.buffered()
		switch {
		case n > 0 && b > 0:
			return r.take(min(n, b)), nil
		case r.err != nil:
			return nil, r.err
		case r.eof && n > 0:
			return nil, io.EOF
		case r.eof:
			if b == 0 {
				return []byte{}, nil
			}
			return r.take(b), nil
		}
		if err := r.wait(co); err != nil {
			return nil, err
		}
	}
}

// Next returns up to n buffered bytes without copying them, as soon as at
// least one is buffered, waiting for one if need be; once the stream has
// ended and every byte is read, it returns io.EOF. As with bytes.Buffer's
// Next, the slice is only valid until the next read of r: it is the
// Reader's own buffer, which is reused. So a loop of Next and Writer.Write
// (which copies what it cannot send at once) allocates nothing per chunk,
// and an idle stream holds no buffer. It panics if n <= 0.
//
// If SetError was called, a Next that finds no byte buffered returns that
// error.
//
// Cancellation: if the task is cancelled while waiting, Next returns an
// error matching future.ErrCancelled and consumes nothing. If the loop
// closes, it returns an error matching loop.ErrClosed and consumes nothing.
//
// It panics if another task is waiting in a read of r. Must be called on
// the loop goroutine.
func (r *Reader) Next(co *loop.Coro, n int) ([]byte, error) {
	r.enter("Next")
	if n <= 0 {
		panic(fmt.Sprintf("stream: Reader.Next: count %d, want > 0", n))
	}
	defer r.flow()
	for {
		switch b := r.buffered(); {
		case b > 0:
			p := r.buf[r.off : r.off+min(n, b) : r.off+min(n, b)]
			r.off += len(p)
			r.lent = true
			return p, nil
		case r.err != nil:
			return nil, r.err
		case r.eof:
			return nil, io.EOF
		}
		if err := r.wait(co); err != nil {
			return nil, err
		}
	}
}

// ReadExactly is asyncio's StreamReader.readexactly(n): it waits until n
// bytes are buffered and returns them. If the stream ends first, it
// returns the bytes that were left, and an *IncompleteReadError holding
// them too (matching io.ErrUnexpectedEOF), as io.ReadFull does. If
// SetError was called, a ReadExactly that cannot complete from the buffer
// returns that error and consumes nothing. It panics if n < 0.
//
// Cancellation: if the task is cancelled while waiting, ReadExactly
// returns an error matching future.ErrCancelled and consumes nothing, even
// if some of the n bytes had arrived. If the loop closes, it returns an
// error matching loop.ErrClosed and consumes nothing.
//
// It panics if another task is waiting in a read of r. Must be called on
// the loop goroutine.
func (r *Reader) ReadExactly(co *loop.Coro, n int) ([]byte, error) {
	r.enter("ReadExactly")
	if n < 0 {
		panic(fmt.Sprintf("stream: Reader.ReadExactly: negative count %d", n))
	}
	defer r.flow()
	for {
		b := r.buffered()
		switch {
		case b >= n:
			return r.take(n), nil
		case r.err != nil:
			return nil, r.err
		case r.eof:
			p := r.take(b)
			return p, &IncompleteReadError{Partial: p, Expected: n}
		}
		if err := r.wait(co); err != nil {
			return nil, err
		}
	}
}

var newline = []byte{'\n'}

// ReadLine is asyncio's StreamReader.readline: it waits for a "\n" and
// returns the line up to and including it. If the stream ends first, it
// returns the partial line with a nil error, and io.EOF once nothing is
// left. Otherwise it fails as ReadUntil(co, "\n") does: with a
// *LimitOverrunError for a line longer than the limit (the data stays
// readable, where asyncio discards it and raises ValueError), or with the
// error given to SetError.
//
// Cancellation: if the task is cancelled while waiting, ReadLine returns
// an error matching future.ErrCancelled and consumes nothing: the part of
// the line that had arrived stays buffered. If the loop closes, it returns
// an error matching loop.ErrClosed and consumes nothing.
//
// It panics if another task is waiting in a read of r. Must be called on
// the loop goroutine.
func (r *Reader) ReadLine(co *loop.Coro) ([]byte, error) {
	r.enter("ReadLine")
	defer r.flow()
	p, ended, err := r.readUntil(co, newline)
	if ended && len(p) == 0 {
		return nil, io.EOF
	}
	return p, err
}

// ReadUntil is asyncio's StreamReader.readuntil(sep): it waits for sep and
// returns the bytes up to and including it. It fails, consuming nothing:
//   - with a *LimitOverrunError as soon as the buffer holds more than the
//     limit of bytes with no sep starting in them, or sep starts past the
//     limit (a chunk of up to limit bytes plus sep is accepted); the data
//     stays readable, so the caller may skip LimitOverrunError.Consumed
//     bytes and try again;
//   - with the error given to SetError, if it would have to wait.
//
// If the stream ends first, ReadUntil returns the bytes that were left, and
// an *IncompleteReadError holding them too (matching io.ErrUnexpectedEOF).
// It panics if sep is empty.
//
// Cancellation: if the task is cancelled while waiting, ReadUntil returns
// an error matching future.ErrCancelled and consumes nothing. If the loop
// closes, it returns an error matching loop.ErrClosed and consumes nothing.
//
// It panics if another task is waiting in a read of r. Must be called on
// the loop goroutine.
func (r *Reader) ReadUntil(co *loop.Coro, sep []byte) ([]byte, error) {
	r.enter("ReadUntil")
	if len(sep) == 0 {
		panic("stream: Reader.ReadUntil: empty separator")
	}
	defer r.flow()
	p, ended, err := r.readUntil(co, sep)
	if ended {
		return p, &IncompleteReadError{Partial: p, Expected: -1}
	}
	return p, err
}

// readUntil is ReadUntil and ReadLine: it returns the bytes up to and
// including sep, or, with ended, what was left of an ended stream.
func (r *Reader) readUntil(co *loop.Coro, sep []byte) (p []byte, ended bool, err error) {
	// Bytes only arrive while the read waits (invariant 1), so the search
	// goes on from where the last one stopped: buf[off:off+from] holds no
	// start of sep.
	from := 0
	for {
		data := r.buf[r.off:]
		if len(data)-from >= len(sep) {
			if i := bytes.Index(data[from:], sep); i >= 0 {
				i += from
				if i > r.limit {
					return nil, false, &LimitOverrunError{Consumed: i, Limit: r.limit}
				}
				return r.take(i + len(sep)), false, nil
			}
			from = len(data) + 1 - len(sep)
			if from > r.limit {
				return nil, false, &LimitOverrunError{Consumed: from, Limit: r.limit}
			}
		}
		switch {
		case r.err != nil:
			return nil, false, r.err
		case r.eof:
			return r.take(len(data)), true, nil
		}
		if err := r.wait(co); err != nil {
			return nil, false, err
		}
	}
}

// enter is the entry of every read, op its name: the goroutine check, and
// invariant 1.
func (r *Reader) enter(op string) {
	r.check(op)
	if r.waiter != nil {
		panic("stream: Reader." + op + ": another task is already reading")
	}
	if r.lent {
		// The slice of the last Next is no longer valid: its bytes may be
		// reused.
		r.lent = false
		if r.off == len(r.buf) {
			r.buf, r.off = r.buf[:0], 0
		}
	}
	if r.old != nil {
		putFeedBuffer(r.old)
		r.old = nil
	}
}

// wait parks the task until Feed, FeedEOF or SetError wakes it, resuming
// the source first (invariant 3). It returns Await's error: a cancellation
// or the loop closing.
func (r *Reader) wait(co *loop.Coro) error {
	if r.buffered() == 0 && r.buf != nil {
		putFeedBuffer(r.buf) // an idle stream holds no buffer
		r.buf, r.off = nil, 0
	}
	if r.paused {
		r.paused = false
		if r.src != nil {
			r.src.ResumeReading()
		}
	}
	r.waiter = future.New[struct{}](r.l)
	_, err := loop.Await(co, r.waiter)
	r.waiter = nil
	return err
}

// wake wakes the waiting read, if any.
func (r *Reader) wake() {
	if r.waiter != nil {
		r.waiter.SetResult(struct{}{})
	}
}

// flow pauses or resumes the source by the size of the buffer (invariant
// 3). It is called when no read waits: after a Feed, and as a read
// returns.
func (r *Reader) flow() {
	n := r.buffered()
	switch {
	case !r.paused && n > 2*r.limit && !r.eof && r.err == nil:
		r.paused = true
		if r.src != nil {
			r.src.PauseReading()
		}
	case r.paused && n <= r.limit:
		r.paused = false
		if r.src != nil {
			r.src.ResumeReading()
		}
	}
}

func (r *Reader) buffered() int { return len(r.buf) - r.off }

// take consumes and returns the first n buffered bytes, in a slice the
// Reader no longer refers to: all of them hands over the buffer itself,
// unless it is pooled.
func (r *Reader) take(n int) []byte {
	if n == r.buffered() && !pooled(r.buf) {
		p := r.buf[r.off:len(r.buf):len(r.buf)]
		r.buf, r.off = nil, 0
		return p
	}
	p := bytes.Clone(r.buf[r.off : r.off+n])
	r.off += n
	if r.off == len(r.buf) {
		r.buf, r.off = r.buf[:0], 0
	}
	return p
}

// check is debug mode's check that the caller runs loop code of r's loop
// (loop.WithDebug); otherwise it costs one atomic load.
func (r *Reader) check(op string) {
	if hooks.Debugging.Load() != 0 {
		hooks.Loop.Check(r.l, "stream.Reader."+op)
	}
}

// A Reader's buffer comes from the read buffers' pools when the first
// bytes arrive and goes back when a read has emptied it and waits, so that
// a stream read with ReadInto allocates nothing per chunk and an idle one
// holds no buffer. A buffer of another size (grown past the largest class,
// or handed to a caller by take) is left to the garbage collector.

// grow makes room for n more bytes: the buffered bytes slide to the front
// if that makes room and the last Next's bytes are not in the way;
// otherwise they move to another buffer, twice as large if need be, and
// the old one goes back to its pool (at the next read, if it holds the
// last Next's bytes).
func (r *Reader) grow(n int) {
	b := r.buffered()
	if !r.lent && b+n <= cap(r.buf) {
		copy(r.buf, r.buf[r.off:])
		r.buf, r.off = r.buf[:b], 0
		return
	}
	size := cap(r.buf)
	if b+n > size {
		size = max(b+n, 2*size)
	}
	nb := append(takeFeedBuffer(size), r.buf[r.off:]...)
	if r.lent {
		r.old = r.buf // the caller's until the next read
	} else {
		putFeedBuffer(r.buf)
	}
	r.buf, r.off, r.lent = nb, 0, false
}

// takeFeedBuffer returns an empty buffer for at least n bytes: a pooled
// one if n fits the largest class.
func takeFeedBuffer(n int) []byte {
	if n > maxFeedBuffer {
		return make([]byte, 0, n)
	}
	class := 0
	for minReadBuffer<<class < n {
		class++
	}
	if v, ok := readPools[class].Get().(*[]byte); ok {
		return (*v)[:0]
	}
	return make([]byte, 0, minReadBuffer<<class)
}

// pooled reports whether b has the capacity of a pooled buffer.
func pooled(b []byte) bool {
	c := cap(b)
	return c >= minReadBuffer && c <= maxFeedBuffer && c&(c-1) == 0
}

// putFeedBuffer gives b back to its pool if it is a pooled size.
func putFeedBuffer(b []byte) {
	if !pooled(b) {
		return
	}
	class := 0
	for minReadBuffer<<class < cap(b) {
		class++
	}
	b = b[:cap(b)]
	readPools[class].Put(&b)
}
