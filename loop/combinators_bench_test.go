package loop_test

import (
	"testing"

	"github.com/aio-go/aio/future"
	"github.com/aio-go/aio/loop"
)

// benchFanout is how many futures each Gather or Wait of the benchmarks
// follows.
const benchFanout = 8

// BenchmarkGather is one Gather of benchFanout futures resolved by one
// callback, awaited by a task; ns/op is one gather round trip.
func BenchmarkGather(b *testing.B) {
	l := loop.New()
	defer l.Close()
	main := loop.Spawn(l, func(co *loop.Coro) (int, error) {
		fs := make([]*future.Future[int], benchFanout)
		sum := 0
		for range b.N {
			for i := range fs {
				fs[i] = future.New[int](l)
			}
			l.CallSoon(func() {
				for i, f := range fs {
					f.SetResult(i)
				}
			})
			vs, err := loop.Await(co, loop.Gather(l, fs...))
			if err != nil {
				return 0, err
			}
			sum += vs[benchFanout-1]
		}
		return sum, nil
	})
	b.ResetTimer()
	if _, err := loop.RunUntilComplete(l, main.Future); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkWait is one Wait (AllCompleted) for benchFanout futures resolved
// by one callback; ns/op is one wait round trip.
func BenchmarkWait(b *testing.B) {
	l := loop.New()
	defer l.Close()
	main := loop.Spawn(l, func(co *loop.Coro) (int, error) {
		fs := make([]*future.Future[int], benchFanout)
		as := make([]future.Awaitable, benchFanout)
		n := 0
		for range b.N {
			for i := range fs {
				fs[i] = future.New[int](l)
				as[i] = fs[i]
			}
			l.CallSoon(func() {
				for i, f := range fs {
					f.SetResult(i)
				}
			})
			done, _, err := loop.Wait(co, as, loop.NoTimeout, loop.AllCompleted)
			if err != nil {
				return 0, err
			}
			n += len(done)
		}
		return n, nil
	})
	b.ResetTimer()
	if _, err := loop.RunUntilComplete(l, main.Future); err != nil {
		b.Fatal(err)
	}
}
