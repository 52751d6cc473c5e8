package stream_test

import (
	"context"
	"runtime"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/aio-go/aio/loop"
	"github.com/aio-go/aio/stream"
)

// Many connections reset at once, over real loopback sockets: a server
// must be left with no goroutine, no file descriptor and no memory of
// them.

// dropCount is how many connections the drop tests open: 10,000, or 200
// under the race detector or -short.
func dropCount() int {
	if testing.Short() || raceEnabled {
		return 200
	}
	return 10_000
}

// maxDropGrowth bounds the live heap's growth over n dropped connections:
// 100 bytes a connection, so that a leak of 100 bytes per connection
// exceeds it at 10,000, and no less than 256 KiB, the runtime's own noise
// between two measurements (which a short run's 200 connections do not
// rise above).
func maxDropGrowth(n int) uint64 { return max(uint64(n)*100, 256<<10) }

// needFDs makes sure the process may hold n more file descriptors than it
// does, raising the soft limit up to the hard one if needed, and skips the
// test if it cannot.
func needFDs(t *testing.T, n int) {
	t.Helper()
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Skipf("getrlimit: %v", err)
	}
	want := uint64(openFDs(t) + n)
	if lim.Cur >= want {
		return
	}
	if lim.Max < want {
		t.Skipf("needs %d file descriptors, the hard limit is %d", want, lim.Max)
	}
	old := lim
	lim.Cur = lim.Max
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Skipf("needs %d file descriptors, the soft limit %d cannot be raised: %v", want, old.Cur, err)
	}
	t.Cleanup(func() { syscall.Setrlimit(syscall.RLIMIT_NOFILE, &old) })
}

// liveHeap returns the heap's live bytes after a full collection (two, so
// that sync.Pool's victim cache is emptied too).
func liveHeap() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// drops counts the connections a server has lost and sets reached once
// they number target.
type drops struct {
	lost, target int
	reached      loop.Event
}

func (d *drops) lose() {
	d.lost++
	if d.lost == d.target {
		d.reached.Set()
	}
}

// dropAll opens n connections to addr off the loop, resets each at once,
// and waits until the server has lost all n.
func (d *drops) dropAll(co *loop.Coro, addr string, n int) error {
	d.target = d.lost + n
	d.reached.Clear()
	if _, err := loop.ToThread(co, func(context.Context) (struct{}, error) {
		return struct{}{}, dropMany(addr, n)
	}); err != nil {
		return err
	}
	return d.reached.Wait(co)
}

// measure drops warmUp connections (the poller, the pools and the loop's
// queues grow to their working size there), then n more, and returns the
// live heap before and after the n; the server is still open then, so a
// leak into its own state counts.
func (d *drops) measure(co *loop.Coro, addr string, warmUp, n int) (h dropHeap, err error) {
	if err := d.dropAll(co, addr, warmUp); err != nil {
		return h, err
	}
	h.before = liveHeap()
	if err := d.dropAll(co, addr, n); err != nil {
		return h, err
	}
	h.after = liveHeap()
	return h, nil
}

// dropHeap is what a drop test measured.
type dropHeap struct{ before, after uint64 }

func (h dropHeap) growth() int64 { return int64(h.after) - int64(h.before) }

// lostCounter is a Protocol that counts its ConnectionLost in d.
type lostCounter struct{ d *drops }

func (c lostCounter) ConnectionMade(*stream.Transport) {}
func (c lostCounter) DataReceived([]byte)              {}
func (c lostCounter) EOFReceived() bool                { return false }
func (c lostCounter) ConnectionLost(error)             { c.d.lose() }

// checkDrops checks what a drop test of n connections left behind.
func checkDrops(t *testing.T, n, warmUp int, d *drops, h dropHeap, fds int) {
	t.Helper()
	t.Logf("%d connections dropped: live heap %d -> %d bytes (%+d, %.1f bytes per connection; bound %d)",
		n, h.before, h.after, h.growth(), float64(h.growth())/float64(n), maxDropGrowth(n))
	assert.Equal(t, warmUp+n, d.lost)
	assert.Less(t, h.growth(), int64(maxDropGrowth(n)), "live heap left by the dropped connections")
	goleak.VerifyNone(t)
	assert.Equal(t, fds, openFDs(t), "file descriptors left open")
}

// TestTenThousandAbruptConnections: 10,000 connections opened against a
// Listen server and reset at once leave no goroutine, no file descriptor
// and no live heap behind, on the poller and with WithPortable.
func TestTenThousandAbruptConnections(t *testing.T) {
	for _, sp := range socketPaths {
		t.Run(sp.name, func(t *testing.T) { abruptConnections(t, sp.opts) })
	}
}

func abruptConnections(t *testing.T, opts []stream.Option) {
	n := dropCount()
	needFDs(t, 256)
	warmUp := n
	fds := openFDs(t)
	d := &drops{}
	var h dropHeap
	run(t, func(co *loop.Coro) error {
		srv, err := stream.Listen(co.Loop(), "tcp", "127.0.0.1:0", func() stream.Protocol { return lostCounter{d} }, opts...)
		if err != nil {
			return err
		}
		if h, err = d.measure(co, srv.Addr().String(), warmUp, n); err != nil {
			return err
		}
		srv.Close()
		return srv.WaitClosed(co)
	})
	checkDrops(t, n, warmUp, d, h, fds)
}

// TestTenThousandAbruptStreams: the same against a StartServer server,
// whose handler reads until the reset ends its connection.
func TestTenThousandAbruptStreams(t *testing.T) {
	for _, sp := range socketPaths {
		t.Run(sp.name, func(t *testing.T) { abruptStreams(t, sp.opts) })
	}
}

func abruptStreams(t *testing.T, opts []stream.Option) {
	n := dropCount()
	needFDs(t, 256)
	warmUp := n
	fds := openFDs(t)
	d := &drops{}
	var h dropHeap
	var handlerErrs, reported int
	_, err := loop.Run(context.Background(), func(co *loop.Coro) (struct{}, error) {
		srv, err := stream.StartServer(co.Loop(), "tcp", "127.0.0.1:0", func(co *loop.Coro, r *stream.Reader, w *stream.Writer) error {
			defer d.lose()
			if _, err := r.Read(co, -1); err != nil {
				handlerErrs++
			}
			return nil
		}, opts...)
		if err != nil {
			return struct{}{}, err
		}
		if h, err = d.measure(co, srv.Addr().String(), warmUp, n); err != nil {
			return struct{}{}, err
		}
		srv.Close()
		return struct{}{}, srv.WaitClosed(co)
	}, loop.WithExceptionHandler(func(loop.ExceptionContext) { reported++ }))
	require.NoError(t, err)
	checkDrops(t, n, warmUp, d, h, fds)
	assert.Zero(t, reported, "a reset is the handler's error to handle, not the loop's")
	t.Logf("%d of %d handlers saw an error from Read (a reset, or an EOF before it)", handlerErrs, warmUp+n)
}
