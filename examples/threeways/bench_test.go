package main

import (
	"context"
	"testing"

	"github.com/aio-go/aio/loop"
)

// BenchmarkThreeWays measures one three-step flow per op in each style, on
// one loop per sub-benchmark, without tracing.
func BenchmarkThreeWays(b *testing.B) {
	b.Run("callbacks", func(b *testing.B) {
		l := loop.New()
		defer l.Close()
		s := &shop{l: l}
		// Each flow's done callback starts the next one.
		var next func(Cents, error)
		next = func(_ Cents, err error) {
			if err != nil {
				b.Error(err)
			}
			if !b.Loop() {
				l.Stop()
				return
			}
			totalWithCallbacks(s, 1, next)
		}
		l.CallSoon(func() { next(0, nil) })
		if err := l.RunForever(); err != nil {
			b.Fatal(err)
		}
	})

	b.Run("await", func(b *testing.B) {
		l := loop.New()
		defer l.Close()
		s := &shop{l: l}
		t := loop.Spawn(l, func(co *loop.Coro) (struct{}, error) {
			for b.Loop() {
				if _, err := totalWithAwait(co, s, 1); err != nil {
					return struct{}{}, err
				}
			}
			return struct{}{}, nil
		})
		if _, err := loop.RunUntilComplete(l, t.Future); err != nil {
			b.Fatal(err)
		}
	})

	b.Run("wait", func(b *testing.B) {
		l := loop.New()
		s := &shop{l: l}
		stopped := make(chan error, 1)
		go func() { stopped <- l.RunForever() }()
		ctx := context.Background()
		for b.Loop() {
			if _, err := totalWithWait(ctx, s, 1); err != nil {
				b.Fatal(err)
			}
		}
		l.Stop()
		if err := <-stopped; err != nil {
			b.Fatal(err)
		}
		if err := l.Close(); err != nil {
			b.Fatal(err)
		}
	})
}
