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
	// load logo.png: decoded (1 decodes so far)
	// load banner.png: decoded (2 decodes so far)
	// load logo.png: cache hit
	// same object: true; cached: 2
	// logo.png collected: the cache did not keep it; cached: 1
	// load banner.png: cache hit
	// load logo.png: decoded (3 decodes so far)
}
