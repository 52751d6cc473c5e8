package stream_test

import (
	"bytes"
	"context"
	"io"
	"net"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/aio-go/aio/loop"
	"github.com/aio-go/aio/stream"
)

// The behaviour table's streams cases (behaviour_test.go has the table
// and the protocol cases).

func streamsLineEcho(t *testing.T, p path) {
	ln, dial := p.listen(t)
	var got []string
	var lostErr error
	run(t, func(co *loop.Coro) error {
		srv := stream.ServeStreams(co.Loop(), ln, upperLines, p.opts...)
		c, err := loop.ToThread(co, func(context.Context) (net.Conn, error) { return dial() })
		if err != nil {
			return err
		}
		r, w := stream.AdoptStreams(co.Loop(), c, p.opts...)
		for _, s := range []string{"hello\n", "streams\n"} {
			if err := w.WriteString(s); err != nil {
				return err
			}
			line, err := r.ReadLine(co)
			if err != nil {
				return err
			}
			got = append(got, string(line))
		}
		w.Close()
		lostErr = w.WaitClosed(co)
		srv.Close()
		return srv.WaitClosed(co)
	})
	assert.Equal(t, []string{"HELLO\n", "STREAMS\n"}, got)
	assert.NoError(t, lostErr)
}

// readsThroughTransport: ReadLine and ReadExactly see the bytes as one
// stream, however the peer's writes cut them.
func readsThroughTransport(t *testing.T, p path) {
	a, b := p.pair(t, false)
	body := bytes.Repeat([]byte("0123456789"), 10_000) // 100 kB, several read buffers
	wait := peer(b, func(c net.Conn) {
		for _, piece := range []string{"GET", " /x\r", "\nlen", "gth 100000\n"} {
			c.Write([]byte(piece))
		}
		for rest := body; len(rest) > 0; {
			n := min(len(rest), 777)
			c.Write(rest[:n])
			rest = rest[n:]
		}
		c.Write([]byte("tail without newline"))
		c.Close()
	})
	var lines []string
	var got, tail []byte
	var endErr error
	run(t, func(co *loop.Coro) error {
		r, w := stream.AdoptStreams(co.Loop(), a, p.opts...)
		defer w.Close()
		for range 2 {
			line, err := r.ReadLine(co)
			if err != nil {
				return err
			}
			lines = append(lines, string(line))
		}
		var err error
		if got, err = r.ReadExactly(co, len(body)); err != nil {
			return err
		}
		if tail, err = r.ReadLine(co); err != nil {
			return err
		}
		_, endErr = r.ReadLine(co)
		return nil
	})
	wait()
	assert.Equal(t, []string{"GET /x\r\n", "length 100000\n"}, lines)
	assert.True(t, bytes.Equal(body, got))
	assert.Equal(t, "tail without newline", string(tail))
	assert.ErrorIs(t, endErr, io.EOF)
}

// drain: Drain returns at once under the high-water mark, suspends above
// it while the peer does not read, and returns once the peer reads.
func drain(t *testing.T, p path) {
	a, b := p.pair(t, false)
	total := p.big
	startReading := make(chan struct{})
	var got int64
	wait := peer(b, func(c net.Conn) {
		<-startReading
		got, _ = io.Copy(io.Discard, c)
		c.Close()
	})
	var smallErr, drainErr error
	var doneBeforeRead bool
	var buffered int
	run(t, func(co *loop.Coro) error {
		_, w := stream.AdoptStreams(co.Loop(), a, p.opts...)
		w.Write([]byte("small"))
		smallErr = w.Drain(co) // within the high-water mark: at once
		w.Write(make([]byte, total))
		buffered = w.Transport().WriteBufferSize()
		drain := loop.Go(co.Loop(), w.Drain)
		p.settle(co)
		doneBeforeRead = drain.Done()
		close(startReading)
		_, drainErr = drain.Await(co)
		w.Close()
		return w.WaitClosed(co)
	})
	wait()
	assert.NoError(t, smallErr)
	assert.Greater(t, buffered, stream.DefaultHighWater)
	assert.False(t, doneBeforeRead, "Drain waits while the peer does not read")
	assert.NoError(t, drainErr)
	assert.Equal(t, int64(total+len("small")), got)
}

