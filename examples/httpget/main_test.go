package main

import (
	"os"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// The server answers only after the third tick, so the order is fixed. The
// ticks are zero-delay timers here, so the example waits for nothing but the
// loopback server (real network I/O, which synctest's virtual time cannot
// drive).
func Example() {
	if err := run(os.Stdout, 0); err != nil {
		panic(err)
	}
	// Output:
	// GET / started
	// tick 1: the loop runs while the GET is in flight
	// tick 2: the loop runs while the GET is in flight
	// tick 3: the loop runs while the GET is in flight
	// status: 200 OK
	// body: hello from the server
}
