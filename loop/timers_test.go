package loop_test

import (
	"cmp"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aio-go/aio/loop"
	"github.com/aio-go/aio/timer"
)

// TestTimerOrder covers asyncio's timer rules (ASYNCIO_SEMANTICS §1.1 step
// 4, §1.5, §1.6): due timers run after the callbacks already ready, in
// deadline order, and never inline. Every row runs in a synctest bubble, so
// the delays pass in virtual time.
func TestTimerOrder(t *testing.T) { runScenarios(t, timerOrderTable()) }

func timerOrderTable() []scenario {
	return []scenario{{
		name: "a zero-delay timer runs after the ready callbacks",
		setup: func(l *loop.Loop, r *recorder) {
			l.CallLater(0, r.stop("c"))
			l.CallSoon(r.cb("a"))
			l.CallSoon(r.cb("b"))
		},
		want: [][]string{{"a@1", "b@1", "c@1"}},
	}, {
		name: "negative delays run in deadline order",
		setup: func(l *loop.Loop, r *recorder) {
			l.CallLater(-time.Second, r.cb("a"))
			l.CallLater(-2*time.Second, r.cb("b"))
			l.CallLater(0, r.stop("c"))
		},
		want: [][]string{{"b@1", "a@1", "c@1"}},
	}, {
		name: "CallLater(0) then CallSoon from a callback: the CallSoon runs first",
		setup: func(l *loop.Loop, r *recorder) {
			l.CallSoon(r.cb("a", func() {
				l.CallLater(0, r.stop("T"))
				l.CallSoon(r.cb("S"))
			}))
		},
		want: [][]string{{"a@1", "S@2", "T@2"}},
	}, {
		name: "delays fire in deadline order, one wait each",
		setup: func(l *loop.Loop, r *recorder) {
			l.CallLater(3*time.Second, r.stop("c"))
			l.CallLater(time.Second, r.cb("a"))
			l.CallLater(2*time.Second, r.cb("b"))
		},
		want: [][]string{{"a@1", "b@2", "c@3"}},
	}, {
		// aio guarantee, not asyncio parity: CPython runs ten equal
		// deadlines as 0,2,6,9,8,5,7,4,1,3.
		name: "equal deadlines run in scheduling order (aio guarantee)",
		setup: func(l *loop.Loop, r *recorder) {
			when := l.Now().Add(time.Second)
			for i := range 9 {
				l.CallAt(when, r.cb(fmt.Sprint(i)))
			}
			l.CallAt(when, r.stop("9"))
		},
		want: [][]string{{"0@1", "1@1", "2@1", "3@1", "4@1", "5@1", "6@1", "7@1", "8@1", "9@1"}},
	}, {
		name: "equal deadlines from CallLater and CallAt run in scheduling order (aio guarantee)",
		setup: func(l *loop.Loop, r *recorder) {
			l.CallLater(time.Second, r.cb("x"))
			l.CallAt(l.Now().Add(time.Second), r.cb("y"))
			l.CallLater(time.Second, r.stop("z"))
		},
		want: [][]string{{"x@1", "y@1", "z@1"}},
	}, {
		name: "a timer cancelled by an earlier callback of the same iteration does not run",
		setup: func(l *loop.Loop, r *recorder) {
			var h timer.Handle
			l.CallSoon(r.cb("a", func() { h.Cancel() }))
			h = l.CallLater(0, r.cb("x"))
			l.CallLater(0, r.stop("s"))
		},
		want: [][]string{{"a@1", "s@1"}},
	}, {
		name: "a timer cancelled before its deadline does not run",
		setup: func(l *loop.Loop, r *recorder) {
			h := l.CallLater(time.Second, r.cb("x"))
			l.CallSoon(r.cb("a", func() { h.Cancel() }))
			l.CallLater(2*time.Second, r.stop("s"))
		},
		want: [][]string{{"a@1", "s@2"}},
	}, {
		name: "CallAt in the past runs after the ready callbacks",
		setup: func(l *loop.Loop, r *recorder) {
			l.CallAt(time.Time{}, r.stop("x"))
			l.CallSoon(r.cb("a"))
			l.CallSoon(r.cb("b"))
		},
		want: [][]string{{"a@1", "b@1", "x@1"}},
	}, {
		name: "a past deadline scheduled during an iteration waits for the next one",
		setup: func(l *loop.Loop, r *recorder) {
			l.CallSoon(r.cb("a", func() { l.CallAt(time.Time{}, r.stop("x")) }))
			l.CallSoon(r.cb("b"))
		},
		want: [][]string{{"a@1", "b@1", "x@2"}},
	}, {
		name: "callbacks scheduled by a timer run in the next iteration",
		setup: func(l *loop.Loop, r *recorder) {
			l.CallLater(time.Second, r.cb("t", func() { l.CallSoon(r.stop("s")) }))
			l.CallLater(time.Second, r.cb("u"))
		},
		want: [][]string{{"t@1", "u@1", "s@2"}},
	}, {
		// Regression guard: now+d must not wrap to a past deadline once
		// the loop clock is past its epoch.
		name: "an overflowing delay never fires",
		setup: func(l *loop.Loop, r *recorder) {
			l.CallLater(time.Second, r.cb("a", func() {
				l.CallLater(math.MaxInt64, r.cb("never"))
				l.CallLater(time.Second, r.stop("s"))
			}))
		},
		want: [][]string{{"a@1", "s@2"}},
	}, {
		name: "Stop keeps timers that are not due for the next run",
		setup: func(l *loop.Loop, r *recorder) {
			l.CallLater(time.Second, r.stop("a"))
			l.CallLater(2*time.Second, r.cb("b"))
		},
		again: func(l *loop.Loop, r *recorder) { l.CallLater(3*time.Second, r.stop("c")) },
		want:  [][]string{{"a@1"}, {"b@2", "c@3"}},
	}}
}

