package main

import (
	"testing"
	"time"

	"github.com/aio-go/aio/examples/internal/exampletest"
	"github.com/stretchr/testify/assert"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestRun runs the program in a synctest bubble: the timers' delays pass in
// virtual time, exactly.
func TestRun(t *testing.T) {
	lines, took := exampletest.InBubble(t, run)
	assert.Equal(t, 50*time.Millisecond, took)
	assert.Equal(t, []string{
		"cancel the 20ms timer: true, again: false",
		"t=0s    CallSoon",
		"t=0s    CallLater(0)",
		"t=10ms  first at the same deadline (CallAt)",
		"t=10ms  second at the same deadline (CallAt)",
		"t=10ms  third at the same deadline (CallAt)",
		"t=10ms  fourth: cancels the 40ms timer from a callback",
		"t=30ms  one-shot timer (threading.Timer(0.03, fn))",
		"t=50ms  last timer stops the loop",
	}, lines)
}
