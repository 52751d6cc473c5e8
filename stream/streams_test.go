package stream_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"syscall"
	"testing"
	"testing/synctest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aio-go/aio/future"
	"github.com/aio-go/aio/loop"
	"github.com/aio-go/aio/stream"
)

// pipeListener is a net.Listener whose connections are net.Pipe ends:
// Dial hands the far end to Accept. Its blocked goroutines are durably
// blocked in a synctest bubble.
type pipeListener struct {
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func newPipeListener() *pipeListener {
	return &pipeListener{conns: make(chan net.Conn), done: make(chan struct{})}
}

func (ln *pipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-ln.conns:
		return c, nil
	case <-ln.done:
		return nil, net.ErrClosed
	}
}

func (ln *pipeListener) Close() error {
	ln.once.Do(func() { close(ln.done) })
	return nil
}

func (ln *pipeListener) Addr() net.Addr { return pipeAddr{} }

// Dial returns the client end of a new connection; it blocks until the
// server accepts it.
func (ln *pipeListener) Dial() net.Conn {
	a, b := net.Pipe()
	select {
	case ln.conns <- b:
	case <-ln.done:
		b.Close()
	}
	return a
}

// upperLines is a line server's handler: each line back in upper case,
// until the peer's EOF.
func upperLines(co *loop.Coro, r *stream.Reader, w *stream.Writer) error {
	for {
		line, err := r.ReadLine(co)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := w.WriteString(strings.ToUpper(string(line))); err != nil {
			return err
		}
		if err := w.Drain(co); err != nil {
			return err
		}
	}
}

// dialStreams connects to ln from the loop: the blocking Dial runs on an
// executor goroutine.
func dialStreams(co *loop.Coro, ln *pipeListener) (*stream.Reader, *stream.Writer, error) {
	c, err := loop.ToThread(co, func(context.Context) (net.Conn, error) { return ln.Dial(), nil })
	if err != nil {
		return nil, nil, err
	}
	r, w := stream.AdoptStreams(co.Loop(), c)
	return r, w, nil
}

// TestWaitClosed: WaitClosed on a connection already lost returns its
// error; after Close it is in the behaviour table.
func TestWaitClosed(t *testing.T) {
	t.Run("called once the connection is gone", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			a, b := net.Pipe()
			boom := errors.New("connection reset by peer")
			b.Close()
			var readErr, closedErr error
			run(t, func(co *loop.Coro) error {
				r, w := stream.AdoptStreams(co.Loop(), &failingConn{Conn: a, err: boom})
				_, readErr = r.ReadLine(co)
				synctestWait(co) // ConnectionLost has run
				closedErr = w.WaitClosed(co)
				return nil
			})
			assert.ErrorIs(t, readErr, boom)
			assert.ErrorIs(t, closedErr, boom)
		})
	})
}

// TestHandlerFailureReported: a handler's error or panic goes to the
// exception handler, naming the connection, and its Writer is closed.
func TestHandlerFailureReported(t *testing.T) {
	boom := errors.New("boom")
	tests := []struct {
		name    string
		handler func(co *loop.Coro, r *stream.Reader, w *stream.Writer) error
		check   func(t *testing.T, err error)
	}{
		{
			name: "error",
			handler: func(co *loop.Coro, r *stream.Reader, w *stream.Writer) error {
				w.WriteString("partial answer")
				return boom
			},
			check: func(t *testing.T, err error) { assert.ErrorIs(t, err, boom) },
		},
		{
			name: "panic",
			handler: func(co *loop.Coro, r *stream.Reader, w *stream.Writer) error {
				w.WriteString("partial answer")
				panic("bad handler")
			},
			check: func(t *testing.T, err error) {
				var pe *loop.PanicError
				require.ErrorAs(t, err, &pe)
				assert.Equal(t, "bad handler", pe.Value)
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ln := newPipeListener()
				var reported []loop.ExceptionContext
				var got []byte
				_, err := loop.Run(context.Background(), func(co *loop.Coro) (struct{}, error) {
					srv := stream.ServeStreams(co.Loop(), ln, tt.handler)
					r, w, err := dialStreams(co, ln)
					if err != nil {
						return struct{}{}, err
					}
					if got, err = r.Read(co, -1); err != nil { // until the server closes
						return struct{}{}, err
					}
					w.Close()
					srv.Close()
					return struct{}{}, srv.WaitClosed(co)
				}, loop.WithExceptionHandler(func(c loop.ExceptionContext) { reported = append(reported, c) }))
				require.NoError(t, err)
				assert.Equal(t, "partial answer", string(got))
				require.Len(t, reported, 1)
				assert.Contains(t, reported[0].Message, "stream: handler of stream.Transport(")
				tt.check(t, reported[0].Err)
			})
		})
	}
}

