package main

import (
	"testing"
	"time"

	"github.com/aio-go/aio/examples/internal/exampletest"
	"github.com/stretchr/testify/assert"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestRun runs the program in a synctest bubble, where the downloads'
// delays pass in virtual time and results arrive in the order of their
// durations. Every callback must report that it ran on the loop, and every
// worker that it did not.
func TestRun(t *testing.T) {
	lines, took := exampletest.InBubble(t, run)
	assert.Equal(t, 60*time.Millisecond, took, "each part waits for its slowest download only")
	arrivals := []string{
		"  a.html: 512 bytes (worker on loop: false, callback on loop: true)",
		"  c.html: 1024 bytes (worker on loop: false, callback on loop: true)",
		"  b.html: 2048 bytes (worker on loop: false, callback on loop: true)",
		"results: map[a.html:512 b.html:2048 c.html:1024]",
	}
	want := append(append([]string{"-- goroutines + CallSoonThreadsafe --"}, arrivals...),
		append([]string{"-- RunInExecutor --"}, arrivals...)...)
	assert.Equal(t, want, lines)
}
