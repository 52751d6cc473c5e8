package stream_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aio-go/aio/future"
	"github.com/aio-go/aio/loop"
	"github.com/aio-go/aio/stream"
)

// dgRecorder is a DatagramProtocol that records what its transport tells
// it, for the test to check after the loop returns. Its hooks, if set, run
// inside the callbacks, after the event is recorded.
type dgRecorder struct {
	t       *stream.DatagramTransport
	trace   []string
	got     []string // "data@addr"
	errs    []error
	made    int
	losts   int
	err     error
	onMade  func(r *dgRecorder)
	onData  func(r *dgRecorder, data []byte, addr net.Addr)
	onError func(r *dgRecorder, err error)
	changed loop.Event
}

func (r *dgRecorder) add(ev string) {
	r.trace = append(r.trace, ev)
	r.changed.Set()
}

func (r *dgRecorder) ConnectionMade(t *stream.DatagramTransport) {
	r.t = t
	r.made++
	r.add("made")
	if r.onMade != nil {
		r.onMade(r)
	}
}

func (r *dgRecorder) DatagramReceived(data []byte, addr net.Addr) {
	r.got = append(r.got, string(data)+"@"+addr.String())
	r.add("data")
	if r.onData != nil {
		r.onData(r, data, addr)
	}
}

func (r *dgRecorder) ErrorReceived(err error) {
	r.errs = append(r.errs, err)
	r.add("error")
	if r.onError != nil {
		r.onError(r, err)
	}
}

func (r *dgRecorder) ConnectionLost(err error) {
	r.losts++
	r.err = err
	if err != nil {
		r.add("lost:err")
	} else {
		r.add("lost")
	}
}

// wait suspends the task until pred holds; pred is checked after each
// callback of r.
func (r *dgRecorder) wait(co *loop.Coro, pred func() bool) error {
	for !pred() {
		r.changed.Clear()
		if err := r.changed.Wait(co); err != nil {
			return err
		}
	}
	return nil
}

func (r *dgRecorder) isLost() bool { return r.losts > 0 }

// memConn is one end of an in-memory datagram link (memPair): WriteTo the
// other end's address puts a datagram in its channel, ReadFrom takes one
// from its own. Both block on channels only, so a transport over it is
// durably blocked in a synctest bubble; Close unblocks them.
type memConn struct {
	addr memAddr
	peer *memConn
	in   chan memPacket
	done chan struct{}
	once sync.Once
}

type memPacket struct {
	data []byte
	from net.Addr
	err  error // ReadFrom returns it instead of a datagram
}

type memAddr string

func (a memAddr) Network() string { return "mem" }
func (a memAddr) String() string  { return string(a) }

var errNoRoute = errors.New("mem: no route to address")

// memPair connects a (address "a") and b (address "b"), each with a
// receive channel of capacity n.
func memPair(n int) (a, b *memConn) {
	a = &memConn{addr: "a", in: make(chan memPacket, n), done: make(chan struct{})}
	b = &memConn{addr: "b", in: make(chan memPacket, n), done: make(chan struct{})}
	a.peer, b.peer = b, a
	return a, b
}

func (c *memConn) closedErr(op string) error {
	return &net.OpError{Op: op, Net: "mem", Addr: c.addr, Err: net.ErrClosed}
}

func (c *memConn) ReadFrom(p []byte) (int, net.Addr, error) {
	select {
	case <-c.done:
		return 0, nil, c.closedErr("read")
	default:
	}
	select {
	case m := <-c.in:
		if m.err != nil {
			return 0, nil, m.err
		}
		return copy(p, m.data), m.from, nil
	case <-c.done:
		return 0, nil, c.closedErr("read")
	}
}

func (c *memConn) WriteTo(p []byte, addr net.Addr) (int, error) {
	select {
	case <-c.done:
		return 0, c.closedErr("write")
	default:
	}
	if addr == nil || addr.String() != string(c.peer.addr) {
		return 0, errNoRoute
	}
	select {
	case c.peer.in <- memPacket{data: bytes.Clone(p), from: c.addr}:
	case <-c.peer.done: // lost, as a datagram to a closed socket is
	case <-c.done:
		return 0, c.closedErr("write")
	}
	return len(p), nil
}

func (c *memConn) Close() error {
	c.once.Do(func() { close(c.done) })
	return nil
}

func (c *memConn) LocalAddr() net.Addr              { return c.addr }
func (c *memConn) SetDeadline(time.Time) error      { return errors.ErrUnsupported }
func (c *memConn) SetReadDeadline(time.Time) error  { return errors.ErrUnsupported }
func (c *memConn) SetWriteDeadline(time.Time) error { return errors.ErrUnsupported }

