package stream

import (
	"bytes"
	"context"
	"errors"
	"net"
	"runtime"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/aio-go/aio/loop"
)

// tally is a Protocol that counts what it reads and its ends.
type tally struct {
	got      *[]byte
	eofs     *int
	lost     *int
	onLost   func()
	keepOpen bool
}

func (p tally) ConnectionMade(*Transport) {}
func (p tally) DataReceived(b []byte)     { *p.got = append(*p.got, b...) }
func (p tally) EOFReceived() bool         { *p.eofs++; return p.keepOpen }
func (p tally) ConnectionLost(error) {
	*p.lost++
	p.onLost()
}

func goroutinesIn(fn string) int {
	buf := make([]byte, 4<<20)
	buf = buf[:runtime.Stack(buf, true)]
	return strings.Count(string(buf), fn)
}

// TestPolledSocketsHaveNoReaderGoroutine: on Linux a socket's reads are
// polled on the loop goroutine: 100 open connections add no goroutine but
// the loop's poller, which returns once they are closed. WithPortable
// gives each connection its reader goroutine instead, and no poller: on
// Serve's connections, and on Dial's and Adopt's.
func TestPolledSocketsHaveNoReaderGoroutine(t *testing.T) {
	const conns = 100
	for _, tc := range []struct {
		name             string
		opts             []Option
		readers, pollers int
	}{
		{"polled", nil, 0, 1},
		{"WithPortable", []Option{WithPortable()}, conns, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := goleak.IgnoreCurrent()
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			require.NoError(t, err)
			var readers, pollers int
			_, err = loop.Run(context.Background(), func(co *loop.Coro) (struct{}, error) {
				srv := Serve(co.Loop(), ln, func() Protocol { return &echoProto{} }, tc.opts...)
				cs, err := loop.ToThread(co, func(context.Context) ([]net.Conn, error) {
					return dialEchoed(ln.Addr().String(), conns, []byte("ping\n"))
				})
				readers = goroutinesIn("stream.(*portable).reader(")
				pollers = goroutinesIn("stream.(*poller).wait(")
				for _, c := range cs {
					c.Close()
				}
				if err != nil {
					return struct{}{}, err
				}
				srv.Close()
				if err := srv.WaitClosed(co); err != nil {
					return struct{}{}, err
				}
				return struct{}{}, nil
			})
			require.NoError(t, err)
			assert.Equal(t, tc.readers, readers, "reader goroutines")
			assert.Equal(t, tc.pollers, pollers, "pollers for the loop")
			// Close has joined the poller; goleak waits for its goroutine
			// to finish returning.
			assert.NoError(t, goleak.Find(before), "the poller returns with the loop")
		})
	}
}

// TestWithPortableOnDialAndAdopt: Dial, Adopt and AdoptStreams take
// WithPortable too: with it none of their sockets is on the poller, and
// without it each is.
func TestWithPortableOnDialAndAdopt(t *testing.T) {
	for _, tc := range []struct {
		name   string
		opts   []Option
		polled bool
	}{
		{"polled", nil, true},
		{"WithPortable", []Option{WithPortable()}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			require.NoError(t, err)
			defer ln.Close()
			var polled []bool
			_, err = loop.Run(context.Background(), func(co *loop.Coro) (struct{}, error) {
				l := co.Loop()
				tr, err := loop.Await(co, Dial(co.Context(), l, "tcp", ln.Addr().String(), func() Protocol { return &echoProto{} }, tc.opts...))
				if err != nil {
					return struct{}{}, err
				}
				var adopted []net.Conn
				for range 2 {
					c, err := net.Dial("tcp", ln.Addr().String())
					if err != nil {
						return struct{}{}, err
					}
					adopted = append(adopted, c)
				}
				a := Adopt(l, adopted[0], &echoProto{}, tc.opts...)
				_, w := AdoptStreams(l, adopted[1], tc.opts...)
				for _, tr := range []*Transport{tr, a, w.Transport()} {
					polled = append(polled, tr.io.(*portable).pl != nil)
				}
				tr.Close()
				a.Close()
				return struct{}{}, w.Close()
			})
			require.NoError(t, err)
			assert.Equal(t, []bool{tc.polled, tc.polled, tc.polled}, polled, "Dial's, Adopt's and AdoptStreams' sockets on the poller")
		})
	}
}

