package main

import (
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func Example() {
	if err := run(os.Stdout); err != nil {
		panic(err)
	}
	// Output:
	// stdout: "hello\n"
	// stderr: "oops\n"
	// exit code: 2
}

// TestRun checks the output the program prints.
func TestRun(t *testing.T) {
	var out strings.Builder
	require.NoError(t, run(&out))
	assert.Equal(t, "stdout: \"hello\\n\"\nstderr: \"oops\\n\"\nexit code: 2\n", out.String())
}
