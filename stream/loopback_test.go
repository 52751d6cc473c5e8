package stream_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"net"
	"os"
	"path/filepath"
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

// Loopback tests run over real sockets on 127.0.0.1 (and a Unix socket),
// outside synctest: a goroutine blocked on a real socket is not durably
// blocked in a bubble.

func newEcho() stream.Protocol { return &echo{} }

// echoThrough dials addr with opts, checks an echo round trip, closes both
// ends and waits for the server to be done. It returns the client's
// transport.
func echoThrough(t *testing.T, network string, srvOpts, dialOpts []stream.Option, addr string) (tlsState tls.ConnectionState, isTLS bool) {
	t.Helper()
	r := &recorder{}
	run(t, func(co *loop.Coro) error {
		l := co.Loop()
		srv, err := stream.Listen(l, network, addr, newEcho, srvOpts...)
		if err != nil {
			return err
		}
		tr, err := loop.Await(co, stream.Dial(co.Context(), l, network, srv.Addr().String(), func() stream.Protocol { return r }, dialOpts...))
		if err != nil {
			return err
		}
		tlsState, isTLS = tr.TLSConnectionState()
		if err := tr.Write([]byte("round trip")); err != nil {
			return err
		}
		if err := r.wait(co, func() bool { return len(r.data) >= len("round trip") }); err != nil {
			return err
		}
		tr.Close()
		if err := r.wait(co, r.isLost); err != nil {
			return err
		}
		srv.Close()
		return srv.WaitClosed(co)
	})
	assert.Equal(t, "round trip", string(r.data))
	assert.Equal(t, []string{"made", "data", "lost"}, r.trace)
	assert.NoError(t, r.err)
	return tlsState, isTLS
}

func TestTCPEcho(t *testing.T) {
	_, isTLS := echoThrough(t, "tcp", nil, nil, "127.0.0.1:0")
	assert.False(t, isTLS)
}

func TestUnixEcho(t *testing.T) {
	echoThrough(t, "unix", nil, nil, filepath.Join(t.TempDir(), "s"))
}

func TestTLSEcho(t *testing.T) {
	cert, pool := selfSigned(t)
	st, isTLS := echoThrough(t, "tcp",
		[]stream.Option{stream.WithTLS(&tls.Config{Certificates: []tls.Certificate{cert}})},
		[]stream.Option{stream.WithTLS(&tls.Config{RootCAs: pool})},
		"127.0.0.1:0")
	require.True(t, isTLS)
	assert.True(t, st.HandshakeComplete)
	assert.NotEmpty(t, st.PeerCertificates)
}

func TestTLSHandshakeFailure(t *testing.T) {
	cert, _ := selfSigned(t)
	var dialErr error
	served := 0
	run(t, func(co *loop.Coro) error {
		l := co.Loop()
		srv, err := stream.Listen(l, "tcp", "127.0.0.1:0", func() stream.Protocol { served++; return &echo{} },
			stream.WithTLS(&tls.Config{Certificates: []tls.Certificate{cert}}))
		if err != nil {
			return err
		}
		// The client does not trust the server's certificate.
		_, dialErr = loop.Await(co, stream.Dial(co.Context(), l, "tcp", srv.Addr().String(), newEcho,
			stream.WithTLS(&tls.Config{})))
		srv.Close()
		return srv.WaitClosed(co)
	})
	require.Error(t, dialErr)
	assert.ErrorIs(t, dialErr, stream.ErrTLSHandshake)
	var unknown x509.UnknownAuthorityError
	assert.ErrorAs(t, dialErr, &unknown)
	assert.Contains(t, dialErr.Error(), "stream: dial 127.0.0.1:")
	assert.Contains(t, dialErr.Error(), "TLS handshake failed")
	assert.Equal(t, 0, served, "no protocol for a failed handshake")
}

func TestDialRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	var dialErr error
	made := false
	run(t, func(co *loop.Coro) error {
		_, dialErr = loop.Await(co, stream.Dial(co.Context(), co.Loop(), "tcp", addr, func() stream.Protocol { made = true; return &echo{} }))
		return nil
	})
	assert.ErrorIs(t, dialErr, syscall.ECONNREFUSED)
	var op *stream.OpError
	require.ErrorAs(t, dialErr, &op)
	assert.Equal(t, "dial", op.Op)
	assert.False(t, made)
}