// TestShutdownCancelsHandlers: a loop Shutdown cancels a handler waiting
// in ReadLine, closes its connection and returns.
func TestShutdownCancelsHandlers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var reported []loop.ExceptionContext
		l := loop.New(loop.WithExceptionHandler(func(c loop.ExceptionContext) { reported = append(reported, c) }))
		ln := newPipeListener()
		started := future.New[struct{}](l)
		var handlerErr error
		srvReady := future.New[struct{}](l)
		l.CallSoon(func() {
			stream.ServeStreams(l, ln, func(co *loop.Coro, r *stream.Reader, w *stream.Writer) error {
				started.SetResult(struct{}{})
				_, handlerErr = r.ReadLine(co)
				return handlerErr
			})
			srvReady.SetResult(struct{}{})
		})
		_, err := loop.RunUntilComplete(l, srvReady)
		require.NoError(t, err)
		var fromServer []byte
		wait := peer(ln.Dial(), func(c net.Conn) { fromServer, _ = io.ReadAll(c); c.Close() })
		_, err = loop.RunUntilComplete(l, started)
		require.NoError(t, err)
		require.NoError(t, l.Shutdown(context.Background()))
		wait()
		assert.ErrorIs(t, handlerErr, future.ErrCancelled)
		assert.Empty(t, fromServer)
		assert.Empty(t, reported)
	})
}

// TestLoopCloseWithLiveStreams: Close stops tasks waiting in ReadLine,
// Drain and WaitClosed, aborts their connections, and leaves no goroutine
// (synctest.Test fails if one stays blocked).
func TestLoopCloseWithLiveStreams(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := loop.New()
		var peers []func()
		var errs [3]error
		ready := future.New[struct{}](l)
		l.CallSoon(func() {
			adopt := func(peerFn func(net.Conn)) (*stream.Reader, *stream.Writer) {
				a, b := net.Pipe()
				peers = append(peers, peer(b, peerFn))
				return stream.AdoptStreams(l, a)
			}
			silent := func(c net.Conn) { io.Copy(io.Discard, c) }
			stuck := func(c net.Conn) { <-l.Done(); c.Close() }
			r0, _ := adopt(silent)
			loop.Go(l, func(co *loop.Coro) error { _, errs[0] = r0.ReadLine(co); return errs[0] })
			_, w1 := adopt(stuck)
			w1.Write(make([]byte, 1<<20))
			loop.Go(l, func(co *loop.Coro) error { errs[1] = w1.Drain(co); return errs[1] })
			_, w2 := adopt(silent)
			loop.Go(l, func(co *loop.Coro) error { errs[2] = w2.WaitClosed(co); return errs[2] })
			loop.Go(l, func(co *loop.Coro) error {
				synctestWait(co)
				ready.SetResult(struct{}{})
				return nil
			})
		})
		_, err := loop.RunUntilComplete(l, ready)
		require.NoError(t, err)
		require.NoError(t, l.Close())
		for _, p := range peers {
			p()
		}
		for i, err := range errs {
			assert.ErrorIs(t, err, loop.ErrClosed, "task %d", i)
		}
	})
}

func TestWithLimit(t *testing.T) {
	long := strings.Repeat("x", stream.DefaultLimit+10) + "\n"
	for _, tt := range []struct {
		limit, want int
		line        string
	}{
		{limit: 4, want: 4, line: "longer than four\n"},
		{limit: 0, want: stream.DefaultLimit, line: long},
	} {
		synctest.Test(t, func(t *testing.T) {
			a, b := net.Pipe()
			wait := peer(b, func(c net.Conn) { c.Write([]byte(tt.line)); io.Copy(io.Discard, c); c.Close() })
			var err error
			var buffered int
			run(t, func(co *loop.Coro) error {
				r, w := stream.AdoptStreams(co.Loop(), a, stream.WithLimit(tt.limit))
				defer w.Close()
				_, err = r.ReadLine(co)
				buffered = r.Buffered()
				return nil
			})
			wait()
			var over *stream.LimitOverrunError
			require.ErrorAs(t, err, &over)
			assert.Equal(t, tt.want, over.Limit)
			assert.Positive(t, buffered, "the data stays readable")
		})
	}
}

