package stream

import "errors"

// Errors returned by transports, Dial and servers. Match them with
// errors.Is: the errors the package returns wrap them in an *OpError.
var (
	// ErrClosed: the transport is closing or closed (Close, Abort, a fatal
	// error, or its loop closed). Write, WriteBuffers and WriteEOF return it
	// instead of dropping data silently.
	ErrClosed = errors.New("stream: transport closed")
	// ErrWriteAfterEOF: Write after WriteEOF (asyncio raises RuntimeError).
	ErrWriteAfterEOF = errors.New("stream: write after WriteEOF")
	// ErrCannotWriteEOF: WriteEOF on a connection that cannot half-close
	// (no CloseWrite method, as net.Pipe); see Transport.CanWriteEOF.
	ErrCannotWriteEOF = errors.New("stream: connection cannot write EOF")
	// ErrTLSHandshake: the TLS handshake failed; the error also wraps
	// crypto/tls's own.
	ErrTLSHandshake = errors.New("stream: TLS handshake failed")
	// ErrUpgraded: the transport was handed to StartTLS, and its connection
	// is, or is about to be, the transport StartTLS returns. The old
	// transport's Write, WriteBuffers, WriteEOF and StartTLS return it from
	// the call on, and its Close once the upgrade is done.
	ErrUpgraded = errors.New("stream: transport handed over to StartTLS")
	// ErrAlreadyTLS: StartTLS on a connection that is TLS already.
	ErrAlreadyTLS = errors.New("stream: transport is TLS already")
	// ErrSendQueueFull: SendTo found the send queue of a DatagramTransport at
	// its bound (4096 datagrams, or 1 MiB, waiting or being sent); the
	// datagram was not queued.
	ErrSendQueueFull = errors.New("stream: datagram send queue full")
)

// OpError is the error of a transport, dial or server operation: the
// operation, the address if known, and the cause, as net.OpError and
// fs.PathError.
type OpError struct {
	Op   string // "write", "dial", "start TLS", ...
	Addr string // the remote address, or "" if none applies
	Err  error
}

func (e *OpError) Error() string {
	s := "stream: " + e.Op
	if e.Addr != "" {
		s += " " + e.Addr
	}
	return s + ": " + e.Err.Error()
}

func (e *OpError) Unwrap() error { return e.Err }
