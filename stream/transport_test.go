package stream_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aio-go/aio/future"
	"github.com/aio-go/aio/loop"
	"github.com/aio-go/aio/stream"
)

// TestHalfCloseOverPipe: net.Pipe cannot half-close; the behaviour
// table (behaviour_test.go) has the half-closes of the conns that can.
func TestHalfCloseOverPipe(t *testing.T) {
	t.Run("net.Pipe cannot write EOF", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			a, b := net.Pipe()
			wait := peer(b, func(c net.Conn) { io.Copy(io.Discard, c); c.Close() })
			var can bool
			var err error
			r := &recorder{}
			run(t, func(co *loop.Coro) error {
				tr := stream.Adopt(co.Loop(), a, r)
				can, err = tr.CanWriteEOF(), tr.WriteEOF()
				return tr.Close()
			})
			wait()
			assert.False(t, can)
			assert.ErrorIs(t, err, stream.ErrCannotWriteEOF)
		})
	})
}

// TestPauseReading: a paused transport issues no Read, so the peer's
// writes block and at most one read buffer is held.
func TestPauseReading(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := net.Pipe()
		var written atomic.Int64
		const total = 1 << 20
		wait := peer(b, func(c net.Conn) {
			piece := make([]byte, 1024)
			for written.Load() < total {
				n, err := c.Write(piece)
				written.Add(int64(n))
				if err != nil {
					return
				}
			}
			c.Close()
		})
		r := &recorder{}
		pausesLeft := 5
		r.onData = func(r *recorder, b []byte) {
			if pausesLeft > 0 {
				pausesLeft--
				r.t.PauseReading()
			}
		}
		var received, writtenWhilePaused []int64
		var reading []bool
		run(t, func(co *loop.Coro) error {
			tr := stream.Adopt(co.Loop(), a, r)
			for range 5 {
				seen := len(r.data)
				if err := r.wait(co, func() bool { return len(r.data) > seen && !tr.IsReading() }); err != nil {
					return err
				}
				// Let the peer run as far as it can: it is blocked, not
				// slow.
				synctestWait(co)
				received = append(received, int64(len(r.data)))
				writtenWhilePaused = append(writtenWhilePaused, written.Load())
				reading = append(reading, tr.IsReading())
				tr.ResumeReading()
			}
			return r.wait(co, r.isLost)
		})
		wait()
		require.Len(t, received, 5)
		for i := range received {
			assert.False(t, reading[i])
			// Bytes the peer got rid of beyond those delivered: at most the
			// chunk held by the paused transport, which is one read buffer
			// (64 KiB at most), plus the piece net.Pipe is copying.
			assert.LessOrEqual(t, writtenWhilePaused[i]-received[i], int64(64<<10+1024), "round %d", i)
		}
		assert.Equal(t, total, len(r.data))
		assert.NoError(t, r.err)
	})
}

// synctestWait lets every other goroutine of the bubble run until it
// blocks, from a task: the loop must not be waiting for the test itself,
// so the wait runs on an executor goroutine.
func synctestWait(co *loop.Coro) {
	_, _ = loop.ToThread(co, func(context.Context) (struct{}, error) {
		synctest.Wait()
		return struct{}{}, nil
	})
}

func TestSetWriteBufferLimits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := net.Pipe()
		release := make(chan struct{})
		wait := peer(b, func(c net.Conn) { <-release; io.Copy(io.Discard, c); c.Close() })
		r := &recorder{}
		var panics []any
		var afterWrite, afterLimits int
		run(t, func(co *loop.Coro) error {
			tr := stream.Adopt(co.Loop(), a, r)
			for _, hl := range [][2]int{{-1, 0}, {10, -1}, {10, 20}} {
				func() {
					defer func() { panics = append(panics, recover()) }()
					tr.SetWriteBufferLimits(hl[0], hl[1])
				}()
			}
			tr.Write(make([]byte, 1000))
			afterWrite = r.pauses
			tr.SetWriteBufferLimits(100, 10)
			afterLimits = r.pauses
			close(release)
			if err := r.wait(co, func() bool { return r.resumes > 0 }); err != nil {
				return err
			}
			return tr.Close()
		})
		wait()
		require.Len(t, panics, 3)
		for _, p := range panics {
			assert.Contains(t, p, "stream: SetWriteBufferLimits: ")
		}
		assert.Equal(t, 0, afterWrite)
		assert.Equal(t, 1, afterLimits, "lowering high below the buffer pauses at once")
		assert.Equal(t, []string{"pause", "made", "resume", "lost"}, r.trace)
	})
}

