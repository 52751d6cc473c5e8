// Command naiveloop runs W1-W7 of WORKLOADS.md on the naive Go event loop:
// a mutex-guarded slice of funcs, a channel wake-up, a binary heap of
// timers, and tasks as iter.Pull coroutines stepped by callSoon. It is the
// baseline a Go programmer would write without aio.
//
//	naiveloop W1 [--scale S]
//	naiveloop W7-PULL          # W7's steps on bare iter.Pull coroutines, no loop
//
// Each run prints one JSON line, as asyncio_bench.py and node_bench.js do.
// The clock starts on the loop, in the first callback or at the top of the
// first coroutine, and stops on the loop when completion is detected.
// Counts and checksums are checked after the loop returns; a mismatch exits
// 1.
package main

import (
	"fmt"
	"iter"
	"sync"
	"time"

	"github.com/aio-go/aio/bench/peers/internal/peerbench"
)

func main() {
	peerbench.Main("naiveloop", map[string]peerbench.Workload{
		"W1": w1, "W2": w2, "W3": w3, "W4": w4, "W5": w5, "W6": w6, "W7": w7,
		"W7-PULL": w7Pull,
	})
}

var scaled = peerbench.Scaled

// onLoop runs body as the loop's first callback and the loop until it
// stops.
func onLoop(body func(l *loop)) {
	l := newLoop()
	l.callSoon(func() { body(l) })
	l.run()
}

// W1: from a running callback, schedule N counting callbacks and a sentinel
// that stops the loop.
func w1(scale float64) (peerbench.Result, error) {
	n := scaled(1_000_000, scale)
	var t0 time.Time
	var el time.Duration
	count := 0
	cb := func() { count++ }
	onLoop(func(l *loop) {
		t0 = time.Now()
		for range n {
			l.callSoon(cb)
		}
		l.callSoon(func() {
			el = time.Since(t0)
			l.stop()
		})
	})
	var err error
	if count != n {
		err = fmt.Errorf("W1: counter %d, want %d", count, n)
	}
	return peerbench.Result{Ops: n, Elapsed: el}, err
}

// W2: each callback schedules the next until N have run.
func w2(scale float64) (peerbench.Result, error) {
	n := scaled(1_000_000, scale)
	var t0 time.Time
	var el time.Duration
	count := 0
	l := newLoop()
	var cb func()
	cb = func() {
		count++
		if count < n {
			l.callSoon(cb)
			return
		}
		el = time.Since(t0)
		l.stop()
	}
	l.callSoon(func() {
		t0 = time.Now()
		l.callSoon(cb)
	})
	l.run()
	var err error
	if count != n {
		err = fmt.Errorf("W2: counter %d, want %d", count, n)
	}
	return peerbench.Result{Ops: n, Elapsed: el}, err
}

// W3: schedule N timers with the LCG delays, cancel the odd ones, and stop
// when the even ones have fired.
func w3(scale float64) (peerbench.Result, error) {
	n := scaled(200_000, scale)
	delays, sum := peerbench.W3Delays(n)
	want := (n + 1) / 2
	var t0 time.Time
	var el time.Duration
	fired, wrong := 0, 0
	onLoop(func(l *loop) {
		cb := func(i int) {
			if i%2 == 1 {
				wrong++
				return
			}
			fired++
			if fired == want {
				el = time.Since(t0)
				l.stop()
			}
		}
		t0 = time.Now()
		hs := make([]*timer, n)
		for i, d := range delays {
			hs[i] = l.callLater(d, func() { cb(i) })
		}
		for i := 1; i < n; i += 2 {
			hs[i].cancel()
		}
	})
	var err error
	if fired != want || wrong != 0 {
		err = fmt.Errorf("W3: fired %d (want %d), cancelled timers fired %d", fired, want, wrong)
	}
	return peerbench.Result{Ops: n + n/2, Elapsed: el, Note: peerbench.W3Note(sum)}, err
}

