package stream_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"runtime"
	"slices"
	"syscall"
	"testing"
	"testing/synctest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aio-go/aio/loop"
	"github.com/aio-go/aio/stream"
)

// The behaviour table: each case is a protocol or streams scenario that
// runs on every path a connection can take, and must come out the same.
// Over net.Pipe it runs in a synctest bubble (virtual time, the goroutine
// reader and writer); over loopback TCP outside one, on the loop's poller
// where there is one (Linux) and, with WithPortable, on the goroutines.

// A path is a way of making connections for the behaviour table.
type path struct {
	name   string
	bubble bool            // the case runs in a synctest bubble
	opts   []stream.Option // for Adopt, AdoptStreams and ServeStreams
	// big is more bytes than the path's buffers hold: of a write of big
	// to a peer that does not read, some stay in the transport's buffer.
	big int
	// gone are the errors a transport gets from a peer that closed with
	// bytes unread; one of them is in the chain.
	gone []error
}

func paths() []path {
	tcp := "tcp"
	if runtime.GOOS == "linux" {
		tcp = "tcp (poller)"
	}
	tcpGone := []error{syscall.ECONNRESET, syscall.EPIPE}
	return []path{
		{name: "pipe", bubble: true, big: 1 << 20, gone: []error{io.ErrClosedPipe}},
		{name: tcp, big: 16 << 20, gone: tcpGone},
		{name: "tcp (portable)", opts: []stream.Option{stream.WithPortable()}, big: 16 << 20, gone: tcpGone},
	}
}

// test runs body on the path: in a bubble of its own, or as it is.
func (p path) test(t *testing.T, body func(t *testing.T)) {
	if p.bubble {
		synctest.Test(t, body)
		return
	}
	body(t)
}

