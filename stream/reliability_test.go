package stream_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/aio-go/aio/loop"
	"github.com/aio-go/aio/stream"
)

// Peers that misbehave, over real loopback sockets (outside synctest): a
// reset needs a kernel, and so does a TCP half-close.

// rawPeer listens on a loopback port (TLS with cfg, if set), accepts one
// connection and runs fn with it on a goroutine; the conn is closed after
// fn. It returns the address and a func that waits for fn.
func rawPeer(t *testing.T, cfg *tls.Config, fn func(c net.Conn)) (addr string, wait func()) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { ln.Close() }) // if the test fails before it dials
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		c, err := ln.Accept()
		ln.Close()
		if err != nil {
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(time.Minute)) // fail rather than hang if the aio side misbehaves
		if cfg != nil {
			tc := tls.Server(c, cfg)
			if tc.Handshake() != nil {
				return
			}
			c = tc
		}
		fn(c)
	}()
	return ln.Addr().String(), wg.Wait
}

// pattern returns n bytes of the stream whose byte i is i%251, from off.
func pattern(off, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte((off + i) % 251)
	}
	return b
}

// flood writes pattern bytes to c until a write fails.
func flood(c net.Conn) {
	for off := 0; ; {
		n, err := c.Write(pattern(off, 4096))
		off += n
		if err != nil {
			return
		}
	}
}

// reset closes c with SO_LINGER 0: the kernel sends an RST.
func reset(c net.Conn) {
	c.(*net.TCPConn).SetLinger(0)
	c.Close()
}

// socketPath is a way a socket's transport runs: on the loop's poller
// (Linux; the goroutines elsewhere), or on the goroutines (WithPortable).
type socketPath struct {
	name string
	opts []stream.Option
}

var socketPaths = []socketPath{{"poller", nil}, {"portable", []stream.Option{stream.WithPortable()}}}

