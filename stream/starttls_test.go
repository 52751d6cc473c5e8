package stream_test

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"slices"
	"strings"
	"testing"
	"testing/synctest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aio-go/aio/loop"
	"github.com/aio-go/aio/stream"
)

// tlsConfigs returns a server config and a client config that trusts it.
// Inside a synctest bubble, make them inside: the certificate is valid
// around the bubble's clock.
func tlsConfigs(t *testing.T) (srv, cli *tls.Config) {
	t.Helper()
	cert, pool := selfSigned(t)
	return &tls.Config{Certificates: []tls.Certificate{cert}},
		&tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}
}

// expect reads len(want) bytes from c and checks them.
func expect(c io.Reader, want string) error {
	got := make([]byte, len(want))
	if _, err := io.ReadFull(c, got); err != nil {
		return fmt.Errorf("reading %q: %w", want, err)
	}
	if string(got) != want {
		return fmt.Errorf("got %q, want %q", got, want)
	}
	return nil
}

// tlsEcho is a TLS peer's end of the test: it reads a 5-byte message, writes
// it back in upper case, and reads until the close_notify.
func tlsEcho(tc *tls.Conn) error {
	msg := make([]byte, 5)
	if _, err := io.ReadFull(tc, msg); err != nil {
		return err
	}
	if _, err := tc.Write(bytes.ToUpper(msg)); err != nil {
		return err
	}
	_, err := io.Copy(io.Discard, tc)
	return err
}

func hasData(r *recorder, s string) func() bool {
	return func() bool { return strings.Contains(string(r.data), s) }
}

// TestStartTLSClient: a STARTTLS exchange in plaintext, then a client
// upgrade, then TLS; the old transport refuses further use. On every path
// of the behaviour table: a polled socket leaves the poller for TLS.
func TestStartTLSClient(t *testing.T) {
	forEachPath(t, func(t *testing.T, p path) {
		srvCfg, cliCfg := tlsConfigs(t)
		a, b := p.pair(t, false)
		var peerErr error
		wait := peer(b, func(c net.Conn) {
			defer c.Close()
			peerErr = func() error {
				if err := expect(c, "EHLO\n"); err != nil {
					return err
				}
				c.Write([]byte("250 hello\n"))
				if err := expect(c, "STARTTLS\n"); err != nil {
					return err
				}
				c.Write([]byte("220 go ahead\n"))
				tc := tls.Server(c, srvCfg)
				if err := tc.Handshake(); err != nil {
					return err
				}
				return tlsEcho(tc)
			}()
		})
		r := &recorder{}
		var st tls.ConnectionState
		var isTLS, oldClosing, newReading bool
		var oldErrs []error
		run(t, func(co *loop.Coro) error {
			old := stream.Adopt(co.Loop(), a, r, p.opts...)
			old.Write([]byte("EHLO\n"))
			if err := r.wait(co, hasData(r, "250 hello\n")); err != nil {
				return err
			}
			old.Write([]byte("STARTTLS\n"))
			if err := r.wait(co, hasData(r, "220 go ahead\n")); err != nil {
				return err
			}
			nt, err := old.StartTLS(co, cliCfg)
			if err != nil {
				return err
			}
			st, isTLS = nt.TLSConnectionState()
			oldClosing, newReading = old.IsClosing(), nt.IsReading()
			_, startErr := old.StartTLS(co, cliCfg)
			oldErrs = []error{old.Write([]byte("x")), old.WriteBuffers(net.Buffers{[]byte("x")}), old.WriteEOF(), old.Close(), startErr}
			old.Abort() // does nothing
			if err := nt.Write([]byte("hello")); err != nil {
				return err
			}
			if err := r.wait(co, hasData(r, "HELLO")); err != nil {
				return err
			}
			nt.Close()
			return r.wait(co, r.isLost)
		})
		wait()
		require.NoError(t, peerErr)
		assert.Equal(t, "250 hello\n220 go ahead\nHELLO", string(r.data))
		assert.Equal(t, []string{"made", "data", "lost"}, r.trace)
		assert.NoError(t, r.err)
		require.True(t, isTLS)
		assert.True(t, st.HandshakeComplete)
		assert.NotEmpty(t, st.PeerCertificates)
		assert.True(t, oldClosing)
		assert.True(t, newReading)
		require.Len(t, oldErrs, 5)
		for i, err := range oldErrs {
			assert.ErrorIs(t, err, stream.ErrUpgraded, "old transport, call %d", i)
		}
		assert.Contains(t, oldErrs[0].Error(), "stream: write "+a.RemoteAddr().String()+": stream: transport handed over to StartTLS")
	})
}

