package main

import (
	"bufio"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aio-go/aio/examples/internal/exampletest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// lineOf returns the line of main.go that contains s.
func lineOf(t *testing.T, s string) string {
	t.Helper()
	f, err := os.Open("main.go")
	require.NoError(t, err)
	defer f.Close()
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		if strings.Contains(sc.Text(), s) {
			return strconv.Itoa(n)
		}
	}
	require.Failf(t, "not in main.go", "%q", s)
	return ""
}

// TestRun runs the program in a synctest bubble: after its timeout (in
// virtual time) it prints the tree, and both culprits are there at the
// lines where they wait. (Functions are of package main in the program,
// of its import path in the test.)
func TestRun(t *testing.T) {
	lines, took := exampletest.InBubble(t, func(w io.Writer) error { return run(w, time.Minute, false) })
	assert.Equal(t, time.Minute, took)
	out := strings.Join(lines, "\n")
	t.Log("\n" + out)

	at := func(s string) string { return regexp.QuoteMeta("stuck/main.go:" + lineOf(t, s)) }
	fetch := at("return p.store.Await(co)")
	store := at("return p.fetch.Await(co)")
	flush := at("p.ready.Wait(co)")
	assert.Equal(t, "stuck (no progress for 1m0s); the tasks:", lines[0])
	assert.Regexp(t, `(?m)^main waiting on Gather of 3 at stuck/main.go:\d+ \((main|stuck)\.run\.func1\)$`, out)
	assert.Regexp(t, `(?m)^├── fetch waiting on task store at `+fetch+` \((main|stuck)\.\(\*pipeline\)\.fetchBody\)$`, out)
	assert.Regexp(t, `(?m)^│   └── store waiting on task fetch at `+store+` \((main|stuck)\.\(\*pipeline\)\.storeBody\)$`, out)
	assert.Regexp(t, `(?m)^│       └── fetch \(await cycle\)$`, out)
	assert.Regexp(t, `(?m)^├── store \(see above\)$`, out)
	assert.Regexp(t, `(?m)^└── flush waiting on Event 0x[0-9a-f]+ at `+flush+` \((main|stuck)\.\(\*pipeline\)\.flushBody\)$`, out)
	assert.Regexp(t, `(?m)^await cycle: fetch → store → fetch$`, out)
}
