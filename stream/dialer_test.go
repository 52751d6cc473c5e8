package stream_test

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
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

// Dial through WithDialer, inside synctest: the dial funcs below block on
// channels and net.Pipe only, so every timeout fires in virtual time.

// pipeDialer is a WithDialer func whose conns are net.Pipe ends: each dial
// hands the far end to serve, on a goroutine of its own.
type pipeDialer struct {
	serve func(c net.Conn)

	mu        sync.Mutex
	calls     []string  // "network address" of each dial
	deadlines []bool    // whether each dial's ctx had a deadline
	waits     []func()  // the peers' goroutines
	at        time.Time // the last dial's ctx deadline
}

func (p *pipeDialer) dial(ctx context.Context, network, address string) (net.Conn, error) {
	a, b := net.Pipe()
	dl, ok := ctx.Deadline()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls = append(p.calls, network+" "+address)
	p.deadlines = append(p.deadlines, ok)
	p.at = dl
	p.waits = append(p.waits, peer(b, p.serve))
	return a, nil
}

// wait waits for every peer goroutine.
func (p *pipeDialer) wait() {
	p.mu.Lock()
	waits := p.waits
	p.mu.Unlock()
	for _, w := range waits {
		w()
	}
}

// blockingDial is a WithDialer func that never connects: it waits for ctx
// to end and returns its error, as a dial to a black hole does. returned
// is set once it has.
func blockingDial(returned *atomic.Bool) func(ctx context.Context, network, address string) (net.Conn, error) {
	return func(ctx context.Context, _, _ string) (net.Conn, error) {
		<-ctx.Done()
		returned.Store(true)
		return nil, ctx.Err()
	}
}

// TestWithDialer: Dial connects through the WithDialer func, with its
// network, address and a ctx bounded by WithTimeout, and the transport
// works over the conn it returned.
func TestWithDialer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		pd := &pipeDialer{serve: func(c net.Conn) {
			b := make([]byte, 4)
			if _, err := io.ReadFull(c, b); err == nil {
				c.Write([]byte(strings.ToUpper(string(b))))
			}
			c.Close()
		}}
		r := &recorder{}
		start := time.Now()
		run(t, func(co *loop.Coro) error {
			tr, err := loop.Await(co, stream.Dial(co.Context(), co.Loop(), "tcp", "proxy.invalid:1080",
				func() stream.Protocol { return r }, stream.WithDialer(pd.dial), stream.WithTimeout(5*time.Second)))
			if err != nil {
				return err
			}
			if err := tr.Write([]byte("ping")); err != nil {
				return err
			}
			return r.wait(co, r.isLost)
		})
		pd.wait()
		assert.Equal(t, []string{"tcp proxy.invalid:1080"}, pd.calls)
		assert.Equal(t, []bool{true}, pd.deadlines)
		assert.Equal(t, start.Add(5*time.Second), pd.at, "the dial's ctx carries WithTimeout's deadline")
		assert.Equal(t, "PING", string(r.data))
		assert.Equal(t, []string{"made", "data", "eof", "lost"}, r.trace)
		assert.NoError(t, r.err)
	})
}

