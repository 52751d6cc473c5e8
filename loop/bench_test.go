package loop_test

import (
	"sync"
	"testing"
	"time"

	"github.com/aio-go/aio/future"
	"github.com/aio-go/aio/loop"
)

// BenchmarkCallSoon is W1: one callback schedules N callbacks and a
// sentinel that stops the loop; ns/op is the cost of scheduling and running
// one callback.
func BenchmarkCallSoon(b *testing.B) {
	l := loop.New()
	defer l.Close()
	count, i := 0, 0
	cb := func() { count++ }
	for b.Loop() {
		l.CallSoon(cb)
		if i++; i%4096 == 0 {
			l.CallSoon(l.Stop)
			_ = l.RunForever()
		}
	}
	l.CallSoon(l.Stop)
	_ = l.RunForever()
}

// BenchmarkCallSoonChain is W2: each callback schedules the next, so every
// callback runs in an iteration of its own.
func BenchmarkCallSoonChain(b *testing.B) {
	l := loop.New()
	defer l.Close()
	n := b.N
	var cb func()
	cb = func() {
		n--
		if n > 0 {
			l.CallSoon(cb)
		} else {
			l.Stop()
		}
	}
	b.ResetTimer()
	l.CallSoon(cb)
	_ = l.RunForever()
}

// BenchmarkCallLater is W3's scheduling half: push a timer and cancel every
// other one.
func BenchmarkCallLater(b *testing.B) {
	l := loop.New()
	defer l.Close()
	fn := func() {}
	i := 0
	for b.Loop() {
		h := l.CallLater(time.Duration(i%50)*time.Microsecond, fn)
		if i%2 == 1 {
			h.Cancel()
		}
		if i++; i%4096 == 0 {
			l.CallLater(50*time.Microsecond, l.Stop)
			_ = l.RunForever()
		}
	}
}

// BenchmarkCallSoonThreadsafe is W4: 4 goroutines hand callbacks to a
// running loop.
func BenchmarkCallSoonThreadsafe(b *testing.B) {
	l := loop.New()
	defer l.Close()
	const producers = 4
	total := b.N
	count := 0
	cb := func() {
		count++
		if count == total {
			l.Stop()
		}
	}
	var wg sync.WaitGroup
	b.ResetTimer()
	for p := range producers {
		n := total / producers
		if p == 0 {
			n += total % producers
		}
		wg.Go(func() {
			for range n {
				if _, err := l.CallSoonThreadsafe(cb); err != nil {
					panic(err)
				}
			}
		})
	}
	_ = l.RunForever()
	wg.Wait()
}

// BenchmarkFutureResolve is W5: create a future, add a done-callback, set
// its result; the callback reads it.
func BenchmarkFutureResolve(b *testing.B) {
	l := loop.New()
	defer l.Close()
	sum := 0
	cb := func(f *future.Future[int]) {
		v, _ := f.Result()
		sum += v
	}
	i := 0
	for b.Loop() {
		f := future.New[int](l)
		f.AddDoneCallback(cb)
		f.SetResult(i)
		i++
		if i%4096 == 0 {
			l.CallSoon(l.Stop)
			_ = l.RunForever()
		}
	}
	l.CallSoon(l.Stop)
	_ = l.RunForever()
}

// BenchmarkAwait is W6: a task awaits a future resolved by a callback one
// loop hop later; ns/op is the cost of one await round trip.
func BenchmarkAwait(b *testing.B) {
	l := loop.New()
	defer l.Close()
	main := loop.Spawn(l, func(co *loop.Coro) (int, error) {
		sum := 0
		for i := range b.N {
			f := future.New[int](l)
			l.CallSoon(func() { f.SetResult(i) })
			v, err := loop.Await(co, f)
			if err != nil {
				return 0, err
			}
			sum += v
		}
		return sum, nil
	})
	b.ResetTimer()
	if _, err := loop.RunUntilComplete(l, main.Future); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkSleepZero is W7's step: tasks yielding to the loop with
// Sleep(co, 0); ns/op is one task step.
func BenchmarkSleepZero(b *testing.B) {
	l := loop.New()
	defer l.Close()
	const tasks = 1000
	fs := make([]*loop.Task[struct{}], tasks)
	for i := range fs {
		n := b.N / tasks
		if i < b.N%tasks {
			n++
		}
		fs[i] = loop.Go(l, func(co *loop.Coro) error {
			for range n {
				if err := loop.Sleep(co, 0); err != nil {
					return err
				}
			}
			return nil
		})
	}
	b.ResetTimer()
	if _, err := loop.RunUntilComplete(l, loop.Gather(l, fs...)); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkSpawn is a task's life: spawn it, let it take one step and
// return, and await it; ns/op is one task, from Spawn to the awaiting
// task's resumption.
func BenchmarkSpawn(b *testing.B) {
	l := loop.New()
	defer l.Close()
	main := loop.Spawn(l, func(co *loop.Coro) (int, error) {
		for range b.N {
			t := loop.Spawn(l, func(co *loop.Coro) (int, error) {
				return 1, loop.Sleep(co, 0)
			})
			if _, err := t.Await(co); err != nil {
				return 0, err
			}
		}
		return 0, nil
	})
	b.ResetTimer()
	if _, err := loop.RunUntilComplete(l, main.Future); err != nil {
		b.Fatal(err)
	}
}