// TestTimerOrderModel checks many timers with few distinct deadlines against
// a model: a stable sort by deadline of the scheduling order.
func TestTimerOrderModel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := loop.New()
		type tm struct {
			i int
			d time.Duration
		}
		var model []tm
		var got []int
		for i := range 500 {
			d := time.Duration((i*7)%5) * time.Millisecond
			model = append(model, tm{i, d})
			l.CallLater(d, func() { got = append(got, i) })
		}
		l.CallLater(time.Second, l.Stop)
		slices.SortStableFunc(model, func(a, b tm) int { return cmp.Compare(a.d, b.d) })
		want := make([]int, len(model))
		for k, m := range model {
			want[k] = m.i
		}
		require.NoError(t, l.RunForever())
		assert.Equal(t, want, got)
		require.NoError(t, l.Close())
	})
}

// TestTimerNeverFiresEarly checks every timer against the loop clock.
func TestTimerNeverFiresEarly(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := loop.New()
		type fired struct{ when, at time.Time }
		var log []fired
		left := 0
		for i := range 50 {
			d := time.Duration((i*37)%23) * 100 * time.Millisecond
			var h timer.Handle
			fn := func() {
				log = append(log, fired{h.When(), l.Now()})
				if left--; left == 0 {
					l.Stop()
				}
			}
			if i%2 == 0 {
				h = l.CallLater(d, fn)
			} else {
				h = l.CallAt(l.Now().Add(d), fn)
			}
			left++
		}
		// A callback that takes time, so that some timers are late.
		l.CallLater(150*time.Millisecond, func() { time.Sleep(250 * time.Millisecond) })
		require.NoError(t, l.RunForever())
		require.Len(t, log, 50)
		for _, f := range log {
			assert.False(t, f.at.Before(f.when), "timer for %v ran at %v", f.when, f.at)
		}
		require.NoError(t, l.Close())
	})
}

// TestCallLaterDeadlineFixedAtCall checks that the deadline is taken when
// CallLater is called, not when the scheduling callback returns.
func TestCallLaterDeadlineFixedAtCall(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := loop.New()
		var want, at time.Time
		l.CallSoon(func() {
			want = l.Now().Add(time.Second)
			l.CallLater(time.Second, func() {
				at = l.Now()
				l.Stop()
			})
			time.Sleep(400 * time.Millisecond) // virtual time
		})
		require.NoError(t, l.RunForever())
		assert.True(t, at.Equal(want), "ran at %v, deadline %v", at, want)
		require.NoError(t, l.Close())
	})
}

// TestIdleLoopSeesNewEarlierDeadline checks that a loop waiting for a far
// timer notices, when woken, an earlier one and a cancellation.
func TestIdleLoopSeesNewEarlierDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := loop.New()
		start := l.Now()
		far := l.CallLater(time.Hour, func() {})
		go func() {
			time.Sleep(time.Second)
			_, _ = l.CallSoonThreadsafe(func() {
				far.Cancel()
				l.CallLater(time.Second, l.Stop)
			})
		}()
		require.NoError(t, l.RunForever())
		assert.Equal(t, 2*time.Second, l.Now().Sub(start))
		require.NoError(t, l.Close())
	})
}

