package future_test

import (
	"context"
	"fmt"
	"sync"

	"github.com/aio-go/aio/future"
	"github.com/aio-go/aio/loop"
)

// Done-callbacks are scheduled on the loop when the future completes, in
// registration order; they never run inline.
func ExampleFuture_AddDoneCallback() {
	l := loop.New()
	defer l.Close()

	f := future.New[int](l)
	f.AddDoneCallback(func(f *future.Future[int]) {
		v, err := f.Result()
		fmt.Println("first callback:", v, err)
	})
	remove := f.AddDoneCallback(func(*future.Future[int]) { fmt.Println("never printed") })
	f.AddDoneCallback(func(*future.Future[int]) {
		fmt.Println("second callback")
		l.Stop()
	})
	fmt.Println("removed:", remove())

	l.CallSoon(func() {
		f.SetResult(42)
		fmt.Println("result set; callbacks not run yet")
	})
	if err := l.RunForever(); err != nil {
		fmt.Println(err)
	}
	// Output:
	// removed: true
	// result set; callbacks not run yet
	// first callback: 42 <nil>
	// second callback
}

// Wait is the sequential way to get a future's outcome from a goroutine
// other than the loop's: it blocks that goroutine, not the loop.
func ExampleFuture_Wait() {
	l := loop.New()
	f := future.New[string](l)

	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := l.RunForever(); err != nil {
			fmt.Println(err)
		}
	}()

	if _, err := l.CallSoonThreadsafe(func() { f.SetResult("done on the loop") }); err != nil {
		fmt.Println(err)
	}
	v, err := f.Wait(context.Background())
	fmt.Println(v, err)

	l.Stop()
	wg.Wait()
	if err := l.Close(); err != nil {
		fmt.Println(err)
	}
	// Output:
	// done on the loop <nil>
}
