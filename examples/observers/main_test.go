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
	// publish 21.5°C; live displays: 2
	//   lobby shows 21.5°C
	//   office shows 21.5°C
	// office display collected
	// publish 22.0°C; live displays: 1
	//   lobby shows 22.0°C
}
