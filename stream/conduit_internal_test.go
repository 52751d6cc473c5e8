package stream

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aio-go/aio/loop"
)

// sink is a Protocol that ignores what it reads.
type sink struct{}

func (sink) ConnectionMade(*Transport) {}
func (sink) DataReceived([]byte)       {}
func (sink) EOFReceived() bool         { return false }
func (sink) ConnectionLost(error)      {}

// writers counts the goroutines running a conduit's writer.
func writers() int {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	return strings.Count(string(buf), "stream.(*portable).writer(")
}

func isWriting(t *Transport) bool {
	p := t.io.(*portable)
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.writing
}

// The writer goroutine exists only while there is something to write: it
// starts with a write and returns once the buffer is written, so an idle
// connection costs one goroutine, its reader.
func TestWriterRunsOnlyWhileWriting(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := net.Pipe()
		got := make(chan []byte, 1)
		go func() {
			data, _ := io.ReadAll(b)
			got <- data
		}()
		_, err := loop.Run(context.Background(), func(co *loop.Coro) (struct{}, error) {
			tr := Adopt(co.Loop(), a, sink{})
			assert.Equal(t, 0, writers(), "before any write")
			for i := range 3 {
				require.NoError(t, tr.Write([]byte(fmt.Sprintf("write %d;", i))))
				// Virtual time moves only once every goroutine is blocked:
				// the peer has read the write, and the writer has returned.
				require.NoError(t, loop.Sleep(co, time.Second))
				assert.False(t, isWriting(tr))
				assert.Equal(t, 0, writers(), "after write %d", i)
			}
			return struct{}{}, tr.Close()
		})
		require.NoError(t, err)
		assert.Equal(t, "write 0;write 1;write 2;", string(<-got))
	})
}

// On a socket, a write the kernel takes at once is written from the loop
// goroutine, as asyncio does, and starts no writer; what the kernel does
// not take waits in the buffer, and writes accepted after it queue behind
// it: the peer reads every byte in the order written. The rest is written
// by the writer goroutine, or, on the poller, from the loop goroutine when
// the socket is writable again: no writer ever runs.
func TestSocketWritesFromTheLoopThenQueues(t *testing.T) {
	for _, tc := range []struct {
		name   string
		opts   []Option
		writer bool // the rest goes to a writer goroutine
	}{
		{"poller", nil, runtime.GOOS != "linux"},
		{"WithPortable", []Option{WithPortable()}, true},
	} {
		t.Run(tc.name, func(t *testing.T) { socketWritesThenQueues(t, tc.opts, tc.writer) })
	}
}

func socketWritesThenQueues(t *testing.T, opts []Option, writer bool) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	got := make(chan []byte, 1)
	release := make(chan struct{})
	go func() {
		c, err := ln.Accept()
		if err != nil {
			got <- nil
			return
		}
		defer c.Close()
		first := make([]byte, len("small"))
		_, _ = io.ReadFull(c, first)
		<-release // stop reading until the loop has filled the kernel's buffers
		rest, _ := io.ReadAll(c)
		got <- append(first, rest...)
	}()

	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<20) // 16 MiB: more than a loopback socket buffers
	var want bytes.Buffer
	var maxWriters int
	_, err = loop.Run(context.Background(), func(co *loop.Coro) (struct{}, error) {
		tr, err := loop.Await(co, Dial(co.Context(), co.Loop(), "tcp", ln.Addr().String(), func() Protocol { return sink{} }, opts...))
		if err != nil {
			return struct{}{}, err
		}
		require.NoError(t, tr.Write([]byte("small")))
		want.WriteString("small")
		assert.False(t, isWriting(tr), "the kernel took the write: no writer")
		assert.Zero(t, tr.WriteBufferSize())

		require.NoError(t, tr.Write(big))
		want.Write(big)
		assert.Equal(t, writer, isWriting(tr), "a writer for the rest of a write the kernel did not take")
		assert.Positive(t, tr.WriteBufferSize())
		for i := range 100 {
			s := fmt.Sprintf("after %d;", i)
			require.NoError(t, tr.Write([]byte(s)))
			want.WriteString(s)
		}
		close(release)
		for tr.WriteBufferSize() > 0 {
			maxWriters = max(maxWriters, writers())
			if err := loop.Sleep(co, 0); err != nil {
				return struct{}{}, err
			}
		}
		return struct{}{}, tr.Close()
	})
	require.NoError(t, err)
	data := <-got
	require.Equal(t, want.Len(), len(data))
	assert.True(t, bytes.Equal(want.Bytes(), data), "bytes arrived out of order")
	if !writer {
		assert.Zero(t, maxWriters, "no writer goroutine while the buffer drains")
	}
}