// inject makes c's next ReadFrom return m (from the test or a task; c's
// channel must have room).
func (c *memConn) inject(m memPacket) { c.in <- m }

// drain returns the datagrams waiting in c's channel, as "data@from".
func (c *memConn) drain() []string {
	var out []string
	for {
		select {
		case m := <-c.in:
			out = append(out, string(m.data)+"@"+m.from.String())
		default:
			return out
		}
	}
}

func TestDatagramEcho(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := memPair(16)
		echoer := &dgRecorder{onData: func(r *dgRecorder, data []byte, addr net.Addr) { _ = r.t.SendTo(data, addr) }}
		client := &dgRecorder{}
		msgs := []string{"one", "two", "", "three"}
		run(t, func(co *loop.Coro) error {
			l := co.Loop()
			stream.AdoptPacket(l, a, echoer)
			ct := stream.AdoptPacket(l, b, client)
			for _, m := range msgs {
				if err := ct.SendTo([]byte(m), memAddr("a")); err != nil {
					return err
				}
			}
			if err := client.wait(co, func() bool { return len(client.got) == len(msgs) }); err != nil {
				return err
			}
			ct.Close()
			echoer.t.Close()
			if err := client.wait(co, client.isLost); err != nil {
				return err
			}
			return echoer.wait(co, echoer.isLost)
		})
		assert.Equal(t, []string{"one@b", "two@b", "@b", "three@b"}, echoer.got)
		assert.Equal(t, []string{"one@a", "two@a", "@a", "three@a"}, client.got)
		want := []string{"made", "data", "data", "data", "data", "lost"}
		assert.Equal(t, want, client.trace)
		assert.Equal(t, want, echoer.trace)
		assert.NoError(t, client.err)
		assert.NoError(t, echoer.err)
	})
}

