package timer_test

import (
	"fmt"
	"time"

	"github.com/aio-go/aio/loop"
	"github.com/aio-go/aio/timer"
)

func ExampleHandle() {
	l := loop.New()
	defer l.Close()
	h := l.CallLater(time.Hour, func() { fmt.Println("never runs") })
	fmt.Println(h.Pending(), h.Cancel(), h.Cancel(), h.Cancelled())
	var zero timer.Handle
	fmt.Println(zero.Cancel(), zero.When().IsZero(), zero)
	// Output:
	// true true false true
	// false true Handle<nil>
}
