package main

import (
	"fmt"
	"sync"
	"time"

	"github.com/aio-go/aio/future"
	"github.com/aio-go/aio/loop"
	"github.com/aio-go/aio/timer"
)

// A result is what one run of a workload measured, and the check value the
// harness verifies.
type result struct {
	ops     int
	elapsed time.Duration
	note    string
}

// workload runs once at the given scale and returns its result, or an error
// if the counts it asserts do not hold.
type workload struct {
	name  string
	unit  string
	about string
	run   func(scale float64) (result, error)
}

var workloads = []workload{
	{"W1", "cb/s", "call_soon fan-out, N=1,000,000", runW1},
	{"W2", "cb/s", "call_soon chain, N=1,000,000", runW2},
	{"W3", "ops/s", "timers: 200,000 scheduled, odd ones cancelled", runW3},
	{"W4", "cb/s", "threadsafe submission, 4 producers, N=1,000,000", runW4},
	{"W5", "fut/s", "future resolution, N=1,000,000", runW5},
	{"W6", "awaits/s", "await ping-pong, N=200,000", runW6},
	{"W7", "steps/s", "100,000 tasks x 10 sleep(0)", runW7},
}

// baselines are Go programs without aio, run like the workloads (-w) but
// not by default nor with -peers: the ceiling of a mechanism aio uses.
var baselines = []workload{
	{"W7-PULL", "steps/s", "W7's steps on bare iter.Pull coroutines, no loop", runW7Pull},
}

func scaled(n int, scale float64) int { return max(1, int(float64(n)*scale)) }

// onLoop runs body as the loop's first callback and the loop until it stops.
func onLoop(body func(l *loop.Loop)) error {
	l := loop.New()
	l.CallSoon(func() { body(l) })
	if err := l.RunForever(); err != nil {
		return err
	}
	return l.Close()
}

// W1: from a running callback, schedule N counting callbacks and a sentinel
// that stops the loop.
func runW1(scale float64) (result, error) {
	n := scaled(1_000_000, scale)
	var t0 time.Time
	var el time.Duration
	count := 0
	cb := func() { count++ }
	err := onLoop(func(l *loop.Loop) {
		t0 = time.Now()
		for range n {
			l.CallSoon(cb)
		}
		l.CallSoon(func() {
			el = time.Since(t0)
			l.Stop()
		})
	})
	if err == nil && count != n {
		err = fmt.Errorf("W1: counter %d, want %d", count, n)
	}
	return result{ops: n, elapsed: el}, err
}

// W2: each callback schedules the next until N have run.
func runW2(scale float64) (result, error) {
	n := scaled(1_000_000, scale)
	var t0 time.Time
	var el time.Duration
	count := 0
	var l *loop.Loop
	var cb func()
	cb = func() {
		count++
		if count < n {
			l.CallSoon(cb)
			return
		}
		el = time.Since(t0)
		l.Stop()
	}
	err := onLoop(func(lp *loop.Loop) {
		l = lp
		t0 = time.Now()
		l.CallSoon(cb)
	})
	if err == nil && count != n {
		err = fmt.Errorf("W2: counter %d, want %d", count, n)
	}
	return result{ops: n, elapsed: el}, err
}

// w3Delays returns the W3 delays: a 32-bit LCG from 12345, each x/2^32 of
// 50 ms.
func w3Delays(n int) ([]time.Duration, float64) {
	delays := make([]time.Duration, n)
	x := uint32(12345)
	sum := 0.0
	for i := range delays {
		x = 1664525*x + 1013904223
		ms := float64(x) / (1 << 32) * 50
		sum += ms
		delays[i] = time.Duration(ms * float64(time.Millisecond))
	}
	return delays, sum
}

// W3: schedule N timers with the LCG delays, cancel the odd ones, and stop
// when the even ones have fired.
func runW3(scale float64) (result, error) {
	n := scaled(200_000, scale)
	delays, sum := w3Delays(n)
	var t0 time.Time
	var el time.Duration
	fired, wrong := 0, 0
	var l *loop.Loop
	cb := make([]func(), 2)
	cb[0] = func() {
		fired++
		if fired == (n+1)/2 {
			el = time.Since(t0)
			l.Stop()
		}
	}
	cb[1] = func() { wrong++ }
	err := onLoop(func(lp *loop.Loop) {
		l = lp
		t0 = time.Now()
		hs := make([]timer.Handle, n)
		for i, d := range delays {
			hs[i] = l.CallLater(d, cb[i%2])
		}
		for i := 1; i < n; i += 2 {
			hs[i].Cancel()
		}
	})
	if err == nil && (fired != (n+1)/2 || wrong != 0) {
		err = fmt.Errorf("W3: fired %d (want %d), cancelled timers fired %d", fired, (n+1)/2, wrong)
	}
	return result{ops: n + n/2, elapsed: el, note: fmt.Sprintf("delay_sum_ms=%.3f", sum)}, err
}

// W4: 4 producer goroutines, released by a gate opened on the loop, each
// hand N/4 callbacks to the loop.
func runW4(scale float64) (result, error) {
	const producers = 4
	n := scaled(1_000_000, scale)
	var t0 time.Time
	var el time.Duration
	count := 0
	var l *loop.Loop
	cb := func() {
		count++
		if count == n {
			el = time.Since(t0)
			l.Stop()
		}
	}
	gate := make(chan struct{})
	var wg sync.WaitGroup
	var submitErr error
	var errOnce sync.Once
	l = loop.New()
	for p := range producers {
		k := n / producers
		if p < n%producers {
			k++
		}
		wg.Go(func() {
			<-gate
			for range k {
				if _, err := l.CallSoonThreadsafe(cb); err != nil {
					errOnce.Do(func() { submitErr = err })
					return
				}
			}
		})
	}
	l.CallSoon(func() {
		t0 = time.Now()
		close(gate)
	})
	err := l.RunForever()
	wg.Wait()
	if cerr := l.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = submitErr
	}
	if err == nil && count != n {
		err = fmt.Errorf("W4: counter %d, want %d", count, n)
	}
	return result{ops: n, elapsed: el}, err
}

// W5: create a future, add a done-callback, set its result; N times.
func runW5(scale float64) (result, error) {
	n := scaled(1_000_000, scale)
	var t0 time.Time
	var el time.Duration
	count, sum := 0, 0
	var l *loop.Loop
	cb := func(f *future.Future[int]) {
		v, _ := f.Result()
		count++
		sum += v
		if count == n {
			el = time.Since(t0)
			l.Stop()
		}
	}
	err := onLoop(func(lp *loop.Loop) {
		l = lp
		t0 = time.Now()
		for i := range n {
			f := future.New[int](l)
			f.AddDoneCallback(cb)
			f.SetResult(i)
		}
	})
	if want := n * (n - 1) / 2; err == nil && (count != n || sum != want) {
		err = fmt.Errorf("W5: counter %d sum %d, want %d and %d", count, sum, n, want)
	}
	return result{ops: n, elapsed: el}, err
}
