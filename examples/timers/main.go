// Command timers shows timers on the loop (scenario 9): CallLater and CallAt
// as Python's threading.Timer and asyncio's call_later/call_at. A timer runs
// once its delay has passed, can be cancelled through its handle until then,
// and timers with equal deadlines run in the order they were scheduled.
//
//	go run ./examples/timers
package main

import (
	"fmt"
	"io"
	"log"
	"os"
	"time"

	"github.com/aio-go/aio/loop"
)

func main() {
	if err := run(os.Stdout); err != nil {
		log.Fatal(err)
	}
}

const ms = time.Millisecond

func run(w io.Writer) error {
	l := loop.New()
	defer l.Close()
	start := l.Now()

	// say returns a callback that prints when it runs. Real timers fire a
	// little late, never early, so the time is truncated to 10ms.
	say := func(msg string) func() {
		return func() {
			fmt.Fprintf(w, "t=%-5v %s\n", l.Now().Sub(start).Truncate(10*ms), msg)
		}
	}

	// threading.Timer(0.03, fn).start() runs fn on a thread of its own, as
	// time.AfterFunc runs it on a goroutine of its own: fn then needs locks
	// for anything it shares. CallLater runs fn on the loop goroutine, in
	// order with every other callback, so it needs none.
	l.CallLater(30*ms, say("one-shot timer (threading.Timer(0.03, fn))"))

	// Cancelling: a cancelled timer never runs. Cancel reports whether this
	// call cancelled it.
	h := l.CallLater(20*ms, say("never printed"))
	fmt.Fprintf(w, "cancel the 20ms timer: %v, again: %v\n", h.Cancel(), h.Cancel())

	// Ordering: equal deadlines run in the order they were scheduled, and
	// CallAt takes an absolute time on the loop's clock (loop.Now).
	when := start.Add(10 * ms)
	late := l.CallLater(40*ms, say("never printed either"))
	for _, name := range []string{"first", "second", "third"} {
		l.CallAt(when, say(name+" at the same deadline (CallAt)"))
	}
	l.CallAt(when, func() {
		say("fourth: cancels the 40ms timer from a callback")()
		late.Cancel()
	})

	// A callback from CallSoon runs before any timer, even a zero delay one.
	l.CallLater(0, say("CallLater(0)"))
	l.CallSoon(say("CallSoon"))

	l.CallLater(50*ms, func() {
		say("last timer stops the loop")()
		l.Stop()
	})
	return l.RunForever()
}