// TestStartTLSServer: a server upgrade; the reply written just before
// StartTLS, more than the conn takes at once, is written first, in
// plaintext: on a polled socket, by the writer once the poller is left.
func TestStartTLSServer(t *testing.T) {
	forEachPath(t, func(t *testing.T, p path) {
		srvCfg, cliCfg := tlsConfigs(t)
		a, b := p.pair(t, false)
		reply := "OK " + strings.Repeat("x", p.big) + "\n"
		wrote := make(chan struct{}) // the peer reads the reply once it is written
		var peerErr error
		var peerState tls.ConnectionState
		wait := peer(b, func(c net.Conn) {
			defer c.Close()
			peerErr = func() error {
				c.Write([]byte("STARTTLS\n"))
				<-wrote
				if err := expect(c, reply); err != nil {
					return err
				}
				tc := tls.Client(c, cliCfg)
				if err := tc.Handshake(); err != nil {
					return err
				}
				peerState = tc.ConnectionState()
				tc.Write([]byte("hello"))
				if err := expect(tc, "HELLO"); err != nil {
					return err
				}
				return tc.Close()
			}()
		})
		var cur *stream.Transport
		r := &recorder{onData: func(r *recorder, b []byte) {
			if cur != nil {
				cur.Write(bytes.ToUpper(b))
			}
		}}
		var isTLS bool
		var pending int
		run(t, func(co *loop.Coro) error {
			old := stream.Adopt(co.Loop(), a, r, p.opts...)
			if err := r.wait(co, hasData(r, "STARTTLS\n")); err != nil {
				return err
			}
			old.Write([]byte(reply))
			pending = old.WriteBufferSize()
			close(wrote)
			nt, err := old.StartTLS(co, srvCfg, stream.WithServerSide(true))
			if err != nil {
				return err
			}
			_, isTLS = nt.TLSConnectionState()
			cur = nt
			return r.wait(co, r.isLost) // the peer's close_notify: EOF, and Close
		})
		wait()
		require.NoError(t, peerErr)
		assert.True(t, peerState.HandshakeComplete)
		assert.True(t, isTLS)
		assert.Positive(t, pending, "the reply was still buffered at StartTLS")
		assert.Equal(t, "STARTTLS\nhello", string(r.data))
		trace := slices.Compact(slices.DeleteFunc(slices.Clone(r.trace), func(ev string) bool { return ev == "pause" || ev == "resume" }))
		assert.Equal(t, []string{"made", "data", "eof", "lost"}, trace)
		assert.Equal(t, 1, r.pauses, "the reply passed the high-water mark")
		assert.Equal(t, 1, r.resumes, "and was written")
		assert.NoError(t, r.err)
	})
}

// firstWrite is a conn whose first Write carries first in front: a peer
// that sends its ClientHello in the same write as its last plaintext.
type firstWrite struct {
	net.Conn
	first []byte
}

func (c *firstWrite) Write(b []byte) (int, error) {
	if c.first == nil {
		return c.Conn.Write(b)
	}
	p := append(c.first, b...)
	c.first = nil
	n, err := c.Conn.Write(p)
	return max(n-(len(p)-len(b)), 0), err
}

