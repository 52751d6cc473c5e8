package stream

// Protocol is asyncio's Protocol: the callbacks through which a transport
// tells its user what happens on the connection. They run on the loop
// goroutine, one at a time, in this order: ConnectionMade once; then
// DataReceived any number of times; then EOFReceived at most once; then
// ConnectionLost once. ConnectionLost is called only if ConnectionMade was.
//
// A panic in ConnectionMade, DataReceived or EOFReceived is reported to the
// loop's exception handler and aborts the connection, which then ends with
// ConnectionLost(err), err a *loop.PanicError (asyncio's "Fatal error:
// protocol.data_received() call failed").
//
// A Protocol that also implements WritePauser is told when the write
// buffer passes its high-water mark and when it drains.
type Protocol interface {
	// ConnectionMade is asyncio's connection_made: the connection is
	// ready, t is its transport. It runs in a loop iteration after the
	// transport was made (Adopt, an accept, a Dial), before any other
	// callback of the protocol.
	ConnectionMade(t *Transport)
	// DataReceived is asyncio's data_received: data arrived. data is valid
	// only until DataReceived returns (the transport reuses its buffer):
	// copy what must be kept.
	DataReceived(data []byte)
	// EOFReceived is asyncio's eof_received: the peer closed its writing
	// side. Returning false closes the transport (Close); returning true
	// keeps it open so that the protocol may still write, and the protocol
	// closes it later.
	EOFReceived() (keepOpen bool)
	// ConnectionLost is asyncio's connection_lost: the connection is
	// closed and the transport's goroutines are done. err is nil after
	// Close (or an EOF that was not kept open) and Abort, and the cause
	// otherwise: the read or write error, or an error matching
	// loop.ErrClosed when the loop closed under the connection.
	ConnectionLost(err error)
}

// WritePauser is the optional half of asyncio's flow control that a
// Protocol may implement: PauseWriting is called once the transport's write
// buffer grows past its high-water mark, ResumeWriting once it drains to the
// low-water mark (see Transport.SetWriteBufferLimits). Calls alternate,
// starting with PauseWriting. Both run on the loop goroutine.
type WritePauser interface {
	PauseWriting()
	ResumeWriting()
}