// TestDialTimeout: WithTimeout and WithHandshakeTimeout end a Dial that
// hangs, in the dial or in the TLS handshake, at their bound of virtual
// time, with an error matching context.DeadlineExceeded that says it timed
// out; the caller's own ctx deadline gives ctx's error. No protocol is made
// and the dial's goroutines end (synctest.Test fails if one stays).
func TestDialTimeout(t *testing.T) {
	silent := func(c net.Conn) { io.Copy(io.Discard, c); c.Close() } // reads the ClientHello, never answers
	tests := []struct {
		name    string
		opts    func(pd *pipeDialer, returned *atomic.Bool) []stream.Option
		ctx     time.Duration // the caller's ctx timeout, if any
		elapsed time.Duration
		tls     bool   // the error matches ErrTLSHandshake
		says    string // in the message; "" for none of "timed out after"
	}{
		{
			name: "WithTimeout, in the dial",
			opts: func(_ *pipeDialer, returned *atomic.Bool) []stream.Option {
				return []stream.Option{stream.WithDialer(blockingDial(returned)), stream.WithTimeout(5 * time.Second)}
			},
			elapsed: 5 * time.Second,
			says:    "timed out after 5s",
		},
		{
			name: "WithTimeout, in the TLS handshake",
			opts: func(pd *pipeDialer, _ *atomic.Bool) []stream.Option {
				return []stream.Option{stream.WithDialer(pd.dial), stream.WithTimeout(5 * time.Second),
					stream.WithTLS(&tls.Config{InsecureSkipVerify: true}), stream.WithHandshakeTimeout(0)}
			},
			elapsed: 5 * time.Second,
			tls:     true,
			says:    "timed out after 5s",
		},
		{
			name: "WithHandshakeTimeout",
			opts: func(pd *pipeDialer, _ *atomic.Bool) []stream.Option {
				return []stream.Option{stream.WithDialer(pd.dial),
					stream.WithTLS(&tls.Config{InsecureSkipVerify: true}), stream.WithHandshakeTimeout(2 * time.Second)}
			},
			elapsed: 2 * time.Second,
			tls:     true,
			says:    "timed out after 2s",
		},
		{
			name: "the caller's ctx deadline",
			opts: func(_ *pipeDialer, returned *atomic.Bool) []stream.Option {
				return []stream.Option{stream.WithDialer(blockingDial(returned)), stream.WithTimeout(time.Hour)}
			},
			ctx:     3 * time.Second,
			elapsed: 3 * time.Second,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				pd := &pipeDialer{serve: silent}
				var returned atomic.Bool
				made := 0
				var dialErr error
				var elapsed time.Duration
				run(t, func(co *loop.Coro) error {
					ctx := co.Context()
					if tt.ctx > 0 {
						var cancel context.CancelFunc
						ctx, cancel = context.WithTimeout(ctx, tt.ctx)
						defer cancel()
					}
					start := time.Now()
					_, dialErr = loop.Await(co, stream.Dial(ctx, co.Loop(), "tcp", "10.0.0.1:443",
						func() stream.Protocol { made++; return &echo{} }, tt.opts(pd, &returned)...))
					elapsed = time.Since(start)
					return nil
				})
				pd.wait()
				require.Error(t, dialErr)
				assert.ErrorIs(t, dialErr, context.DeadlineExceeded)
				var op *stream.OpError
				require.ErrorAs(t, dialErr, &op)
				assert.Equal(t, "dial", op.Op)
				assert.Equal(t, "10.0.0.1:443", op.Addr)
				if tt.tls {
					assert.ErrorIs(t, dialErr, stream.ErrTLSHandshake)
				} else {
					assert.True(t, returned.Load(), "the dial func saw its ctx end")
				}
				if tt.says != "" {
					assert.Contains(t, dialErr.Error(), tt.says)
				} else {
					assert.NotContains(t, dialErr.Error(), "timed out after")
				}
				assert.Equal(t, tt.elapsed, elapsed, "virtual time")
				assert.Zero(t, made, "no protocol for a dial that failed")
			})
		})
	}
}