// TestStartTLSPrefix: the bytes of the peer's ClientHello that came
// before the handshake reads them are not lost, wherever they are when
// StartTLS is called: in the chunk the protocol got (given back with
// WithTLSPrefix), in a chunk read but not delivered yet, in a chunk kept
// while paused, or still in the conn.
func TestStartTLSPrefix(t *testing.T) {
	tests := []struct {
		name     string
		pipeline bool // the ClientHello in the same write as "STARTTLS\n"
		// before runs on the loop once "STARTTLS\n" was delivered; it
		// returns StartTLS's options.
		before      func(co *loop.Coro, r *recorder, rest []byte) []stream.Option
		wantReading bool
	}{
		{
			name:     "same read: given back",
			pipeline: true,
			before: func(co *loop.Coro, r *recorder, rest []byte) []stream.Option {
				return []stream.Option{stream.WithTLSPrefix(rest)}
			},
			wantReading: true,
		},
		{
			name: "read, not delivered yet",
			before: func(co *loop.Coro, r *recorder, rest []byte) []stream.Option {
				synctest.Wait() // the reader has read the ClientHello and handed it to the loop
				return nil
			},
			wantReading: true,
		},
		{
			name: "kept while paused",
			before: func(co *loop.Coro, r *recorder, rest []byte) []stream.Option {
				r.t.PauseReading()
				synctest.Wait()
				loop.Sleep(co, 0) // the chunk arrives, and is kept
				return nil
			},
		},
		{
			name: "still in the conn",
			before: func(co *loop.Coro, r *recorder, rest []byte) []stream.Option {
				r.t.PauseReading() // before any read of the ClientHello
				return nil
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				srvCfg, cliCfg := tlsConfigs(t)
				a, b := net.Pipe()
				var peerErr error
				wait := peer(b, func(c net.Conn) {
					defer c.Close()
					var tc *tls.Conn
					if tt.pipeline {
						tc = tls.Client(&firstWrite{c, []byte("STARTTLS\n")}, cliCfg)
					} else {
						c.Write([]byte("STARTTLS\n"))
						tc = tls.Client(c, cliCfg)
					}
					peerErr = func() error {
						if err := tc.Handshake(); err != nil {
							return err
						}
						tc.Write([]byte("hello"))
						if err := expect(tc, "HELLO"); err != nil {
							return err
						}
						return tc.Close()
					}()
				})
				var cur *stream.Transport
				var rest []byte // what followed "STARTTLS\n" in its chunk
				seen := false
				pausedInHandler := tt.name == "still in the conn"
				r := &recorder{onData: func(r *recorder, b []byte) {
					switch {
					case cur != nil:
						cur.Write(bytes.ToUpper(b))
					case !seen:
						seen = true
						rest = bytes.Clone(b[len("STARTTLS\n"):])
						if pausedInHandler {
							r.t.PauseReading()
						}
					}
				}}
				var reading bool
				run(t, func(co *loop.Coro) error {
					old := stream.Adopt(co.Loop(), a, r)
					if err := r.wait(co, func() bool { return seen }); err != nil {
						return err
					}
					opts := tt.before(co, r, rest)
					nt, err := old.StartTLS(co, srvCfg, append(opts, stream.WithServerSide(true))...)
					if err != nil {
						return err
					}
					reading = nt.IsReading()
					cur = nt
					nt.ResumeReading()
					return r.wait(co, r.isLost)
				})
				wait()
				require.NoError(t, peerErr)
				if tt.pipeline {
					assert.NotEmpty(t, rest, "the ClientHello came with the plaintext")
				} else {
					assert.Empty(t, rest)
				}
				assert.Equal(t, tt.wantReading, reading, "the new transport reads as the old one did")
				assert.Equal(t, "STARTTLS\n"+string(rest)+"hello", string(r.data))
				assert.Equal(t, 1, r.losts)
				assert.NoError(t, r.err)
			})
		})
	}
}

