package main

import (
	"fmt"
	"os"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func Example() {
	if err := run(os.Stdout); err != nil {
		fmt.Println(err)
	}
	// Output:
	// GET / -> trace-1
	// POST /upload -> trace-2
	// GET / -> trace-1
	// labelled requests: 2
	// upload collected; labelled requests: 1
	// still labelled: GET / -> trace-1
}
