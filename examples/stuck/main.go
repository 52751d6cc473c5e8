// Command stuck hangs on purpose, and shows how to find out why: on SIGQUIT
// (Ctrl-\), or when it has made no progress for a while, it prints its
// task tree (loop.Snapshot), asyncio's "python -m asyncio pstree". The tree
// shows both culprits at the lines where they wait: two tasks that await
// each other (an await cycle), and a task waiting on an Event that nobody
// sets.
//
//	go run ./examples/stuck               # the tree after 2s
//	go run ./examples/stuck -timeout 1h   # the tree on Ctrl-\
//
// A server would rather mount loophttp.Handler on its debug mux and look at
// /debug/aio/tree while it is stuck.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"syscall"
	"time"

	"github.com/aio-go/aio/loop"
)

func main() {
	timeout := flag.Duration("timeout", 2*time.Second, "print the task tree after this long without progress")
	flag.Parse()
	if err := run(os.Stdout, *timeout, true); err != nil {
		log.Fatal(err)
	}
}

// pipeline is the stuck program: fetch and store await each other, and
// flush waits for ready, which nobody sets.
type pipeline struct {
	fetch, store *loop.Task[string]
	ready        loop.Event
}

func (p *pipeline) fetchBody(co *loop.Coro) (string, error) {
	if err := loop.Sleep(co, 10*time.Millisecond); err != nil {
		return "", err
	}
	return p.store.Await(co) // waits for store, which waits for fetch
}

func (p *pipeline) storeBody(co *loop.Coro) (string, error) {
	return p.fetch.Await(co) // waits for fetch
}

func (p *pipeline) flushBody(co *loop.Coro) (string, error) {
	if err := p.ready.Wait(co); err != nil { // nobody calls p.ready.Set
		return "", err
	}
	return "flushed", nil
}

// run runs the stuck program until it has printed its task tree, after
// timeout or, with sigquit, on SIGQUIT; then it cancels everything and
// returns.
func run(w io.Writer, timeout time.Duration, sigquit bool) error {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, err := loop.Run(ctx, func(co *loop.Coro) ([]string, error) {
		l := co.Loop()
		dump := func(why string) {
			fmt.Fprintf(w, "stuck (%s); the tasks:\n", why)
			if err := l.Snapshot().WriteTree(w); err != nil {
				fmt.Fprintln(w, err)
			}
			cancel() // Run cancels the main task, and then every task
		}
		if sigquit {
			if err := l.AddSignalHandler(syscall.SIGQUIT, func() { dump("SIGQUIT") }); err != nil {
				return nil, err
			}
		}
		l.CallLater(timeout, func() { dump("no progress for " + timeout.String()) })

		p := &pipeline{}
		p.fetch = loop.SpawnNamed(l, "fetch", p.fetchBody)
		p.store = loop.SpawnNamed(l, "store", p.storeBody)
		flush := loop.SpawnNamed(l, "flush", p.flushBody)
		return loop.Await(co, loop.Gather(l, p.fetch, p.store, flush))
	})
	if errors.Is(err, context.Canceled) {
		return nil // we cancelled it, after printing the tree
	}
	return err
}
