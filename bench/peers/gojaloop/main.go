// Command gojaloop runs W1-W7 of WORKLOADS.md on goja_nodejs's event loop
// (github.com/dop251/goja_nodejs/eventloop), the event loop of the goja
// JavaScript runtime, driven from Go where its Go API can express the
// workload.
//
//	gojaloop W1 [--scale S]
//	gojaloop -version          # Go, goja and goja_nodejs versions
//
// W1, W2 and W4 schedule Go funcs with RunOnLoop (its call_soon, safe from
// any goroutine); W3 uses SetTimeout and ClearTimeout. W5's futures are
// goja's promises, made with Runtime.NewPromise and given a Go then-callback.
// W6 and W7 need tasks, which goja has only as JavaScript async functions:
// they run node_bench.js's setImmediate variants as JavaScript on the loop.
//
// Each run prints one JSON line, as asyncio_bench.py and node_bench.js do.
// The clock starts on the loop, in the first callback or at the top of the
// first async function, and stops on the loop when completion is detected.
// Counts and checksums are checked after the loop returns; a mismatch exits
// 1.
package main

import (
	"fmt"
	"sync"
	"time"

	"github.com/dop251/goja"
	"github.com/dop251/goja_nodejs/eventloop"

	"github.com/aio-go/aio/bench/peers/internal/peerbench"
)

func main() {
	peerbench.Main("gojaloop", map[string]peerbench.Workload{
		"W1": w1, "W2": w2, "W3": w3, "W4": w4, "W5": w5, "W6": w6, "W7": w7,
	}, "github.com/dop251/goja", "github.com/dop251/goja_nodejs")
}

var scaled = peerbench.Scaled

// onLoop runs body as the loop's first job, and the loop in this goroutine
// until body or a job it schedules calls StopNoWait.
func onLoop(body func(l *eventloop.EventLoop, vm *goja.Runtime)) {
	l := eventloop.NewEventLoop(eventloop.EnableConsole(false))
	l.RunOnLoop(func(vm *goja.Runtime) { body(l, vm) })
	l.StartInForeground()
}

// W1: from a running job, schedule N counting jobs and a sentinel that
// stops the loop.
func w1(scale float64) (peerbench.Result, error) {
	n := scaled(1_000_000, scale)
	var t0 time.Time
	var el time.Duration
	count := 0
	cb := func(*goja.Runtime) { count++ }
	onLoop(func(l *eventloop.EventLoop, _ *goja.Runtime) {
		t0 = time.Now()
		for range n {
			l.RunOnLoop(cb)
		}
		l.RunOnLoop(func(*goja.Runtime) {
			el = time.Since(t0)
			l.StopNoWait()
		})
	})
	var err error
	if count != n {
		err = fmt.Errorf("W1: counter %d, want %d", count, n)
	}
	return peerbench.Result{Ops: n, Elapsed: el}, err
}

// W2: each job schedules the next until N have run.
func w2(scale float64) (peerbench.Result, error) {
	n := scaled(1_000_000, scale)
	var t0 time.Time
	var el time.Duration
	count := 0
	onLoop(func(l *eventloop.EventLoop, _ *goja.Runtime) {
		var cb func(*goja.Runtime)
		cb = func(*goja.Runtime) {
			count++
			if count < n {
				l.RunOnLoop(cb)
				return
			}
			el = time.Since(t0)
			l.StopNoWait()
		}
		t0 = time.Now()
		l.RunOnLoop(cb)
	})
	var err error
	if count != n {
		err = fmt.Errorf("W2: counter %d, want %d", count, n)
	}
	return peerbench.Result{Ops: n, Elapsed: el}, err
}

// W3: N SetTimeout with the LCG delays, the odd ones cleared, until the
// even ones have fired. The Go API takes the delays as they are; it does
// not round them to whole ms as JavaScript's setTimeout does.
func w3(scale float64) (peerbench.Result, error) {
	n := scaled(200_000, scale)
	delays, sum := peerbench.W3Delays(n)
	want := (n + 1) / 2
	var t0 time.Time
	var el time.Duration
	fired, wrong := 0, 0
	onLoop(func(l *eventloop.EventLoop, _ *goja.Runtime) {
		cb := func(i int) {
			if i%2 == 1 {
				wrong++
				return
			}
			fired++
			if fired == want {
				el = time.Since(t0)
				l.StopNoWait()
			}
		}
		t0 = time.Now()
		hs := make([]*eventloop.Timer, n)
		for i, d := range delays {
			hs[i] = l.SetTimeout(func(*goja.Runtime) { cb(i) }, d)
		}
		for i := 1; i < n; i += 2 {
			l.ClearTimeout(hs[i])
		}
	})
	var err error
	if fired != want || wrong != 0 {
		err = fmt.Errorf("W3: fired %d (want %d), cancelled timers fired %d", fired, want, wrong)
	}
	return peerbench.Result{Ops: n + n/2, Elapsed: el, Note: peerbench.W3Note(sum)}, err
}

