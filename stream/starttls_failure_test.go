package stream_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aio-go/aio/future"
	"github.com/aio-go/aio/loop"
	"github.com/aio-go/aio/stream"
)

// TestStartTLSHandshakeFailure: a certificate the client does not trust
// fails StartTLS with ErrTLSHandshake, and ends the connection: one
// ConnectionLost, with the same error.
func TestStartTLSHandshakeFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srvCfg, _ := tlsConfigs(t)
		a, b := net.Pipe()
		var peerErr error
		wait := peer(b, func(c net.Conn) {
			aw := newAsyncWrites(c)
			defer aw.Close()
			peerErr = tls.Server(aw, srvCfg).Handshake()
		})
		r := &recorder{}
		var startErr, writeErr, closeErr error
		run(t, func(co *loop.Coro) error {
			old := stream.Adopt(co.Loop(), a, r)
			_, startErr = old.StartTLS(co, &tls.Config{RootCAs: x509.NewCertPool(), ServerName: "127.0.0.1"})
			if err := r.wait(co, r.isLost); err != nil {
				return err
			}
			writeErr, closeErr = old.Write([]byte("x")), old.Close()
			return nil
		})
		wait()
		assert.Error(t, peerErr, "the client refused the certificate")
		require.Error(t, startErr)
		assert.ErrorIs(t, startErr, stream.ErrTLSHandshake)
		var unknown x509.UnknownAuthorityError
		assert.ErrorAs(t, startErr, &unknown)
		var op *stream.OpError
		require.ErrorAs(t, startErr, &op)
		assert.Equal(t, "start TLS", op.Op)
		assert.Equal(t, []string{"made", "lost:err"}, r.trace)
		assert.Equal(t, 1, r.losts)
		assert.Same(t, startErr, r.err)
		assert.ErrorIs(t, writeErr, stream.ErrClosed, "the failed transport is closed, not handed over")
		assert.NoError(t, closeErr)
	})
}

// TestStartTLSTimeout: WithHandshakeTimeout (and its default, 60 s)
// bounds the upgrade, in virtual time: a peer that never answers, and
// one that does not even read what was written before.
func TestStartTLSTimeout(t *testing.T) {
	tests := []struct {
		name    string
		opts    []stream.Option
		pending int // bytes written before StartTLS
		peer    func(c net.Conn)
		want    time.Duration
	}{
		{"silent peer", []stream.Option{stream.WithHandshakeTimeout(5 * time.Second)}, 0,
			func(c net.Conn) { io.Copy(io.Discard, c) }, 5 * time.Second},
		{"default", nil, 0, func(c net.Conn) { io.Copy(io.Discard, c) }, stream.DefaultHandshakeTimeout},
		{"stuck flush", []stream.Option{stream.WithHandshakeTimeout(time.Second)}, 1 << 20,
			func(c net.Conn) {
				c.Read(make([]byte, 1))
				time.Sleep(time.Hour) // reads nothing more for a while
				io.Copy(io.Discard, c)
			}, time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				_, cliCfg := tlsConfigs(t)
				a, b := net.Pipe()
				wait := peer(b, func(c net.Conn) { tt.peer(c); c.Close() })
				r := &recorder{}
				var startErr error
				var took time.Duration
				run(t, func(co *loop.Coro) error {
					old := stream.Adopt(co.Loop(), a, r)
					if tt.pending > 0 {
						old.Write(make([]byte, tt.pending))
					}
					start := time.Now()
					_, startErr = old.StartTLS(co, cliCfg, tt.opts...)
					took = time.Since(start)
					return r.wait(co, r.isLost)
				})
				wait()
				assert.Equal(t, tt.want, took)
				assert.ErrorIs(t, startErr, stream.ErrTLSHandshake)
				assert.ErrorIs(t, startErr, context.DeadlineExceeded)
				assert.Equal(t, 1, r.losts)
				assert.Same(t, startErr, r.err)
			})
		})
	}
}

// TestStartTLSCancel: cancelling the task in StartTLS aborts the
// connection, in the flush as in the handshake.
func TestStartTLSCancel(t *testing.T) {
	tests := []struct {
		name    string
		pending int
		peer    func(c net.Conn)
	}{
		{"in the handshake", 0, func(c net.Conn) { io.Copy(io.Discard, c) }},
		{"in the flush", 1 << 20, func(c net.Conn) {
			c.Read(make([]byte, 1))
			time.Sleep(time.Hour)
			io.Copy(io.Discard, c)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				_, cliCfg := tlsConfigs(t)
				a, b := net.Pipe()
				wait := peer(b, func(c net.Conn) { tt.peer(c); c.Close() })
				r := &recorder{}
				var startErr error
				run(t, func(co *loop.Coro) error {
					old := stream.Adopt(co.Loop(), a, r)
					if tt.pending > 0 {
						old.Write(make([]byte, tt.pending))
					}
					task := loop.Go(co.Loop(), func(co *loop.Coro) error {
						_, startErr = old.StartTLS(co, cliCfg)
						return startErr
					})
					if err := loop.Sleep(co, time.Second); err != nil {
						return err
					}
					task.Cancel()
					return r.wait(co, r.isLost)
				})
				wait()
				assert.ErrorIs(t, startErr, future.ErrCancelled)
				assert.Equal(t, 1, r.losts)
				assert.ErrorIs(t, r.err, future.ErrCancelled)
				var op *stream.OpError
				require.ErrorAs(t, r.err, &op)
				assert.Equal(t, "start TLS", op.Op)
			})
		})
	}
}