// TestDialCancelledMidDial: cancelling the Dial's ctx, or its future,
// while the dial hangs ends it with a cancellation; a dial func that
// connects anyway has its conn closed, and no protocol is made.
func TestDialCancelledMidDial(t *testing.T) {
	for _, how := range []string{"ctx", "future"} {
		t.Run(how, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var returned atomic.Bool
				var dialErr error
				made := 0
				run(t, func(co *loop.Coro) error {
					ctx, cancel := context.WithCancel(co.Context())
					defer cancel()
					f := stream.Dial(ctx, co.Loop(), "tcp", "10.0.0.1:80", func() stream.Protocol { made++; return &echo{} },
						stream.WithDialer(blockingDial(&returned)))
					if err := loop.Sleep(co, time.Second); err != nil {
						return err
					}
					if how == "ctx" {
						cancel()
					} else {
						f.Cancel()
					}
					_, dialErr = loop.Await(co, f)
					return nil
				})
				assert.ErrorIs(t, dialErr, context.Canceled)
				if how == "future" {
					assert.ErrorIs(t, dialErr, future.ErrCancelled)
				}
				assert.True(t, returned.Load())
				assert.Zero(t, made)
			})
		})
	}
	t.Run("connects anyway", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			var peerErr error
			var wait func()
			dial := func(ctx context.Context, _, _ string) (net.Conn, error) {
				<-ctx.Done() // and then ignores it
				a, b := net.Pipe()
				wait = peer(b, func(c net.Conn) { _, peerErr = c.Read(make([]byte, 1)); c.Close() })
				return a, nil
			}
			var dialErr error
			made := 0
			run(t, func(co *loop.Coro) error {
				f := stream.Dial(co.Context(), co.Loop(), "tcp", "10.0.0.1:80", func() stream.Protocol { made++; return &echo{} },
					stream.WithDialer(dial))
				f.Cancel()
				_, dialErr = loop.Await(co, f)
				synctestWait(co) // the dial returns its conn to a cancelled Dial
				return nil
			})
			wait()
			assert.ErrorIs(t, dialErr, future.ErrCancelled)
			assert.ErrorIs(t, peerErr, io.EOF, "the late conn is closed")
			assert.Zero(t, made)
		})
	})
}

// TestDialerContractBreaches: a dial func that returns no conn and no
// error fails the Dial rather than panicking, and one that returns a conn
// with its error has the conn closed.
func TestDialerContractBreaches(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		boom := errors.New("proxy said no")
		var peerErr error
		var wait func()
		var errs [2]error
		run(t, func(co *loop.Coro) error {
			l := co.Loop()
			_, errs[0] = loop.Await(co, stream.Dial(co.Context(), l, "tcp", "x:1", newEcho,
				stream.WithDialer(func(context.Context, string, string) (net.Conn, error) { return nil, nil })))
			_, errs[1] = loop.Await(co, stream.Dial(co.Context(), l, "tcp", "x:1", newEcho,
				stream.WithDialer(func(context.Context, string, string) (net.Conn, error) {
					a, b := net.Pipe()
					wait = peer(b, func(c net.Conn) { _, peerErr = c.Read(make([]byte, 1)); c.Close() })
					return a, boom
				})))
			return nil
		})
		wait()
		require.Error(t, errs[0])
		assert.Contains(t, errs[0].Error(), "stream: dial x:1: the dialer returned neither a conn nor an error")
		assert.ErrorIs(t, errs[1], boom)
		assert.ErrorIs(t, peerErr, io.EOF)
	})
}

// TestDialFactoryFailure: a protocol factory that returns nil or panics
// fails the Dial with an error, and the conn is closed.
func TestDialFactoryFailure(t *testing.T) {
	for _, tt := range []struct {
		name    string
		factory func() stream.Protocol
		check   func(t *testing.T, err error)
	}{
		{"nil", func() stream.Protocol { return nil }, func(t *testing.T, err error) {
			assert.Contains(t, err.Error(), "nil protocol from the factory")
		}},
		{"panic", func() stream.Protocol { panic("bad factory") }, func(t *testing.T, err error) {
			var pe *loop.PanicError
			require.ErrorAs(t, err, &pe)
			assert.Equal(t, "bad factory", pe.Value)
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var peerErr error
				pd := &pipeDialer{serve: func(c net.Conn) { _, peerErr = c.Read(make([]byte, 1)); c.Close() }}
				var dialErr error
				run(t, func(co *loop.Coro) error {
					_, dialErr = loop.Await(co, stream.Dial(co.Context(), co.Loop(), "tcp", "x:1", tt.factory, stream.WithDialer(pd.dial)))
					return nil
				})
				pd.wait()
				require.Error(t, dialErr)
				var op *stream.OpError
				require.ErrorAs(t, dialErr, &op)
				assert.Equal(t, "dial", op.Op)
				tt.check(t, dialErr)
				assert.ErrorIs(t, peerErr, io.EOF, "the conn is closed")
			})
		})
	}
}
