package stream

import (
	"errors"
	"fmt"
	"net"
	"runtime/debug"

	"github.com/aio-go/aio/future"
	"github.com/aio-go/aio/loop"
)

// OpenConnection is asyncio's open_connection: it dials address on the
// named network (Dial, with ctx co.Context() and opts: WithTLS, WithTimeout,
// WithHandshakeTimeout, WithDialer, and WithLimit for the Reader) and returns the
// connection's Reader and Writer once it is made. The error is Dial's, an
// *OpError. Close the Writer to end the connection.
//
// Cancellation: if the task is cancelled while waiting, OpenConnection
// returns an error matching future.ErrCancelled; the dial is cancelled, and
// a connection that completes anyway is closed. If the loop closes, the
// error matches loop.ErrClosed.
//
// Must be called on the loop goroutine.
func OpenConnection(co *loop.Coro, network, address string, opts ...Option) (*Reader, *Writer, error) {
	l := co.Loop()
	p := newStreamProtocol(l, newConfig(opts).limit, nil)
	_, err := loop.Await(co, Dial(co.Context(), l, network, address, func() Protocol { return p }, opts...))
	if err != nil {
		return nil, nil, err
	}
	return p.r, p.w, nil
}

// AdoptStreams makes a transport of conn on l (Adopt) with a streams
// protocol, and returns its Reader and Writer: asyncio's
// open_connection(sock=...), for a net.Conn accepted or dialled elsewhere,
// or one end of a net.Pipe. Only WithLimit and WithPortable apply of
// opts. The Writer
// accepts writes at once.
//
// AdoptStreams panics if l or conn is nil, and with an error matching
// loop.ErrClosed if the loop is closing or closed.
//
// Must be called on the loop goroutine.
func AdoptStreams(l *loop.Loop, conn net.Conn, opts ...Option) (*Reader, *Writer) {
	if l == nil {
		panic("stream: AdoptStreams: nil loop")
	}
	if conn == nil {
		panic("stream: AdoptStreams: nil conn")
	}
	p := newStreamProtocol(l, newConfig(opts).limit, nil)
	p.w.t = Adopt(l, conn, p, opts...)
	return p.r, p.w
}

// StartServer is asyncio's start_server: it listens on address (as
// Listen) and serves it with handler (see ServeStreams).
//
// StartServer panics if l or handler is nil, and with an error matching
// loop.ErrClosed if the loop is closing or closed.
//
// Must be called on the loop goroutine.
func StartServer(l *loop.Loop, network, address string, handler func(co *loop.Coro, r *Reader, w *Writer) error, opts ...Option) (*Server, error) {
	if handler == nil {
		panic("stream: StartServer: nil handler")
	}
	if l == nil {
		panic("stream: StartServer: nil loop")
	}
	return Listen(l, network, address, streamFactory(l, handler, opts), opts...)
}

// ServeStreams is asyncio's start_server(sock=...): it serves ln (as
// Serve), and for each connection runs handler as a new task with the
// connection's Reader and Writer, once the connection is made. When the
// handler returns, the Writer is closed (what it wrote is still sent). An
// error the handler returns (other than a cancellation, or the loop
// closing) and a panic in it are reported to the loop's exception handler,
// with a message naming the connection; the task itself ends without an
// error then, so nothing is reported twice.
//
// The handlers are tasks of the loop: a loop Shutdown stops the server and
// cancels them (a handler waiting in a read gets an error matching
// future.ErrCancelled), and waits for them and their connections to end;
// Close stops them and aborts the connections. Server.Close only stops
// accepting: the handlers go on.
//
// ServeStreams panics if l, ln or handler is nil, and with an error matching
// loop.ErrClosed if the loop is closing or closed.
//
// Must be called on the loop goroutine.
func ServeStreams(l *loop.Loop, ln net.Listener, handler func(co *loop.Coro, r *Reader, w *Writer) error, opts ...Option) *Server {
	if handler == nil {
		panic("stream: ServeStreams: nil handler")
	}
	if ln == nil {
		panic("stream: ServeStreams: nil listener")
	}
	if l == nil {
		panic("stream: ServeStreams: nil loop")
	}
	return Serve(l, ln, streamFactory(l, handler, opts), opts...)
}

func streamFactory(l *loop.Loop, handler func(co *loop.Coro, r *Reader, w *Writer) error, opts []Option) func() Protocol {
	limit := newConfig(opts).limit
	return func() Protocol { return newStreamProtocol(l, limit, handler) }
}

// streamProtocol is asyncio's StreamReaderProtocol: it feeds a Reader
// from its transport and tells its Writer how the transport's write buffer
// and connection fare. With a handler (a server's), ConnectionMade starts
// the handler's task.
type streamProtocol struct {
	r       *Reader
	w       *Writer
	handler func(co *loop.Coro, r *Reader, w *Writer) error
}

var _ WritePauser = (*streamProtocol)(nil)

func newStreamProtocol(l *loop.Loop, limit int, handler func(co *loop.Coro, r *Reader, w *Writer) error) *streamProtocol {
	r := NewReader(l, limit)
	return &streamProtocol{r: r, w: &Writer{r: r, server: handler != nil}, handler: handler}
}

func (p *streamProtocol) ConnectionMade(t *Transport) {
	p.w.t = t
	p.r.SetSource(t)
	if p.handler != nil {
		loop.Go(t.l, p.serve)
	}
}

func (p *streamProtocol) DataReceived(data []byte) { p.r.Feed(data) }

// EOFReceived keeps the transport open: the Writer may still write, and
// closing is the Writer's (or the handler's end).
func (p *streamProtocol) EOFReceived() bool {
	p.r.FeedEOF()
	return true
}

func (p *streamProtocol) ConnectionLost(err error) {
	if !p.r.l.IsClosing() {
		// While the loop closes, the tasks that read are already stopped.
		if err != nil {
			p.r.SetError(err)
		} else {
			p.r.FeedEOF()
		}
	}
	p.w.connectionLost(err)
}

func (p *streamProtocol) PauseWriting()  { p.w.pauseWriting() }
func (p *streamProtocol) ResumeWriting() { p.w.resumeWriting() }

// serve is a server connection's task: the handler, then the Writer's
// Close, and the handler's failure reported.
func (p *streamProtocol) serve(co *loop.Coro) (err error) {
	l := co.Loop()
	defer func() {
		if v := recover(); v != nil {
			err = &loop.PanicError{Value: v, Stack: debug.Stack()}
		}
		p.w.Close()
		if err == nil || errors.Is(err, future.ErrCancelled) || errors.Is(err, loop.ErrClosed) || l.IsClosing() {
			return // a cancellation ends the task cancelled
		}
		l.CallExceptionHandler(loop.ExceptionContext{
			Message: fmt.Sprintf("stream: handler of %s failed", p.w.t),
			Err:     err,
			Task:    loop.CurrentTask(l),
		})
		err = nil
	}()
	return p.handler(co, p.r, p.w)
}
