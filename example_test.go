package aio_test

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aio-go/aio/future"
	"github.com/aio-go/aio/loop"
)

// A producer and two consumers share a bounded queue, as in asyncio's
// documentation: the producer waits while the queue is full, the consumers
// mark each item done, main waits for the work with Join and then shuts the
// queue down so that the idle consumers return. Getters are served first
// come, first served: A, done with "wash" before B first asks, queues ahead
// of B for "dry".
func Example_producerConsumer() {
	total, err := loop.Run(context.Background(), func(co *loop.Coro) (int, error) {
		l := co.Loop()
		q := loop.NewQueue[string](1)
		consumer := func(name string) *future.Future[int] {
			return loop.Spawn(l, func(co *loop.Coro) (int, error) {
				n := 0
				for {
					job, err := q.Get(co)
					if errors.Is(err, loop.ErrQueueShutDown) {
						return n, nil
					}
					if err != nil {
						return n, err
					}
					fmt.Printf("%s handles %s\n", name, job)
					n++
					q.TaskDone()
				}
			}).Future
		}
		a, b := consumer("A"), consumer("B")
		for _, job := range []string{"wash", "dry", "fold", "iron"} {
			if err := q.Put(co, job); err != nil {
				return 0, err
			}
			fmt.Println("queued", job)
		}
		if err := q.Join(co); err != nil {
			return 0, err
		}
		q.Shutdown(false)
		counts, err := loop.Await(co, loop.Gather(l, a, b))
		fmt.Println("per consumer:", counts)
		return counts[0] + counts[1], err
	})
	fmt.Println(total, err)
	// Output:
	// queued wash
	// A handles wash
	// queued dry
	// A handles dry
	// queued fold
	// B handles fold
	// queued iron
	// A handles iron
	// per consumer: [3 1]
	// 4 <nil>
}

// Blocking work fans out to the loop's executor goroutines with ToThread;
// Gather collects the results in the order the tasks were started, whatever
// order they finish in.
func Example_fanOutToThreads() {
	words, err := loop.Run(context.Background(), func(co *loop.Coro) ([]string, error) {
		l := co.Loop()
		var tasks []*loop.Task[string]
		for _, w := range []string{"event", "loop", "future", "task"} {
			tasks = append(tasks, loop.Spawn(l, func(co *loop.Coro) (string, error) {
				return loop.ToThread(co, func(context.Context) (string, error) {
					return strings.ToUpper(w), nil // stands in for a blocking call
				})
			}))
		}
		return loop.Await(co, loop.Gather(l, tasks...))
	})
	fmt.Println(words, err)
	// Output:
	// [EVENT LOOP FUTURE TASK] <nil>
}
