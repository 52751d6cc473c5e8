package stream_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aio-go/aio/loop"
	"github.com/aio-go/aio/stream"
)

// TestWriterStartTLS: a streams client upgrades in place; the plaintext
// the Reader had buffered stays readable, before the decrypted bytes.
func TestWriterStartTLS(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srvCfg, cliCfg := tlsConfigs(t)
		a, b := net.Pipe()
		var peerErr error
		wait := peer(b, func(c net.Conn) {
			defer c.Close()
			peerErr = func() error {
				if err := expect(c, "STARTTLS\n"); err != nil {
					return err
				}
				c.Write([]byte("220 ready\nbuffered plaintext\n"))
				tc := tls.Server(c, srvCfg)
				if err := tc.Handshake(); err != nil {
					return err
				}
				return tlsEcho(tc)
			}()
		})
		var lines []string
		var buffered int
		var oldTr, newTr *stream.Transport
		var isTLS bool
		var lostErr error
		run(t, func(co *loop.Coro) error {
			r, w := stream.AdoptStreams(co.Loop(), a)
			w.WriteString("STARTTLS\n")
			line, err := r.ReadLine(co)
			if err != nil {
				return err
			}
			lines = append(lines, string(line))
			buffered = r.Buffered()
			oldTr = w.Transport()
			if err := w.StartTLS(co, cliCfg); err != nil {
				return err
			}
			newTr = w.Transport()
			_, isTLS = newTr.TLSConnectionState()
			if line, err = r.ReadLine(co); err != nil {
				return err
			}
			lines = append(lines, string(line))
			w.WriteString("hello")
			got, err := r.ReadExactly(co, 5)
			if err != nil {
				return err
			}
			lines = append(lines, string(got))
			w.Close()
			lostErr = w.WaitClosed(co)
			return nil
		})
		wait()
		require.NoError(t, peerErr)
		assert.Equal(t, []string{"220 ready\n", "buffered plaintext\n", "HELLO"}, lines)
		assert.Equal(t, len("buffered plaintext\n"), buffered)
		assert.NotSame(t, oldTr, newTr)
		assert.True(t, isTLS)
		assert.NoError(t, lostErr)
	})
}

// TestWriterStartTLSServer: the streams of a server upgrade with a server
// handshake by default.
func TestWriterStartTLSServer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srvCfg, cliCfg := tlsConfigs(t)
		ln := newPipeListener()
		var peerErr error
		var got string
		handler := func(co *loop.Coro, r *stream.Reader, w *stream.Writer) error {
			line, err := r.ReadLine(co)
			if err != nil {
				return err
			}
			if string(line) != "STARTTLS\n" {
				return fmt.Errorf("got %q", line)
			}
			w.WriteString("OK\n")
			if err := w.StartTLS(co, srvCfg); err != nil {
				return err
			}
			return upperLines(co, r, w)
		}
		run(t, func(co *loop.Coro) error {
			srv := stream.ServeStreams(co.Loop(), ln, handler)
			_, err := loop.ToThread(co, func(context.Context) (struct{}, error) {
				c := ln.Dial()
				defer c.Close()
				peerErr = func() error {
					c.Write([]byte("STARTTLS\n"))
					if err := expect(c, "OK\n"); err != nil {
						return err
					}
					tc := tls.Client(c, cliCfg)
					tc.Write([]byte("over tls\n"))
					buf := make([]byte, len("OVER TLS\n"))
					if _, err := io.ReadFull(tc, buf); err != nil {
						return err
					}
					got = string(buf)
					return tc.Close()
				}()
				return struct{}{}, nil
			})
			if err != nil {
				return err
			}
			srv.Close()
			return srv.WaitClosed(co)
		})
		require.NoError(t, peerErr)
		assert.Equal(t, "OVER TLS\n", got)
	})
}

