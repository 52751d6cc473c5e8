package main

import (
	"os"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// Click 2 shows removal during a click: guard runs before save and removes
// it, so save is skipped; the audit handler added meanwhile waits for click 3.
func Example() {
	if err := run(os.Stdout); err != nil {
		panic(err)
	}
	// Output:
	// -- click 1 --
	// log: click #1
	// guard: click #1
	// save: saved on click #1
	// analytics: click #1
	// remove analytics: true
	// remove analytics again: false
	// -- click 2 --
	// log: click #2
	// guard: click #2
	// guard: removes save (true) and adds audit
	// -- click 3 --
	// log: click #3
	// guard: click #3
	// audit: click #3
}
