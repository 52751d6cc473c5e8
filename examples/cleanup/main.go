// Command cleanup runs code when an object is collected (scenario 15):
// Python's weakref.finalize, or weakref.ref(obj, callback), in Go terms.
//
// runtime.AddCleanup(obj, fn, arg) calls fn(arg) after obj is collected.
// fn runs on a goroutine of the runtime, not on the loop, so it touches no
// loop state: it hands the work to the loop with CallSoonThreadsafe, and
// the loop callback updates the table of open handles without a lock.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"weak"

	"github.com/aio-go/aio/future"
	"github.com/aio-go/aio/loop"
)

// Conn stands for an object that owns an OS resource (a file descriptor).
type Conn struct {
	Peer string
	fd   int
}

// handle is what the cleanup needs to release a Conn's resource. It must
// not be, or point to, the Conn: the Conn would then never be collected.
type handle struct {
	fd   int
	peer string
}

func main() {
	if err := run(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run(w io.Writer) error {
	l := loop.New()
	open := map[int]string{} // touched only on the loop goroutine
	released := future.New[int](l)

	dial := func(peer string, fd int) *Conn {
		c := &Conn{Peer: peer, fd: fd}
		open[fd] = peer
		// Where Go's idiom beats Python's: a weakref callback runs
		// synchronously in whichever code dropped the last reference, in
		// the middle of the loop's work; a Go cleanup runs on its own
		// goroutine and gets only arg, so it cannot resurrect the object
		// and must say explicitly how it reaches the loop.
		runtime.AddCleanup(c, func(h handle) {
			// An error means the loop is closed: nobody is left to tell.
			_, _ = l.CallSoonThreadsafe(func() {
				delete(open, h.fd)
				fmt.Fprintf(w, "loop: conn to %s collected, fd %d released; %d open\n", h.peer, h.fd, len(open))
				released.SetResult(h.fd)
			})
		}, handle{c.fd, c.Peer})
		return c
	}

	db := dial("db.internal:5432", 7)
	cache := dial("cache.internal:6379", 8)
	fmt.Fprintf(w, "dialled %s and %s; %d open\n", db.Peer, cache.Peer, len(open))

	probe := weak.Make(cache)
	cache = nil // the program forgets the cache connection without closing it
	if !collect(probe) {
		return errors.New("cleanup: connection still alive after 100 collections")
	}
	fmt.Fprintln(w, "cache conn collected; its cleanup hands the release to the loop")

	fd, err := loop.RunUntilComplete(l, released)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "released fd %d; still open: %v (db is alive: %s)\n", fd, open, db.Peer)
	runtime.KeepAlive(db)
	return l.Close()
}

// collect runs garbage collections until ref's object is gone, at most 100,
// and reports whether it is.
func collect[T any](ref weak.Pointer[T]) bool {
	for i := 0; i < 100 && ref.Value() != nil; i++ {
		runtime.GC()
	}
	return ref.Value() == nil
}