// TestLoopCloseWithLiveConnections: Close aborts every connection in
// whatever state and runs each ConnectionLost once, and no goroutine is
// left (synctest.Test fails if one stays blocked).
func TestLoopCloseWithLiveConnections(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := loop.New()
		var peers []func()
		var rs []*recorder
		adopt := func(r *recorder, peerFn func(net.Conn)) {
			a, b := net.Pipe()
			peers = append(peers, peer(b, peerFn))
			rs = append(rs, r)
			stream.Adopt(l, a, r)
		}
		silent := func(c net.Conn) { io.Copy(io.Discard, c) }
		stuck := func(c net.Conn) { <-l.Done(); c.Close() } // never reads
		talker := func(c net.Conn) {
			for {
				if _, err := c.Write([]byte("chatter")); err != nil {
					return
				}
			}
		}
		adopt(&recorder{}, silent)                                                                 // idle
		adopt(&recorder{onMade: func(r *recorder) { r.t.Write(make([]byte, 1<<20)) }}, stuck)      // writer stuck
		adopt(&recorder{onMade: func(r *recorder) { r.t.PauseReading() }}, talker)                 // paused, a chunk held
		adopt(&recorder{onMade: func(r *recorder) { r.t.Write([]byte("x")); r.t.Close() }}, stuck) // closing
		done := future.New[struct{}](l)
		l.CallSoon(func() { l.CallSoon(func() { l.CallSoon(func() { done.SetResult(struct{}{}) }) }) })
		_, err := loop.RunUntilComplete(l, done)
		require.NoError(t, err)
		synctest.Wait()
		require.NoError(t, l.Close())
		for _, p := range peers {
			p()
		}
		for i, r := range rs {
			assert.Equal(t, 1, r.made, "conn %d", i)
			assert.Equal(t, 1, r.losts, "conn %d", i)
			assert.ErrorIs(t, r.err, loop.ErrClosed, "conn %d", i)
		}
	})
}

// TestShutdownWaitsForConnections: Shutdown waits for a live connection
// until its peer closes, or until Shutdown's ctx ends.
func TestShutdownWaitsForConnections(t *testing.T) {
	t.Run("peer closes", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			l := loop.New()
			a, b := net.Pipe()
			r := &recorder{}
			stream.Adopt(l, a, r)
			var shutErr error
			shut := make(chan struct{})
			go func() {
				shutErr = l.Shutdown(context.Background())
				close(shut)
			}()
			synctest.Wait() // the loop is idle, waiting for the connection
			select {
			case <-shut:
				t.Fatal("Shutdown returned with a live connection")
			default:
			}
			b.Close()
			<-shut
			assert.NoError(t, shutErr)
			assert.Equal(t, []string{"made", "eof", "lost"}, r.trace)
			assert.NoError(t, r.err)
		})
	})
	t.Run("ctx ends", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			l := loop.New(loop.WithLogger(slog.New(slog.DiscardHandler)))
			a, b := net.Pipe()
			r := &recorder{}
			stream.Adopt(l, a, r)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			err := l.Shutdown(ctx)
			assert.ErrorIs(t, err, context.DeadlineExceeded)
			assert.Contains(t, err.Error(), "stream.Transport")
			require.NoError(t, l.Close())
			b.Close()
			assert.Equal(t, 1, r.losts)
			assert.ErrorIs(t, r.err, loop.ErrClosed)
		})
	})
}

// TestPeerGone: a read error ends the connection with it; the peer gone
// mid-write is in the behaviour table.
func TestPeerGone(t *testing.T) {
	t.Run("mid-read", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			a, b := net.Pipe()
			boom := errors.New("connection reset by peer")
			wait := peer(b, func(c net.Conn) { c.Write([]byte("partial")); c.Close() })
			r := &recorder{}
			run(t, func(co *loop.Coro) error {
				stream.Adopt(co.Loop(), &failingConn{Conn: a, after: 1, err: boom}, r)
				return r.wait(co, r.isLost)
			})
			wait()
			assert.ErrorIs(t, r.err, boom)
			assert.Equal(t, []string{"made", "data", "lost:err"}, r.trace)
		})
	})
}

// failingConn's Read fails with err after `after` successful reads.
type failingConn struct {
	net.Conn
	after int
	err   error
}

func (c *failingConn) Read(b []byte) (int, error) {
	if c.after == 0 {
		return 0, c.err
	}
	c.after--
	return c.Conn.Read(b)
}

func TestMisuse(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := loop.New()
		defer l.Close()
		assert.PanicsWithValue(t, "stream: Serve: nil protocol factory", func() { stream.Serve(l, nil, nil) })
		assert.PanicsWithValue(t, "stream: Listen: nil protocol factory", func() { stream.Listen(l, "tcp", "127.0.0.1:0", nil) })
		assert.PanicsWithValue(t, "stream: Dial: nil protocol factory", func() { stream.Dial(context.Background(), l, "tcp", "x", nil) })
		a, b := net.Pipe()
		defer a.Close()
		defer b.Close()
		assert.PanicsWithValue(t, "stream: Adopt: nil protocol", func() { stream.Adopt(l, a, nil) })
		assert.PanicsWithValue(t, "stream: Adopt: nil conn", func() { stream.Adopt(l, nil, &echo{}) })
	})
}
