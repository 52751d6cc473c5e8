package stream

import (
	"net"
	"os"
	"sync"
	"syscall"

	"github.com/aio-go/aio/internal/hooks"
	"github.com/aio-go/aio/loop"
)

// A poller reads a loop's sockets without a goroutine per connection: the
// sockets are registered, edge-triggered, in an epoll set of the loop's
// own, and one goroutine waits on that set through the runtime's netpoller
// (the epoll descriptor is itself pollable) and hands each batch of
// readiness reports to the loop in one callback. The reads are done on the
// loop goroutine, without blocking (portable.tryRead), as asyncio's
// selector loop does; so are the writes the kernel did not take at once
// (portable.flush), once the socket is reported writable.
//
// A loop has at most one poller at a time; it exists while sockets are
// registered, and its goroutine returns once the last is removed or the
// loop closes. The poller is a daemon resource of the loop, so Close joins
// its goroutine and Shutdown does not wait for it.
type poller struct {
	l    *loop.Loop
	epfd int
	file *os.File // epfd, closed to end the goroutine
	rc   syscall.RawConn

	regs   map[uint64]*portable // loop-only: registered sockets by token
	next   uint64               // loop-only: the last token given; tokens are never reused
	closed bool                 // loop-only: file is closed
	spare  []readiness          // loop-only: the dispatched batch, for reuse

	mu     sync.Mutex
	ready  []readiness // under mu: reports not yet dispatched
	posted bool        // under mu: a dispatch is on its way to the loop

	done     chan struct{} // closed when the goroutine has returned
	dispatch func()
}

// readiness is a socket's report: it may have data (in), and, if ended is
// set, its stream has ended (a FIN, a reset or an error) and reading goes
// on until it says so; it may take bytes (out).
type readiness struct {
	tok       uint64
	in, ended bool
	out       bool
}

// pollers are the loops' current pollers.
var pollers struct {
	sync.Mutex
	m map[*loop.Loop]*poller
}

// epollET is EPOLLET as the uint32 of an epoll event's mask.
const epollET = 1 << 31

// The events a socket is registered for: readable edges, and, once a
// write was left over (watchOut), writable ones.
const (
	epollIn    = syscall.EPOLLIN | syscall.EPOLLRDHUP | epollET
	epollInOut = epollIn | syscall.EPOLLOUT
)

// pollerFor returns l's poller, starting one if there is none, or nil if
// one cannot be made (the caller reads with a goroutine then). Called on
// the loop goroutine.
func pollerFor(l *loop.Loop) *poller {
	pollers.Lock()
	defer pollers.Unlock()
	if pl := pollers.m[l]; pl != nil {
		return pl
	}
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil
	}
	if err := syscall.SetNonblock(epfd, true); err != nil {
		syscall.Close(epfd)
		return nil
	}
	file := os.NewFile(uintptr(epfd), "epoll")
	rc, err := file.SyscallConn()
	if err != nil {
		file.Close()
		return nil
	}
	pl := &poller{l: l, epfd: epfd, file: file, rc: rc, regs: make(map[uint64]*portable), done: make(chan struct{})}
	pl.dispatch = pl.dispatchReady
	hooks.Loop.Track(l, pl)
	if pollers.m == nil {
		pollers.m = make(map[*loop.Loop]*poller)
	}
	pollers.m[l] = pl
	go pl.wait()
	return pl
}

// add registers p's socket and returns its token; false means it could not
// be registered (p reads with a goroutine then).
func (pl *poller) add(p *portable) (uint64, bool) {
	if pl.closed {
		return 0, false
	}
	tok := pl.next + 1
	var err error
	cerr := p.rc.Control(func(fd uintptr) {
		ev := syscall.EpollEvent{Events: epollIn, Fd: int32(tok), Pad: int32(tok >> 32)}
		err = syscall.EpollCtl(pl.epfd, syscall.EPOLL_CTL_ADD, int(fd), &ev)
	})
	if cerr != nil || err != nil {
		if len(pl.regs) == 0 {
			pl.Close()
		}
		return 0, false
	}
	pl.next = tok
	pl.regs[tok] = p
	return tok, true
}

