package stream_test

import (
	"bytes"
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

func TestEchoRoundTrip(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := net.Pipe()
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
			// The echo's transport, watched through a second protocol
			// would be overkill: the recorder wraps the echo.
			r.onData = func(r *recorder, b []byte) { e.DataReceived(b) }
			r.onMade = func(r *recorder) { e.ConnectionMade(r.t) }
			stream.Adopt(co.Loop(), a, r)
			return r.wait(co, r.isLost)
		})
		wait()
		require.NoError(t, readErr)
		assert.Equal(t, "hello, loop", string(got))
		assert.Equal(t, "hello, loop", string(r.data))
		assert.Equal(t, []string{"made", "data", "eof", "lost"}, r.trace)
		assert.NoError(t, r.err)
	})
}

// TestCallbackOrder checks the order and counts of the protocol's
// callbacks in each way a connection ends.
func TestCallbackOrder(t *testing.T) {
	tests := []struct {
		name  string
		peer  func(c net.Conn)                                  // the far end
		local func(co *loop.Coro, r *recorder) error            // on the loop, after ConnectionMade
		keep  bool                                              // EOFReceived's answer
		want  []string                                          //
		check func(t *testing.T, r *recorder, fromLocal []byte) // after the loop returns
	}{
		{
			name: "peer writes and closes",
			peer: func(c net.Conn) { c.Write([]byte("ab")); c.Close() },
			want: []string{"made", "data", "eof", "lost"},
		},
		{
			name:  "local Close",
			peer:  func(c net.Conn) { io.Copy(io.Discard, c); c.Close() },
			local: func(co *loop.Coro, r *recorder) error { return r.t.Close() },
			want:  []string{"made", "lost"},
		},
		{
			name:  "local Abort",
			peer:  func(c net.Conn) { io.Copy(io.Discard, c); c.Close() },
			local: func(co *loop.Coro, r *recorder) error { r.t.Abort(); return nil },
			want:  []string{"made", "lost"},
		},
		{
			name:  "Close twice and Abort after Close",
			peer:  func(c net.Conn) { io.Copy(io.Discard, c); c.Close() },
			local: func(co *loop.Coro, r *recorder) error { r.t.Close(); r.t.Close(); r.t.Abort(); return nil },
			want:  []string{"made", "lost"},
		},
		{
			name: "EOF kept open, then the protocol writes and closes",
			peer: func(c net.Conn) {
				c.Write([]byte("ping"))
				c.(*halfConn).CloseWrite()
				io.Copy(io.Discard, c)
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
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var a, b net.Conn
				if tt.keep {
					a, b = halfPipe()
				} else {
					a, b = net.Pipe()
				}
				wait := peer(b, tt.peer)
				r := &recorder{keepOpen: tt.keep}
				run(t, func(co *loop.Coro) error {
					stream.Adopt(co.Loop(), a, r)
					if err := r.wait(co, func() bool { return r.made > 0 }); err != nil {
						return err
					}
					if tt.local != nil {
						if err := tt.local(co, r); err != nil {
							return err
						}
					}
					return r.wait(co, r.isLost)
				})
				wait()
				assert.Equal(t, tt.want, r.trace)
				assert.Equal(t, 1, r.made)
				assert.Equal(t, 1, r.losts)
				assert.NoError(t, r.err)
			})
		})
	}
}

func TestHalfClose(t *testing.T) {
	t.Run("WriteEOF: the peer reads the data then EOF, and still writes", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			a, b := halfPipe()
			var got []byte
			wait := peer(b, func(c net.Conn) {
				got, _ = io.ReadAll(c) // until the transport's WriteEOF
				c.Write([]byte("after your EOF"))
				c.Close()
			})
			r := &recorder{}
			var writeErr error
			run(t, func(co *loop.Coro) error {
				tr := stream.Adopt(co.Loop(), a, r)
				if !tr.CanWriteEOF() {
					return errors.New("halfConn can write EOF")
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
		})
	})
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
	t.Run("EOF not kept open closes the transport after flushing", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			a, b := halfPipe()
			var got []byte
			wait := peer(b, func(c net.Conn) {
				c.(*halfConn).CloseWrite()
				got, _ = io.ReadAll(c)
				c.Close()
			})
			r := &recorder{onEOF: func(r *recorder) { r.t.Write([]byte("last words")) }}
			run(t, func(co *loop.Coro) error {
				stream.Adopt(co.Loop(), a, r)
				return r.wait(co, r.isLost)
			})
			wait()
			assert.Equal(t, "last words", string(got))
			assert.Equal(t, []string{"made", "eof", "lost"}, r.trace)
			assert.NoError(t, r.err)
		})
	})
}

