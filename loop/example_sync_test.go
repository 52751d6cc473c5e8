package loop_test

import (
	"cmp"
	"context"
	"errors"
	"fmt"

	"github.com/aio-go/aio/loop"
)

// A Lock serialises a critical section that suspends: the three tasks
// enter it one at a time, in the order they asked.
func ExampleLock() {
	_, err := loop.Run(context.Background(), func(co *loop.Coro) (struct{}, error) {
		var lk loop.Lock
		return struct{}{}, loop.Group(co, func(g *loop.TaskGroup) error {
			for i := range 3 {
				g.Go(func(co *loop.Coro) error {
					if err := lk.Acquire(co); err != nil {
						return err
					}
					defer lk.Release()
					fmt.Println("task", i, "enters")
					err := loop.Sleep(co, 0) // other tasks run meanwhile, but not in here
					fmt.Println("task", i, "leaves")
					return err
				})
			}
			return nil
		})
	})
	fmt.Println("err:", err)
	// Output:
	// task 0 enters
	// task 0 leaves
	// task 1 enters
	// task 1 leaves
	// task 2 enters
	// task 2 leaves
	// err: <nil>
}

// An Event wakes every task waiting for it.
func ExampleEvent() {
	_, err := loop.Run(context.Background(), func(co *loop.Coro) (struct{}, error) {
		var ready loop.Event
		return struct{}{}, loop.Group(co, func(g *loop.TaskGroup) error {
			for _, name := range []string{"a", "b"} {
				g.Go(func(co *loop.Coro) error {
					fmt.Println(name, "waits")
					err := ready.Wait(co)
					fmt.Println(name, "goes")
					return err
				})
			}
			if err := loop.Sleep(co, 0); err != nil {
				return err
			}
			fmt.Println("set")
			ready.Set()
			return nil
		})
	})
	fmt.Println("err:", err)
	// Output:
	// a waits
	// b waits
	// set
	// a goes
	// b goes
	// err: <nil>
}

// A Condition lets a consumer wait, lock released, until a producer has
// made its predicate true.
func ExampleCondition_WaitFor() {
	_, err := loop.Run(context.Background(), func(co *loop.Coro) (struct{}, error) {
		var c loop.Condition
		var stock []string
		consumer := loop.Spawn(co.Loop(), func(co *loop.Coro) (struct{}, error) {
			if err := c.Acquire(co); err != nil {
				return struct{}{}, err
			}
			defer c.Release()
			if err := c.WaitFor(co, func() bool { return len(stock) >= 2 }); err != nil {
				return struct{}{}, err
			}
			fmt.Println("consumer takes", stock)
			return struct{}{}, nil
		})
		for _, item := range []string{"apple", "pear"} {
			if err := loop.Sleep(co, 0); err != nil {
				return struct{}{}, err
			}
			if err := c.Acquire(co); err != nil {
				return struct{}{}, err
			}
			stock = append(stock, item)
			fmt.Println("producer adds", item)
			c.NotifyAll()
			c.Release()
		}
		_, err := consumer.Await(co)
		return struct{}{}, err
	})
	fmt.Println("err:", err)
	// Output:
	// producer adds apple
	// producer adds pear
	// consumer takes [apple pear]
	// err: <nil>
}

// A Semaphore bounds how many tasks run a section at once: here two of
// four workers at a time.
func ExampleSemaphore() {
	_, err := loop.Run(context.Background(), func(co *loop.Coro) (struct{}, error) {
		sem := loop.NewSemaphore(2)
		running := 0
		return struct{}{}, loop.Group(co, func(g *loop.TaskGroup) error {
			for i := range 4 {
				g.Go(func(co *loop.Coro) error {
					if err := sem.Acquire(co); err != nil {
						return err
					}
					defer sem.Release()
					running++
					fmt.Println("worker", i, "runs with", running, "running")
					err := loop.Sleep(co, 0)
					running--
					return err
				})
			}
			return nil
		})
	})
	fmt.Println("err:", err)
	// Output:
	// worker 0 runs with 1 running
	// worker 1 runs with 2 running
	// worker 2 runs with 1 running
	// worker 3 runs with 2 running
	// err: <nil>
}

// A bounded Queue between a producer and two consumers: Join waits until
// every item is processed, then Shutdown ends the consumers.
func ExampleQueue() {
	_, err := loop.Run(context.Background(), func(co *loop.Coro) (struct{}, error) {
		q := loop.NewQueue[int](2)
		var consumers []*loop.Task[int]
		for range 2 {
			consumers = append(consumers, loop.Spawn(co.Loop(), func(co *loop.Coro) (int, error) {
				sum := 0
				for {
					v, err := q.Get(co)
					if errors.Is(err, loop.ErrQueueShutDown) {
						return sum, nil
					} else if err != nil {
						return sum, err
					}
					sum += v
					q.TaskDone()
				}
			}))
		}
		for v := 1; v <= 10; v++ {
			if err := q.Put(co, v); err != nil { // waits while 2 items are queued
				return struct{}{}, err
			}
		}
		if err := q.Join(co); err != nil {
			return struct{}{}, err
		}
		q.Shutdown(false)
		total := 0
		for _, c := range consumers {
			sum, err := c.Await(co)
			if err != nil {
				return struct{}{}, err
			}
			total += sum
		}
		fmt.Println("total:", total)
		return struct{}{}, nil
	})
	fmt.Println("err:", err)
	// Output:
	// total: 55
	// err: <nil>
}

// A priority queue hands out its lowest item first; a LIFO queue its
// newest.
func ExampleNewPriorityQueue() {
	pq := loop.NewPriorityQueue(0, cmp.Less[int])
	lq := loop.NewLifoQueue[int](0)
	for _, v := range []int{3, 1, 2} {
		_ = pq.PutNowait(v)
		_ = lq.PutNowait(v)
	}
	for !pq.Empty() {
		p, _ := pq.GetNowait()
		l, _ := lq.GetNowait()
		fmt.Println(p, l)
	}
	// Output:
	// 1 2
	// 2 1
	// 3 3
}