// A socket waiting for data holds no read buffer: a thousand idle
// connections, each after an echo, cost less heap each than one buffer.
func TestIdleSocketsHoldNoReadBuffer(t *testing.T) {
	if raceDetector {
		t.Skip("the race detector's bookkeeping grows every allocation")
	}
	const conns = 1000
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	var peers []net.Conn
	defer func() {
		for _, c := range peers {
			c.Close()
		}
	}()
	var before, after runtime.MemStats
	_, err = loop.Run(context.Background(), func(co *loop.Coro) (struct{}, error) {
		l := co.Loop()
		srv := Serve(l, ln, func() Protocol { return &echoProto{} })
		runtime.GC()
		runtime.ReadMemStats(&before)
		cs, err := loop.ToThread(co, func(context.Context) ([]net.Conn, error) {
			return dialEchoed(ln.Addr().String(), conns, make([]byte, 100))
		})
		peers = cs
		if err != nil {
			return struct{}{}, err
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		srv.Close()
		for _, c := range peers {
			c.Close()
		}
		return struct{}{}, srv.WaitClosed(co)
	})
	require.NoError(t, err)
	perConn := (int64(after.HeapInuse) - int64(before.HeapInuse)) / conns
	t.Logf("heap per idle connection: %d B (both ends)", perConn)
	assert.Less(t, perConn, int64(minReadBuffer), "idle connections hold their read buffers")
}

// TestIdleHandlersKeepSmallStacks checks that a streams handler that
// echoed a message and waits in Next holds a goroutine stack of the
// minimum size: the write's syscalls ran on the loop's stack, and no
// waiting handler ran the loop's I/O on its own (lend.go).
func TestIdleHandlersKeepSmallStacks(t *testing.T) {
	if raceDetector {
		t.Skip("the race detector's instrumentation deepens every frame")
	}
	if os.Getenv("AIO_STACK_CHILD") == "" {
		// Stacks that earlier tests freed stay counted in StackInuse: the
		// measurement runs in a process of its own.
		cmd := exec.Command(os.Args[0], "-test.run=^TestIdleHandlersKeepSmallStacks$", "-test.v")
		cmd.Env = append(os.Environ(), "AIO_STACK_CHILD=1")
		out, err := cmd.CombinedOutput()
		t.Logf("%s", out)
		require.NoError(t, err)
		return
	}
	const conns = 500
	var before, after runtime.MemStats
	_, err := loop.Run(context.Background(), func(co *loop.Coro) (struct{}, error) {
		l := co.Loop()
		srv, err := StartServer(l, "tcp", "127.0.0.1:0", func(co *loop.Coro, r *Reader, w *Writer) error {
			for {
				b, err := r.Next(co, 100<<10)
				if errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) {
					return nil
				}
				if err != nil {
					return err
				}
				if err := w.Write(b); err != nil {
					return err
				}
				if err := w.Drain(co); err != nil && !errors.Is(err, syscall.EPIPE) {
					return err
				}
			}
		})
		if err != nil {
			return struct{}{}, err
		}
		runtime.ReadMemStats(&before)
		cs, err := loop.ToThread(co, func(context.Context) ([]net.Conn, error) {
			return dialEchoed(srv.Addr().String(), conns, make([]byte, 100))
		})
		if err == nil {
			runtime.ReadMemStats(&after)
		}
		srv.Close()
		for _, c := range cs {
			c.Close()
		}
		if err != nil {
			return struct{}{}, err
		}
		return struct{}{}, srv.WaitClosed(co)
	})
	require.NoError(t, err)
	perConn := (int64(after.StackInuse) - int64(before.StackInuse)) / conns
	t.Logf("stack per idle handler: %d B", perConn)
	assert.Less(t, perConn, int64(3<<10), "idle handlers' stacks grew past the minimum 2 KiB")
}

// echoProto writes back what it reads.
type echoProto struct{ t *Transport }

func (e *echoProto) ConnectionMade(t *Transport) { e.t = t }
func (e *echoProto) DataReceived(b []byte)       { _ = e.t.Write(b) }
func (e *echoProto) EOFReceived() bool           { return false }
func (e *echoProto) ConnectionLost(error)        {}

// dialEchoed opens n connections to an echo server at addr, and on each
// writes msg and reads its echo. It returns the connections opened, even
// with an error.
func dialEchoed(addr string, n int, msg []byte) ([]net.Conn, error) {
	var cs []net.Conn
	for range n {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			return cs, err
		}
		cs = append(cs, c)
		if _, err := c.Write(msg); err != nil {
			return cs, err
		}
		if _, err := io.ReadFull(c, msg); err != nil {
			return cs, err
		}
	}
	return cs, nil
}
