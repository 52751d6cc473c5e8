package main

import (
	"fmt"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"go.uber.org/goleak"

	"github.com/aio-go/aio/bench/peers/internal/peerbench"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestOrdering checks the naive loop against asyncio's ordering rules,
// each row a scenario and the trace it must leave.
func TestOrdering(t *testing.T) {
	tests := []struct {
		name  string
		setup func(l *loop, trace func(string) func())
		want  []string
	}{
		{
			name: "callSoon is FIFO",
			setup: func(l *loop, trace func(string) func()) {
				l.callSoon(trace("a"))
				l.callSoon(trace("b"))
				l.callSoon(func() { trace("c")(); l.stop() })
			},
			want: []string{"a", "b", "c"},
		},
		{
			name: "a func scheduled during a batch runs in a later one, so stop leaves it",
			setup: func(l *loop, trace func(string) func()) {
				l.callSoon(func() {
					trace("a")()
					l.callSoon(trace("later"))
					l.stop()
				})
				l.callSoon(trace("b"))
			},
			want: []string{"a", "b"},
		},
		{
			name: "timers fire in deadline order after the ready funcs; a cancelled one never",
			setup: func(l *loop, trace func(string) func()) {
				l.callLater(30*time.Millisecond, func() { trace("30ms")(); l.stop() })
				l.callLater(10*time.Millisecond, trace("10ms"))
				l.callLater(20*time.Millisecond, trace("cancelled")).cancel()
				l.callLater(20*time.Millisecond, trace("20ms"))
				l.callSoon(trace("soon"))
			},
			want: []string{"soon", "10ms", "20ms", "30ms"},
		},
		{
			name: "a done-callback is scheduled, not run by setResult",
			setup: func(l *loop, trace func(string) func()) {
				l.callSoon(func() {
					f := newFuture[int](l)
					f.addDoneCallback(func(f *future[int]) { trace(fmt.Sprint("cb ", f.result))() })
					f.setResult(7)
					trace("set")()
					f.addDoneCallback(func(*future[int]) { trace("added when done")(); l.stop() })
				})
			},
			want: []string{"set", "cb 7", "added when done"},
		},
		{
			name: "tasks interleave at sleep0 and await resumes with the result",
			setup: func(l *loop, trace func(string) func()) {
				a := spawn(l, func(yield func(awaitable) bool) {
					trace("a1")()
					sleep0(yield)
					trace("a2")()
				})
				b := spawn(l, func(yield func(awaitable) bool) {
					trace("b1")()
					f := newFuture[string](l)
					l.callSoon(func() { f.setResult("b2") })
					trace(await(yield, f))()
				})
				g := gather(l, []*task{a, b})
				g.onDone(func() { trace("gathered")(); l.stop() })
			},
			want: []string{"a1", "b1", "a2", "b2", "gathered"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var got []string
				l := newLoop()
				tt.setup(l, func(s string) func() { return func() { got = append(got, s) } })
				l.run()
				assert.Equal(t, tt.want, got)
			})
		})
	}
}

// TestTimersTakeTheirDelay checks that the loop sleeps until the earliest
// timer, not longer.
func TestTimersTakeTheirDelay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLoop()
		start := time.Now()
		var at []time.Duration
		for _, d := range []time.Duration{5 * time.Millisecond, 50 * time.Millisecond} {
			l.callLater(d, func() { at = append(at, time.Since(start)) })
		}
		l.callLater(50*time.Millisecond, l.stop)
		l.run()
		assert.Equal(t, []time.Duration{5 * time.Millisecond, 50 * time.Millisecond}, at)
	})
}

// TestCallSoonFromOtherGoroutines wakes a sleeping loop from 4 goroutines
// at once, as W4 does; run it with -race.
func TestCallSoonFromOtherGoroutines(t *testing.T) {
	const producers, each = 4, 1000
	l := newLoop()
	count := 0
	var wg sync.WaitGroup
	for range producers {
		wg.Go(func() {
			for range each {
				l.callSoon(func() {
					if count++; count == producers*each {
						l.stop()
					}
				})
			}
		})
	}
	l.run()
	wg.Wait()
	assert.Equal(t, producers*each, count)
}

// TestWorkloads runs every workload at a small scale, in a bubble so that
// W3's timers take no real time: each checks its own counts.
func TestWorkloads(t *testing.T) {
	for name, w := range map[string]peerbench.Workload{
		"W1": w1, "W2": w2, "W3": w3, "W4": w4, "W5": w5, "W6": w6, "W7": w7, "W7-PULL": w7Pull,
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
