package main

import (
	"bytes"
	"regexp"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// soakLine matches a report line: elapsed, ops/s, ops/CPU-s, RSS, heap,
// goroutines, ready, timers, tasks.
var soakLine = regexp.MustCompile(`^\s+\d+ms\s+\S+\s+\S+\s+\S+\s+[\d.]+\s+\d+\s+\d+\s+\d+\s+\d+$`)

// A short soak on virtual time: every part of the workload waits on the
// loop's clock or on channels, so synctest can drive it; the run reports
// each interval, prints the summary, shuts down cleanly and passes.
//
// The RSS check needs a warm-up long enough for the heap to reach its first
// GC target (about 20ms of this workload's virtual time); under -race RSS
// is not checked (see raceBuild), and a shorter run keeps the test quick.
func TestSoakShortRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d, every := 200*time.Millisecond, 20*time.Millisecond
		rss := `RSS: after warm-up \(20ms\) [\d.]+ MiB, middle \(100ms\) [\d.]+ MiB, end \(200ms\) [\d.]+ MiB; ` +
			`growth after warm-up [-+][\d.]+% \(limit \+10%\): ok`
		if raceBuild() {
			d, every = 40*time.Millisecond, 4*time.Millisecond
			rss = `RSS: after warm-up \(4ms\) [\d.]+ MiB, end \(40ms\) [\d.]+ MiB; not checked: built with -race`
		}
		var out bytes.Buffer
		code := runSoak(&out, d, every)
		text := out.String()
		t.Log("\n" + text)

		lines := strings.Split(strings.TrimSpace(text), "\n")
		reports := 0
		for _, ln := range lines {
			if soakLine.MatchString(ln) {
				reports++
			}
		}
		assert.Equal(t, int(d/every), reports, "one report line per interval")
		require.Contains(t, text, "summary:")
		assert.Regexp(t, rss, text)
		assert.Regexp(t, `throughput \(ops/s\): first \S+, middle \S+, last \S+, median \S+; .*\(limit >= 80%\): ok`, text)
		assert.Contains(t, text, "0 panics, 0 exceptions, 0 discarded at close")
		assert.Contains(t, text, "loop closed true, 0 tasks left")
		assert.NotContains(t, text, "FAULT")
		assert.Equal(t, "PASS", lines[len(lines)-1])
		assert.Equal(t, 0, code)
	})
}

// The verdict fails a run whose last interval is slower than the limit.
func TestSoakVerdictThroughputLimit(t *testing.T) {
	for _, tc := range []struct {
		name  string
		rates []float64
		ok    bool
	}{
		{"steady", []float64{100, 100, 100, 100}, true},
		{"last at the limit", []float64{100, 100, 100, 80}, true},
		{"last below the limit", []float64{100, 100, 100, 79}, false},
		{"one interval", []float64{5}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			s := &soaker{w: &out}
			for i, r := range tc.rates {
				s.samples = append(s.samples, soakSample{at: time.Duration(i+1) * time.Second, rate: r, rss: 100 << 20})
			}
			assert.Equal(t, tc.ok, s.verdict(), out.String())
		})
	}
}

// The verdict fails a run whose RSS grew by more than the limit after
// warm-up, and ignores growth during warm-up.
func TestSoakVerdictRSSLimit(t *testing.T) {
	for _, tc := range []struct {
		name string
		rss  []uint64 // MiB, one per interval
		ok   bool
	}{
		{"flat", []uint64{100, 100, 100, 100}, true},
		// 20 intervals: warm-up (10%) ends with the second.
		{"growth in warm-up only", append([]uint64{50}, slices.Repeat([]uint64{100}, 19)...), true},
		{"10% after warm-up", []uint64{100, 105, 108, 110}, true},
		{"11% after warm-up", []uint64{100, 105, 108, 111}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			s := &soaker{w: &out}
			for i, r := range tc.rss {
				s.samples = append(s.samples, soakSample{at: time.Duration(i+1) * time.Second, rate: 1, rss: r << 20})
			}
			assert.Equal(t, tc.ok, s.verdict(), out.String())
		})
	}
}
