package process

import (
	"errors"
	"io"
	"net"
	"os"
	"time"

	"github.com/aio-go/aio/loop"
	"github.com/aio-go/aio/stream"
)

// errReadOnly is what a write to a read pipe returns; its transport never
// writes to it.
var errReadOnly = errors.New("process: write to the read end of a pipe")

// pipeAddr names a pipe end, for a transport's addresses and reports:
// "sh[1234]:stdout".
type pipeAddr string

func (a pipeAddr) Network() string { return "pipe" }
func (a pipeAddr) String() string  { return string(a) }

// pipeConn is the net.Conn a transport of package stream gets for our end
// of one of the child's pipes. *os.File pipes go through the runtime
// poller, so Close unblocks a Read in progress and the deadlines work.
type pipeConn struct {
	f    *os.File
	addr pipeAddr
}

func (c *pipeConn) Close() error                       { return c.f.Close() }
func (c *pipeConn) LocalAddr() net.Addr                { return c.addr }
func (c *pipeConn) RemoteAddr() net.Addr               { return c.addr }
func (c *pipeConn) SetDeadline(t time.Time) error      { return c.f.SetDeadline(t) }
func (c *pipeConn) SetReadDeadline(t time.Time) error  { return c.f.SetReadDeadline(t) }
func (c *pipeConn) SetWriteDeadline(t time.Time) error { return c.f.SetWriteDeadline(t) }

// readPipe is the read end of the child's stdout or stderr. It cannot
// half-close (it writes nothing).
type readPipe struct{ pipeConn }

func (c *readPipe) Read(b []byte) (int, error)  { return c.f.Read(b) }
func (c *readPipe) Write(b []byte) (int, error) { return 0, errReadOnly }

// writePipe is the write end of the child's stdin. Reading it ends at once
// with io.EOF; CloseWrite (the Writer's WriteEOF) closes the pipe, so the
// child reads the end of its input.
type writePipe struct{ pipeConn }

func (c *writePipe) Read(b []byte) (int, error)  { return 0, io.EOF }
func (c *writePipe) Write(b []byte) (int, error) { return c.f.Write(b) }
func (c *writePipe) CloseWrite() error           { return c.f.Close() }

var (
	_ net.Conn                        = (*readPipe)(nil)
	_ net.Conn                        = (*writePipe)(nil)
	_ interface{ CloseWrite() error } = (*writePipe)(nil)
)

// readerProtocol feeds a Reader from the read end of a pipe. Unlike the
// streams protocol of stream.AdoptStreams, it closes its transport at the
// end of the data: a read pipe has no writing half to keep open, and a
// transport left open would hold up the loop's Shutdown.
type readerProtocol struct {
	l *loop.Loop
	r *stream.Reader
}

func (p *readerProtocol) ConnectionMade(t *stream.Transport) { p.r.SetSource(t) }
func (p *readerProtocol) DataReceived(b []byte)              { p.r.Feed(b) }

func (p *readerProtocol) EOFReceived() bool {
	p.r.FeedEOF()
	return false
}

func (p *readerProtocol) ConnectionLost(err error) {
	if p.r.Err() != nil || p.l.IsClosing() {
		return // while the loop closes, the tasks that read are already stopped
	}
	if err != nil {
		p.r.SetError(err)
	} else {
		p.r.FeedEOF()
	}
}

// adoptReader makes a transport of f on l and returns the Reader it feeds.
func adoptReader(l *loop.Loop, f *os.File, name pipeAddr) *stream.Reader {
	p := &readerProtocol{l: l, r: stream.NewReader(l, 0)}
	stream.Adopt(l, &readPipe{pipeConn{f, name}}, p)
	return p.r
}

// adoptWriter makes a transport of f on l and returns its Writer.
func adoptWriter(l *loop.Loop, f *os.File, name pipeAddr) *stream.Writer {
	_, w := stream.AdoptStreams(l, &writePipe{pipeConn{f, name}})
	return w
}