func TestStreamsMisuse(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := loop.New()
		defer l.Close()
		assert.PanicsWithValue(t, "stream: WithLimit: negative limit", func() { stream.WithLimit(-1) })
		assert.PanicsWithValue(t, "stream: StartServer: nil handler", func() { stream.StartServer(l, "tcp", "127.0.0.1:0", nil) })
		assert.PanicsWithValue(t, "stream: ServeStreams: nil handler", func() { stream.ServeStreams(l, newPipeListener(), nil) })
	})
}

// Loopback: streams over real sockets, outside synctest.

// echoStreams is a server handler that copies the peer's bytes back,
// draining after each chunk, until the peer's EOF.
func echoStreams(co *loop.Coro, r *stream.Reader, w *stream.Writer) error {
	for {
		b, err := r.Read(co, 64<<10)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := w.Write(b); err != nil {
			return err
		}
		if err := w.Drain(co); err != nil {
			return err
		}
	}
}

// streamsThrough starts a streams echo server with srvOpts, sends payload
// through it with OpenConnection and dialOpts, writing in pieces with a
// Drain after each, then WriteEOF, and returns what came back and how many
// of the Drains found the buffer above the high-water mark.
func streamsThrough(t *testing.T, payload []byte, srvOpts, dialOpts []stream.Option) (echoed []byte, pausedDrains int) {
	t.Helper()
	var reported []loop.ExceptionContext
	_, err := loop.Run(context.Background(), func(co *loop.Coro) (struct{}, error) {
		l := co.Loop()
		srv, err := stream.StartServer(l, "tcp", "127.0.0.1:0", echoStreams, srvOpts...)
		if err != nil {
			return struct{}{}, err
		}
		r, w, err := stream.OpenConnection(co, "tcp", srv.Addr().String(), dialOpts...)
		if err != nil {
			return struct{}{}, err
		}
		reading := loop.Spawn(l, func(co *loop.Coro) ([]byte, error) { return r.Read(co, -1) })
		const piece = 256 << 10
		for rest := payload; len(rest) > 0; {
			n := min(len(rest), piece)
			if err := w.Write(rest[:n]); err != nil {
				return struct{}{}, err
			}
			rest = rest[n:]
			if w.Transport().WriteBufferSize() > stream.DefaultHighWater {
				pausedDrains++
			}
			if err := w.Drain(co); err != nil {
				return struct{}{}, err
			}
		}
		if err := w.WriteEOF(); err != nil {
			return struct{}{}, err
		}
		if echoed, err = reading.Await(co); err != nil {
			return struct{}{}, err
		}
		w.Close()
		if err := w.WaitClosed(co); err != nil {
			return struct{}{}, err
		}
		srv.Close()
		return struct{}{}, srv.WaitClosed(co)
	}, loop.WithExceptionHandler(func(c loop.ExceptionContext) { reported = append(reported, c) }))
	require.NoError(t, err)
	assert.Empty(t, reported)
	return echoed, pausedDrains
}

func TestStreamsTCPEcho(t *testing.T) {
	payload := bytes.Repeat([]byte("line of text\n"), 1000)
	echoed, _ := streamsThrough(t, payload, nil, nil)
	assert.True(t, bytes.Equal(payload, echoed))
}

// TestStreamsTLSDrain: Drain over TLS suspends and resumes as over TCP
// (asyncio's SSL transport once never resumed it), with a write far above
// the high-water mark.
func TestStreamsTLSDrain(t *testing.T) {
	cert, pool := selfSigned(t)
	size := 16 << 20
	if testing.Short() {
		size = 2 << 20
	}
	payload := make([]byte, size)
	for i := range payload {
		payload[i] = byte(i * 7)
	}
	echoed, pausedDrains := streamsThrough(t, payload,
		[]stream.Option{stream.WithTLS(&tls.Config{Certificates: []tls.Certificate{cert}})},
		[]stream.Option{stream.WithTLS(&tls.Config{RootCAs: pool})})
	assert.Equal(t, len(payload), len(echoed))
	assert.True(t, bytes.Equal(payload, echoed))
	assert.Positive(t, pausedDrains, "some Drains had to wait")
}

// TestOpenConnectionRefused: OpenConnection returns Dial's error.
func TestOpenConnectionRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	var dialErr error
	var r *stream.Reader
	run(t, func(co *loop.Coro) error {
		r, _, dialErr = stream.OpenConnection(co, "tcp", addr)
		return nil
	})
	assert.ErrorIs(t, dialErr, syscall.ECONNREFUSED)
	assert.Nil(t, r)
}
