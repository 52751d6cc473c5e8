// Package stream is asyncio's transports and protocols, streams and
// datagram endpoints, over any net.Conn or net.PacketConn:
// TCP, Unix sockets, crypto/tls and net.Pipe. A connection costs no task:
// its Protocol's callbacks run on the loop goroutine, and its Transport's
// Write never blocks.
//
// A server (asyncio's create_server) makes a protocol per connection:
//
//	type echo struct{ t *stream.Transport }
//
//	func (e *echo) ConnectionMade(t *stream.Transport) { e.t = t }
//	func (e *echo) DataReceived(b []byte)              { e.t.Write(b) }
//	func (e *echo) EOFReceived() bool                  { return false }
//	func (e *echo) ConnectionLost(err error)           {}
//
//	loop.Run(ctx, func(co *loop.Coro) (struct{}, error) {
//		srv, err := stream.Listen(co.Loop(), "tcp", "127.0.0.1:8000",
//			func() stream.Protocol { return &echo{} })
//		if err != nil {
//			return struct{}{}, err
//		}
//		return struct{}{}, srv.WaitClosed(co) // until srv.Close and its connections end
//	})
//
// A client (asyncio's create_connection) dials off the loop and awaits the
// transport:
//
//	tr, err := loop.Await(co, stream.Dial(co.Context(), co.Loop(), "tcp", "127.0.0.1:8000",
//		func() stream.Protocol { return client }, stream.WithTimeout(5*time.Second)))
//	if err != nil {
//		return err // an *OpError: refused, timed out, ErrTLSHandshake, ...
//	}
//	tr.Write([]byte("hello"))
//
// # What to reach for
//
//   - [Dial] connects (WithTLS, WithTimeout, WithHandshakeTimeout, and
//     WithDialer for a proxy or an in-memory conn);
//     [Adopt] takes a net.Conn made elsewhere (an accepted conn, one end of
//     a net.Pipe).
//   - [Listen] and [Serve] make a [Server]: [Server.Close],
//     [Server.WaitClosed], [Server.Addr].
//   - [Protocol] is what the user writes; [WritePauser] adds flow control.
//   - [Transport] writes ([Transport.Write], [Transport.WriteBuffers],
//     [Transport.WriteEOF]), pauses reading, closes ([Transport.Close],
//     [Transport.Abort]) and sets the write-buffer limits.
//   - [Transport.StartTLS] upgrades a live connection to TLS (STARTTLS,
//     asyncio's loop.start_tls) and returns the new transport;
//     [Writer.StartTLS] upgrades a stream in place. WithServerSide,
//     WithHandshakeTimeout and WithTLSPrefix tune them.
//   - Streams, asyncio's high-level API, for code that reads in a task
//     rather than in callbacks: [OpenConnection] and [AdoptStreams] return
//     a [Reader] and a [Writer]; [StartServer] and [ServeStreams] run a
//     handler task per connection. [Writer.Drain] is the flow control,
//     [Writer.WaitClosed] the end; [WithLimit] sets the Reader's limit.
//   - Datagrams (UDP): [ListenPacket] and [AdoptPacket] make a
//     [DatagramTransport] ([DatagramTransport.SendTo]) for a
//     [DatagramProtocol].
//
// # Concurrency
//
// Protocol callbacks run on the loop goroutine, one at a time; Transport
// and Server methods must be called there too (from a callback or a task).
// Reads: on Linux, a TCP or Unix socket (without TLS) is read on the loop
// goroutine, as in asyncio's selector loop: the loop's poller, one
// goroutine waiting on an epoll set of the loop's own, reports the sockets
// that have data, and the loop reads each without blocking. Any other
// conn (TLS, net.Pipe, a custom net.Conn, or a socket elsewhere) has a
// reader goroutine that blocks in conn.Read and hands each chunk to the
// loop. Writes go out as in asyncio: on a TCP or Unix socket with nothing
// buffered, Write sends at once from the loop goroutine, without waiting,
// as much as the kernel takes; the rest is buffered, and on Linux written
// from the loop goroutine too, as the poller reports the socket writable.
// Every write to other conns (TLS and pipes included), and what a socket
// elsewhere did not take, is buffered and written by a writer goroutine
// that exists only while the buffer is not empty. The loop goroutine never
// blocks on a conn. An idle socket costs no goroutine on Linux (its
// reader goroutine elsewhere) and no read buffer: buffers come from a
// shared pool when data arrives; and an idle streams handler keeps the
// minimum goroutine stack (2 KiB): a write, Close or WriteEOF called in a
// task reaches the conn from the loop goroutine's stack, not the task's,
// at the cost of two coroutine switches. [WithPortable] keeps a socket off the
// poller: it is read by a reader goroutine and written by a writer
// goroutine, as any other conn. A server has one accept goroutine (and
// one per TLS handshake in progress); a Dial has one until it completes; a
// StartTLS has one for its handshake, once the transport's reader has
// handed over.
//
// # Flow control
//
// Writing: Write buffers; once the buffer holds more than the high-water
// mark (DefaultHighWater, 64 KiB), PauseWriting is called, and
// ResumeWriting once it drains to the low-water mark (a quarter of it), as
// in asyncio. A protocol that stops writing between the two keeps its
// buffer within the high-water mark plus one write.
//
// Reading: PauseReading stops the reads themselves: the reader issues no
// Read until ResumeReading, so at most one read buffer (up to 256 KiB) is
// held and the peer's writes block once the kernel's (or the pipe's)
// buffer is full.
//
// # Ordering guarantees
//
//   - ConnectionMade first, then DataReceived in the order the bytes
//     arrived, then EOFReceived at most once, then ConnectionLost exactly
//     once (if ConnectionMade ran).
//   - Bytes are written in the order Write accepted them; Close writes
//     them all before closing the conn, Abort drops them.
//   - ConnectionLost runs after the transport's goroutines are done with
//     the conn.
//
// # Lifecycle
//
// The loop owns its servers and transports. Shutdown closes the servers
// (no new connections) and waits for the connections to end, until its
// ctx ends, as net/http's Server.Shutdown does; Close (and a Shutdown whose
// ctx ended) aborts every connection, runs its ConnectionLost with an error
// matching loop.ErrClosed, and joins every goroutine the package started.
//
// # Errors and panics
//
// Errors are *OpError values wrapping a sentinel ([ErrClosed],
// [ErrWriteAfterEOF], [ErrCannotWriteEOF], [ErrTLSHandshake],
// [ErrUpgraded], [ErrAlreadyTLS]) or the net error: match them with
// errors.Is. Write after Close returns an error matching ErrClosed, and
// Write to a transport handed to StartTLS one matching ErrUpgraded: data
// is never dropped silently. A panic in a protocol callback is reported to
// the loop's exception handler and aborts that connection. Misuse panics
// with a "stream:" message (a nil protocol, factory or TLS config, limits
// with low > high or below zero).
//
// # Testing
//
// Over net.Pipe a transport's goroutines block durably, so protocols can be
// tested inside a testing/synctest bubble, in virtual time; real sockets
// are not durably blocking, so test those outside a bubble.
//
// # Differences from asyncio
//
//   - DataReceived's slice is valid only until the call returns (the
//     reader's buffer is reused): copy what must be kept.
//   - ConnectionMade runs in a later iteration for every way a transport
//     is made, Adopt included; Dial's future completes after it.
//   - Abort passes nil to ConnectionLost, as asyncio does; the loop closing
//     under a connection passes an error matching loop.ErrClosed.
//   - A read or write error is fatal, as in asyncio, and is the error
//     ConnectionLost gets; there is no separate error callback.
//   - StartTLS's old transport refuses use from the call on (ErrUpgraded);
//     asyncio's stays the raw transport under the TLS one, and a write to
//     it during or after the handshake goes out in plaintext. Writes during
//     the upgrade are refused, not queued. The new transport starts
//     reading only as StartTLS returns, so the protocol cannot get data
//     on it before it has it.
//   - A client StartTLS's ServerName defaults to the host Dial dialled (or
//     the remote address's host); asyncio's server_hostname has no default.
//   - Bytes the protocol was handed as plaintext but that belong to the TLS
//     stream (a ClientHello pipelined behind the request) can be given back
//     with WithTLSPrefix; asyncio has no way to, and its Writer.start_tls
//     leaves them in the Reader, as Writer.StartTLS does.
//   - StartTLS needs a conn with read deadlines (TCP, Unix, net.Pipe), to
//     cut the read in progress short at the hand-over.
package stream
