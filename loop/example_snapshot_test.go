package loop_test

import (
	"context"
	"fmt"
	"os"

	"github.com/aio-go/aio/future"
	"github.com/aio-go/aio/loop"
)

// A snapshot taken in a task shows every task, nested under those that
// wait for it, at the line where it waits.
func ExampleLoop_Snapshot() {
	_, err := loop.Run(context.Background(), func(co *loop.Coro) (struct{}, error) {
		l := co.Loop()
		reply := future.New[string](l)
		reply.SetName("reply")
		worker := loop.GoNamed(l, "worker", func(co *loop.Coro) error {
			_, err := loop.Await(co, reply)
			return err
		})
		waiter := loop.GoNamed(l, "waiter", func(co *loop.Coro) error {
			_, err := worker.Await(co)
			return err
		})
		if err := loop.Sleep(co, 0); err != nil {
			return struct{}{}, err
		}
		l.Snapshot().WriteTree(os.Stdout)
		reply.SetResult("done")
		_, err := waiter.Await(co)
		return struct{}{}, err
	})
	fmt.Println(err)
	// Output:
	// main running at loop/example_snapshot_test.go:30 (loop_test.ExampleLoop_Snapshot.func1)
	// waiter waiting on task worker at loop/example_snapshot_test.go:24 (loop_test.ExampleLoop_Snapshot.func1.2)
	// └── worker waiting on future reply at loop/example_snapshot_test.go:20 (loop_test.ExampleLoop_Snapshot.func1.1)
	// <nil>
}
