package stream

import (
	"context"
	"crypto/tls"
	"net"
	"time"
)

// An Option configures Dial, Listen, Serve, Adopt and StartTLS, and the
// streams made by OpenConnection, AdoptStreams, StartServer and
// ServeStreams.
type Option interface{ apply(*config) }

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

type config struct {
	tls       *tls.Config
	timeout   time.Duration
	fallback  time.Duration // WithFallbackDelay's; 0: net.Dialer's default
	handshake time.Duration
	limit     int  // the Readers' limit (WithLimit); 0 means DefaultLimit
	portable  bool // WithPortable: no poller
	side      tlsSide
	prefix    []byte // WithTLSPrefix
	// dial is WithDialer's; nil means a net.Dialer's DialContext.
	dial func(ctx context.Context, network, address string) (net.Conn, error)
}

// tlsSide is the side of StartTLS's handshake (WithServerSide).
type tlsSide uint8

const (
	sideDefault tlsSide = iota // Transport.StartTLS: client; Writer.StartTLS: the Writer's
	sideClient
	sideServer
)

// DefaultHandshakeTimeout is asyncio's ssl_handshake_timeout default.
const DefaultHandshakeTimeout = 60 * time.Second

func newConfig(opts []Option) config {
	c := config{handshake: DefaultHandshakeTimeout}
	for _, o := range opts {
		o.apply(&c)
	}
	return c
}

// WithTLS makes the connections TLS with cfg (asyncio's ssl=): Dial runs
// a client handshake (ServerName defaults to the host dialled), a server a
// server handshake on each accepted conn, off the loop, before
// ConnectionMade. A nil cfg means no TLS.
func WithTLS(cfg *tls.Config) Option {
	return optionFunc(func(c *config) { c.tls = cfg })
}

// WithFallbackDelay sets how long a Dial to a host name with both IPv6
// and IPv4 addresses waits for the first family before it also tries the
// other: asyncio's happy_eyeballs_delay (RFC 6555), net.Dialer's
// FallbackDelay. Zero means net.Dialer's default, 300 ms; a negative d
// turns the fallback off, so the addresses are tried one at a time. A
// WithDialer's func does its own dialing, and d does not apply to it.
func WithFallbackDelay(d time.Duration) Option {
	return optionFunc(func(c *config) { c.fallback = d })
}

// netDialer is the net.Dialer of a Dial without WithDialer.
func (c config) netDialer() *net.Dialer { return &net.Dialer{FallbackDelay: c.fallback} }

// WithTimeout bounds a Dial, TLS handshake included (net.Dialer's Timeout).
// A Dial it ends fails with an error matching context.DeadlineExceeded
// whose message says "timed out after" d. Zero or negative means no bound
// other than ctx.
func WithTimeout(d time.Duration) Option {
	return optionFunc(func(c *config) { c.timeout = d })
}

// WithHandshakeTimeout bounds each TLS handshake (asyncio's
// ssl_handshake_timeout); the default is DefaultHandshakeTimeout. Zero or
// negative means no bound. For StartTLS it bounds the whole upgrade, the
// writing of what was buffered before the handshake included.
func WithHandshakeTimeout(d time.Duration) Option {
	return optionFunc(func(c *config) { c.handshake = d })
}

// WithLimit sets the buffer limit of the Readers that OpenConnection,
// AdoptStreams, StartServer and ServeStreams make (asyncio's limit=); 0
// means DefaultLimit. Dial, Listen and Serve ignore it. It panics if n is
// negative.
func WithLimit(n int) Option {
	if n < 0 {
		panic("stream: WithLimit: negative limit")
	}
	return optionFunc(func(c *config) { c.limit = n })
}

// WithServerSide makes StartTLS run a TLS server handshake (server true)
// or a client one (false): asyncio's server_side. Transport.StartTLS
// defaults to a client handshake, Writer.StartTLS to the side the Writer is
// on (a server's for the streams of StartServer and ServeStreams). The other
// calls ignore it.
func WithServerSide(server bool) Option {
	return optionFunc(func(c *config) {
		c.side = sideClient
		if server {
			c.side = sideServer
		}
	})
}

// WithTLSPrefix gives StartTLS bytes that the protocol was handed as
// plaintext but that belong to the TLS stream: the start of the peer's
// handshake, when the peer sent it right behind the plaintext that asked
// for TLS and both came in one read. The handshake reads b first, then what
// the transport had read and not delivered, then the conn. StartTLS keeps
// no reference to b. The other calls ignore it.
func WithTLSPrefix(b []byte) Option {
	return optionFunc(func(c *config) { c.prefix = b })
}

// WithDialer makes Dial (and OpenConnection) connect with dial instead of
// a net.Dialer: for a proxy, a net.Dialer set up otherwise (a local
// address, keep-alives), or a test's in-memory conn (one end of a
// net.Pipe). asyncio has no counterpart; its create_connection(sock=...) is
// Adopt. dial runs off the loop with the Dial's ctx, WithTimeout's bound
// included; it must return once ctx is done, with an error wrapping
// ctx.Err() as net.Dialer does, and a conn only with a nil error. A
// Dial's TLS handshake (WithTLS) runs over the conn dial returns. A nil
// dial means the default, a zero net.Dialer's DialContext. Listen and
// Serve ignore it.
func WithDialer(dial func(ctx context.Context, network, address string) (net.Conn, error)) Option {
	return optionFunc(func(c *config) { c.dial = dial })
}

// WithPortable makes the connections of Dial, Listen, Serve and Adopt (and
// of the streams calls) use the portable path even where the poller would
// serve them (a TCP or Unix socket without TLS, on Linux): a reader
// goroutine per connection blocks in conn.Read, and what a direct write
// leaves is written by a writer goroutine, as for any other net.Conn.
// Protocols and streams behave the same on both paths; the option is for
// comparing them, and for a conn whose socket must not be read without
// blocking. StartTLS ignores it: a TLS connection is always portable.
func WithPortable() Option {
	return optionFunc(func(c *config) { c.portable = true })
}
