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
// Under each transport, the portable mechanism runs two goroutines: a
// reader that blocks in conn.Read and hands each chunk to the loop, and a
// writer that drains the write buffer with conn.Write. The loop goroutine
// never blocks on a conn. A server has one accept goroutine (and one per TLS
// handshake in progress); a Dial has one until it completes.
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
// Read until ResumeReading, so at most one read buffer (up to 64 KiB) is
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
// [ErrWriteAfterEOF], [ErrCannotWriteEOF], [ErrTLSHandshake]) or the net
// error: match them with errors.Is. Write after Close returns an error
// matching ErrClosed: data is never dropped silently. A panic in a
// protocol callback is reported to the loop's exception handler and aborts
// that connection. Misuse panics with a "stream:" message (a nil protocol
// or factory, limits with low > high or below zero).
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
//   - There is no start_tls (nor Writer.StartTLS): upgrading a live
//     transport needs its reader goroutine stopped at a chunk boundary
//     without losing the bytes of a read in progress (the peer's
//     ClientHello may already be in it), its writer flushed, and the conduit
//     restarted over tls.Client or tls.Server with those bytes put back in
//     front; the conduit has no such hand-over yet. Use WithTLS to make a
//     connection TLS from the start.
package stream