func TestDialCancellation(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	t.Run("ctx cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		var dialErr error
		run(t, func(co *loop.Coro) error {
			_, dialErr = loop.Await(co, stream.Dial(ctx, co.Loop(), "tcp", ln.Addr().String(), newEcho))
			return nil
		})
		assert.ErrorIs(t, dialErr, context.Canceled)
	})
	t.Run("future cancelled", func(t *testing.T) {
		var dialErr error
		run(t, func(co *loop.Coro) error {
			f := stream.Dial(context.Background(), co.Loop(), "tcp", ln.Addr().String(), newEcho)
			f.Cancel()
			_, dialErr = loop.Await(co, f)
			return nil
		})
		assert.ErrorIs(t, dialErr, context.Canceled)
	})
	t.Run("timeout", func(t *testing.T) {
		var dialErr error
		run(t, func(co *loop.Coro) error {
			var tr *stream.Transport
			tr, dialErr = loop.Await(co, stream.Dial(context.Background(), co.Loop(), "tcp", ln.Addr().String(), newEcho, stream.WithTimeout(-1)))
			if tr != nil {
				tr.Abort()
			}
			return nil
		})
		assert.NoError(t, dialErr, "a timeout <= 0 is no timeout: the dial completes")
	})
}

// TestTCPReset: a peer that resets the connection ends it with an error.
func TestTCPReset(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	accepted := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		c, err := ln.Accept()
		if err != nil {
			return
		}
		<-accepted
		c.(*net.TCPConn).SetLinger(0)
		c.Close()
	}()
	r := &recorder{}
	run(t, func(co *loop.Coro) error {
		_, err := loop.Await(co, stream.Dial(co.Context(), co.Loop(), "tcp", ln.Addr().String(), func() stream.Protocol { return r }))
		if err != nil {
			return err
		}
		close(accepted)
		return r.wait(co, r.isLost)
	})
	wg.Wait()
	assert.ErrorIs(t, r.err, syscall.ECONNRESET)
	assert.Equal(t, []string{"made", "lost:err"}, r.trace)
}

// counter is a Protocol that counts lost connections.
type counter struct {
	lost *int
	all  *loop.Event
	n    int
}

func (c *counter) ConnectionMade(*stream.Transport) {}
func (c *counter) DataReceived([]byte)              {}
func (c *counter) EOFReceived() bool                { return false }
func (c *counter) ConnectionLost(error) {
	*c.lost++
	if *c.lost == c.n {
		c.all.Set()
	}
}

// TestManyAbruptConnections: connections opened and reset at once leave
// no goroutine and no file descriptor behind.
func TestManyAbruptConnections(t *testing.T) {
	n := 1000
	if testing.Short() || raceEnabled {
		n = 200
	}
	warm, err := net.Listen("tcp", "127.0.0.1:0") // the runtime's poller fds exist from here on
	require.NoError(t, err)
	warm.Close()
	fds := openFDs(t)

	lost := 0
	var all loop.Event
	run(t, func(co *loop.Coro) error {
		srv, err := stream.Listen(co.Loop(), "tcp", "127.0.0.1:0", func() stream.Protocol { return &counter{lost: &lost, all: &all, n: n} })
		if err != nil {
			return err
		}
		addr := srv.Addr().String()
		clients := loop.Go(co.Loop(), func(co *loop.Coro) error {
			_, err := loop.ToThread(co, func(context.Context) (struct{}, error) {
				return struct{}{}, dropMany(addr, n)
			})
			return err
		})
		if _, err := clients.Await(co); err != nil {
			return err
		}
		if err := all.Wait(co); err != nil {
			return err
		}
		srv.Close()
		return srv.WaitClosed(co)
	})
	assert.Equal(t, n, lost)
	goleak.VerifyNone(t)
	assert.Equal(t, fds, openFDs(t), "file descriptors left open")
}

// dropMany opens n connections to addr from 4 goroutines and resets each
// at once.
func dropMany(addr string, n int) error {
	const workers = 4
	errs := make(chan error, workers)
	for w := range workers {
		go func() {
			for i := w; i < n; i += workers {
				c, err := net.DialTimeout("tcp", addr, 10*time.Second)
				if err != nil {
					errs <- err
					return
				}
				c.(*net.TCPConn).SetLinger(0)
				c.Close()
			}
			errs <- nil
		}()
	}
	var err error
	for range workers {
		err = errors.Join(err, <-errs)
	}
	return err
}

func openFDs(t *testing.T) int {
	t.Helper()
	es, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc/self/fd")
	}
	return len(es)
}

// selfSigned returns a certificate for 127.0.0.1 and a pool trusting it.
func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "aio stream test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	leaf, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}