// pair returns the two ends of a new connection: a for the transport, b
// for the peer. With half set, both ends can half-close (CloseWrite).
func (p path) pair(t *testing.T, half bool) (a, b net.Conn) {
	t.Helper()
	if p.bubble {
		if half {
			return halfPipe()
		}
		return net.Pipe()
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	a, err = net.Dial("tcp", ln.Addr().String())
	require.NoError(t, err)
	b, err = ln.Accept()
	if err != nil {
		a.Close()
	}
	require.NoError(t, err)
	return a, b
}

// listen returns a listener of the path's conns and a func that dials it,
// to be called off the loop.
func (p path) listen(t *testing.T) (net.Listener, func() (net.Conn, error)) {
	t.Helper()
	if p.bubble {
		ln := newPipeListener()
		return ln, func() (net.Conn, error) { return ln.Dial(), nil }
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	return ln, func() (net.Conn, error) { return net.Dial("tcp", ln.Addr().String()) }
}

// settle lets the connection's other side run, from a task: in a bubble
// until every goroutine blocks; over sockets for one loop iteration, the
// kernel's side being out of reach.
func (p path) settle(co *loop.Coro) {
	if p.bubble {
		synctestWait(co)
		return
	}
	_ = loop.Sleep(co, 0)
}

// assertGone checks that err is a peer's going away on this path.
func (p path) assertGone(t *testing.T, err error, msgAndArgs ...any) {
	t.Helper()
	for _, g := range p.gone {
		if errors.Is(err, g) {
			return
		}
	}
	assert.Fail(t, "not a peer gone: "+errString(err), msgAndArgs...)
}

func errString(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}

// closeWrite half-closes c, a halfConn or a socket.
func closeWrite(c net.Conn) { _ = c.(interface{ CloseWrite() error }).CloseWrite() }

// behaviours is the table. Each case makes its connections with p.
var behaviours = []struct {
	name string
	run  func(t *testing.T, p path)
}{
	{"echo round trip", echoRoundTrip},
	{"callback order: peer writes and closes", callbackOrder(callbackCase{
		peer: func(c net.Conn) { c.Write([]byte("ab")); c.Close() },
		want: []string{"made", "data", "eof", "lost"},
	})},
	{"callback order: local Close", callbackOrder(callbackCase{
		peer:  func(c net.Conn) { io.Copy(io.Discard, c); c.Close() },
		local: func(co *loop.Coro, r *recorder) error { return r.t.Close() },
		want:  []string{"made", "lost"},
	})},
	{"callback order: local Abort", callbackOrder(callbackCase{
		peer:  func(c net.Conn) { io.Copy(io.Discard, c); c.Close() },
		local: func(co *loop.Coro, r *recorder) error { r.t.Abort(); return nil },
		want:  []string{"made", "lost"},
	})},
	{"callback order: Close twice and Abort after Close", callbackOrder(callbackCase{
		peer:  func(c net.Conn) { io.Copy(io.Discard, c); c.Close() },
		local: func(co *loop.Coro, r *recorder) error { r.t.Close(); r.t.Close(); r.t.Abort(); return nil },
		want:  []string{"made", "lost"},
	})},
	{"callback order: EOF kept open, then the protocol writes and closes", callbackOrder(callbackCase{
		peer: func(c net.Conn) {
			c.Write([]byte("ping"))
			closeWrite(c)
			io.Copy(io.Discard, c)
			c.Close()
		},
		keep: true,
		local: func(co *loop.Coro, r *recorder) error {
			if err := r.wait(co, func() bool { return r.eofs > 0 }); err != nil {
				return err
			}
			if err := r.t.Write([]byte("pong")); err != nil {
				return err
			}
			return r.t.Close()
		},
		want: []string{"made", "data", "eof", "lost"},
	})},
	{"WriteEOF: the peer reads the data then EOF, and still writes", writeEOFThenRead},
	{"EOF not kept open closes the transport after flushing", eofClosesAfterFlush},
	{"WriteEOF waits for the buffer", writeEOFAfterBuffer},
	{"WriteBuffers keeps the order, then Close flushes", writeBuffers},
	{"Close flushes", closeFlushes},
	{"Abort drops", abortDrops},
	{"flow control", flowControl},
	{"peer gone mid-write", peerGoneMidWrite},
	{"protocol panic aborts", protocolPanicAborts},
	{"streams: line echo", streamsLineEcho},
	{"streams: reads through the transport", readsThroughTransport},
	{"streams: Drain", drain},
	{"streams: Drain when the peer goes", drainPeerGone},
	{"streams: Drain after Close", drainAfterClose},
	{"streams: WaitClosed after Close, and again", waitClosedAfterClose},
	{"streams: half-close", streamsHalfClose},
}

// forEachPath runs body as a subtest on each path.
func forEachPath(t *testing.T, body func(t *testing.T, p path)) {
	for _, p := range paths() {
		t.Run(p.name, func(t *testing.T) {
			p.test(t, func(t *testing.T) { body(t, p) })
		})
	}
}

// TestBehaviours runs the behaviour table on every path.
func TestBehaviours(t *testing.T) {
	for _, p := range paths() {
		t.Run(p.name, func(t *testing.T) {
			for _, b := range behaviours {
				t.Run(b.name, func(t *testing.T) {
					p.test(t, func(t *testing.T) { b.run(t, p) })
				})
			}
		})
	}
}

func echoRoundTrip(t *testing.T, p path) {
	a, b := p.pair(t, false)
	var got []byte
	var readErr error
	wait := peer(b, func(c net.Conn) {
		_, _ = c.Write([]byte("hello, loop"))
		got = make([]byte, len("hello, loop"))
		_, readErr = io.ReadFull(c, got)
		c.Close()
	})
	e := &echo{}
	r := &recorder{}
	run(t, func(co *loop.Coro) error {
		// The recorder wraps the echo.
		r.onData = func(r *recorder, b []byte) { e.DataReceived(b) }
		r.onMade = func(r *recorder) { e.ConnectionMade(r.t) }
		stream.Adopt(co.Loop(), a, r, p.opts...)
		return r.wait(co, r.isLost)
	})
	wait()
	require.NoError(t, readErr)
	assert.Equal(t, "hello, loop", string(got))
	assert.Equal(t, "hello, loop", string(r.data))
	assert.Equal(t, []string{"made", "data", "eof", "lost"}, r.trace)
	assert.NoError(t, r.err)
}

// callbackCase is a way a connection ends, and the protocol's callbacks
// it gives.
type callbackCase struct {
	peer  func(c net.Conn)                       // the far end
	local func(co *loop.Coro, r *recorder) error // on the loop, after ConnectionMade
	keep  bool                                   // EOFReceived's answer; the pair half-closes
	want  []string
}

func callbackOrder(tc callbackCase) func(t *testing.T, p path) {
	return func(t *testing.T, p path) {
		a, b := p.pair(t, tc.keep)
		wait := peer(b, tc.peer)
		r := &recorder{keepOpen: tc.keep}
		run(t, func(co *loop.Coro) error {
			stream.Adopt(co.Loop(), a, r, p.opts...)
			if err := r.wait(co, func() bool { return r.made > 0 }); err != nil {
				return err
			}
			if tc.local != nil {
				if err := tc.local(co, r); err != nil {
					return err
				}
			}
			return r.wait(co, r.isLost)
		})
		wait()
		assert.Equal(t, tc.want, r.trace)
		assert.Equal(t, 1, r.made)
		assert.Equal(t, 1, r.losts)
		assert.NoError(t, r.err)
	}
}

func writeEOFThenRead(t *testing.T, p path) {
	a, b := p.pair(t, true)
	var got []byte
	wait := peer(b, func(c net.Conn) {
		got, _ = io.ReadAll(c) // until the transport's WriteEOF
		c.Write([]byte("after your EOF"))
		c.Close()
	})
	r := &recorder{}
	var writeErr error
	run(t, func(co *loop.Coro) error {
		tr := stream.Adopt(co.Loop(), a, r, p.opts...)
		if !tr.CanWriteEOF() {
			return errors.New("the conn can write EOF")
		}
		tr.Write([]byte("data"))
		if err := tr.WriteEOF(); err != nil {
			return err
		}
		if err := tr.WriteEOF(); err != nil {
			return err
		}
		writeErr = tr.Write([]byte("late"))
		return r.wait(co, r.isLost)
	})
	wait()
	assert.Equal(t, "data", string(got))
	assert.Equal(t, "after your EOF", string(r.data))
	assert.ErrorIs(t, writeErr, stream.ErrWriteAfterEOF)
	assert.Equal(t, []string{"made", "data", "eof", "lost"}, r.trace)
}

func eofClosesAfterFlush(t *testing.T, p path) {
	a, b := p.pair(t, true)
	var got []byte
	wait := peer(b, func(c net.Conn) {
		closeWrite(c)
		got, _ = io.ReadAll(c)
		c.Close()
	})
	r := &recorder{onEOF: func(r *recorder) { r.t.Write([]byte("last words")) }}
	run(t, func(co *loop.Coro) error {
		stream.Adopt(co.Loop(), a, r, p.opts...)
		return r.wait(co, r.isLost)
	})
	wait()
	assert.Equal(t, "last words", string(got))
	assert.Equal(t, []string{"made", "eof", "lost"}, r.trace)
	assert.NoError(t, r.err)
}

// writeEOFAfterBuffer: WriteEOF behind more than the conn takes at once
// half-closes once every byte is written; the peer still answers.
func writeEOFAfterBuffer(t *testing.T, p path) {
	a, b := p.pair(t, true)
	big := pattern(0, p.big)
	wrote := make(chan struct{}) // the peer reads once everything is written
	var got []byte
	wait := peer(b, func(c net.Conn) {
		<-wrote
		got, _ = io.ReadAll(c)
		c.Write([]byte("bye"))
		c.Close()
	})
	r := &recorder{}
	var buffered int
	run(t, func(co *loop.Coro) error {
		tr := stream.Adopt(co.Loop(), a, r, p.opts...)
		if err := tr.Write(big); err != nil {
			return err
		}
		buffered = tr.WriteBufferSize()
		if err := tr.WriteEOF(); err != nil {
			return err
		}
		close(wrote)
		return r.wait(co, r.isLost)
	})
	wait()
	assert.Positive(t, buffered, "the write was buffered at WriteEOF")
	assert.True(t, bytes.Equal(big, got), "every byte, then the EOF")
	assert.Equal(t, "bye", string(r.data))
	trace := slices.Compact(slices.DeleteFunc(slices.Clone(r.trace), func(ev string) bool { return ev == "pause" || ev == "resume" }))
	assert.Equal(t, []string{"made", "data", "eof", "lost"}, trace)
	assert.NoError(t, r.err)
}

// writeBuffers: WriteBuffers, one of whose buffers is more than the conn
// takes at once, and the writes around it reach the peer in order; Close
// flushes them.
func writeBuffers(t *testing.T, p path) {
	a, b := p.pair(t, false)
	wrote := make(chan struct{}) // the peer reads once everything is written
	var got []byte
	wait := peer(b, func(c net.Conn) {
		<-wrote
		got, _ = io.ReadAll(c)
		c.Close()
	})
	big := pattern(0, p.big)
	var want []byte
	r := &recorder{}
	var buffered int
	run(t, func(co *loop.Coro) error {
		tr := stream.Adopt(co.Loop(), a, r, p.opts...)
		for _, bs := range []net.Buffers{{[]byte("small;")}, {[]byte("head;"), big, []byte(";tail")}, {}, {[]byte(";after")}} {
			if err := tr.WriteBuffers(bs); err != nil {
				return err
			}
			for _, b := range bs {
				want = append(want, b...)
			}
		}
		if err := tr.Write([]byte(";last")); err != nil {
			return err
		}
		want = append(want, ";last"...)
		buffered = tr.WriteBufferSize()
		tr.Close()
		close(wrote)
		return r.wait(co, r.isLost)
	})
	wait()
	assert.Positive(t, buffered, "the buffers were buffered at Close")
	assert.Equal(t, len(want), len(got))
	assert.True(t, bytes.Equal(want, got), "every byte, in order")
	assert.Equal(t, 1, r.pauses)
	assert.NoError(t, r.err)
}

func closeFlushes(t *testing.T, p path) {
	payload := bytes.Repeat([]byte("0123456789abcdef"), p.big/16)
	a, b := p.pair(t, false)
	var got []byte
	wait := peer(b, func(c net.Conn) { got, _ = io.ReadAll(c); c.Close() })
	r := &recorder{}
	var errAfter error
	var closing bool
	run(t, func(co *loop.Coro) error {
		tr := stream.Adopt(co.Loop(), a, r, p.opts...)
		if err := tr.Write(payload); err != nil {
			return err
		}
		tr.Close()
		closing = tr.IsClosing()
		errAfter = tr.Write([]byte("x"))
		return r.wait(co, r.isLost)
	})
	wait()
	assert.Equal(t, len(payload), len(got))
	assert.True(t, bytes.Equal(payload, got))
	assert.True(t, closing)
	assert.ErrorIs(t, errAfter, stream.ErrClosed, "Write after Close is an error, not a silent drop")
	assert.NoError(t, r.err)
}

func abortDrops(t *testing.T, p path) {
	payload := bytes.Repeat([]byte("0123456789abcdef"), p.big/16)
	a, b := p.pair(t, false)
	r := &recorder{}
	var got []byte
	var wait func()
	var errAfter error
	run(t, func(co *loop.Coro) error {
		tr := stream.Adopt(co.Loop(), a, r, p.opts...)
		if err := r.wait(co, func() bool { return r.made > 0 }); err != nil {
			return err
		}
		if err := tr.Write(payload); err != nil {
			return err
		}
		// The peer has not read anything: most of the payload is
		// buffered.
		tr.Abort()
		errAfter = tr.Write([]byte("x"))
		wait = peer(b, func(c net.Conn) { got, _ = io.ReadAll(c); c.Close() })
		return r.wait(co, r.isLost)
	})
	wait()
	assert.Less(t, len(got), len(payload))
	assert.ErrorIs(t, errAfter, stream.ErrClosed)
	assert.Equal(t, []string{"made", "pause", "lost"}, r.trace)
	assert.NoError(t, r.err)
}

// flowControl: a writer to a peer that does not read is paused once its
// buffer passes the high-water mark, its buffer stays within high plus one
// chunk, and it resumes when the peer drains.
func flowControl(t *testing.T, p path) {
	a, b := p.pair(t, false)
	const chunk = 16 << 10
	total := 4 * p.big
	piece := bytes.Repeat([]byte{'z'}, chunk)
	startReading := make(chan struct{})
	var got int64
	wait := peer(b, func(c net.Conn) {
		<-startReading
		n, _ := io.Copy(io.Discard, c)
		got = n
		c.Close()
	})
	var sent, maxBuffered, atPause int
	var tr *stream.Transport
	r := &recorder{}
	pump := func() {
		for sent < total && r.pauses == r.resumes {
			tr.Write(piece)
			sent += chunk
			maxBuffered = max(maxBuffered, tr.WriteBufferSize())
		}
		if sent >= total {
			tr.Close()
		}
	}
	r.onResume = func(r *recorder) { pump() }
	r.onPause = func(r *recorder) {
		if atPause == 0 {
			atPause = tr.WriteBufferSize()
		}
	}
	run(t, func(co *loop.Coro) error {
		tr = stream.Adopt(co.Loop(), a, r, p.opts...)
		if err := r.wait(co, func() bool { return r.made > 0 }); err != nil {
			return err
		}
		pump()
		if r.pauses != 1 {
			return errors.New("no PauseWriting")
		}
		p.settle(co)
		if r.resumes != 0 {
			return errors.New("ResumeWriting while the peer does not read")
		}
		close(startReading)
		return r.wait(co, r.isLost)
	})
	wait()
	assert.Equal(t, int64(total), got)
	assert.Greater(t, atPause, stream.DefaultHighWater)
	assert.LessOrEqual(t, maxBuffered, stream.DefaultHighWater+chunk, "buffered bytes stay within high + one chunk")
	assert.Greater(t, r.resumes, 0)
	assert.GreaterOrEqual(t, r.pauses, r.resumes)
	assert.NoError(t, r.err)
}

// peerGoneMidWrite: a peer that closes while data is in flight to it is
// an error.
func peerGoneMidWrite(t *testing.T, p path) {
	a, b := p.pair(t, false)
	wait := peer(b, func(c net.Conn) {
		c.Read(make([]byte, 10))
		c.Close()
	})
	r := &recorder{keepOpen: true}
	run(t, func(co *loop.Coro) error {
		tr := stream.Adopt(co.Loop(), a, r, p.opts...)
		tr.Write(make([]byte, p.big))
		return r.wait(co, r.isLost)
	})
	wait()
	require.Error(t, r.err)
	p.assertGone(t, r.err)
	var op *stream.OpError
	assert.ErrorAs(t, r.err, &op)
	assert.Equal(t, 1, r.losts)
}

func protocolPanicAborts(t *testing.T, p path) {
	a, b := p.pair(t, false)
	wait := peer(b, func(c net.Conn) { c.Write([]byte("x")); io.Copy(io.Discard, c); c.Close() })
	var reported []loop.ExceptionContext
	r := &recorder{onData: func(*recorder, []byte) { panic("bad protocol") }}
	_, err := loop.Run(context.Background(), func(co *loop.Coro) (struct{}, error) {
		stream.Adopt(co.Loop(), a, r, p.opts...)
		return struct{}{}, r.wait(co, r.isLost)
	}, loop.WithExceptionHandler(func(c loop.ExceptionContext) { reported = append(reported, c) }))
	require.NoError(t, err)
	wait()
	var pe *loop.PanicError
	require.ErrorAs(t, r.err, &pe)
	assert.Equal(t, "bad protocol", pe.Value)
	require.Len(t, reported, 1)
	assert.Contains(t, reported[0].Message, "DataReceived panicked")
}
