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
	// scheduled 6 callbacks
	// Hello, Ada!
	// Hello, Grace.
	// Hello, Linus.
	// B. Liskov says hi
	// snapshot: Barbara Liskov
}
