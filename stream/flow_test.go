package stream_test

import (
	"errors"
	"io"
	"net"
	"sync/atomic"
	"testing"
	"testing/synctest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aio-go/aio/loop"
	"github.com/aio-go/aio/stream"
)

// Flow control over a large transfer, both directions, in virtual time
// over net.Pipe (and the writes over loopback TCP too, on each path): the
// bytes buffered on each side stay bounded however much the peer sends or
// refuses, and every byte arrives in order.

// bigTransfer is the size of the large transfers: 256 MiB, 16 MiB under
// the race detector.
func bigTransfer() int {
	if raceEnabled {
		return 16 << 20
	}
	return 256 << 20
}

// patterned hands out slices of the pattern stream (byte i is i%251)
// without allocating: slice(off, n) is pattern(off, n) for n <= chunk.
type patterned struct{ buf []byte }

func newPatterned(chunk int) patterned { return patterned{pattern(0, chunk+251)} }

func (p patterned) slice(off, n int) []byte { return p.buf[off%251 : off%251+n] }

// checker counts the bytes of a pattern stream and remembers the offset of
// the first byte out of place.
type checker struct {
	n   int
	bad int // offset of the first wrong byte, -1 if none
}

func newChecker() *checker { return &checker{bad: -1} }

func (c *checker) add(b []byte) {
	if c.bad < 0 {
		for i, x := range b {
			if x != byte((c.n+i)%251) {
				c.bad = c.n + i
				break
			}
		}
	}
	c.n += len(b)
}

// readPattern reads c to its end through a checker.
func readPattern(c net.Conn) *checker {
	ck := newChecker()
	buf := make([]byte, 64<<10)
	for {
		n, err := c.Read(buf)
		ck.add(buf[:n])
		if err != nil {
			return ck
		}
	}
}

// writePattern writes total pattern bytes to c in pieces of piece bytes,
// counting them in written, and closes c.
func writePattern(c net.Conn, total, piece int, written *atomic.Int64) {
	defer c.Close()
	p := newPatterned(piece)
	for off := 0; off < total; {
		n, err := c.Write(p.slice(off, min(piece, total-off)))
		off += n
		written.Add(int64(n))
		if err != nil {
			return
		}
	}
}

// TestFlowControlLarge: a protocol writing 256 MiB with Write, stopping at
// PauseWriting and going on at ResumeWriting, to a peer that does not read
// at first, never holds more than the high-water mark plus one chunk, and
// the peer gets every byte in order once it reads.
func TestFlowControlLarge(t *testing.T) {
	forEachPath(t, func(t *testing.T, p path) {
		total := bigTransfer()
		const chunk = 64 << 10
		a, b := p.pair(t, false)
		startReading := make(chan struct{})
		var got *checker
		wait := peer(b, func(c net.Conn) {
			<-startReading
			got = readPattern(c)
			c.Close()
		})
		src := newPatterned(chunk)
		var sent, maxBuffered, bufferedWhileStalled int
		var tr *stream.Transport
		r := &recorder{}
		pump := func() {
			for sent < total && r.pauses == r.resumes {
				n := min(chunk, total-sent)
				if err := tr.Write(src.slice(sent, n)); err != nil {
					r.err = err
					return
				}
				sent += n
				maxBuffered = max(maxBuffered, tr.WriteBufferSize())
			}
			if sent >= total {
				tr.Close()
			}
		}
		r.onResume = func(*recorder) { pump() }
		run(t, func(co *loop.Coro) error {
			tr = stream.Adopt(co.Loop(), a, r, p.opts...)
			if err := r.wait(co, func() bool { return r.made > 0 }); err != nil {
				return err
			}
			pump()
			p.settle(co)
			if r.pauses != 1 || r.resumes != 0 {
				return errors.New("the writer is not paused while the peer does not read")
			}
			bufferedWhileStalled = tr.WriteBufferSize()
			close(startReading)
			return r.wait(co, r.isLost)
		})
		wait()
		t.Logf("%d MiB sent, %d pauses, max buffered %d bytes (high-water %d), %d buffered while the peer stalled",
			total>>20, r.pauses, maxBuffered, stream.DefaultHighWater, bufferedWhileStalled)
		assert.NoError(t, r.err)
		assert.Equal(t, total, sent)
		require.NotNil(t, got)
		assert.Equal(t, total, got.n, "every byte arrives")
		assert.Equal(t, -1, got.bad, "the bytes arrive in order")
		assert.Greater(t, bufferedWhileStalled, stream.DefaultHighWater)
		assert.LessOrEqual(t, maxBuffered, stream.DefaultHighWater+chunk, "buffered bytes stay within high + one chunk")
		assert.Greater(t, r.resumes, 1)
	})
}

