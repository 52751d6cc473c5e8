package stream_test

import (
	"context"
	"crypto/tls"
	"io"
	"log/slog"
	"net"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/aio-go/aio/future"
	"github.com/aio-go/aio/loop"
	"github.com/aio-go/aio/stream"
)

// The loop ending under connections in every state they can be in: each
// one ends, each ConnectionLost runs once, each listener is closed and no
// goroutine is left.

// liveStates is a loop's connections, one in each state, and what the
// test checks of them once the loop has ended them.
type liveStates struct {
	rs        map[string]*recorder // ConnectionLost must run once for each
	dials     map[string]*future.Future[*stream.Transport]
	lns       map[string]*pipeListener // must be closed
	srvs      map[string]*stream.Server
	taskErrs  map[string]*error // a streams task's error, which must be set
	factories atomic.Int32      // protocols made for the dials and the handshaking server: none
	dialerOut atomic.Bool       // the blocked dialer has returned
	peers     []func()
}

// startStates makes the connections on l from a task, and returns once
// each is in its state and every goroutine is blocked.
func startStates(t *testing.T, l *loop.Loop) *liveStates {
	t.Helper()
	cert, _ := selfSigned(t)
	s := &liveStates{
		rs:       map[string]*recorder{},
		dials:    map[string]*future.Future[*stream.Transport]{},
		lns:      map[string]*pipeListener{},
		srvs:     map[string]*stream.Server{},
		taskErrs: map[string]*error{},
	}
	silent := func(c net.Conn) { io.Copy(io.Discard, c) }
	stuck := func(c net.Conn) { <-l.Done(); c.Close() } // neither reads nor writes
	talker := func(c net.Conn) {
		for {
			if _, err := c.Write([]byte("chatter")); err != nil {
				return
			}
		}
	}
	counted := func() stream.Protocol { s.factories.Add(1); return &echo{} }
	adopt := func(name string, r *recorder, peerFn func(net.Conn)) {
		a, b := net.Pipe()
		s.peers = append(s.peers, peer(b, peerFn))
		s.rs[name] = r
		stream.Adopt(l, a, r)
	}
	adoptStreams := func(peerFn func(net.Conn)) (*stream.Reader, *stream.Writer) {
		a, b := net.Pipe()
		s.peers = append(s.peers, peer(b, peerFn))
		return stream.AdoptStreams(l, a)
	}
	task := func(name string, fn func(co *loop.Coro) error) {
		err := new(error)
		s.taskErrs[name] = err
		loop.Go(l, func(co *loop.Coro) error { *err = fn(co); return nil })
	}
	ready := loop.Spawn(l, func(co *loop.Coro) (struct{}, error) {
		ctx := context.Background()
		s.dials["dialing"] = stream.Dial(ctx, l, "tcp", "black.hole:1", counted,
			stream.WithDialer(blockingDial(&s.dialerOut)))
		pd := &pipeDialer{serve: stuck}
		s.peers = append(s.peers, pd.wait)
		s.dials["TLS handshaking (client)"] = stream.Dial(ctx, l, "tcp", "mute.peer:443", counted,
			stream.WithDialer(pd.dial), stream.WithTLS(&tls.Config{InsecureSkipVerify: true}))

		hsLn := newPipeListener()
		s.lns["TLS handshaking (server)"] = hsLn
		s.srvs["TLS handshaking (server)"] = stream.Serve(l, hsLn, counted,
			stream.WithTLS(&tls.Config{Certificates: []tls.Certificate{cert}}))
		s.peers = append(s.peers, peer(nil, func(net.Conn) { stuck(hsLn.Dial()) }))

		acceptLn := newPipeListener()
		s.lns["accepting"] = acceptLn
		s.srvs["accepting"] = stream.Serve(l, acceptLn, newEcho)

		adopt("idle reading", &recorder{}, silent)
		adopt("paused reading", &recorder{onMade: func(r *recorder) { r.t.PauseReading() }}, talker)
		adopt("writing", &recorder{onMade: func(r *recorder) { r.t.Write(make([]byte, 1000)) }}, stuck)
		adopt("paused writing", &recorder{onMade: func(r *recorder) { r.t.Write(make([]byte, 1<<20)) }}, stuck)
		a, b := halfPipe()
		s.peers = append(s.peers, peer(b, func(c net.Conn) { b.CloseWrite(); io.Copy(io.Discard, c) }))
		s.rs["half-closed"] = &recorder{keepOpen: true}
		stream.Adopt(l, a, s.rs["half-closed"])
		adopt("closing", &recorder{onMade: func(r *recorder) { r.t.Write(make([]byte, 1<<20)); r.t.Close() }}, stuck)

		rd, _ := adoptStreams(silent)
		task("streams reading", func(co *loop.Coro) error { _, err := rd.ReadLine(co); return err })
		_, wr := adoptStreams(stuck)
		wr.Write(make([]byte, 1<<20))
		task("streams draining", wr.Drain)
		streamsLn := newPipeListener()
		s.lns["streams server"] = streamsLn
		handlerErr := new(error)
		s.taskErrs["streams handler"] = handlerErr
		s.srvs["streams server"] = stream.ServeStreams(l, streamsLn, func(co *loop.Coro, r *stream.Reader, w *stream.Writer) error {
			_, *handlerErr = r.Read(co, -1)
			return nil
		})
		s.peers = append(s.peers, peer(nil, func(net.Conn) { stuck(streamsLn.Dial()) }))

		synctestWait(co)
		return struct{}{}, nil
	})
	_, err := loop.RunUntilComplete(l, ready.Future)
	require.NoError(t, err)

	// Each is in its state.
	for name, r := range s.rs {
		require.Equal(t, 1, r.made, name)
		require.Zero(t, r.losts, name)
	}
	require.False(t, s.rs["paused reading"].t.IsReading())
	require.Positive(t, s.rs["writing"].t.WriteBufferSize())
	require.Zero(t, s.rs["writing"].pauses)
	require.Equal(t, 1, s.rs["paused writing"].pauses)
	require.Equal(t, 1, s.rs["half-closed"].eofs)
	require.False(t, s.rs["half-closed"].t.IsClosing())
	require.True(t, s.rs["closing"].t.IsClosing())
	for name, f := range s.dials {
		require.False(t, f.Done(), name)
	}
	for name, err := range s.taskErrs {
		require.NoError(t, *err, name)
	}
	return s
}

