// Command worker runs blocking work on other goroutines and delivers each
// result to a callback on the loop goroutine (scenario 6): first with plain
// goroutines and CallSoonThreadsafe, then with the loop's executor
// (RunInExecutor). The results map is loop state: only callbacks on the loop
// touch it, so it needs no lock.
//
//	go run ./examples/worker
package main

import (
	"context"
	"fmt"
	"io"
	"log"
	"os"
	"sync"
	"time"

	"github.com/aio-go/aio/future"
	"github.com/aio-go/aio/loop"
)

func main() {
	if err := run(os.Stdout); err != nil {
		log.Fatal(err)
	}
}

// A download takes a while; the durations differ, so results arrive in the
// order a, c, b, not in the order the work was started.
var downloads = []struct {
	name string
	size int
	took time.Duration
}{
	{"b.html", 2048, 30 * time.Millisecond},
	{"a.html", 512, 10 * time.Millisecond},
	{"c.html", 1024, 20 * time.Millisecond},
}

// page is what a worker hands back, with whether it ran on the loop.
type page struct {
	size   int
	onLoop bool
}

// download is the blocking work. It runs off the loop.
func download(ctx context.Context, l *loop.Loop, size int, took time.Duration) (page, error) {
	select {
	case <-time.After(took):
	case <-ctx.Done():
		return page{}, ctx.Err()
	}
	return page{size: size, onLoop: l.OnLoop()}, nil
}

func run(w io.Writer) error {
	l := loop.New()
	defer l.Close()

	// results is loop state: every write below happens in a callback on the
	// loop goroutine, so it needs no mutex (go run -race agrees). A worker
	// writing it directly would be a data race.
	results := map[string]int{}
	arrived := func(name string, p page) {
		results[name] = p.size
		fmt.Fprintf(w, "  %s: %d bytes (worker on loop: %v, callback on loop: %v)\n",
			name, p.size, p.onLoop, l.OnLoop())
	}

	fmt.Fprintln(w, "-- goroutines + CallSoonThreadsafe --")
	var wg sync.WaitGroup
	left := len(downloads)
	for _, d := range downloads {
		wg.Go(func() {
			p, _ := download(context.Background(), l, d.size, d.took)
			_, err := l.CallSoonThreadsafe(func() {
				arrived(d.name, p)
				if left--; left == 0 {
					l.Stop()
				}
			})
			if err != nil {
				log.Print(err) // the loop was closed: nobody will take the result
			}
		})
	}
	err := l.RunForever()
	wg.Wait()
	if err != nil {
		return err
	}
	fmt.Fprintln(w, "results:", results) // fmt prints a map sorted by key

	fmt.Fprintln(w, "-- RunInExecutor --")
	clear(results)
	var fs []*future.Future[page]
	for _, d := range downloads {
		f := loop.RunInExecutor(l, func(ctx context.Context) (page, error) {
			return download(ctx, l, d.size, d.took)
		})
		f.AddDoneCallback(func(f *future.Future[page]) {
			if p, err := f.Result(); err == nil {
				arrived(d.name, p)
			}
		})
		fs = append(fs, f)
	}
	if _, err := loop.RunUntilComplete(l, loop.Gather(l, fs...)); err != nil {
		return err
	}
	fmt.Fprintln(w, "results:", results) // fmt prints a map sorted by key
	return nil
}