// TestStartTLSAbortOld: Close or Abort of the old transport during the
// upgrade aborts it: StartTLS returns ErrClosed, and ConnectionLost gets
// nil, once.
func TestStartTLSAbortOld(t *testing.T) {
	for _, name := range []string{"Close", "Abort"} {
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				_, cliCfg := tlsConfigs(t)
				a, b := net.Pipe()
				wait := peer(b, func(c net.Conn) { io.Copy(io.Discard, c); c.Close() })
				r := &recorder{}
				var startErr, closeErr error
				run(t, func(co *loop.Coro) error {
					old := stream.Adopt(co.Loop(), a, r)
					task := loop.Go(co.Loop(), func(co *loop.Coro) error {
						_, startErr = old.StartTLS(co, cliCfg)
						return nil
					})
					if err := loop.Sleep(co, time.Second); err != nil {
						return err
					}
					if name == "Close" {
						closeErr = old.Close()
					} else {
						old.Abort()
					}
					_, err := task.Await(co)
					return err
				})
				wait()
				assert.NoError(t, closeErr)
				assert.ErrorIs(t, startErr, stream.ErrClosed)
				assert.Equal(t, []string{"made", "lost"}, r.trace)
				assert.NoError(t, r.err)
			})
		})
	}
}

// noDeadlines is a conn that cannot cut a read short.
type noDeadlines struct{ net.Conn }

func (noDeadlines) SetReadDeadline(time.Time) error { return errors.New("no deadlines here") }

// TestStartTLSRefused: StartTLS on a transport that cannot start TLS
// returns a clear error and leaves the transport as it was.
func TestStartTLSRefused(t *testing.T) {
	tests := []struct {
		name   string
		conn   func(a net.Conn) net.Conn
		setup  func(tr *stream.Transport)
		want   error
		usable bool // the transport still echoes afterwards
	}{
		{"closing", nil, func(tr *stream.Transport) { tr.Close() }, stream.ErrClosed, false},
		{"TLS already", func(a net.Conn) net.Conn { return tls.Client(a, &tls.Config{InsecureSkipVerify: true}) }, nil, stream.ErrAlreadyTLS, false},
		{"no read deadlines", func(a net.Conn) net.Conn { return noDeadlines{a} }, nil, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				a, b := net.Pipe()
				var echoed string
				wait := peer(b, func(c net.Conn) {
					defer c.Close()
					if tt.usable {
						c.Write([]byte("ping"))
						buf := make([]byte, 4)
						io.ReadFull(c, buf)
						echoed = string(buf)
					}
					io.Copy(io.Discard, c)
				})
				var conn net.Conn = a
				if tt.conn != nil {
					conn = tt.conn(a)
				}
				r := &recorder{}
				var startErr error
				run(t, func(co *loop.Coro) error {
					tr := stream.Adopt(co.Loop(), conn, r)
					if err := r.wait(co, func() bool { return r.made > 0 }); err != nil {
						return err
					}
					if tt.setup != nil {
						tt.setup(tr)
					}
					_, startErr = tr.StartTLS(co, &tls.Config{})
					if tt.usable {
						r.onData = func(r *recorder, b []byte) { r.t.Write(b) }
						if err := r.wait(co, hasData(r, "ping")); err != nil {
							return err
						}
					}
					tr.Close()
					return r.wait(co, r.isLost)
				})
				wait()
				require.Error(t, startErr)
				if tt.want != nil {
					assert.ErrorIs(t, startErr, tt.want)
				}
				assert.Contains(t, startErr.Error(), "stream: start TLS")
				if tt.usable {
					assert.Equal(t, "ping", echoed)
					assert.Contains(t, startErr.Error(), "no deadlines here")
				}
				assert.Equal(t, 1, r.losts)
				assert.NoError(t, r.err)
			})
		})
	}
	t.Run("after WriteEOF", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			a, b := halfPipe()
			wait := peer(b, func(c net.Conn) { io.Copy(io.Discard, c); c.Close() })
			r := &recorder{}
			var startErr error
			run(t, func(co *loop.Coro) error {
				tr := stream.Adopt(co.Loop(), a, r)
				tr.WriteEOF()
				_, startErr = tr.StartTLS(co, &tls.Config{})
				tr.Close()
				return r.wait(co, r.isLost)
			})
			wait()
			assert.ErrorIs(t, startErr, stream.ErrWriteAfterEOF)
		})
	})
	t.Run("nil config", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			a, b := net.Pipe()
			defer b.Close()
			var v any
			run(t, func(co *loop.Coro) error {
				tr := stream.Adopt(co.Loop(), a, &echo{})
				defer tr.Abort()
				defer func() { v = recover() }()
				tr.StartTLS(co, nil)
				return nil
			})
			assert.Equal(t, "stream: StartTLS: nil config", v)
		})
	})
}