// check checks that l's end ended every connection of s.
func (s *liveStates) check(t *testing.T) {
	t.Helper()
	for name, r := range s.rs {
		assert.Equal(t, 1, r.losts, "%s: ConnectionLost once", name)
		assert.ErrorIs(t, r.err, loop.ErrClosed, name)
	}
	for name, f := range s.dials {
		if assert.True(t, f.Done(), name) {
			_, err := f.Result()
			assert.ErrorIs(t, err, loop.ErrClosed, name)
		}
	}
	assert.Zero(t, s.factories.Load(), "no protocol for a connection not made")
	for name, err := range s.taskErrs {
		assert.Error(t, *err, "%s sees the end", name)
	}
	for name, srv := range s.srvs {
		assert.False(t, srv.IsServing(), name)
	}
	for name, ln := range s.lns {
		select {
		case <-ln.done:
		default:
			t.Errorf("%s: the listener is open", name)
		}
	}
}

// TestLoopCloseInEveryState: Close ends connections dialing, TLS
// handshaking on either side, idle, paused reading, writing, paused
// writing, half-closed and closing, streams tasks reading, draining and
// handling, and servers accepting.
func TestLoopCloseInEveryState(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := loop.New()
		s := startStates(t, l)
		require.NoError(t, l.Close())
		s.check(t)
		assert.True(t, s.dialerOut.Load(), "the blocked dialer's ctx was cancelled")
		for _, p := range s.peers {
			p()
		}
	})
	goleak.VerifyNone(t)
}

// TestLoopShutdownInEveryState: the same with a Shutdown whose ctx ends
// while they are live: Shutdown reports the deadline and ends them as
// Close does.
func TestLoopShutdownInEveryState(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := loop.New(loop.WithLogger(slog.New(slog.DiscardHandler)))
		s := startStates(t, l)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		start := time.Now()
		err := l.Shutdown(ctx)
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Equal(t, 10*time.Second, time.Since(start), "Shutdown waited for its ctx")
		s.check(t)
		require.NoError(t, l.Close())
		for _, p := range s.peers {
			p()
		}
	})
	goleak.VerifyNone(t)
}