// TestDatagramCallbackOrder checks the order of the protocol's callbacks
// in each way an endpoint's life goes, over a memPair whose end b is
// driven by the test.
func TestDatagramCallbackOrder(t *testing.T) {
	boom := errors.New("boom")
	tests := []struct {
		name  string
		local func(co *loop.Coro, r *dgRecorder, a, b *memConn) error // after ConnectionMade
		want  []string
		check func(t *testing.T, r *dgRecorder, b *memConn)
	}{
		{
			name:  "Close",
			local: func(co *loop.Coro, r *dgRecorder, a, b *memConn) error { return r.t.Close() },
			want:  []string{"made", "lost"},
		},
		{
			name:  "Abort",
			local: func(co *loop.Coro, r *dgRecorder, a, b *memConn) error { r.t.Abort(); return nil },
			want:  []string{"made", "lost"},
		},
		{
			name: "Close twice and Abort after Close",
			local: func(co *loop.Coro, r *dgRecorder, a, b *memConn) error {
				r.t.Close()
				r.t.Close()
				r.t.Abort()
				return nil
			},
			want: []string{"made", "lost"},
		},
		{
			name: "a read error keeps the endpoint open",
			local: func(co *loop.Coro, r *dgRecorder, a, b *memConn) error {
				a.inject(memPacket{err: boom})
				a.inject(memPacket{data: []byte("after"), from: memAddr("b")})
				if err := r.wait(co, func() bool { return len(r.got) > 0 }); err != nil {
					return err
				}
				return r.t.Close()
			},
			want: []string{"made", "error", "data", "lost"},
			check: func(t *testing.T, r *dgRecorder, b *memConn) {
				require.Len(t, r.errs, 1)
				assert.ErrorIs(t, r.errs[0], boom)
				var op *stream.OpError
				require.ErrorAs(t, r.errs[0], &op)
				assert.Equal(t, "read", op.Op)
				assert.Equal(t, []string{"after@b"}, r.got)
			},
		},
		{
			name: "consecutive read errors are each reported",
			local: func(co *loop.Coro, r *dgRecorder, a, b *memConn) error {
				for range 3 {
					a.inject(memPacket{err: boom})
				}
				a.inject(memPacket{data: []byte("after"), from: memAddr("b")})
				if err := r.wait(co, func() bool { return len(r.got) > 0 }); err != nil {
					return err
				}
				return r.t.Close()
			},
			want: []string{"made", "error", "error", "error", "data", "lost"},
		},
		{
			name: "a send error keeps the endpoint open",
			local: func(co *loop.Coro, r *dgRecorder, a, b *memConn) error {
				if err := r.t.SendTo([]byte("lost"), memAddr("nowhere")); err != nil {
					return err
				}
				if err := r.wait(co, func() bool { return len(r.errs) > 0 }); err != nil {
					return err
				}
				if err := r.t.SendTo([]byte("kept"), memAddr("b")); err != nil {
					return err
				}
				return r.t.Close()
			},
			want: []string{"made", "error", "lost"},
			check: func(t *testing.T, r *dgRecorder, b *memConn) {
				require.Len(t, r.errs, 1)
				assert.ErrorIs(t, r.errs[0], errNoRoute)
				var op *stream.OpError
				require.ErrorAs(t, r.errs[0], &op)
				assert.Equal(t, "send", op.Op)
				assert.Equal(t, "nowhere", op.Addr)
				assert.Equal(t, []string{"kept@a"}, b.drain())
			},
		},
		{
			name: "a nil address on an unconnected conn is a send error",
			local: func(co *loop.Coro, r *dgRecorder, a, b *memConn) error {
				if err := r.t.SendTo([]byte("x"), nil); err != nil {
					return err
				}
				if err := r.wait(co, func() bool { return len(r.errs) > 0 }); err != nil {
					return err
				}
				return r.t.Close()
			},
			want: []string{"made", "error", "lost"},
		},
		{
			name: "the conn closed under the transport",
			local: func(co *loop.Coro, r *dgRecorder, a, b *memConn) error {
				a.Close()
				return nil
			},
			want: []string{"made", "lost:err"},
			check: func(t *testing.T, r *dgRecorder, b *memConn) {
				assert.ErrorIs(t, r.err, net.ErrClosed)
			},
		},
		{
			name: "the conn closed under a paused transport",
			local: func(co *loop.Coro, r *dgRecorder, a, b *memConn) error {
				r.t.PauseReading()
				a.Close()
				return nil
			},
			want: []string{"made", "lost:err"},
			check: func(t *testing.T, r *dgRecorder, b *memConn) {
				assert.ErrorIs(t, r.err, net.ErrClosed)
			},
		},
		{
			name: "a panic in DatagramReceived aborts",
			local: func(co *loop.Coro, r *dgRecorder, a, b *memConn) error {
				r.onData = func(*dgRecorder, []byte, net.Addr) { panic("bad datagram") }
				a.inject(memPacket{data: []byte("x"), from: memAddr("b")})
				return nil
			},
			want: []string{"made", "data", "lost:err"},
			check: func(t *testing.T, r *dgRecorder, b *memConn) {
				var pe *loop.PanicError
				require.ErrorAs(t, r.err, &pe)
				assert.Equal(t, "bad datagram", pe.Value)
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				a, b := memPair(16)
				r := &dgRecorder{}
				var reported []loop.ExceptionContext
				_, err := loop.Run(context.Background(), func(co *loop.Coro) (struct{}, error) {
					stream.AdoptPacket(co.Loop(), a, r)
					if err := r.wait(co, func() bool { return r.made > 0 }); err != nil {
						return struct{}{}, err
					}
					if err := tt.local(co, r, a, b); err != nil {
						return struct{}{}, err
					}
					return struct{}{}, r.wait(co, r.isLost)
				}, loop.WithDebug(true), loop.WithExceptionHandler(func(c loop.ExceptionContext) { reported = append(reported, c) }))
				require.NoError(t, err)
				assert.Equal(t, tt.want, r.trace)
				assert.Equal(t, 1, r.losts)
				if tt.check != nil {
					tt.check(t, r, b)
				}
				if r.trace[len(r.trace)-2] == "data" && r.err != nil {
					require.Len(t, reported, 1)
					assert.Contains(t, reported[0].Message, "DatagramReceived panicked")
				} else {
					assert.Empty(t, reported)
				}
			})
		})
	}
}

// TestDatagramCloseSendsQueued: Close sends every datagram queued before
// it, in order, and SendTo after Close returns an error matching
// ErrClosed; SendTo copies its data.
func TestDatagramCloseSendsQueued(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := memPair(16)
		r := &dgRecorder{}
		var afterClose error
		var closing bool
		run(t, func(co *loop.Coro) error {
			tr := stream.AdoptPacket(co.Loop(), a, r)
			buf := []byte("1")
			for _, m := range []string{"1", "2", "3"} {
				copy(buf, m)
				if err := tr.SendTo(buf, memAddr("b")); err != nil {
					return err
				}
			}
			buf[0] = 'X'
			tr.Close()
			closing = tr.IsClosing()
			afterClose = tr.SendTo([]byte("4"), memAddr("b"))
			return r.wait(co, r.isLost)
		})
		assert.True(t, closing)
		assert.ErrorIs(t, afterClose, stream.ErrClosed)
		var op *stream.OpError
		require.ErrorAs(t, afterClose, &op)
		assert.Equal(t, "send", op.Op)
		assert.Equal(t, "b", op.Addr)
		assert.Equal(t, []string{"1@a", "2@a", "3@a"}, b.drain())
		assert.Equal(t, []string{"made", "lost"}, r.trace)
		assert.NoError(t, r.err)
	})
}

