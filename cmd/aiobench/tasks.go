package main

import (
	"fmt"
	"iter"
	"time"

	"github.com/aio-go/aio/future"
	"github.com/aio-go/aio/loop"
)

// W6: one task awaits N futures, each resolved by a callback one loop hop
// later.
func runW6(scale float64) (result, error) {
	n := scaled(200_000, scale)
	var el time.Duration
	sum := 0
	l := loop.New()
	main := loop.Spawn(l, func(co *loop.Coro) (int, error) {
		t0 := time.Now()
		for i := range n {
			f := future.New[int](l)
			l.CallSoon(func() { f.SetResult(i) })
			v, err := loop.Await(co, f)
			if err != nil {
				return 0, err
			}
			sum += v
		}
		el = time.Since(t0)
		return sum, nil
	})
	_, err := loop.RunUntilComplete(l, main.Future)
	if cerr := l.Close(); err == nil {
		err = cerr
	}
	if want := n * (n - 1) / 2; err == nil && sum != want {
		err = fmt.Errorf("W6: sum %d, want %d", sum, want)
	}
	return result{ops: n, elapsed: el, note: fmt.Sprintf("%.0f ns/await", float64(el.Nanoseconds())/float64(n))}, err
}

// W7: T tasks each yield to the loop 10 times; the main task gathers them.
func runW7(scale float64) (result, error) {
	t := scaled(100_000, scale)
	const steps = 10
	var el time.Duration
	count := 0
	l := loop.New()
	main := loop.Spawn(l, func(co *loop.Coro) (int, error) {
		t0 := time.Now()
		fs := make([]*loop.Task[struct{}], t)
		for i := range fs {
			fs[i] = loop.Go(l, func(co *loop.Coro) error {
				for range steps {
					if err := loop.Sleep(co, 0); err != nil {
						return err
					}
					count++
				}
				return nil
			})
		}
		_, err := loop.Await(co, loop.Gather(l, fs...))
		el = time.Since(t0)
		return count, err
	})
	_, err := loop.RunUntilComplete(l, main.Future)
	if cerr := l.Close(); err == nil {
		err = cerr
	}
	if err == nil && count != steps*t {
		err = fmt.Errorf("W7: steps %d, want %d", count, steps*t)
	}
	return result{ops: steps * t, elapsed: el}, err
}

// W7-PULL: W7's work with a bare iter.Pull coroutine per task and no loop:
// create T coroutines, then resume them round robin until each has taken
// its 10 steps. It measures what one coroutine per task costs by itself.
func runW7Pull(scale float64) (result, error) {
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
	return result{ops: steps * t, elapsed: el}, err
}