// TestPolledDataThenEOF: a peer that writes and closes at once sends its
// bytes and its FIN in one readiness report; every byte and then the end
// arrive, on each of 200 connections (a read that empties the socket must
// not be taken for the end of what is reported).
func TestPolledDataThenEOF(t *testing.T) {
	const conns = 200
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	msg := bytes.Repeat([]byte("0123456789"), 300)
	gots := make([][]byte, 0, conns)
	eofs, lost := 0, 0
	var all loop.Event
	_, err = loop.Run(context.Background(), func(co *loop.Coro) (struct{}, error) {
		srv := Serve(co.Loop(), ln, func() Protocol {
			gots = append(gots, nil)
			return tally{got: &gots[len(gots)-1], eofs: &eofs, lost: &lost, onLost: func() {
				if lost == conns {
					all.Set()
				}
			}}
		})
		_, err := loop.ToThread(co, func(context.Context) (struct{}, error) {
			for range conns {
				c, err := net.Dial("tcp", ln.Addr().String())
				if err != nil {
					return struct{}{}, err
				}
				_, err = c.Write(msg)
				c.Close()
				if err != nil {
					return struct{}{}, err
				}
			}
			return struct{}{}, nil
		})
		if err != nil {
			return struct{}{}, err
		}
		if err := all.Wait(co); err != nil {
			return struct{}{}, err
		}
		srv.Close()
		return struct{}{}, srv.WaitClosed(co)
	})
	require.NoError(t, err)
	assert.Equal(t, conns, eofs)
	assert.Equal(t, conns, lost)
	for i, got := range gots {
		if !assert.Equal(t, msg, got, "connection %d", i) {
			break
		}
	}
}

// TestPolledWriteFailsWithoutWritableReports: a write left over on a
// socket the poller cannot watch for writability (its registration is
// gone) fails as a write error would: ConnectionLost gets it, and the
// socket, the poller and its goroutine go as usual.
func TestPolledWriteFailsWithoutWritableReports(t *testing.T) {
	before := goleak.IgnoreCurrent()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c // nil if Accept failed: the dial fails too
	}()
	var lost error
	_, err = loop.Run(context.Background(), func(co *loop.Coro) (struct{}, error) {
		var done loop.Event
		r := &lostRecorder{lost: &lost, done: &done}
		tr, err := loop.Await(co, Dial(co.Context(), co.Loop(), "tcp", ln.Addr().String(), func() Protocol { return r }))
		if err != nil {
			return struct{}{}, err
		}
		p := tr.io.(*portable)
		if p.pl == nil {
			return struct{}{}, errors.New("the socket is not polled")
		}
		var delErr error
		if err := p.rc.Control(func(fd uintptr) {
			delErr = syscall.EpollCtl(p.pl.epfd, syscall.EPOLL_CTL_DEL, int(fd), nil)
		}); err != nil || delErr != nil {
			return struct{}{}, errors.Join(err, delErr)
		}
		if err := tr.Write(make([]byte, 16<<20)); err != nil { // more than the kernel takes: the peer does not read
			return struct{}{}, err
		}
		return struct{}{}, done.Wait(co)
	})
	require.NoError(t, err)
	if c := <-accepted; c != nil {
		c.Close()
	}
	var op *OpError
	require.ErrorAs(t, lost, &op)
	assert.Equal(t, "write", op.Op)
	assert.ErrorIs(t, lost, syscall.ENOENT)
	assert.NoError(t, goleak.Find(before), "the poller returns with its last socket")
}

// lostRecorder is a Protocol that keeps ConnectionLost's error.
type lostRecorder struct {
	lost *error
	done *loop.Event
}

func (lostRecorder) ConnectionMade(*Transport) {}
func (lostRecorder) DataReceived([]byte)       {}
func (lostRecorder) EOFReceived() bool         { return false }
func (r lostRecorder) ConnectionLost(err error) {
	*r.lost = err
	r.done.Set()
}