// TestDatagramSendQueueFull: over a peer that never reads, the writer is
// stuck on its first send and the queue fills to its bound: 4096
// datagrams, or 1 MiB.
func TestDatagramSendQueueFull(t *testing.T) {
	tests := []struct {
		name     string
		size     int // of each datagram
		accepted int // before ErrSendQueueFull
	}{
		{"by count", 1, 4096},
		{"by bytes", 64 << 10, 16},
		{"one datagram over the bound in an empty queue", 2 << 20, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				a, _ := memPair(0)
				r := &dgRecorder{}
				var accepted, size int
				var full error
				run(t, func(co *loop.Coro) error {
					tr := stream.AdoptPacket(co.Loop(), a, r)
					data := make([]byte, tt.size)
					for full == nil {
						if full = tr.SendTo(data, memAddr("b")); full == nil {
							accepted++
						}
					}
					size = tr.WriteBufferSize()
					tr.Abort()
					return r.wait(co, r.isLost)
				})
				assert.ErrorIs(t, full, stream.ErrSendQueueFull)
				assert.Equal(t, tt.accepted, accepted)
				assert.Equal(t, tt.accepted*tt.size, size)
				assert.Equal(t, []string{"made", "lost"}, r.trace)
				assert.NoError(t, r.err)
			})
		})
	}
}

// TestDatagramPauseReading: a paused endpoint delivers nothing; what
// arrived meanwhile is delivered in order after ResumeReading.
func TestDatagramPauseReading(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, _ := memPair(16)
		r := &dgRecorder{onMade: func(r *dgRecorder) { r.t.PauseReading() }}
		var whilePaused int
		var reading []bool
		run(t, func(co *loop.Coro) error {
			tr := stream.AdoptPacket(co.Loop(), a, r)
			if err := r.wait(co, func() bool { return r.made > 0 }); err != nil {
				return err
			}
			reading = append(reading, tr.IsReading())
			for _, m := range []string{"1", "2", "3"} {
				a.inject(memPacket{data: []byte(m), from: memAddr("b")})
			}
			if err := loop.Sleep(co, time.Second); err != nil {
				return err
			}
			whilePaused = len(r.got)
			tr.ResumeReading()
			reading = append(reading, tr.IsReading())
			if err := r.wait(co, func() bool { return len(r.got) == 2 }); err != nil {
				return err
			}
			tr.PauseReading() // between datagrams
			if err := loop.Sleep(co, time.Second); err != nil {
				return err
			}
			whilePaused += len(r.got) - 2
			tr.ResumeReading()
			if err := r.wait(co, func() bool { return len(r.got) == 3 }); err != nil {
				return err
			}
			tr.Close()
			reading = append(reading, tr.IsReading())
			return r.wait(co, r.isLost)
		})
		assert.Equal(t, 0, whilePaused)
		assert.Equal(t, []bool{false, true, false}, reading)
		assert.Equal(t, []string{"1@b", "2@b", "3@b"}, r.got)
	})
}