func TestCloseFlushesAbortDrops(t *testing.T) {
	payload := bytes.Repeat([]byte("0123456789abcdef"), 64<<10) // 1 MiB
	t.Run("Close", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			a, b := net.Pipe()
			var got []byte
			wait := peer(b, func(c net.Conn) { got, _ = io.ReadAll(c); c.Close() })
			r := &recorder{}
			var errAfter error
			var closing bool
			run(t, func(co *loop.Coro) error {
				tr := stream.Adopt(co.Loop(), a, r)
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
		})
	})
	t.Run("Abort", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			a, b := net.Pipe()
			r := &recorder{}
			var got []byte
			var wait func()
			var errAfter error
			run(t, func(co *loop.Coro) error {
				tr := stream.Adopt(co.Loop(), a, r)
				if err := r.wait(co, func() bool { return r.made > 0 }); err != nil {
					return err
				}
				if err := tr.Write(payload); err != nil {
					return err
				}
				// The peer has not read anything: the writer is stuck in
				// conn.Write with the whole payload.
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

// TestFlowControl: a writer to a peer that does not read is paused once
// its buffer passes the high-water mark, its buffer stays within high plus
// one chunk, and it resumes when the peer drains.
func TestFlowControl(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := net.Pipe()
		const chunk = 16 << 10
		const total = 4 << 20
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
			tr = stream.Adopt(co.Loop(), a, r)
			if err := r.wait(co, func() bool { return r.made > 0 }); err != nil {
				return err
			}
			pump()
			if r.pauses != 1 {
				return errors.New("no PauseWriting")
			}
			synctestWait(co)
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

// TestPeerGone: a peer that closes while data is in flight to it is an
// error; a peer that closes cleanly is an EOF.
func TestPeerGone(t *testing.T) {
	t.Run("mid-write", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			a, b := net.Pipe()
			wait := peer(b, func(c net.Conn) {
				c.Read(make([]byte, 10))
				c.Close()
			})
			r := &recorder{keepOpen: true}
			run(t, func(co *loop.Coro) error {
				tr := stream.Adopt(co.Loop(), a, r)
				tr.Write(make([]byte, 1<<20))
				return r.wait(co, r.isLost)
			})
			wait()
			require.Error(t, r.err)
			assert.ErrorIs(t, r.err, io.ErrClosedPipe)
			var op *stream.OpError
			assert.ErrorAs(t, r.err, &op)
			assert.Equal(t, 1, r.losts)
		})
	})
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

func TestProtocolPanicAborts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := net.Pipe()
		wait := peer(b, func(c net.Conn) { c.Write([]byte("x")); io.Copy(io.Discard, c); c.Close() })
		var reported []loop.ExceptionContext
		r := &recorder{onData: func(*recorder, []byte) { panic("bad protocol") }}
		_, err := loop.Run(context.Background(), func(co *loop.Coro) (struct{}, error) {
			stream.Adopt(co.Loop(), a, r)
			return struct{}{}, r.wait(co, r.isLost)
		}, loop.WithExceptionHandler(func(c loop.ExceptionContext) { reported = append(reported, c) }))
		require.NoError(t, err)
		wait()
		var pe *loop.PanicError
		require.ErrorAs(t, r.err, &pe)
		assert.Equal(t, "bad protocol", pe.Value)
		require.Len(t, reported, 1)
		assert.Contains(t, reported[0].Message, "DataReceived panicked")
	})
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
