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
	// -- called directly: the callback runs before processUser returns --
	// Processing user Alice
	// Hello, Alice!
	// processUser returned
	// -- scheduled on the loop: CallSoon returns at once --
	// scheduled processUser for Bob; nothing has run yet
	// Processing user Bob
	// Hello, Bob!
	// loop stopped
}