// TestDrainLarge: a streams writer writing 256 MiB with Write and Drain to
// a peer that does not read at first holds at most the high-water mark
// plus one chunk, and the peer gets every byte in order once it reads.
func TestDrainLarge(t *testing.T) {
	forEachPath(t, func(t *testing.T, p path) {
		total := bigTransfer()
		const chunk = 64 << 10
		a, b := p.pair(t, false)
		startReading := make(chan struct{})
		release := startReading // startReading is the task's, set to nil once closed
		var got *checker
		wait := peer(b, func(c net.Conn) {
			<-release
			got = readPattern(c)
			c.Close()
		})
		src := newPatterned(chunk)
		var sent, maxBuffered, bufferedWhileStalled, stalledDrains int
		run(t, func(co *loop.Coro) error {
			_, w := stream.AdoptStreams(co.Loop(), a, p.opts...)
			for sent < total {
				n := min(chunk, total-sent)
				if err := w.Write(src.slice(sent, n)); err != nil {
					return err
				}
				sent += n
				maxBuffered = max(maxBuffered, w.Transport().WriteBufferSize())
				if startReading != nil && w.Transport().WriteBufferSize() > stream.DefaultHighWater {
					// The peer has not read yet: Drain must not return.
					drained := loop.Spawn(co.Loop(), func(co *loop.Coro) (struct{}, error) { return struct{}{}, w.Drain(co) })
					p.settle(co)
					if drained.Done() {
						stalledDrains++
					}
					bufferedWhileStalled = w.Transport().WriteBufferSize()
					close(startReading)
					startReading = nil
					if _, err := drained.Await(co); err != nil {
						return err
					}
					continue
				}
				if err := w.Drain(co); err != nil {
					return err
				}
			}
			if err := w.Close(); err != nil {
				return err
			}
			return w.WaitClosed(co)
		})
		wait()
		t.Logf("%d MiB sent, max buffered %d bytes (high-water %d), %d buffered while the peer stalled",
			total>>20, maxBuffered, stream.DefaultHighWater, bufferedWhileStalled)
		assert.Equal(t, total, sent)
		assert.Nil(t, startReading, "the buffer passed the high-water mark")
		assert.Zero(t, stalledDrains, "Drain returned while the peer did not read")
		require.NotNil(t, got)
		assert.Equal(t, total, got.n, "every byte arrives")
		assert.Equal(t, -1, got.bad, "the bytes arrive in order")
		assert.LessOrEqual(t, maxBuffered, stream.DefaultHighWater+chunk, "buffered bytes stay within high + one chunk")
	})
}

// countingProtocol checks the pattern stream it receives and pauses
// reading every `every` bytes.
type countingProtocol struct {
	recorder
	ck    *checker
	every int
	next  int
}

func (p *countingProtocol) DataReceived(b []byte) {
	p.ck.add(b)
	if p.ck.n >= p.next {
		p.next += p.every
		p.t.PauseReading()
	}
	p.add("data")
}

// TestPauseReadingLarge: a peer writing 256 MiB into a transport that
// pauses reading every 16 MiB gets rid of no more than one read buffer
// (and the piece in flight) beyond what was delivered while it is paused,
// nothing is delivered while paused, and every byte arrives in order.
func TestPauseReadingLarge(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		total := bigTransfer()
		const piece = 32 << 10
		a, b := net.Pipe()
		var written atomic.Int64
		wait := peer(b, func(c net.Conn) { writePattern(c, total, piece, &written) })
		p := &countingProtocol{ck: newChecker(), every: total / 16}
		p.next = p.every
		rounds, maxAhead, deliveredWhilePaused := 0, int64(0), 0
		run(t, func(co *loop.Coro) error {
			tr := stream.Adopt(co.Loop(), a, p)
			for {
				if err := p.wait(co, func() bool { return p.isLost() || !tr.IsReading() }); err != nil {
					return err
				}
				if p.isLost() {
					return nil
				}
				rounds++
				seen := p.ck.n
				synctestWait(co) // the peer runs until it blocks
				deliveredWhilePaused += p.ck.n - seen
				maxAhead = max(maxAhead, written.Load()-int64(p.ck.n))
				tr.ResumeReading()
			}
		})
		wait()
		t.Logf("%d MiB received in %d paused rounds; the peer was at most %d bytes ahead of delivery while paused",
			total>>20, rounds, maxAhead)
		assert.NoError(t, p.err)
		assert.GreaterOrEqual(t, rounds, 15)
		assert.Zero(t, deliveredWhilePaused, "nothing is delivered while paused")
		assert.LessOrEqual(t, maxAhead, int64(64<<10+piece), "one read buffer and one piece at most")
		assert.Equal(t, total, p.ck.n, "every byte arrives")
		assert.Equal(t, -1, p.ck.bad, "the bytes arrive in order")
	})
}

// TestReaderBoundsLargeInput: a streams Reader whose task stops reading
// for a while every 16 MiB holds at most twice its limit plus one read
// buffer, since it pauses the transport, and the peer gets no further
// ahead than that plus one piece; every byte arrives in order.
func TestReaderBoundsLargeInput(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		total := bigTransfer()
		const piece = 32 << 10
		const limit = 64 << 10
		a, b := net.Pipe()
		var written atomic.Int64
		wait := peer(b, func(c net.Conn) { writePattern(c, total, piece, &written) })
		ck := newChecker()
		stalls, maxBuffered, maxAhead := 0, 0, int64(0)
		run(t, func(co *loop.Coro) error {
			r, w := stream.AdoptStreams(co.Loop(), a, stream.WithLimit(limit))
			next := total / 16
			for {
				chunk, err := r.Read(co, 16<<10)
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					return err
				}
				ck.add(chunk)
				if ck.n >= next {
					next += total / 16
					stalls++
					synctestWait(co) // a slow consumer: the peer runs until it blocks
					maxBuffered = max(maxBuffered, r.Buffered())
					maxAhead = max(maxAhead, written.Load()-int64(ck.n))
				}
			}
			return w.Close()
		})
		wait()
		t.Logf("%d MiB read with %d stalls; the Reader held at most %d bytes and the peer was at most %d bytes ahead (limit %d)",
			total>>20, stalls, maxBuffered, maxAhead, limit)
		assert.GreaterOrEqual(t, stalls, 15)
		assert.Greater(t, maxBuffered, 0, "the peer went on writing while the task stalled")
		assert.LessOrEqual(t, maxBuffered, 2*limit+64<<10, "the Reader holds at most twice its limit and one read buffer")
		assert.LessOrEqual(t, maxAhead, int64(2*limit+2*(64<<10)+piece))
		assert.Equal(t, total, ck.n, "every byte arrives")
		assert.Equal(t, -1, ck.bad, "the bytes arrive in order")
	})
}