// isReset reports whether err is what the side of a reset connection gets.
func isReset(err error) bool {
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// TestPeerResetMidRead: a peer that resets the connection while it floods
// the aio side ends it with ECONNRESET, after bytes that are an exact
// prefix of what it sent; ConnectionLost runs once.
func TestPeerResetMidRead(t *testing.T) {
	for _, sp := range socketPaths {
		t.Run(sp.name, func(t *testing.T) { peerResetMidRead(t, sp.opts) })
	}
}

func peerResetMidRead(t *testing.T, opts []stream.Option) {
	t.Run("protocol", func(t *testing.T) {
		now := make(chan struct{})
		addr, wait := rawPeer(t, nil, func(c net.Conn) {
			done := make(chan struct{})
			go func() { defer close(done); flood(c) }()
			<-now
			reset(c)
			<-done
		})
		var once sync.Once
		r := &recorder{onData: func(r *recorder, _ []byte) {
			if len(r.data) >= 1<<20 {
				once.Do(func() { close(now) })
			}
		}}
		run(t, func(co *loop.Coro) error {
			if _, err := loop.Await(co, stream.Dial(co.Context(), co.Loop(), "tcp", addr, func() stream.Protocol { return r }, opts...)); err != nil {
				return err
			}
			return r.wait(co, r.isLost)
		})
		wait()
		assert.ErrorIs(t, r.err, syscall.ECONNRESET)
		var op *stream.OpError
		require.ErrorAs(t, r.err, &op)
		assert.Equal(t, "read", op.Op)
		assert.Equal(t, []string{"made", "data", "lost:err"}, r.trace)
		assert.GreaterOrEqual(t, len(r.data), 1<<20)
		assert.True(t, bytes.Equal(pattern(0, len(r.data)), r.data), "the bytes delivered are a prefix of those sent")
	})
	t.Run("streams", func(t *testing.T) {
		now := make(chan struct{})
		addr, wait := rawPeer(t, nil, func(c net.Conn) {
			done := make(chan struct{})
			go func() { defer close(done); flood(c) }()
			<-now
			reset(c)
			<-done
		})
		var got []byte
		var readErr, closedErr, srcErr error
		run(t, func(co *loop.Coro) error {
			r, w, err := stream.OpenConnection(co, "tcp", addr, opts...)
			if err != nil {
				return err
			}
			for {
				b, err := r.Read(co, 64<<10)
				if err != nil {
					readErr = err
					break
				}
				if len(got) < 1<<20 && len(got)+len(b) >= 1<<20 {
					close(now)
				}
				got = append(got, b...)
			}
			srcErr = r.Err()
			closedErr = w.WaitClosed(co)
			return nil
		})
		wait()
		assert.ErrorIs(t, readErr, syscall.ECONNRESET)
		assert.ErrorIs(t, srcErr, syscall.ECONNRESET)
		assert.ErrorIs(t, closedErr, syscall.ECONNRESET)
		assert.GreaterOrEqual(t, len(got), 1<<20)
		assert.True(t, bytes.Equal(pattern(0, len(got)), got))
	})
}

// TestPeerResetMidWrite: a peer that resets the connection while a large
// write is in flight to it (it never reads) ends the connection with
// ECONNRESET or EPIPE; no ResumeWriting comes, a waiting Drain returns the
// error, and later writes fail with ErrClosed.
func TestPeerResetMidWrite(t *testing.T) {
	for _, sp := range socketPaths {
		t.Run(sp.name, func(t *testing.T) { peerResetMidWrite(t, sp.opts) })
	}
}

func peerResetMidWrite(t *testing.T, opts []stream.Option) {
	const big = 16 << 20 // far more than the loopback socket buffers hold
	t.Run("protocol", func(t *testing.T) {
		now := make(chan struct{})
		addr, wait := rawPeer(t, nil, func(c net.Conn) { <-now; reset(c) })
		var bufferedAtReset int
		r := &recorder{onPause: func(r *recorder) {
			bufferedAtReset = r.t.WriteBufferSize()
			close(now)
		}}
		var writeErr, eofErr error
		run(t, func(co *loop.Coro) error {
			tr, err := loop.Await(co, stream.Dial(co.Context(), co.Loop(), "tcp", addr, func() stream.Protocol { return r }, opts...))
			if err != nil {
				return err
			}
			if err := tr.Write(make([]byte, big)); err != nil {
				return err
			}
			if err := r.wait(co, r.isLost); err != nil {
				return err
			}
			writeErr, eofErr = tr.Write([]byte("x")), tr.WriteEOF()
			return nil
		})
		wait()
		assert.Greater(t, bufferedAtReset, stream.DefaultHighWater)
		assert.True(t, isReset(r.err), "ConnectionLost(%v)", r.err)
		var op *stream.OpError
		assert.ErrorAs(t, r.err, &op)
		// The kernel reports the reset to one call: if the write gets it
		// first, the read that follows finds the stream ended, and the
		// protocol sees an EOF before the write's error, as in asyncio.
		trace := slices.DeleteFunc(slices.Clone(r.trace), func(ev string) bool { return ev == "eof" })
		assert.Equal(t, []string{"made", "pause", "lost:err"}, trace)
		assert.LessOrEqual(t, len(r.trace)-len(trace), 1, "at most one EOF")
		assert.ErrorIs(t, writeErr, stream.ErrClosed)
		assert.ErrorIs(t, eofErr, stream.ErrClosed)
	})
	t.Run("streams", func(t *testing.T) {
		now := make(chan struct{})
		addr, wait := rawPeer(t, nil, func(c net.Conn) { <-now; reset(c) })
		var buffered int
		var drainErr, closedErr, writeErr error
		run(t, func(co *loop.Coro) error {
			_, w, err := stream.OpenConnection(co, "tcp", addr, opts...)
			if err != nil {
				return err
			}
			if err := w.Write(make([]byte, big)); err != nil {
				return err
			}
			buffered = w.Transport().WriteBufferSize()
			close(now)
			drainErr = w.Drain(co)
			closedErr = w.WaitClosed(co)
			writeErr = w.Write([]byte("x"))
			return nil
		})
		wait()
		assert.Greater(t, buffered, stream.DefaultHighWater)
		assert.True(t, isReset(drainErr), "Drain: %v", drainErr)
		assert.True(t, isReset(closedErr), "WaitClosed: %v", closedErr)
		assert.ErrorIs(t, writeErr, stream.ErrClosed)
	})
}

// closeWriter is a conn that can half-close.
type closeWriter interface{ CloseWrite() error }

// halfCloseCase is a kind of conn that can half-close: the peer's TLS
// config (nil for TCP) and Dial's options.
type halfCloseCase struct {
	name string
	srv  *tls.Config
	dial []stream.Option
}

// halfCloseCases are the conns that can half-close, over loopback: TCP's
// CloseWrite is a FIN (on the poller, and with WithPortable), TLS's a
// close_notify alert.
func halfCloseCases(t *testing.T) []halfCloseCase {
	cert, pool := selfSigned(t)
	return []halfCloseCase{
		{name: "tcp"},
		{name: "tcp (portable)", dial: []stream.Option{stream.WithPortable()}},
		{name: "tls", srv: &tls.Config{Certificates: []tls.Certificate{cert}},
			dial: []stream.Option{stream.WithTLS(&tls.Config{RootCAs: pool})}},
	}
}

// TestHalfCloseLoopback: over TCP and TLS, for a protocol and for
// streams, an aio WriteEOF gives the peer EOF while the peer can still
// send, and a peer's CloseWrite gives the aio side EOF (EOFReceived, or
// the Reader's end) while it can still write.
func TestHalfCloseLoopback(t *testing.T) {
	for _, tc := range halfCloseCases(t) {
		t.Run(tc.name+"/protocol, aio WriteEOF", func(t *testing.T) {
			var request []byte
			addr, wait := rawPeer(t, tc.srv, func(c net.Conn) {
				request, _ = io.ReadAll(c) // until the aio side's EOF
				c.Write(append([]byte("reply to "), request...))
			})
			r := &recorder{}
			var can bool
			run(t, func(co *loop.Coro) error {
				tr, err := loop.Await(co, stream.Dial(co.Context(), co.Loop(), "tcp", addr, func() stream.Protocol { return r }, tc.dial...))
				if err != nil {
					return err
				}
				can = tr.CanWriteEOF()
				if err := tr.Write([]byte("request")); err != nil {
					return err
				}
				if err := tr.WriteEOF(); err != nil {
					return err
				}
				return r.wait(co, r.isLost)
			})
			wait()
			assert.True(t, can)
			assert.Equal(t, "request", string(request))
			assert.Equal(t, "reply to request", string(r.data))
			assert.Equal(t, []string{"made", "data", "eof", "lost"}, r.trace)
			assert.NoError(t, r.err)
		})
		t.Run(tc.name+"/protocol, peer CloseWrite", func(t *testing.T) {
			var reply []byte
			addr, wait := rawPeer(t, tc.srv, func(c net.Conn) {
				c.Write([]byte("request"))
				c.(closeWriter).CloseWrite()
				reply, _ = io.ReadAll(c) // until the aio side closes
			})
			r := &recorder{keepOpen: true}
			var closingAtEOF bool
			run(t, func(co *loop.Coro) error {
				tr, err := loop.Await(co, stream.Dial(co.Context(), co.Loop(), "tcp", addr, func() stream.Protocol { return r }, tc.dial...))
				if err != nil {
					return err
				}
				if err := r.wait(co, func() bool { return r.eofs > 0 }); err != nil {
					return err
				}
				closingAtEOF = tr.IsClosing()
				if err := tr.Write(append([]byte("reply to "), r.data...)); err != nil {
					return err
				}
				tr.Close()
				return r.wait(co, r.isLost)
			})
			wait()
			assert.False(t, closingAtEOF, "EOFReceived kept it open")
			assert.Equal(t, "reply to request", string(reply))
			assert.Equal(t, []string{"made", "data", "eof", "lost"}, r.trace)
			assert.NoError(t, r.err)
		})
		t.Run(tc.name+"/streams, aio WriteEOF", func(t *testing.T) {
			var request []byte
			addr, wait := rawPeer(t, tc.srv, func(c net.Conn) {
				request, _ = io.ReadAll(c)
				c.Write(append([]byte("reply to "), request...))
			})
			var reply []byte
			var lateErr, closedErr error
			run(t, func(co *loop.Coro) error {
				r, w, err := stream.OpenConnection(co, "tcp", addr, tc.dial...)
				if err != nil {
					return err
				}
				w.WriteString("request")
				if err := w.WriteEOF(); err != nil {
					return err
				}
				lateErr = w.WriteString("late")
				if reply, err = r.Read(co, -1); err != nil {
					return err
				}
				w.Close()
				closedErr = w.WaitClosed(co)
				return nil
			})
			wait()
			assert.Equal(t, "request", string(request))
			assert.Equal(t, "reply to request", string(reply))
			assert.ErrorIs(t, lateErr, stream.ErrWriteAfterEOF)
			assert.NoError(t, closedErr)
		})
		t.Run(tc.name+"/streams, peer CloseWrite", func(t *testing.T) {
			var reply []byte
			addr, wait := rawPeer(t, tc.srv, func(c net.Conn) {
				c.Write([]byte("request"))
				c.(closeWriter).CloseWrite()
				reply, _ = io.ReadAll(c)
			})
			var request []byte
			var atEOF bool
			var closedErr error
			run(t, func(co *loop.Coro) error {
				r, w, err := stream.OpenConnection(co, "tcp", addr, tc.dial...)
				if err != nil {
					return err
				}
				if request, err = r.Read(co, -1); err != nil { // until the peer's EOF
					return err
				}
				atEOF = r.AtEOF()
				if err := w.Write(append([]byte("reply to "), request...)); err != nil {
					return err
				}
				if err := w.Drain(co); err != nil {
					return err
				}
				w.Close()
				closedErr = w.WaitClosed(co)
				return nil
			})
			wait()
			assert.Equal(t, "request", string(request))
			assert.True(t, atEOF)
			assert.Equal(t, "reply to request", string(reply))
			assert.NoError(t, closedErr)
		})
	}
}

// TestFailedConnectionsLeakNothing: TLS handshakes that fail on either
// side, refused dials and a plain client at a TLS server give clear
// errors, make no protocol, and leave no goroutine and no file descriptor
// behind.
func TestFailedConnectionsLeakNothing(t *testing.T) {
	cert, pool := selfSigned(t)
	rounds := 20
	if testing.Short() {
		rounds = 5
	}
	refused, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	refusedAddr := refused.Addr().String()
	refused.Close()

	attempt := func(t *testing.T) {
		served := 0
		var errs []error
		var plainErr error
		factory := func() stream.Protocol { served++; return &echo{} }
		run(t, func(co *loop.Coro) error {
			l := co.Loop()
			tlsSrv, err := stream.Listen(l, "tcp", "127.0.0.1:0", factory,
				stream.WithTLS(&tls.Config{Certificates: []tls.Certificate{cert}}))
			if err != nil {
				return err
			}
			certSrv, err := stream.Listen(l, "tcp", "127.0.0.1:0", factory,
				stream.WithTLS(&tls.Config{Certificates: []tls.Certificate{cert}, ClientAuth: tls.RequireAnyClientCert}))
			if err != nil {
				return err
			}
			plainSrv, err := stream.Listen(l, "tcp", "127.0.0.1:0", newEcho)
			if err != nil {
				return err
			}
			dial := func(addr string, opts ...stream.Option) {
				_, err := loop.Await(co, stream.Dial(co.Context(), l, "tcp", addr, newEcho, opts...))
				errs = append(errs, err)
			}
			dial(tlsSrv.Addr().String(), stream.WithTLS(&tls.Config{}))                                             // the client distrusts the server
			dial(certSrv.Addr().String(), stream.WithTLS(&tls.Config{RootCAs: pool, MaxVersion: tls.VersionTLS12})) // the server wants a client certificate
			dial(plainSrv.Addr().String(), stream.WithTLS(&tls.Config{RootCAs: pool}))                              // the server speaks no TLS
			// A client that speaks no TLS to a TLS server: the server's
			// handshake fails and it closes the conn.
			_, plainErr = loop.ToThread(co, func(context.Context) (struct{}, error) {
				c, err := net.Dial("tcp", tlsSrv.Addr().String())
				if err != nil {
					return struct{}{}, err
				}
				defer c.Close()
				c.SetDeadline(time.Now().Add(time.Minute)) // fail rather than hang if the server keeps the conn
				c.Write([]byte("GET / HTTP/1.0\r\n\r\n"))
				_, err = io.ReadAll(c)
				return struct{}{}, err
			})
			// Bounded, to fail rather than hang if a conn is kept open.
			err = loop.WithTimeout(co, time.Minute, func(*loop.Timeout) error {
				for _, srv := range []*stream.Server{tlsSrv, certSrv, plainSrv} {
					srv.Close()
					if err := srv.WaitClosed(co); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				return err
			}
			_, err = loop.Await(co, stream.Dial(co.Context(), l, "tcp", refusedAddr, factory))
			errs = append(errs, err)
			return nil
		})
		require.Len(t, errs, 4)
		for i, err := range errs[:3] {
			assert.ErrorIs(t, err, stream.ErrTLSHandshake, "dial %d", i)
			var op *stream.OpError
			if assert.ErrorAs(t, err, &op, "dial %d", i) {
				assert.Equal(t, "dial", op.Op)
			}
		}
		assert.ErrorIs(t, errs[3], syscall.ECONNREFUSED)
		require.NoError(t, plainErr, "the TLS server closed the plain client's conn")
		assert.Zero(t, served, "no protocol for a failed handshake")
	}
	attempt(t) // the runtime's poller and crypto's tables exist from here on
	fds := openFDs(t)
	for range rounds {
		attempt(t)
	}
	goleak.VerifyNone(t)
	assert.Equal(t, fds, openFDs(t), "file descriptors left open")
}
