// Command fanout starts several fetches at once and collects their results
// with Gather (scenario 12), instead of nesting callbacks or counting
// completions by hand. Results come back in argument order, whatever order
// the fetches finish in; when one child fails, Gather fails at once.
//
//	go run ./examples/fanout
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"time"

	"github.com/aio-go/aio/loop"
)

func main() {
	if err := run(os.Stdout); err != nil {
		log.Fatal(err)
	}
}

const ms = time.Millisecond

// quote is one price to fetch: how long the fetch takes and how it ends.
type quote struct {
	item  string
	cents int
	took  time.Duration
	err   error
}

var errNoStock = errors.New("out of stock")

func run(w io.Writer) error {
	_, err := loop.Run(context.Background(), func(co *loop.Coro) (struct{}, error) {
		l := co.Loop()
		start := l.Now()
		// at is the time since start, truncated: real timers fire a little
		// late, never early.
		at := func() time.Duration { return l.Now().Sub(start).Truncate(10 * ms) }

		// fetchAll spawns one task per quote; each prints when it ends.
		fetchAll := func(qs ...quote) []*loop.Task[int] {
			var fs []*loop.Task[int]
			for _, q := range qs {
				t := loop.Spawn(l, func(co *loop.Coro) (int, error) {
					if err := loop.Sleep(co, q.took); err != nil {
						return 0, err
					}
					fmt.Fprintf(w, "t=%-5v %s: %d, %v\n", at(), q.item, q.cents, q.err)
					return q.cents, q.err
				})
				fs = append(fs, t)
			}
			return fs
		}

		fmt.Fprintln(w, "-- three fetches at once --")
		// With bare callbacks this takes a counter and a result slot per
		// fetch, shared by three done-callbacks, the last of which goes on.
		// Gather is that bookkeeping, written once.
		prices, err := loop.Await(co, loop.Gather(l, fetchAll(
			quote{"book", 1250, 30 * ms, nil},
			quote{"pen", 300, 10 * ms, nil},
			quote{"lamp", 2700, 20 * ms, nil},
		)...))
		if err != nil {
			return struct{}{}, err
		}
		fmt.Fprintf(w, "t=%-5v gathered %v: argument order, after the slowest\n", at(), prices)

		fmt.Fprintln(w, "-- one fetch fails --")
		start = l.Now()
		fs := fetchAll(
			quote{"book", 1250, 30 * ms, nil},
			quote{"pen", 0, 10 * ms, errNoStock},
			quote{"lamp", 2700, 20 * ms, nil},
		)
		_, err = loop.Await(co, loop.Gather(l, fs...))
		fmt.Fprintf(w, "t=%-5v gather failed fast: %v\n", at(), err)

		// Gather does not cancel the other children (asyncio's rule): they
		// run on until cancelled.
		fmt.Fprintf(w, "t=%-5v still running: book %v, lamp %v; cancelling them\n", at(), !fs[0].Done(), !fs[2].Done())
		for _, f := range fs {
			f.Cancel()
		}
		outcomes, err := loop.Await(co, loop.GatherSettled(l, fs...))
		if err != nil {
			return struct{}{}, err
		}
		for i, o := range outcomes {
			fmt.Fprintf(w, "t=%-5v child %d: %d, %v\n", at(), i, o.Value, o.Err)
		}
		return struct{}{}, nil
	})
	return err
}