// W4: 4 producer goroutines, released by a gate opened on the loop, each
// hand N/4 jobs to the loop with RunOnLoop.
func w4(scale float64) (peerbench.Result, error) {
	const producers = 4
	n := scaled(1_000_000, scale)
	var t0 time.Time
	var el time.Duration
	count := 0
	l := eventloop.NewEventLoop(eventloop.EnableConsole(false))
	cb := func(*goja.Runtime) {
		count++
		if count == n {
			el = time.Since(t0)
			l.StopNoWait()
		}
	}
	gate := make(chan struct{})
	var wg sync.WaitGroup
	var refused sync.Once
	var err error
	for p := range producers {
		k := n / producers
		if p < n%producers {
			k++
		}
		wg.Go(func() {
			<-gate
			for range k {
				if !l.RunOnLoop(cb) {
					refused.Do(func() { err = fmt.Errorf("W4: RunOnLoop refused a job") })
					return
				}
			}
		})
	}
	l.RunOnLoop(func(*goja.Runtime) {
		t0 = time.Now()
		close(gate)
	})
	l.StartInForeground()
	wg.Wait()
	if err == nil && count != n {
		err = fmt.Errorf("W4: counter %d, want %d", count, n)
	}
	return peerbench.Result{Ops: n, Elapsed: el}, err
}

// W5: create a promise with Runtime.NewPromise, call its then with a Go
// callback, resolve it; N times. goja runs a promise's then-callbacks as
// jobs of its own queue when control leaves the runtime, here at the end
// of resolve: they are microtasks, as in Node, not loop hops.
func w5(scale float64) (peerbench.Result, error) {
	n := scaled(1_000_000, scale)
	var t0 time.Time
	var el time.Duration
	var count, sum int64
	var err error
	onLoop(func(l *eventloop.EventLoop, vm *goja.Runtime) {
		cb := vm.ToValue(func(call goja.FunctionCall) goja.Value {
			count++
			sum += call.Argument(0).ToInteger()
			if count == int64(n) {
				el = time.Since(t0)
				l.StopNoWait()
			}
			return goja.Undefined()
		})
		t0 = time.Now()
		for i := range n {
			p, resolve, _ := vm.NewPromise()
			obj := vm.ToValue(p).ToObject(vm)
			then, ok := goja.AssertFunction(obj.Get("then"))
			if !ok {
				err = fmt.Errorf("W5: a goja promise has no then method")
				l.StopNoWait()
				return
			}
			if _, err = then(obj, cb); err == nil {
				err = resolve(i)
			}
			if err != nil {
				err = fmt.Errorf("W5: %w", err)
				l.StopNoWait()
				return
			}
		}
	})
	if want := int64(n) * int64(n-1) / 2; err == nil && (count != int64(n) || sum != want) {
		err = fmt.Errorf("W5: counter %d sum %d, want %d and %d", count, sum, n, want)
	}
	return peerbench.Result{Ops: n, Elapsed: el}, err
}

// w6Script is node_bench.js's W6 (setImmediate variant): one async function
// awaits n promises, each resolved one loop hop later.
const w6Script = `
(async () => {
  clockStart();
  let s = 0;
  for (let i = 0; i < n; i++) s += await new Promise((r) => setImmediate(r, i));
  clockStop(s);
})().catch((e) => fail(String(e)));
`

// W6: one async function awaits N promises resolved with setImmediate.
func w6(scale float64) (peerbench.Result, error) {
	n := scaled(200_000, scale)
	el, got, err := runScript(w6Script, n)
	if want := int64(n) * int64(n-1) / 2; err == nil && got != want {
		err = fmt.Errorf("W6: sum %d, want %d", got, want)
	}
	return peerbench.Result{Ops: n, Elapsed: el, Note: fmt.Sprintf("%.0f ns/await", float64(el.Nanoseconds())/float64(n))}, err
}

// w7Script is node_bench.js's W7 (setImmediate variant): n async functions
// each sleep(0) 10 times; the main one awaits them all.
const w7Script = `
(async () => {
  clockStart();
  let done = 0;
  const task = async () => {
    for (let k = 0; k < 10; k++) {
      await new Promise((r) => setImmediate(r));
      done++;
    }
  };
  const tasks = new Array(n);
  for (let i = 0; i < n; i++) tasks[i] = task();
  await Promise.all(tasks);
  clockStop(done);
})().catch((e) => fail(String(e)));
`

// W7: T async functions each yield to the loop 10 times; the main one
// awaits them all.
func w7(scale float64) (peerbench.Result, error) {
	t := scaled(100_000, scale)
	const steps = 10
	el, got, err := runScript(w7Script, t)
	if err == nil && got != int64(steps*t) {
		err = fmt.Errorf("W7: steps %d, want %d", got, steps*t)
	}
	return peerbench.Result{Ops: steps * t, Elapsed: el}, err
}

// runScript runs src on the loop until it calls clockStop(result) or
// fail(message), with these globals: n; clockStart and clockStop, which
// read Go's clock; fail. It returns the time from clockStart to clockStop
// and the result.
func runScript(src string, n int) (time.Duration, int64, error) {
	var t0 time.Time
	var el time.Duration
	var result int64
	var err error // the first error: fail's, or the runtime's
	setErr := func(e error) {
		if err == nil {
			err = e
		}
	}
	onLoop(func(l *eventloop.EventLoop, vm *goja.Runtime) {
		globals := []struct {
			name  string
			value any
		}{
			{"n", n},
			{"clockStart", func() { t0 = time.Now() }},
			{"clockStop", func(r int64) {
				el = time.Since(t0)
				result = r
				l.StopNoWait()
			}},
			{"fail", func(msg string) {
				setErr(fmt.Errorf("JavaScript: %s", msg))
				l.StopNoWait()
			}},
		}
		for _, g := range globals {
			if e := vm.Set(g.name, g.value); e != nil {
				setErr(e)
				l.StopNoWait()
				return
			}
		}
		if _, e := vm.RunString(src); e != nil {
			setErr(e)
			l.StopNoWait()
		}
	})
	return el, result, err
}
