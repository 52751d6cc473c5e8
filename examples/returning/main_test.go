package main

import (
	"os"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func Example() {
	if err := run(os.Stdout); err != nil {
		panic(err)
	}
	// Output:
	// -- a named function as the callback --
	// square: [1 4 9 16]
	// -- function literals (Python's lambda) --
	// square: [1 4 9 16]
	// plus ten: [11 12 13 14]
	// bars: ["#" "##" "###" "####"]
	// -- on the loop: the callback's value comes back through a future --
	// square on the loop: [1 4 9 16]
}
