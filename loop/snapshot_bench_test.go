package loop_test

import (
	"log/slog"
	"syscall"
	"testing"
	"time"

	"github.com/aio-go/aio/loop"
)

// BenchmarkSnapshot100k measures a snapshot of 100,000 waiting tasks: each
// is probed for its stack (two coroutine switches and a runtime.Callers),
// in four places of the code, a quarter of them on tasks.
func BenchmarkSnapshot100k(b *testing.B) {
	const n = 100_000
	l := loop.New(loop.WithLogger(slog.New(slog.DiscardHandler))) // Close discards the sleeps' timers
	var ev loop.Event
	var lk loop.Lock
	lk.TryAcquire()
	var prev *loop.Task[struct{}]
	for i := range n {
		switch i % 4 {
		case 0:
			prev = loop.Go(l, func(co *loop.Coro) error { return ev.Wait(co) })
		case 1:
			p := prev
			loop.Go(l, func(co *loop.Coro) error { _, err := p.Await(co); return err })
		case 2:
			loop.Go(l, func(co *loop.Coro) error { return lk.Acquire(co) })
		case 3:
			loop.Go(l, func(co *loop.Coro) error { return loop.Sleep(co, 1e12) })
		}
	}
	// Run until every task waits: one iteration starts them all.
	l.CallSoon(func() { l.CallSoon(l.Stop) })
	if err := l.RunForever(); err != nil {
		b.Fatal(err)
	}
	l.Snapshot() // the first one also formats the names "Task-N", once per task
	b.ReportAllocs()
	cpu0 := cpuTime()
	for b.Loop() {
		s := l.Snapshot()
		if len(s.Tasks) != n {
			b.Fatalf("%d tasks", len(s.Tasks))
		}
	}
	b.StopTimer()
	// The process's CPU time: on a shared machine, wall time overstates.
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
	l.Close()
}

// cpuTime is the process's user and system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