// W4: 4 producer goroutines, released by a gate opened on the loop, each
// hand N/4 callbacks to the loop.
func w4(scale float64) (peerbench.Result, error) {
	const producers = 4
	n := scaled(1_000_000, scale)
	var t0 time.Time
	var el time.Duration
	count := 0
	l := newLoop()
	cb := func() {
		count++
		if count == n {
			el = time.Since(t0)
			l.stop()
		}
	}
	gate := make(chan struct{})
	var wg sync.WaitGroup
	for p := range producers {
		k := n / producers
		if p < n%producers {
			k++
		}
		wg.Go(func() {
			<-gate
			for range k {
				l.callSoon(cb)
			}
		})
	}
	l.callSoon(func() {
		t0 = time.Now()
		close(gate)
	})
	l.run()
	wg.Wait()
	var err error
	if count != n {
		err = fmt.Errorf("W4: counter %d, want %d", count, n)
	}
	return peerbench.Result{Ops: n, Elapsed: el}, err
}

// W5: create a future, add a done-callback, set its result; N times.
func w5(scale float64) (peerbench.Result, error) {
	n := scaled(1_000_000, scale)
	var t0 time.Time
	var el time.Duration
	count, sum := 0, 0
	onLoop(func(l *loop) {
		cb := func(f *future[int]) {
			count++
			sum += f.result
			if count == n {
				el = time.Since(t0)
				l.stop()
			}
		}
		t0 = time.Now()
		for i := range n {
			f := newFuture[int](l)
			f.addDoneCallback(cb)
			f.setResult(i)
		}
	})
	var err error
	if want := n * (n - 1) / 2; count != n || sum != want {
		err = fmt.Errorf("W5: counter %d sum %d, want %d and %d", count, sum, n, want)
	}
	return peerbench.Result{Ops: n, Elapsed: el}, err
}

// W6: one task awaits N futures, each resolved by a callback one loop hop
// later.
func w6(scale float64) (peerbench.Result, error) {
	n := scaled(200_000, scale)
	var el time.Duration
	sum := 0
	l := newLoop()
	top := spawn(l, func(yield func(awaitable) bool) {
		t0 := time.Now()
		for i := range n {
			f := newFuture[int](l)
			l.callSoon(func() { f.setResult(i) })
			sum += await(yield, f)
		}
		el = time.Since(t0)
	})
	top.done.onDone(l.stop)
	l.run()
	var err error
	if want := n * (n - 1) / 2; sum != want {
		err = fmt.Errorf("W6: sum %d, want %d", sum, want)
	}
	return peerbench.Result{Ops: n, Elapsed: el, Note: fmt.Sprintf("%.0f ns/await", float64(el.Nanoseconds())/float64(n))}, err
}

// W7: T tasks each yield to the loop 10 times; the main task gathers them.
func w7(scale float64) (peerbench.Result, error) {
	t := scaled(100_000, scale)
	const steps = 10
	var el time.Duration
	count := 0
	l := newLoop()
	top := spawn(l, func(yield func(awaitable) bool) {
		t0 := time.Now()
		ts := make([]*task, t)
		for i := range ts {
			ts[i] = spawn(l, func(yield func(awaitable) bool) {
				for range steps {
					sleep0(yield)
					count++
				}
			})
		}
		await(yield, gather(l, ts))
		el = time.Since(t0)
	})
	top.done.onDone(l.stop)
	l.run()
	var err error
	if count != steps*t {
		err = fmt.Errorf("W7: steps %d, want %d", count, steps*t)
	}
	return peerbench.Result{Ops: steps * t, Elapsed: el}, err
}

// W7-PULL: W7's work with a bare iter.Pull coroutine per task and no loop:
// create T coroutines, then resume them round robin until each has taken
// its 10 steps. It is what one coroutine per task costs by itself, the
// ceiling of any loop whose tasks are iter.Pull coroutines.
func w7Pull(scale float64) (peerbench.Result, error) {
	t := scaled(100_000, scale)
	const steps = 10
	count := 0
	t0 := time.Now()
	nexts := make([]func() (struct{}, bool), t)
	stops := make([]func(), t)
	for i := range nexts {
		nexts[i], stops[i] = iter.Pull(func(yield func(struct{}) bool) {
			for range steps {
				if !yield(struct{}{}) {
					return
				}
				count++
			}
		})
	}
	for live := t; live > 0; {
		live = 0
		for _, next := range nexts {
			if _, ok := next(); ok {
				live++
			}
		}
	}
	el := time.Since(t0)
	for _, stop := range stops {
		stop()
	}
	var err error
	if count != steps*t {
		err = fmt.Errorf("W7-PULL: steps %d, want %d", count, steps*t)
	}
	return peerbench.Result{Ops: steps * t, Elapsed: el}, err
}