// watchOut adds writable edges to the events p's socket is registered
// for; the error says why it could not. The socket is reported at once if
// it is writable already, so a write left over just before is not missed.
func (pl *poller) watchOut(p *portable, tok uint64) error {
	if pl.closed {
		return net.ErrClosed
	}
	var err error
	cerr := p.rc.Control(func(fd uintptr) {
		ev := syscall.EpollEvent{Events: epollInOut, Fd: int32(tok), Pad: int32(tok >> 32)}
		err = syscall.EpollCtl(pl.epfd, syscall.EPOLL_CTL_MOD, int(fd), &ev)
	})
	if err != nil {
		return os.NewSyscallError("epoll_ctl", err)
	}
	return cerr
}

// remove unregisters p's socket, before it is closed; the last removal
// ends the poller.
func (pl *poller) remove(p *portable, tok uint64) {
	if _, ok := pl.regs[tok]; !ok {
		return
	}
	delete(pl.regs, tok)
	if !pl.closed {
		p.rc.Control(func(fd uintptr) {
			syscall.EpollCtl(pl.epfd, syscall.EPOLL_CTL_DEL, int(fd), nil)
		})
	}
	if len(pl.regs) == 0 {
		pl.Close()
	}
}

// wait is the poller's goroutine: it collects readiness reports and posts
// one dispatch for all that arrive before the loop runs it.
func (pl *poller) wait() {
	defer close(pl.done)
	events := make([]syscall.EpollEvent, 256)
	for {
		n := 0
		err := pl.rc.Read(func(fd uintptr) bool {
			var werr error
			n, werr = syscall.EpollWait(int(fd), events, 0)
			return n > 0 || werr != nil && werr != syscall.EINTR
		})
		if err != nil {
			break // the file is closed
		}
		if n <= 0 {
			continue
		}
		pl.mu.Lock()
		for _, ev := range events[:n] {
			const end = syscall.EPOLLRDHUP | syscall.EPOLLHUP | syscall.EPOLLERR
			pl.ready = append(pl.ready, readiness{
				tok:   uint64(uint32(ev.Fd)) | uint64(uint32(ev.Pad))<<32,
				in:    ev.Events&(syscall.EPOLLIN|end) != 0,
				ended: ev.Events&end != 0,
				out:   ev.Events&(syscall.EPOLLOUT|syscall.EPOLLHUP|syscall.EPOLLERR) != 0,
			})
		}
		post := !pl.posted
		pl.posted = true
		pl.mu.Unlock()
		if post && !hooks.Loop.CallSoonInternal(pl.l, pl.dispatch) {
			break // the loop is closed; its Close closes the file
		}
	}
	hooks.Loop.Post(pl.l, (*untrackPoller)(pl))
}

// untrackPoller is the poller's last report, once its goroutine is done:
// the loop no longer owns it.
type untrackPoller poller

func (u *untrackPoller) RunPosted(hooks.Token) { hooks.Loop.Untrack(u.l, (*poller)(u)) }

// dispatchReady tells each registered socket reported ready, on the loop
// goroutine.
func (pl *poller) dispatchReady() {
	pl.mu.Lock()
	batch := pl.ready
	pl.ready, pl.posted = pl.spare[:0], false
	pl.mu.Unlock()
	for _, r := range batch {
		if p := pl.regs[r.tok]; p != nil {
			p.ready(r.in, r.ended, r.out)
		}
	}
	clear(batch)
	pl.spare = batch[:0]
}

// Close ends the poller: its goroutine returns, and a socket that still
// needs one registers with a new poller. It is the loop's Close of the
// resource, and the removal of the last socket.
func (pl *poller) Close() {
	if pl.closed {
		return
	}
	pl.closed = true
	pollers.Lock()
	if pollers.m[pl.l] == pl {
		delete(pollers.m, pl.l)
	}
	pollers.Unlock()
	pl.file.Close()
}

// The poller as a resource of its loop.

func (pl *poller) StopAccepting() {}
func (pl *poller) Join()          { <-pl.done }
func (pl *poller) Daemon() bool   { return true }
func (pl *poller) String() string { return "stream poller" }