// TestStartTLSHandOverStress: whatever the interleaving of the peer's
// writes, the transport's reads and StartTLS, no byte is lost or
// delivered twice. The peer may send the end of its plaintext in the same
// write as its ClientHello, from a random point; the protocol gives back
// what it got after the request for TLS, and the task calls StartTLS at
// once, or pauses reading at the request, or lets the reader read first
// (pausing or not).
func TestStartTLSHandOverStress(t *testing.T) {
	runs := 90
	if testing.Short() {
		runs = 15
	}
	synctest.Test(t, func(t *testing.T) {
		srvCfg, cliCfg := tlsConfigs(t)
		for i := range runs {
			mode := i % 4 // 0: at once, 1: pause at the request, 2: read, pause, StartTLS, 3: read, StartTLS
			a, b := net.Pipe()
			plain := bytes.Repeat([]byte("p"), rand.IntN(3*4096))
			var peerErr error
			wait := peer(b, func(c net.Conn) {
				defer c.Close()
				peerErr = func() error {
					// The plaintext and the request in random cuts, the last
					// with the ClientHello.
					rest := append(bytes.Clone(plain), "STARTTLS\n"...)
					var last []byte
					switch rand.IntN(3) {
					case 0: // the ClientHello alone
					case 1: // from around the request
						last = rest[len(plain)+rand.IntN(len("STARTTLS\n")):]
					default:
						last = rest[rand.IntN(len(rest)):]
					}
					rest = rest[:len(rest)-len(last)]
					for len(rest) > 0 {
						n := min(1+rand.IntN(2000), len(rest))
						if _, err := c.Write(rest[:n]); err != nil {
							return err
						}
						rest = rest[n:]
					}
					tc := tls.Client(&firstWrite{c, last}, cliCfg)
					if err := tc.Handshake(); err != nil {
						return err
					}
					tc.Write([]byte("hello"))
					if err := expect(tc, "HELLO"); err != nil {
						return err
					}
					return tc.Close()
				}()
			})
			var cur *stream.Transport
			var got, after []byte
			seen := false
			r := &recorder{onData: func(r *recorder, b []byte) {
				switch {
				case cur != nil:
					cur.Write(bytes.ToUpper(b))
				case seen:
					after = append(after, b...)
				default:
					got = append(got, b...)
					if i := bytes.Index(got, []byte("STARTTLS\n")); i >= 0 {
						seen = true
						after = bytes.Clone(got[i+len("STARTTLS\n"):])
						got = got[:i]
						if mode == 1 {
							r.t.PauseReading()
						}
					}
				}
			}}
			run(t, func(co *loop.Coro) error {
				old := stream.Adopt(co.Loop(), a, r)
				if err := r.wait(co, func() bool { return seen }); err != nil {
					return err
				}
				if mode >= 2 {
					synctest.Wait() // the reader has read what it could
				}
				if mode == 2 {
					old.PauseReading()
					loop.Sleep(co, 0) // what it read is kept
				}
				nt, err := old.StartTLS(co, srvCfg, stream.WithServerSide(true), stream.WithTLSPrefix(after))
				if err != nil {
					return err
				}
				cur = nt
				nt.ResumeReading()
				return r.wait(co, r.isLost)
			})
			wait()
			require.NoError(t, peerErr, "run %d", i)
			require.Equal(t, len(plain), len(got), "run %d", i)
			require.Equal(t, 1, r.losts, "run %d", i)
			require.NoError(t, r.err, "run %d", i)
		}
	})
}

// asyncWrites is a conn whose writes do not wait for the other end to
// read, as over TCP with its send buffer: a goroutine copies them into the
// conn. Over a bare net.Pipe, a TLS client that refuses the server's
// certificate blocks sending its alert while the server still writes the
// rest of its flight.
type asyncWrites struct {
	net.Conn
	ch   chan []byte
	done chan struct{}
}

func newAsyncWrites(c net.Conn) *asyncWrites {
	a := &asyncWrites{Conn: c, ch: make(chan []byte, 64), done: make(chan struct{})}
	go func() {
		defer close(a.done)
		for b := range a.ch {
			c.Write(b) // after an error, the rest is dropped
		}
	}()
	return a
}

func (a *asyncWrites) Write(b []byte) (int, error) {
	a.ch <- bytes.Clone(b)
	return len(b), nil
}

func (a *asyncWrites) Close() error {
	close(a.ch)
	err := a.Conn.Close()
	<-a.done
	return err
}