// drainPeerGone: a Drain waiting when the peer goes returns the
// connection's error, and so does every Drain and WaitClosed after it:
// none hangs.
func drainPeerGone(t *testing.T, p path) {
	a, b := p.pair(t, false)
	var drainErr, laterDrain, closedErr, closedAgain, writeErr error
	run(t, func(co *loop.Coro) error {
		_, w := stream.AdoptStreams(co.Loop(), a, p.opts...)
		w.Write(make([]byte, p.big))
		drain := loop.Go(co.Loop(), w.Drain)
		p.settle(co)
		b.Close() // the peer goes without reading
		_, drainErr = drain.Await(co)
		laterDrain = w.Drain(co)
		closedErr = w.WaitClosed(co)
		closedAgain = w.WaitClosed(co)
		writeErr = w.Write([]byte("x"))
		return nil
	})
	p.assertGone(t, drainErr)
	var op *stream.OpError
	assert.ErrorAs(t, drainErr, &op)
	p.assertGone(t, laterDrain)
	p.assertGone(t, closedErr)
	p.assertGone(t, closedAgain)
	assert.ErrorIs(t, writeErr, stream.ErrClosed)
}

// drainAfterClose: Close wakes a waiting Drain, and a Drain after Close
// returns at once; both with ErrClosed.
func drainAfterClose(t *testing.T, p path) {
	a, b := p.pair(t, false)
	release := make(chan struct{})
	wait := peer(b, func(c net.Conn) { <-release; io.Copy(io.Discard, c); c.Close() })
	var waiting, after, closed error
	run(t, func(co *loop.Coro) error {
		_, w := stream.AdoptStreams(co.Loop(), a, p.opts...)
		w.Write(make([]byte, p.big))
		drain := loop.Go(co.Loop(), w.Drain)
		p.settle(co)
		w.Close()
		_, waiting = drain.Await(co)
		after = w.Drain(co)
		close(release)
		closed = w.WaitClosed(co)
		return nil
	})
	wait()
	assert.ErrorIs(t, waiting, stream.ErrClosed)
	assert.ErrorIs(t, after, stream.ErrClosed)
	assert.NoError(t, closed, "Close flushed everything to the peer")
}

func waitClosedAfterClose(t *testing.T, p path) {
	a, b := p.pair(t, false)
	wait := peer(b, func(c net.Conn) { io.Copy(io.Discard, c); c.Close() })
	var first, second error
	var closing bool
	run(t, func(co *loop.Coro) error {
		_, w := stream.AdoptStreams(co.Loop(), a, p.opts...)
		w.WriteString("bye")
		w.Close()
		w.Close()
		closing = w.IsClosing()
		first = w.WaitClosed(co)
		p.settle(co)
		second = w.WaitClosed(co)
		return nil
	})
	wait()
	assert.True(t, closing)
	assert.NoError(t, first)
	assert.NoError(t, second)
}

func streamsHalfClose(t *testing.T, p path) {
	a, b := p.pair(t, true)
	var request []byte
	wait := peer(b, func(c net.Conn) {
		request, _ = io.ReadAll(c) // until the Writer's WriteEOF
		c.Write([]byte("response"))
		c.Close()
	})
	var can bool
	var eofErr, lateErr, lostErr error
	var response []byte
	run(t, func(co *loop.Coro) error {
		r, w := stream.AdoptStreams(co.Loop(), a, p.opts...)
		can = w.CanWriteEOF()
		w.WriteString("request")
		eofErr = w.WriteEOF()
		lateErr = w.WriteString("late")
		var err error
		if response, err = r.Read(co, -1); err != nil {
			return err
		}
		w.Close()
		lostErr = w.WaitClosed(co)
		return nil
	})
	wait()
	assert.True(t, can)
	assert.NoError(t, eofErr)
	assert.ErrorIs(t, lateErr, stream.ErrWriteAfterEOF)
	assert.Equal(t, "request", string(request))
	assert.Equal(t, "response", string(response))
	assert.NoError(t, lostErr)
}
