package aio_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aio-go/aio/future"
	"github.com/aio-go/aio/loop"
)

// The README's tour: callbacks, a cancelled timer, a callback handed in by
// another goroutine, and a future. The loop runs until the future is done,
// and the other goroutine's callback is what completes it, so that callback
// always runs before Close.
func Example_tour() {
	l := loop.New()
	l.CallSoon(func() { fmt.Println("next iteration") })                // asyncio call_soon
	h := l.CallLater(time.Second, func() { fmt.Println("never runs") }) // call_later
	fmt.Println("cancelled:", h.Cancel())                               // Handle.cancel

	f := future.New[int](l)                         // loop.create_future
	f.AddDoneCallback(func(f *future.Future[int]) { // add_done_callback: never runs inline
		v, err := f.Result()
		fmt.Println("done:", v, err)
	})
	go func() { // another goroutine hands work to the loop: call_soon_threadsafe
		l.CallSoonThreadsafe(func() {
			fmt.Println("from another goroutine")
			f.SetResult(42)
		})
	}()
	v, err := loop.RunUntilComplete(l, f) // run_until_complete: runs until f is done
	fmt.Println("result:", v, err)
	l.Close()
	// Output:
	// cancelled: true
	// next iteration
	// from another goroutine
	// done: 42 <nil>
	// result: 42 <nil>
}

// The README's tour of tasks: Run is asyncio.run, Spawn is create_task, and
// Await suspends the task, not the goroutine running the loop.
func Example_tourTasks() {
	v, err := loop.Run(context.Background(), func(co *loop.Coro) (int, error) { // asyncio.run
		t := loop.Spawn(co.Loop(), func(co *loop.Coro) (int, error) { // create_task
			if err := loop.Sleep(co, 10*time.Millisecond); err != nil { // await asyncio.sleep(0.01)
				return 0, err // cancelled: err matches future.ErrCancelled and context.Canceled
			}
			return 21, nil
		})
		x, err := loop.Await(co, t.Future) // await t
		return 2 * x, err
	})
	fmt.Println(v, err) // 42 <nil>
	// Output:
	// 42 <nil>
}

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
