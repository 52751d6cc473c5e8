package stream_test

import (
	"context"
	"io"
	"net"
	"testing"
	"testing/synctest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aio-go/aio/future"
	"github.com/aio-go/aio/loop"
	"github.com/aio-go/aio/stream"
)

// Bad input: writes to an endpoint that cannot take them are errors,
// never silent drops, and a nil or inconsistent argument panics with a
// "stream:" message naming the call.

// TestWriteAfterEnd: every way of writing, after every way a connection
// ends, returns an error matching the end, and the peer gets none of it.
func TestWriteAfterEnd(t *testing.T) {
	ends := []struct {
		name string
		end  func(t *stream.Transport, lost func() error) error // ends t; lost waits until it is lost
		want error
	}{
		{"Close", func(t *stream.Transport, _ func() error) error { return t.Close() }, stream.ErrClosed},
		{"Abort", func(t *stream.Transport, _ func() error) error { t.Abort(); return nil }, stream.ErrClosed},
		{"lost", func(t *stream.Transport, lost func() error) error {
			t.Close()
			return lost()
		}, stream.ErrClosed},
		{"WriteEOF", func(t *stream.Transport, _ func() error) error { return t.WriteEOF() }, stream.ErrWriteAfterEOF},
	}
	writes := []struct {
		name  string
		write func(r *recorder, w *stream.Writer) error
	}{
		{"Transport.Write", func(r *recorder, _ *stream.Writer) error { return r.t.Write([]byte("late")) }},
		{"Transport.WriteBuffers", func(r *recorder, _ *stream.Writer) error {
			return r.t.WriteBuffers(net.Buffers{[]byte("la"), []byte("te")})
		}},
		{"Transport.WriteBuffers empty", func(r *recorder, _ *stream.Writer) error { return r.t.WriteBuffers(nil) }},
		{"Writer.Write", func(_ *recorder, w *stream.Writer) error { return w.Write([]byte("late")) }},
		{"Writer.WriteString", func(_ *recorder, w *stream.Writer) error { return w.WriteString("late") }},
	}
	for _, e := range ends {
		for _, wr := range writes {
			t.Run(e.name+"/"+wr.name, func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					a, b := halfPipe()
					var got []byte
					wait := peer(b, func(c net.Conn) { got, _ = io.ReadAll(c); c.Close() })
					r := &recorder{keepOpen: true}
					var writeErr error
					run(t, func(co *loop.Coro) error {
						var w *stream.Writer
						lost := func() error { return r.wait(co, r.isLost) }
						if wr.name[:6] == "Writer" {
							_, w = stream.AdoptStreams(co.Loop(), a)
							r.t = w.Transport()
							lost = func() error { return w.WaitClosed(co) }
						} else {
							stream.Adopt(co.Loop(), a, r)
							if err := r.wait(co, func() bool { return r.made > 0 }); err != nil {
								return err
							}
						}
						if err := e.end(r.t, lost); err != nil {
							return err
						}
						writeErr = wr.write(r, w)
						r.t.Close()
						return lost()
					})
					wait()
					require.Error(t, writeErr, "a write that cannot be sent is an error")
					assert.ErrorIs(t, writeErr, e.want)
					var op *stream.OpError
					assert.ErrorAs(t, writeErr, &op)
					assert.Empty(t, got, "nothing written after the end reaches the peer")
				})
			})
		}
	}
}

// TestWriteAfterLoopClose: a transport, a Writer and a datagram transport
// that the loop's Close ended refuse writes with ErrClosed.
func TestWriteAfterLoopClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := loop.New()
		a, b := net.Pipe()
		c, d := net.Pipe()
		pa, pb := memPair(4)
		r := &recorder{}
		var w *stream.Writer
		var dg *stream.DatagramTransport
		stream.Adopt(l, a, r)
		_, w = stream.AdoptStreams(l, c)
		dg = stream.AdoptPacket(l, pa, &dgRecorder{})
		made := future.New[struct{}](l)
		l.CallSoon(func() { l.CallSoon(func() { made.SetResult(struct{}{}) }) })
		_, err := loop.RunUntilComplete(l, made)
		require.NoError(t, err)
		require.Equal(t, 1, r.made)
		require.NoError(t, l.Close())
		b.Close()
		d.Close()
		pb.Close()
		// The loop is closed: its transports are there to be asked, on
		// this goroutine, which is the only one left using them.
		assert.ErrorIs(t, r.t.Write([]byte("x")), stream.ErrClosed)
		assert.ErrorIs(t, r.t.WriteBuffers(net.Buffers{[]byte("x")}), stream.ErrClosed)
		assert.ErrorIs(t, w.Write([]byte("x")), stream.ErrClosed)
		assert.ErrorIs(t, dg.SendTo([]byte("x"), memAddr("b")), stream.ErrClosed)
		assert.Equal(t, 1, r.losts)
	})
}

// TestSendToAfterAbort: SendTo after Abort and after the endpoint is lost
// is an error matching ErrClosed.
func TestSendToAfterAbort(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := memPair(4)
		r := &dgRecorder{}
		var afterAbort, afterLost error
		run(t, func(co *loop.Coro) error {
			tr := stream.AdoptPacket(co.Loop(), a, r)
			tr.Abort()
			afterAbort = tr.SendTo([]byte("x"), memAddr("b"))
			if err := r.wait(co, r.isLost); err != nil {
				return err
			}
			afterLost = tr.SendTo([]byte("x"), memAddr("b"))
			return nil
		})
		b.Close()
		assert.ErrorIs(t, afterAbort, stream.ErrClosed)
		assert.ErrorIs(t, afterLost, stream.ErrClosed)
		assert.Empty(t, b.drain(), "nothing sent after Abort")
	})
}