// quiet makes the default exception handler log nowhere, for tests that
// close loops with work still queued on purpose.
func quiet() loop.Option { return loop.WithLogger(slog.New(slog.DiscardHandler)) }

func TestHandleWhen(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := loop.New(quiet())
		now := l.Now()
		at := now.Add(90 * time.Minute)
		assert.True(t, l.CallLater(time.Minute, func() {}).When().Equal(now.Add(time.Minute)))
		assert.True(t, l.CallAt(at, func() {}).When().Equal(at))
		assert.True(t, l.CallSoon(func() {}).When().IsZero())
		h, err := l.CallSoonThreadsafe(func() {})
		require.NoError(t, err)
		assert.True(t, h.When().IsZero())
		assert.True(t, timer.Handle{}.When().IsZero())
		assert.False(t, timer.Handle{}.Cancel())
		assert.False(t, timer.Handle{}.Cancelled())
		require.NoError(t, l.Close())
	})
}

// TestHandleCancel covers Cancel's result and Cancelled, for callbacks and
// timers, before and after they run.
func TestHandleCancel(t *testing.T) {
	kinds := []struct {
		name     string
		schedule func(l *loop.Loop, fn func()) timer.Handle
	}{
		{"CallSoon", func(l *loop.Loop, fn func()) timer.Handle { return l.CallSoon(fn) }},
		{"CallLater", func(l *loop.Loop, fn func()) timer.Handle { return l.CallLater(time.Second, fn) }},
		{"CallAt", func(l *loop.Loop, fn func()) timer.Handle { return l.CallAt(l.Now(), fn) }},
		{"CallSoonThreadsafe", func(l *loop.Loop, fn func()) timer.Handle {
			h, err := l.CallSoonThreadsafe(fn)
			if err != nil {
				panic(err)
			}
			return h
		}},
	}
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				l := loop.New()
				ran := 0
				h := k.schedule(l, func() { ran++ })
				assert.True(t, h.Cancel(), "first Cancel")
				assert.True(t, h.Cancelled())
				assert.False(t, h.Cancel(), "second Cancel")
				assert.True(t, h.Cancelled())

				var self timer.Handle
				var selfCancel, selfCancelled bool
				self = k.schedule(l, func() {
					ran++
					selfCancel, selfCancelled = self.Cancel(), self.Cancelled()
				})
				l.CallLater(2*time.Second, l.Stop)
				require.NoError(t, l.RunForever())
				assert.Equal(t, 1, ran, "only the uncancelled callback ran")
				assert.False(t, selfCancel, "Cancel of the running callback")
				assert.False(t, selfCancelled)
				assert.False(t, self.Cancel(), "Cancel after it ran")
				assert.False(t, self.Cancelled())
				assert.True(t, h.Cancelled())
				require.NoError(t, l.Close())
			})
		})
	}
}

// TestStaleHandleCancelsNothing checks that a handle whose callback ran
// cancels nothing once its slot holds new callbacks.
func TestStaleHandleCancelsNothing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := loop.New()
		old := l.CallSoon(func() {})
		l.Stop()
		require.NoError(t, l.RunForever())

		const n = 3000
		ran := 0
		for range n {
			l.CallSoon(func() { ran++ })
		}
		assert.False(t, old.Cancel(), "stale Cancel")
		assert.False(t, old.Cancelled(), "stale Cancelled")
		l.Stop()
		require.NoError(t, l.RunForever())
		assert.Equal(t, n, ran, "a stale Cancel cancelled a new callback")
		assert.False(t, old.Cancelled())
		require.NoError(t, l.Close())
	})
}

// TestCancelledHandleStaysCancelled checks that Cancelled keeps reporting
// true however many callbacks run afterwards.
func TestCancelledHandleStaysCancelled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := loop.New()
		ranCancelled := false
		h := l.CallSoon(func() { ranCancelled = true })
		require.True(t, h.Cancel())
		ran := 0
		for round := range 5 {
			for range 1000 * (round + 1) {
				l.CallSoon(func() { ran++ })
			}
			l.Stop()
			require.NoError(t, l.RunForever())
			assert.True(t, h.Cancelled(), "round %d", round)
			assert.False(t, h.Cancel(), "round %d", round)
		}
		assert.False(t, ranCancelled)
		assert.Equal(t, 15000, ran)
		require.NoError(t, l.Close())
	})
}

