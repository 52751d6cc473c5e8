package loop_test

import (
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/aio-go/aio/future"
	"github.com/aio-go/aio/loop"
)

// CallSoon runs callbacks in the order they were scheduled, each in the
// iteration after the one that scheduled it.
func ExampleLoop_CallSoon() {
	l := loop.New()
	defer l.Close()

	l.CallSoon(func() {
		fmt.Println("first")
		l.CallSoon(func() {
			fmt.Println("scheduled by first: next iteration")
			l.Stop()
		})
	})
	l.CallSoon(func() { fmt.Println("second") })
	h := l.CallSoon(func() { fmt.Println("never printed") })
	fmt.Println("cancelled:", h.Cancel())

	if err := l.RunForever(); err != nil {
		fmt.Println(err)
	}
	// Output:
	// cancelled: true
	// first
	// second
	// scheduled by first: next iteration
}

// CallLater and CallAt schedule timers on the loop's clock. Due timers run
// after the callbacks that are already ready, in deadline order.
func ExampleLoop_CallLater() {
	l := loop.New()
	defer l.Close()

	hour := l.CallLater(time.Hour, func() { fmt.Println("never printed") })
	l.CallLater(0, func() {
		fmt.Println("timer: due now, after the ready callbacks")
		fmt.Println("cancel the hour timer:", hour.Cancel())
		l.Stop()
	})
	l.CallAt(l.Now().Add(-time.Second), func() { fmt.Println("timer: deadline a second ago") })
	l.CallSoon(func() { fmt.Println("ready callback") })

	if err := l.RunForever(); err != nil {
		fmt.Println(err)
	}
	// Output:
	// ready callback
	// timer: deadline a second ago
	// timer: due now, after the ready callbacks
	// cancel the hour timer: true
}

// CallSoonThreadsafe hands work from another goroutine to the loop: the
// callback runs on the loop goroutine, so it may touch loop state without
// locks.
func ExampleLoop_CallSoonThreadsafe() {
	l := loop.New()
	defer l.Close()

	var words []string // loop state: touched only on the loop goroutine
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		result := strings.ToUpper("computed off the loop")
		if _, err := l.CallSoonThreadsafe(func() {
			words = append(words, result)
			l.Stop()
		}); err != nil {
			fmt.Println(err)
		}
	}()

	if err := l.RunForever(); err != nil {
		fmt.Println(err)
	}
	wg.Wait()
	fmt.Println(words)
	// Output:
	// [COMPUTED OFF THE LOOP]
}

// RunUntilComplete runs the loop until a future is done and returns its
// outcome. The loop stops through a done-callback, so a future set by a
// CallSoon costs two iterations.
func ExampleRunUntilComplete() {
	l := loop.New()
	defer l.Close()

	f := future.New[string](l)
	l.CallSoon(func() { f.SetResult("hello from the loop") })

	v, err := loop.RunUntilComplete(l, f)
	fmt.Println(v, err)
	fmt.Println("iterations:", l.Stats().Iterations)
	// Output:
	// hello from the loop <nil>
	// iterations: 2
}
