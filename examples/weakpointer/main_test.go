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
	// weak reference made: alive (report.txt, 4096 bytes)
	// after a collection, still held strongly: alive (report.txt, 4096 bytes)
	// weak.Make(doc) == ref: true
	// strong reference dropped and collected: gone (Value() == nil)
}
