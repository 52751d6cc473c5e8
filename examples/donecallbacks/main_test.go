package main

import (
	"testing"
	"time"

	"github.com/aio-go/aio/examples/internal/exampletest"
	"github.com/stretchr/testify/assert"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestRun runs the program in a synctest bubble: the jobs' delays pass in
// virtual time, so they end in a fixed order.
func TestRun(t *testing.T) {
	lines, took := exampletest.InBubble(t, run)
	assert.Equal(t, 25*time.Millisecond, took, "job-c's hour is cut short")
	assert.Equal(t, []string{
		"job-a: connection acquired (1 open)",
		"job-b: connection acquired (2 open)",
		"job-c: connection acquired (3 open)",
		"job-a: done with 42 rows, connection released (2 open)",
		"job-b: failed: database timeout, connection released (1 open)",
		"main: job-c is too slow, cancelling it",
		"job-c: cancelled, connection released (0 open)",
		"main: job-a rows=42 err=<nil>",
		"main: job-b rows=0 err=database timeout",
		"main: job-c rows=0 err=future: cancelled",
		"main: 0 connections open",
	}, lines)
}
