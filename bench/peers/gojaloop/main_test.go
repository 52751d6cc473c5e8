package main

import (
	"testing"
	"testing/synctest"

	"github.com/stretchr/testify/assert"
	"go.uber.org/goleak"

	"github.com/aio-go/aio/bench/peers/internal/peerbench"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestWorkloads runs every workload at a small scale, in a bubble so that
// W3's timers take no real time: each checks its own counts.
func TestWorkloads(t *testing.T) {
	for name, w := range map[string]peerbench.Workload{
		"W1": w1, "W2": w2, "W3": w3, "W4": w4, "W5": w5, "W6": w6, "W7": w7,
	} {
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r, err := w(0.001)
				assert.NoError(t, err)
				assert.Positive(t, r.Ops)
			})
		})
	}
}

// TestScriptErrorStopsTheLoop checks that a JavaScript exception in W6's
// or W7's async function ends the run with its message instead of leaving
// the loop waiting.
func TestScriptErrorStopsTheLoop(t *testing.T) {
	_, _, err := runScript(`(async () => { clockStart(); throw new Error("boom"); })().catch((e) => fail(String(e)));`, 1)
	assert.EqualError(t, err, "JavaScript: Error: boom")
	_, _, err = runScript(`syntax error here`, 1)
	assert.ErrorContains(t, err, "SyntaxError")
}
