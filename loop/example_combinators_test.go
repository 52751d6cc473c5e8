package loop_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aio-go/aio/future"
	"github.com/aio-go/aio/loop"
)

// yieldSteps returns a task body that yields to the loop n times (a stand-in
// for real work that takes a while) and then returns v.
func yieldSteps(n int, v string) func(co *loop.Coro) (string, error) {
	return func(co *loop.Coro) (string, error) {
		for range n {
			if err := loop.Sleep(co, 0); err != nil {
				return "", err
			}
		}
		fmt.Println("finished:", v)
		return v, nil
	}
}

// GatherSettled waits for every task and returns each one's outcome, in
// the order given: failures and cancellations do not stop the others.
func ExampleGatherSettled() {
	outs, err := loop.Run(context.Background(), func(co *loop.Coro) ([]loop.Outcome[string], error) {
		l := co.Loop()
		slow := loop.Spawn(l, yieldSteps(3, "slow"))
		failing := loop.Spawn(l, func(co *loop.Coro) (string, error) { return "", errors.New("no route") })
		doomed := loop.Spawn(l, yieldSteps(5, "doomed"))
		l.CallSoon(func() { doomed.Cancel() })
		return loop.Await(co, loop.GatherSettled(l, slow, failing, doomed))
	})
	for _, o := range outs {
		fmt.Printf("%q %v\n", o.Value, o.Err)
	}
	fmt.Println(err)
	// Output:
	// finished: slow
	// "slow" <nil>
	// "" no route
	// "" future: cancelled
	// <nil>
}

// Wait with FirstCompleted returns as soon as one future is done; the
// others are left running, and it is up to the caller to cancel them.
func ExampleWait() {
	_, err := loop.Run(context.Background(), func(co *loop.Coro) (struct{}, error) {
		l := co.Loop()
		replica1 := loop.Spawn(l, yieldSteps(5, "replica 1"))
		replica2 := loop.Spawn(l, yieldSteps(2, "replica 2"))
		done, pending, err := loop.Wait(co, []*loop.Task[string]{replica1, replica2}, time.Minute, loop.FirstCompleted)
		if err != nil {
			return struct{}{}, err
		}
		fmt.Println("done:", len(done), "pending:", len(pending), "first:", done[0] == replica2)
		for _, f := range pending {
			f.Cancel()
		}
		return struct{}{}, nil
	})
	fmt.Println(err)
	// Output:
	// finished: replica 2
	// done: 1 pending: 1 first: true
	// <nil>
}

// WaitFor is Await with a timeout. When the timeout passes first, the
// awaited task is cancelled (and waited for), and WaitFor returns
// ErrTimeout, which is also context.DeadlineExceeded.
func ExampleWaitFor() {
	_, _ = loop.Run(context.Background(), func(co *loop.Coro) (struct{}, error) {
		l := co.Loop()
		v, err := loop.WaitFor(co, loop.Spawn(l, yieldSteps(1, "quick")), time.Minute)
		fmt.Println(v, err)

		stuck := loop.Spawn(l, func(co *loop.Coro) (string, error) {
			return loop.Await(co, future.New[string](l)) // a reply that never comes
		})
		// A timeout <= 0 has passed already: stuck is cancelled at once.
		_, err = loop.WaitFor(co, stuck, 0)
		fmt.Println(err, errors.Is(err, context.DeadlineExceeded), stuck.Cancelled())
		return struct{}{}, nil
	})
	// Output:
	// finished: quick
	// quick <nil>
	// loop: timeout true true
}

// WithTimeout puts a deadline on a block of a task's code. Here the
// deadline has already passed, so the block runs until it first suspends
// and is cancelled there; the task itself goes on, not cancelled.
func ExampleWithTimeout() {
	_, _ = loop.Run(context.Background(), func(co *loop.Coro) (struct{}, error) {
		l := co.Loop()
		var tm *loop.Timeout
		err := loop.WithTimeout(co, 0, func(t *loop.Timeout) error {
			tm = t
			fmt.Println("block starts")
			_, err := loop.Await(co, future.New[int](l)) // would wait forever
			fmt.Println("block sees:", err)
			return err
		})
		fmt.Println("WithTimeout:", err, "expired:", tm.Expired())
		fmt.Println("after:", loop.Sleep(co, 0), loop.CurrentTask(l).Cancelling())
		return struct{}{}, nil
	})
	// Output:
	// block starts
	// block sees: future: cancelled
	// WithTimeout: loop: timeout expired: true
	// after: <nil> 0
}

// Shield keeps a task running when the task awaiting it is cancelled.
func ExampleShield() {
	_, _ = loop.Run(context.Background(), func(co *loop.Coro) (struct{}, error) {
		l := co.Loop()
		save := loop.Spawn(l, yieldSteps(3, "save"))
		caller := loop.Spawn(l, func(co *loop.Coro) (string, error) {
			return loop.Await(co, loop.Shield(l, save))
		})
		l.CallSoon(func() { caller.Cancel() })
		_, err := loop.Await(co, caller.Future)
		fmt.Println("caller:", err)
		v, err := loop.Await(co, save.Future)
		fmt.Println("save:", v, err)
		return struct{}{}, nil
	})
	// Output:
	// caller: future: cancelled
	// finished: save
	// save: save <nil>
}

// AsCompleted yields futures as they complete, each with its error.
func ExampleAsCompleted() {
	_, _ = loop.Run(context.Background(), func(co *loop.Coro) (struct{}, error) {
		l := co.Loop()
		a, b, c := future.New[string](l), future.New[string](l), future.New[string](l)
		l.CallSoon(func() { c.SetResult("c") })
		l.CallSoon(func() { a.SetError(errors.New("a failed")) })
		l.CallSoon(func() { b.SetResult("b") })
		for f, err := range loop.AsCompleted(co, []*future.Future[string]{a, b, c}, time.Minute) {
			if f == nil {
				return struct{}{}, err // the timeout, or this task was cancelled
			}
			fmt.Println(f, err)
		}
		return struct{}{}, nil
	})
	// Output:
	// Future[string]<done> <nil>
	// Future[string]<error: a failed> a failed
	// Future[string]<done> <nil>
}

// Group waits for every child; the first failure cancels the others and
// the group returns the errors, without the cancellations.
func ExampleGroup() {
	_, _ = loop.Run(context.Background(), func(co *loop.Coro) (struct{}, error) {
		l := co.Loop()
		var long *loop.Task[string]
		err := loop.Group(co, func(g *loop.TaskGroup) error {
			long = loop.SpawnIn(g, yieldSteps(10, "long"))
			g.Go(func(co *loop.Coro) error {
				_ = loop.Sleep(co, 0)
				return errors.New("fetch failed")
			})
			return nil
		})
		fmt.Println("group:", err)
		fmt.Println("long cancelled:", long.Cancelled())
		fmt.Println("still cancelling:", loop.CurrentTask(l).Cancelling())
		return struct{}{}, nil
	})
	// Output:
	// group: fetch failed
	// long cancelled: true
	// still cancelling: 0
}
