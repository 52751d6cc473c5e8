package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func Example() {
	if err := run(os.Stdout, ""); err != nil {
		panic(err)
	}
	// Output:
	// reading; the loop is free meanwhile
	// read notes.txt: 48 bytes, on loop: true
	// callbacks run on the loop
	// files are read off it
	// read missing.txt: file does not exist
}

// TestRunWithPath reads a file the test wrote, as -file does.
func TestRunWithPath(t *testing.T) {
	path := filepath.Join(t.TempDir(), "todo.txt")
	require.NoError(t, os.WriteFile(path, []byte("write the README\n"), 0o600))
	var out strings.Builder
	require.NoError(t, run(&out, path))
	assert.Equal(t, "reading; the loop is free meanwhile\n"+
		"read todo.txt: 17 bytes, on loop: true\n"+
		"write the README\n"+
		"read missing.txt: file does not exist\n", out.String())
}
