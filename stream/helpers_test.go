package stream_test

import (
	"context"
	"io"
	"net"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/aio-go/aio/loop"
	"github.com/aio-go/aio/stream"
)

// recorder is a Protocol that records what its transport tells it, for
// the test to check after the loop returns. Its hooks, if set, run inside
// the callbacks.
type recorder struct {
	t        *stream.Transport
	trace    []string // consecutive DataReceived calls count once
	data     []byte
	made     int
	eofs     int
	losts    int
	err      error
	keepOpen bool
	pauses   int
	resumes  int
	onMade   func(r *recorder)
	onData   func(r *recorder, b []byte)
	onEOF    func(r *recorder)
	onPause  func(r *recorder)
	onResume func(r *recorder)
	changed  loop.Event
}

func (r *recorder) add(ev string) {
	if ev != "data" || len(r.trace) == 0 || r.trace[len(r.trace)-1] != "data" {
		r.trace = append(r.trace, ev)
	}
	r.changed.Set()
}

func (r *recorder) ConnectionMade(t *stream.Transport) {
	r.t = t
	r.made++
	if r.onMade != nil {
		r.onMade(r)
	}
	r.add("made")
}

func (r *recorder) DataReceived(b []byte) {
	r.data = append(r.data, b...)
	if r.onData != nil {
		r.onData(r, b)
	}
	r.add("data")
}

func (r *recorder) EOFReceived() bool {
	r.eofs++
	if r.onEOF != nil {
		r.onEOF(r)
	}
	r.add("eof")
	return r.keepOpen
}

func (r *recorder) ConnectionLost(err error) {
	r.losts++
	r.err = err
	if err != nil {
		r.add("lost:err")
	} else {
		r.add("lost")
	}
}

func (r *recorder) PauseWriting() {
	r.pauses++
	if r.onPause != nil {
		r.onPause(r)
	}
	r.add("pause")
}

func (r *recorder) ResumeWriting() {
	r.resumes++
	if r.onResume != nil {
		r.onResume(r)
	}
	r.add("resume")
}

// wait suspends the task until pred holds; pred is checked after each
// callback of r.
func (r *recorder) wait(co *loop.Coro, pred func() bool) error {
	for !pred() {
		r.changed.Clear()
		if err := r.changed.Wait(co); err != nil {
			return err
		}
	}
	return nil
}

func (r *recorder) isLost() bool { return r.losts > 0 }

// echo is a Protocol that writes back what it reads.
type echo struct{ t *stream.Transport }

func (e *echo) ConnectionMade(t *stream.Transport) { e.t = t }
func (e *echo) DataReceived(b []byte)              { _ = e.t.Write(b) }
func (e *echo) EOFReceived() bool                  { return false }
func (e *echo) ConnectionLost(error)               {}

// run runs body as the main task of a new loop (loop.Run: the loop shuts
// down gracefully after it, waiting for every transport to be lost).
func run(t *testing.T, body func(co *loop.Coro) error) {
	t.Helper()
	_, err := loop.Run(context.Background(), func(co *loop.Coro) (struct{}, error) {
		return struct{}{}, body(co)
	})
	require.NoError(t, err)
}

// peer runs fn on a goroutine with the far end of a connection and
// returns a func that waits for it.
func peer(c net.Conn, fn func(c net.Conn)) (wait func()) {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		fn(c)
	}()
	return wg.Wait
}

// halfPipe is net.Pipe with half-close: CloseWrite gives the other end
// EOF and leaves the other direction open. Built on io.Pipe, whose blocked
// goroutines are durably blocked in a synctest bubble as net.Pipe's are.
func halfPipe() (a, b *halfConn) {
	ar, bw := io.Pipe()
	br, aw := io.Pipe()
	return &halfConn{r: ar, w: aw}, &halfConn{r: br, w: bw}
}

type halfConn struct {
	r *io.PipeReader
	w *io.PipeWriter
	net.Conn
}

func (c *halfConn) Read(b []byte) (int, error)  { return c.r.Read(b) }
func (c *halfConn) Write(b []byte) (int, error) { return c.w.Write(b) }
func (c *halfConn) CloseWrite() error           { return c.w.Close() }
func (c *halfConn) Close() error {
	c.w.Close()
	return c.r.Close()
}
func (c *halfConn) LocalAddr() net.Addr  { return pipeAddr{} }
func (c *halfConn) RemoteAddr() net.Addr { return pipeAddr{} }

type pipeAddr struct{}

func (pipeAddr) Network() string { return "halfpipe" }
func (pipeAddr) String() string  { return "halfpipe" }