// TestWriterStartTLSWritesDuring: during the upgrade the Writer refuses
// writes rather than send them in plaintext or drop them; what was
// written before is sent first, and what is written after, over TLS.
func TestWriterStartTLSWritesDuring(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srvCfg, cliCfg := tlsConfigs(t)
		a, b := net.Pipe()
		var peerErr error
		wait := peer(b, func(c net.Conn) {
			defer c.Close()
			peerErr = func() error {
				if err := expect(c, "STARTTLS\n"); err != nil {
					return err
				}
				tc := tls.Server(c, srvCfg) // a leak in plaintext would break it
				if err := tc.Handshake(); err != nil {
					return err
				}
				return tlsEcho(tc)
			}()
		})
		var during []error
		var echoed []byte
		run(t, func(co *loop.Coro) error {
			r, w := stream.AdoptStreams(co.Loop(), a)
			w.WriteString("STARTTLS\n") // still buffered as StartTLS begins
			task := loop.Go(co.Loop(), func(co *loop.Coro) error { return w.StartTLS(co, cliCfg) })
			if err := loop.Sleep(co, 0); err != nil {
				return err
			}
			during = []error{w.WriteString("leak"), w.WriteEOF(), w.Drain(co)}
			if _, err := task.Await(co); err != nil {
				return err
			}
			if err := w.WriteString("hello"); err != nil {
				return err
			}
			var err error
			if echoed, err = r.ReadExactly(co, 5); err != nil {
				return err
			}
			w.Close()
			return w.WaitClosed(co)
		})
		wait()
		require.NoError(t, peerErr)
		require.Len(t, during, 3)
		assert.ErrorIs(t, during[0], stream.ErrUpgraded)
		assert.ErrorIs(t, during[1], stream.ErrUpgraded)
		assert.NoError(t, during[2], "nothing to drain")
		assert.Equal(t, "HELLO", string(echoed))
	})
}

// TestStartTLSLoopClose: the loop closing during the upgrade ends the
// connection with loop.ErrClosed, once, and leaks nothing.
func TestStartTLSLoopClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, cliCfg := tlsConfigs(t)
		l := loop.New(loop.WithLogger(slog.New(slog.DiscardHandler)))
		a, b := net.Pipe()
		wait := peer(b, func(c net.Conn) { io.Copy(io.Discard, c); c.Close() })
		r := &recorder{}
		tr := stream.Adopt(l, a, r)
		loop.Go(l, func(co *loop.Coro) error {
			_, err := tr.StartTLS(co, cliCfg)
			return err
		})
		_, err := loop.RunUntilComplete(l, loop.Go(l, func(co *loop.Coro) error { return loop.Sleep(co, time.Second) }).Future)
		require.NoError(t, err)
		require.NoError(t, l.Close())
		wait()
		assert.Equal(t, 1, r.losts)
		assert.ErrorIs(t, r.err, loop.ErrClosed)
	})
}

// TestStartTLSLoopback: STARTTLS between two streams endpoints over TCP,
// the client's ServerName defaulting to the host it dialled.
func TestStartTLSLoopback(t *testing.T) {
	cert, pool := selfSigned(t)
	srvCfg := &tls.Config{Certificates: []tls.Certificate{cert}}
	var handlerState tls.ConnectionState
	handler := func(co *loop.Coro, r *stream.Reader, w *stream.Writer) error {
		if line, err := r.ReadLine(co); err != nil || string(line) != "STARTTLS\n" {
			return fmt.Errorf("got %q, %v", line, err)
		}
		w.WriteString("OK\n")
		if err := w.StartTLS(co, srvCfg); err != nil {
			return err
		}
		handlerState, _ = w.Transport().TLSConnectionState()
		return upperLines(co, r, w)
	}
	var got []string
	var st tls.ConnectionState
	var lostErr error
	run(t, func(co *loop.Coro) error {
		srv, err := stream.StartServer(co.Loop(), "tcp", "127.0.0.1:0", handler)
		if err != nil {
			return err
		}
		r, w, err := stream.OpenConnection(co, "tcp", srv.Addr().String())
		if err != nil {
			return err
		}
		w.WriteString("STARTTLS\n")
		line, err := r.ReadLine(co)
		if err != nil {
			return err
		}
		got = append(got, string(line))
		if err := w.StartTLS(co, &tls.Config{RootCAs: pool}); err != nil {
			return err
		}
		st, _ = w.Transport().TLSConnectionState()
		w.WriteString("over tcp and tls\n")
		if line, err = r.ReadLine(co); err != nil {
			return err
		}
		got = append(got, string(line))
		w.Close()
		lostErr = w.WaitClosed(co)
		srv.Close()
		return srv.WaitClosed(co)
	})
	assert.Equal(t, []string{"OK\n", "OVER TCP AND TLS\n"}, got)
	assert.True(t, st.HandshakeComplete)
	assert.NotEmpty(t, st.VerifiedChains, "verified for 127.0.0.1, the host dialled (no SNI for an IP)")
	assert.True(t, handlerState.HandshakeComplete)
	assert.NoError(t, lostErr)
}