// TestWriteBufferLimitsBadInput: every inconsistent pair of limits panics
// with a message naming SetWriteBufferLimits and the values, and leaves
// the limits as they were.
func TestWriteBufferLimitsBadInput(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := net.Pipe()
		wait := peer(b, func(c net.Conn) { io.Copy(io.Discard, c); c.Close() })
		r := &recorder{}
		var panics []any
		var pausedAfter int
		run(t, func(co *loop.Coro) error {
			tr := stream.Adopt(co.Loop(), a, r)
			tr.SetWriteBufferLimits(1000, 10)
			for _, hl := range [][2]int{{-1, -1}, {-5, -10}, {0, 1}, {1 << 20, -1}, {5, 6}} {
				func() {
					defer func() { panics = append(panics, recover()) }()
					tr.SetWriteBufferLimits(hl[0], hl[1])
				}()
			}
			// The limits are still 1000 and 10: 500 bytes do not pause.
			tr.Write(make([]byte, 500))
			pausedAfter = r.pauses
			return tr.Close()
		})
		wait()
		assert.Equal(t, []any{
			"stream: SetWriteBufferLimits: want 0 <= low <= high, got high -1, low -1",
			"stream: SetWriteBufferLimits: want 0 <= low <= high, got high -5, low -10",
			"stream: SetWriteBufferLimits: want 0 <= low <= high, got high 0, low 1",
			"stream: SetWriteBufferLimits: want 0 <= low <= high, got high 1048576, low -1",
			"stream: SetWriteBufferLimits: want 0 <= low <= high, got high 5, low 6",
		}, panics)
		assert.Zero(t, pausedAfter, "a refused call leaves the limits as they were")
		assert.PanicsWithValue(t, "stream: WithLimit: negative limit", func() { stream.WithLimit(-1 << 40) })
		rl := loop.New()
		defer rl.Close()
		assert.PanicsWithValue(t, "stream: NewReader: negative limit -5", func() { stream.NewReader(rl, -5) })
	})
}

// TestConstructorsRejectNil: every constructor panics with a message
// naming it for a nil loop, conn, listener, protocol, factory, handler or
// ctx, before it opens anything (no socket is left open).
func TestConstructorsRejectNil(t *testing.T) {
	fds := openFDs(t)
	l := loop.New()
	a, b := net.Pipe()
	pa, pb := memPair(1)
	ln := newPipeListener()
	proto := func() stream.Protocol { return &echo{} }
	dgProto := func() stream.DatagramProtocol { return &dgRecorder{} }
	handler := func(*loop.Coro, *stream.Reader, *stream.Writer) error { return nil }
	ctx := context.Background()
	for _, tt := range []struct {
		want string
		call func()
	}{
		{"stream: Listen: nil loop", func() { stream.Listen(nil, "tcp", "127.0.0.1:0", proto) }},
		{"stream: Listen: nil protocol factory", func() { stream.Listen(l, "tcp", "127.0.0.1:0", nil) }},
		{"stream: Serve: nil loop", func() { stream.Serve(nil, ln, proto) }},
		{"stream: Serve: nil listener", func() { stream.Serve(l, nil, proto) }},
		{"stream: Serve: nil protocol factory", func() { stream.Serve(l, ln, nil) }},
		{"stream: Dial: nil loop", func() { stream.Dial(ctx, nil, "tcp", "x:1", proto) }},
		{"stream: Dial: nil ctx", func() { stream.Dial(nil, l, "tcp", "x:1", proto) }}, //nolint:staticcheck // the nil ctx is the point
		{"stream: Dial: nil protocol factory", func() { stream.Dial(ctx, l, "tcp", "x:1", nil) }},
		{"stream: Adopt: nil loop", func() { stream.Adopt(nil, a, &echo{}) }},
		{"stream: Adopt: nil conn", func() { stream.Adopt(l, nil, &echo{}) }},
		{"stream: Adopt: nil protocol", func() { stream.Adopt(l, a, nil) }},
		{"stream: StartServer: nil loop", func() { stream.StartServer(nil, "tcp", "127.0.0.1:0", handler) }},
		{"stream: StartServer: nil handler", func() { stream.StartServer(l, "tcp", "127.0.0.1:0", nil) }},
		{"stream: ServeStreams: nil loop", func() { stream.ServeStreams(nil, ln, handler) }},
		{"stream: ServeStreams: nil listener", func() { stream.ServeStreams(l, nil, handler) }},
		{"stream: ServeStreams: nil handler", func() { stream.ServeStreams(l, ln, nil) }},
		{"stream: AdoptStreams: nil loop", func() { stream.AdoptStreams(nil, a) }},
		{"stream: AdoptStreams: nil conn", func() { stream.AdoptStreams(l, nil) }},
		{"stream: ListenPacket: nil loop", func() { stream.ListenPacket(nil, "udp", "127.0.0.1:0", dgProto) }},
		{"stream: ListenPacket: nil protocol factory", func() { stream.ListenPacket(l, "udp", "127.0.0.1:0", nil) }},
		{"stream: AdoptPacket: nil loop", func() { stream.AdoptPacket(nil, pa, &dgRecorder{}) }},
		{"stream: AdoptPacket: nil conn", func() { stream.AdoptPacket(l, nil, &dgRecorder{}) }},
		{"stream: AdoptPacket: nil protocol", func() { stream.AdoptPacket(l, pa, nil) }},
		{"stream: NewReader: nil loop", func() { stream.NewReader(nil, 0) }},
	} {
		assert.PanicsWithValue(t, tt.want, tt.call)
	}
	require.NoError(t, l.Close())
	a.Close()
	b.Close()
	pa.Close()
	pb.Close()
	ln.Close()
	assert.Equal(t, fds, openFDs(t), "a refused constructor leaves no socket open")
}
