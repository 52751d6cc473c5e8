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
	// path: /etc/hosts; parent: etc; etc has 2 children
	// root and etc collected
	// hosts survives: "hosts"; Parent() == nil: true; path: hosts
}