// TestDatagramLoopCloseWithLiveEndpoints: Close of the loop ends every
// endpoint in whatever state, runs each ConnectionLost once with an error
// matching loop.ErrClosed, and leaves no goroutine (synctest.Test fails if
// one stays blocked).
func TestDatagramLoopCloseWithLiveEndpoints(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := loop.New()
		var rs []*dgRecorder
		adopt := func(r *dgRecorder, n int) {
			a, _ := memPair(n)
			rs = append(rs, r)
			stream.AdoptPacket(l, a, r)
		}
		send := func(r *dgRecorder) {
			for range 3 {
				r.t.SendTo([]byte("x"), memAddr("b"))
			}
		}
		adopt(&dgRecorder{}, 0)                                                      // idle, reading
		adopt(&dgRecorder{onMade: func(r *dgRecorder) { r.t.PauseReading() }}, 0)    // paused
		adopt(&dgRecorder{onMade: send}, 0)                                          // writer stuck
		adopt(&dgRecorder{onMade: func(r *dgRecorder) { send(r); r.t.Close() }}, 0)  // closing, stuck
		adopt(&dgRecorder{onMade: func(r *dgRecorder) { send(r); r.t.Close() }}, 16) // closing, flushed
		adopt(&dgRecorder{onMade: func(r *dgRecorder) { r.t.SendTo(nil, nil) }}, 16) // a send error
		done := future.New[struct{}](l)
		l.CallSoon(func() { l.CallSoon(func() { l.CallSoon(func() { done.SetResult(struct{}{}) }) }) })
		_, err := loop.RunUntilComplete(l, done)
		require.NoError(t, err)
		synctest.Wait()
		require.NoError(t, l.Close())
		for i, r := range rs {
			assert.Equal(t, 1, r.made, "endpoint %d", i)
			assert.Equal(t, 1, r.losts, "endpoint %d", i)
			if i == 4 {
				// It may have been lost before the loop closed.
				if r.err != nil {
					assert.ErrorIs(t, r.err, loop.ErrClosed, "endpoint %d", i)
				}
				continue
			}
			assert.ErrorIs(t, r.err, loop.ErrClosed, "endpoint %d", i)
		}
	})
}

// TestDatagramShutdown: Shutdown waits for a live endpoint until it is
// closed, or until Shutdown's ctx ends.
func TestDatagramShutdown(t *testing.T) {
	t.Run("closed by its protocol", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			l := loop.New()
			a, b := memPair(16)
			r := &dgRecorder{onData: func(r *dgRecorder, data []byte, _ net.Addr) {
				if string(data) == "bye" {
					r.t.Close()
				}
			}}
			stream.AdoptPacket(l, a, r)
			var shutErr error
			shut := make(chan struct{})
			go func() {
				shutErr = l.Shutdown(context.Background())
				close(shut)
			}()
			synctest.Wait() // the loop is idle, waiting for the endpoint
			select {
			case <-shut:
				t.Fatal("Shutdown returned with a live endpoint")
			default:
			}
			_, err := b.WriteTo([]byte("bye"), memAddr("a"))
			require.NoError(t, err)
			<-shut
			assert.NoError(t, shutErr)
			assert.Equal(t, []string{"made", "data", "lost"}, r.trace)
			assert.NoError(t, r.err)
		})
	})
	t.Run("ctx ends", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			l := loop.New(loop.WithLogger(slog.New(slog.DiscardHandler)))
			a, _ := memPair(16)
			r := &dgRecorder{}
			stream.AdoptPacket(l, a, r)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			err := l.Shutdown(ctx)
			assert.ErrorIs(t, err, context.DeadlineExceeded)
			assert.Contains(t, err.Error(), "stream.DatagramTransport(a, open)")
			require.NoError(t, l.Close())
			assert.Equal(t, 1, r.losts)
			assert.ErrorIs(t, r.err, loop.ErrClosed)
		})
	})
}

func TestDatagramMisuse(t *testing.T) {
	l := loop.New()
	a, _ := memPair(1)
	assert.PanicsWithValue(t, "stream: ListenPacket: nil protocol factory", func() {
		stream.ListenPacket(l, "udp", "127.0.0.1:0", nil)
	})
	assert.PanicsWithValue(t, "stream: ListenPacket: the protocol factory returned nil", func() {
		stream.ListenPacket(l, "udp", "127.0.0.1:0", func() stream.DatagramProtocol { return nil })
	})
	assert.PanicsWithValue(t, "stream: AdoptPacket: nil protocol", func() { stream.AdoptPacket(l, a, nil) })
	assert.PanicsWithValue(t, "stream: AdoptPacket: nil conn", func() { stream.AdoptPacket(l, nil, &dgRecorder{}) })

	_, err := stream.ListenPacket(l, "udp", "256.0.0.1:0", func() stream.DatagramProtocol { return &dgRecorder{} })
	var op *stream.OpError
	require.ErrorAs(t, err, &op)
	assert.Equal(t, "listen", op.Op)
	assert.Equal(t, "256.0.0.1:0", op.Addr)

	require.NoError(t, l.Close())
	func() {
		defer func() {
			err, _ := recover().(error)
			assert.ErrorIs(t, err, loop.ErrClosed, "ListenPacket on a closed loop panics")
		}()
		stream.ListenPacket(l, "udp", "127.0.0.1:0", func() stream.DatagramProtocol { return &dgRecorder{} })
	}()
}

// The loopback tests run over real UDP sockets on 127.0.0.1, outside
// synctest; ctx bounds them in case a datagram is lost.