// TestLoopCloseInEveryStateLoopback: over real sockets, Close ends a
// server accepting, a TLS server's handshake with a client that sends
// nothing, a TLS Dial to a peer that never answers, an idle connection and
// one with bytes buffered to a peer that does not read, and leaves no
// goroutine and no file descriptor: on the poller and with WithPortable.
func TestLoopCloseInEveryStateLoopback(t *testing.T) {
	for _, sp := range socketPaths {
		t.Run(sp.name, func(t *testing.T) { loopCloseInEveryStateLoopback(t, sp.opts) })
	}
}

func loopCloseInEveryStateLoopback(t *testing.T, opts []stream.Option) {
	cert, _ := selfSigned(t)
	warm, err := net.Listen("tcp", "127.0.0.1:0") // the runtime's poller fds exist from here on
	require.NoError(t, err)
	warm.Close()
	fds := openFDs(t)

	// A peer that accepts and then neither reads nor writes.
	mute, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	accepted := make(chan net.Conn, 2)
	muteWait := peer(nil, func(net.Conn) {
		for {
			c, err := mute.Accept()
			if err != nil {
				return
			}
			accepted <- c
		}
	})

	l := loop.New()
	var rs []*recorder
	var dial *future.Future[*stream.Transport]
	var srvs []*stream.Server
	var raw net.Conn
	ready := loop.Spawn(l, func(co *loop.Coro) (struct{}, error) {
		plain, err := stream.Listen(l, "tcp", "127.0.0.1:0", newEcho, opts...)
		if err != nil {
			return struct{}{}, err
		}
		tlsSrv, err := stream.Listen(l, "tcp", "127.0.0.1:0", newEcho,
			stream.WithTLS(&tls.Config{Certificates: []tls.Certificate{cert}}))
		if err != nil {
			return struct{}{}, err
		}
		srvs = append(srvs, plain, tlsSrv)
		// A client of the TLS server that sends nothing.
		raw, err = loop.ToThread(co, func(context.Context) (net.Conn, error) {
			return net.Dial("tcp", tlsSrv.Addr().String())
		})
		if err != nil {
			return struct{}{}, err
		}
		dial = stream.Dial(co.Context(), l, "tcp", mute.Addr().String(), newEcho,
			stream.WithTLS(&tls.Config{InsecureSkipVerify: true}))
		for _, r := range []*recorder{{}, {}} {
			rs = append(rs, r)
			if _, err := loop.Await(co, stream.Dial(co.Context(), l, "tcp", plain.Addr().String(), func() stream.Protocol { return r }, opts...)); err != nil {
				return struct{}{}, err
			}
		}
		// One more, idle reading too, and writing to the mute peer.
		r := &recorder{}
		rs = append(rs, r)
		tr, err := loop.Await(co, stream.Dial(co.Context(), l, "tcp", mute.Addr().String(), func() stream.Protocol { return r }, opts...))
		if err != nil {
			return struct{}{}, err
		}
		tr.Write(make([]byte, 32<<20)) // beyond what the kernel's buffers take
		if tr.WriteBufferSize() == 0 {
			return struct{}{}, io.ErrShortWrite
		}
		return struct{}{}, nil
	})
	_, err = loop.RunUntilComplete(l, ready.Future)
	require.NoError(t, err)
	require.NoError(t, l.Close())

	for i, r := range rs {
		assert.Equal(t, 1, r.losts, "conn %d", i)
		assert.ErrorIs(t, r.err, loop.ErrClosed, "conn %d", i)
	}
	require.True(t, dial.Done())
	_, err = dial.Result()
	assert.ErrorIs(t, err, loop.ErrClosed)
	for _, srv := range srvs {
		assert.False(t, srv.IsServing())
	}

	raw.Close()
	mute.Close()
	muteWait()
	close(accepted)
	for c := range accepted {
		c.Close()
	}
	goleak.VerifyNone(t)
	assert.Equal(t, fds, openFDs(t), "file descriptors left open")
}
