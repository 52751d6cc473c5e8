// Command donecallbacks uses done-callbacks on tasks for finishing touches
// (scenario 10): logging how each task ended and releasing the connection it
// held, whether it succeeded, failed or was cancelled. The control flow (wait
// for the jobs, read their results) stays in the main task, with Await.
//
//	go run ./examples/donecallbacks
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"time"

	"github.com/aio-go/aio/future"
	"github.com/aio-go/aio/loop"
)

func main() {
	if err := run(os.Stdout); err != nil {
		log.Fatal(err)
	}
}

// pool counts open connections: the resource the jobs hold.
type pool struct {
	w    io.Writer
	open int
}

func (p *pool) acquire(job string) (release func()) {
	p.open++
	fmt.Fprintf(p.w, "%s: connection acquired (%d open)\n", job, p.open)
	return func() { p.open-- }
}

var jobs = []struct {
	name string
	took time.Duration
	rows int
	err  error
}{
	{"job-a", 10 * time.Millisecond, 42, nil},
	{"job-b", 20 * time.Millisecond, 0, errors.New("database timeout")},
	{"job-c", time.Hour, 7, nil},
}

func run(w io.Writer) error {
	_, err := loop.Run(context.Background(), func(co *loop.Coro) (struct{}, error) {
		l := co.Loop()
		p := &pool{w: w}
		var tasks []*loop.Task[int]
		for _, j := range jobs {
			release := p.acquire(j.name)
			t := loop.SpawnNamed(l, j.name, func(co *loop.Coro) (int, error) {
				if err := loop.Sleep(co, j.took); err != nil {
					return 0, err
				}
				return j.rows, j.err
			})
			// Inside a body, defer is Go's way to release what the body
			// owns. A done-callback serves the code that spawned the task:
			// it runs however the task ends (result, error, cancellation,
			// panic) and cannot change the task's outcome.
			t.AddDoneCallback(func(f *future.Future[int]) {
				release()
				fmt.Fprintf(w, "%s: %s, connection released (%d open)\n", j.name, outcome(f), p.open)
			})
			tasks = append(tasks, t)
		}

		if err := loop.Sleep(co, 25*time.Millisecond); err != nil {
			return struct{}{}, err
		}
		fmt.Fprintln(w, "main: job-c is too slow, cancelling it")
		tasks[2].Cancel()

		results, err := loop.Await(co, loop.GatherSettled(l, tasks...))
		if err != nil {
			return struct{}{}, err
		}
		for i, r := range results {
			fmt.Fprintf(w, "main: %s rows=%d err=%v\n", jobs[i].name, r.Value, r.Err)
		}
		fmt.Fprintf(w, "main: %d connections open\n", p.open)
		return struct{}{}, nil
	})
	return err
}

// outcome says how f ended.
func outcome(f *future.Future[int]) string {
	n, err := f.Result()
	switch {
	case f.Cancelled():
		return "cancelled"
	case err != nil:
		return "failed: " + err.Error()
	}
	return fmt.Sprintf("done with %d rows", n)
}
