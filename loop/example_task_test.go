package loop_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aio-go/aio/future"
	"github.com/aio-go/aio/loop"
)

// Spawn schedules a task: its body starts in a later iteration. Await
// suspends the awaiting task, not the loop, until the awaited task is done.
func ExampleSpawn() {
	l := loop.New()
	defer l.Close()

	child := loop.Spawn(l, func(co *loop.Coro) (int, error) {
		fmt.Println("child: runs first, it was spawned first")
		return 42, nil
	})
	main := loop.Spawn(l, func(co *loop.Coro) (string, error) {
		fmt.Println("main: waits for the child")
		v, err := child.Await(co)
		if err != nil {
			return "", err
		}
		return fmt.Sprint("main: the child returned ", v), nil
	})
	fmt.Println("spawned, nothing ran yet")

	s, err := loop.RunUntilComplete(l, main.Future)
	fmt.Println(s, err)
	// Output:
	// spawned, nothing ran yet
	// child: runs first, it was spawned first
	// main: waits for the child
	// main: the child returned 42 <nil>
}

// Await reads like sequential code: the task resumes in the iteration
// after the future completes, here completed by a plain callback.
func ExampleAwait() {
	l := loop.New()
	defer l.Close()

	f := future.New[string](l)
	t := loop.Spawn(l, func(co *loop.Coro) (string, error) {
		fmt.Println("task: awaiting")
		s, err := loop.Await(co, f)
		if err != nil {
			return "", err
		}
		return strings.ToUpper(s), nil
	})
	l.CallSoon(func() {
		fmt.Println("callback: completing the future")
		f.SetResult("hello")
	})

	s, err := loop.RunUntilComplete(l, t.Future)
	fmt.Println(s, err)
	// Output:
	// task: awaiting
	// callback: completing the future
	// HELLO <nil>
}

// Sleep(co, 0) yields to the loop for one iteration, so two tasks taking
// turns interleave strictly. Cancelling a sleeping task ends its Sleep at
// once with a cancellation error (and cancels its timer).
func ExampleSleep() {
	l := loop.New()
	defer l.Close()

	var trace []string
	turns := func(name string) func(co *loop.Coro) (int, error) {
		return func(co *loop.Coro) (int, error) {
			for i := range 3 {
				trace = append(trace, fmt.Sprint(name, i))
				if err := loop.Sleep(co, 0); err != nil {
					return 0, err
				}
			}
			return 0, nil
		}
	}
	a, b := loop.Spawn(l, turns("A")), loop.Spawn(l, turns("B"))
	if _, err := loop.RunUntilComplete(l, loop.Gather(l, a, b)); err != nil {
		fmt.Println(err)
	}
	fmt.Println(strings.Join(trace, " "))

	sleeper := loop.Spawn(l, func(co *loop.Coro) (int, error) {
		return 0, loop.Sleep(co, time.Hour)
	})
	l.CallSoon(func() { sleeper.Cancel() })
	_, err := loop.RunUntilComplete(l, sleeper.Future)
	fmt.Println("sleeper:", err, errors.Is(err, context.Canceled))
	// Output:
	// A0 B0 A1 B1 A2 B2
	// sleeper: future: cancelled true
}

// Gather waits for several tasks and returns their results in the order
// given, whatever the order they finish in.
func ExampleGather() {
	l := loop.New()
	defer l.Close()

	after := func(turns, v int) func(co *loop.Coro) (int, error) {
		return func(co *loop.Coro) (int, error) {
			for range turns {
				if err := loop.Sleep(co, 0); err != nil {
					return 0, err
				}
			}
			fmt.Println("done:", v)
			return v, nil
		}
	}
	slow := loop.Spawn(l, after(2, 1))
	fast := loop.Spawn(l, after(0, 2))
	mid := loop.Spawn(l, after(1, 3))

	vs, err := loop.RunUntilComplete(l, loop.Gather(l, slow, fast, mid))
	fmt.Println(vs, err)
	// Output:
	// done: 2
	// done: 3
	// done: 1
	// [1 2 3] <nil>
}

// Run is asyncio.run: it makes a loop, runs the body as the main task,
// cancels and finishes whatever tasks are left, and closes the loop.
func ExampleRun() {
	v, err := loop.Run(context.Background(), func(co *loop.Coro) (string, error) {
		loop.Spawn(co.Loop(), func(co *loop.Coro) (int, error) {
			err := loop.Sleep(co, time.Hour)
			fmt.Println("background: stopped:", err)
			return 0, err
		})
		worker := loop.Spawn(co.Loop(), func(co *loop.Coro) (int, error) { return 6 * 7, nil })
		n, err := worker.Await(co)
		return fmt.Sprint("answer ", n), err
	})
	fmt.Println(v, err)
	// Output:
	// background: stopped: future: cancelled
	// answer 42 <nil>
}

// RunInExecutor runs blocking work on an executor goroutine and delivers
// its result on the loop goroutine, where the done-callback may touch loop
// state without locks.
func ExampleRunInExecutor() {
	l := loop.New()
	defer l.Close()

	f := loop.RunInExecutor(l, func(ctx context.Context) (int, error) {
		// Blocking work: a file read, a DNS lookup, a CGo call...
		return len("blocking work"), nil
	})
	f.AddDoneCallback(func(f *future.Future[int]) {
		n, _ := f.Result()
		fmt.Println("on the loop goroutine:", l.OnLoop(), "result:", n)
	})

	// The done-callback was added first, so it runs before
	// RunUntilComplete's own, which stops the loop.
	if _, err := loop.RunUntilComplete(l, f); err != nil {
		fmt.Println(err)
	}
	// Output:
	// on the loop goroutine: true result: 13
}