// TestTimerHeapCompaction checks that cancelled timers do not stay in the
// heap: of a million far timers scheduled from a running loop, all but a
// few are cancelled, and after the next iteration the heap holds little
// more than the live ones, long before any deadline. The earliest timer is
// live, so dropping cancelled timers from the head alone cannot pass.
func TestTimerHeapCompaction(t *testing.T) {
	if testing.Short() {
		t.Skip("a million timers")
	}
	synctest.Test(t, func(t *testing.T) {
		const n, every = 1_000_000, 1000 // every 1000th timer stays live
		l := loop.New(quiet())
		start := l.Now()
		fired := 0
		fn := func() { fired++ }
		var peak, after loop.Stats
		var at time.Time
		l.CallSoon(func() {
			hs := make([]timer.Handle, n)
			for i := range hs {
				hs[i] = l.CallLater(time.Hour+time.Duration(i)*time.Millisecond, fn)
			}
			peak = l.Stats()
			for i, h := range hs {
				if i%every != 0 {
					h.Cancel()
				}
			}
			l.CallSoon(func() {
				after, at = l.Stats(), l.Now()
				l.Stop()
			})
		})
		require.NoError(t, l.RunForever())
		const live = n / every
		assert.Equal(t, n, peak.Timers)
		assert.Equal(t, live, after.Timers-after.CancelledTimers, "live timers")
		// asyncio's bound: a heap of over 100 timers is rebuilt once more
		// than half of it is cancelled.
		assert.LessOrEqual(t, after.Timers, 2*live, "timers left in the heap")
		assert.Less(t, at.Sub(start), time.Hour, "the deadlines had passed")
		assert.Zero(t, fired)
		require.NoError(t, l.Close())
		assert.EqualValues(t, live, l.Stats().Discarded, "Close discards only the live timers")
	})
}

// TestCancelledTimersLeaveFromHead checks that a cancelled timer at the
// head of the heap is dropped at the start of the next iteration.
func TestCancelledTimersLeaveFromHead(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := loop.New(quiet())
		var hs []timer.Handle
		for i := range 10 {
			hs = append(hs, l.CallLater(time.Duration(i+1)*time.Minute, func() {}))
		}
		for _, h := range hs[:3] {
			h.Cancel()
		}
		hs[7].Cancel()
		s := l.Stats()
		assert.Equal(t, 10, s.Timers)
		assert.Equal(t, 4, s.CancelledTimers)
		l.Stop()
		require.NoError(t, l.RunForever())
		s = l.Stats()
		assert.Equal(t, 7, s.Timers, "the three cancelled timers at the head are gone")
		assert.Equal(t, 1, s.CancelledTimers)
		require.NoError(t, l.Close())
	})
}

// Regression: cancelling 101 timers in a row, with no iteration between,
// compacted the heap to nothing and panicked with index out of range.
func TestCancellingEveryTimerEmptiesTheHeap(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := loop.New(quiet())
		require.NotPanics(t, func() {
			for range 101 {
				l.CallLater(time.Second, func() {}).Cancel()
			}
		})
		s := l.Stats()
		assert.Zero(t, s.Timers)
		assert.Zero(t, s.CancelledTimers)
		ran := false
		l.CallLater(time.Second, func() { ran = true; l.Stop() })
		require.NoError(t, l.RunForever())
		assert.True(t, ran, "the heap works after being emptied")
		require.NoError(t, l.Close())
	})
}

// Regression: When reported a deadline clamped to what int64 nanoseconds
// since the loop's epoch hold, not the time given (asyncio's when()).
func TestHandleWhenIsTheTimeGiven(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := loop.New(quiet())
		time.Sleep(time.Hour) // so that Now is not the loop's epoch
		now := l.Now()
		var ran []string
		far := time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)
		hFar := l.CallAt(far, func() { ran = append(ran, "far") })
		hZero := l.CallAt(time.Time{}, func() { ran = append(ran, "zero"); l.Stop() })
		hMax := l.CallLater(math.MaxInt64, func() { ran = append(ran, "max") })
		assert.Equal(t, far, hFar.When(), "year 9999")
		assert.True(t, hZero.When().IsZero(), "the zero time, got %v", hZero.When())
		assert.True(t, hMax.When().Equal(now.Add(math.MaxInt64)),
			"Now plus MaxInt64: got %v, want %v", hMax.When(), now.Add(math.MaxInt64))
		require.NoError(t, l.RunForever())
		assert.Equal(t, []string{"zero"}, ran, "the zero time is due at once, the others never")
		assert.True(t, hFar.Pending())
		assert.True(t, hMax.Pending())
		require.NoError(t, l.Close())
	})
}
