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
	// dialled db.internal:5432 and cache.internal:6379; 2 open
	// cache conn collected; its cleanup hands the release to the loop
	// loop: conn to cache.internal:6379 collected, fd 8 released; 1 open
	// released fd 8; still open: map[7:db.internal:5432] (db is alive: db.internal:5432)
}
