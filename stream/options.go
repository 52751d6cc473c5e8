package stream

import (
	"crypto/tls"
	"time"
)

// An Option configures Dial, Listen and Serve, and the streams made by
// OpenConnection, AdoptStreams, StartServer and ServeStreams.
type Option interface{ apply(*config) }

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

type config struct {
	tls       *tls.Config
	timeout   time.Duration
	handshake time.Duration
	limit     int // the Readers' limit (WithLimit); 0 means DefaultLimit
}

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

// WithTimeout bounds a Dial, TLS handshake included (net.Dialer's Timeout).
// Zero or negative means no bound other than ctx.
func WithTimeout(d time.Duration) Option {
	return optionFunc(func(c *config) { c.timeout = d })
}

// WithHandshakeTimeout bounds each TLS handshake (asyncio's
// ssl_handshake_timeout); the default is DefaultHandshakeTimeout. Zero or
// negative means no bound.
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
