package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// These tests run the whole program as main does, over real loopback
// sockets (the workflow server, the SMTP sink), so they cannot run inside
// a synctest bubble: they use short real poll intervals and timeouts
// instead, and never sleep themselves. Their timing is generous: an attempt
// that is not meant to hang needs a few millisecond-scale round trips, far
// below the timeout.

var small = options{
	jobs:        8,
	concurrency: 3,
	failRate:    0.3,
	hangRate:    0.2,
	maxRetries:  2,
	timeout:     400 * time.Millisecond,
	poll:        5 * time.Millisecond,
}

// pickSeed returns the first seed with which, by the model, o's run has
// retries, timeouts and failed jobs, so the real run must show all three.
func pickSeed(t *testing.T, o options) uint64 {
	jobs := jobIDs(NewBoard(o.jobs))
	for seed := uint64(1); seed < 1000; seed++ {
		want, retries, timeouts := model(NewService(seed, o.failRate, o.hangRate), jobs, o.maxRetries)
		failed := 0
		for _, w := range want {
			if w.State == Failed {
				failed++
			}
		}
		if retries > 0 && timeouts > 0 && failed > 0 {
			return seed
		}
	}
	t.Fatal("no seed exercises retries, timeouts and failures")
	return 0
}

func TestEndToEnd(t *testing.T) {
	o := small
	o.seed = pickSeed(t, o)
	want, retries, timeouts := model(NewService(o.seed, o.failRate, o.hangRate), jobIDs(NewBoard(o.jobs)), o.maxRetries)
	for _, style := range styles {
		t.Run(string(style), func(t *testing.T) {
			o.style = string(style)
			var out bytes.Buffer
			b, err := run(t.Context(), &out, false, o)
			require.NoError(t, err)

			assert.Equal(t, want, outcomes(b))
			assert.Equal(t, retries, b.Retries)
			assert.Equal(t, timeouts, b.Timeouts)
			assert.Equal(t, b.Count(Failed), b.Notified)
			text := out.String()
			assert.Contains(t, text, "\nJOB ")
			assert.Contains(t, text, fmt.Sprintf("| %s, %s, %s sent\n", count(retries, "retry"), count(timeouts, "timeout"), count(b.Notified, "notification")))
			assert.Contains(t, text, fmt.Sprintf("mail sink received %s\n", count(b.Count(Failed), "message")))
		})
	}
}

// cancelOn is a writer that cancels a context when the output first
// contains a marker: a way to interrupt a run at a known point without
// sleeping.
type cancelOn struct {
	w      io.Writer
	marker string
	cancel context.CancelFunc
}

func (c cancelOn) Write(p []byte) (int, error) {
	if bytes.Contains(p, []byte(c.marker)) {
		c.cancel()
	}
	return c.w.Write(p)
}

func TestEndToEndInterrupted(t *testing.T) {
	o := small
	o.seed = pickSeed(t, o)
	for _, style := range styles {
		t.Run(string(style), func(t *testing.T) {
			o.style = string(style)
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			var out bytes.Buffer
			// Interrupt at the first retry, while other jobs are in flight.
			b, err := run(ctx, cancelOn{&out, "re-queued", cancel}, false, o)
			require.ErrorIs(t, err, ErrInterrupted)

			for _, j := range b.Jobs {
				assert.True(t, j.State.Terminal(), "%s ended %s", j.ID, j.State)
				if j.State == Cancelled {
					assert.Equal(t, "interrupted", j.Message)
				}
			}
			assert.Positive(t, b.Count(Cancelled))
			assert.Contains(t, out.String(), "CANCELLED")
			assert.True(t, strings.Contains(out.String(), " cancelled |"), "the summary counts the cancelled jobs")
		})
	}
}

func TestParseFlags(t *testing.T) {
	o, err := parseFlags([]string{"-jobs", "5", "-style", "await", "-timeout", "2s", "-seed", "3"}, io.Discard)
	require.NoError(t, err)
	assert.Equal(t, 5, o.jobs)
	assert.Equal(t, "await", o.style)
	assert.Equal(t, 2*time.Second, o.timeout)
	assert.Equal(t, uint64(3), o.seed)
	assert.Equal(t, defaults.concurrency, o.concurrency)

	for _, args := range [][]string{
		{"-style", "threads"},
		{"-jobs", "0"},
		{"-fail-rate", "0.7", "-hang-rate", "0.5"},
		{"-poll", "0s"},
	} {
		var errOut bytes.Buffer
		_, err := parseFlags(args, &errOut)
		assert.Error(t, err, args)
		assert.Contains(t, errOut.String(), "workflow:", args)
	}
}
