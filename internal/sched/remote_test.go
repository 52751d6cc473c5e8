package sched_test

import (
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aio-go/aio/internal/sched"
)

// TestRemoteKeepsEachProducersOrder has producers push through a Remote
// while the consumer takes and runs what they pushed, many times over:
// every callback runs exactly once, each producer's in the order it pushed
// them, also across chunks and Takes.
func TestRemoteKeepsEachProducersOrder(t *testing.T) {
	const producers, each = 6, 20_000
	var r sched.Remote
	var q sched.Queue
	last := make([]int, producers) // consumer only
	for p := range last {
		last[p] = -1
	}
	ran := 0
	var bad atomic.Int64
	record := func(p, k int) {
		if k != last[p]+1 {
			bad.Add(1)
		}
		last[p] = k
		ran++
	}
	recordArg := func(a any) {
		v := a.([2]int)
		record(v[0], v[1])
	}

	var wg sync.WaitGroup
	for p := range producers {
		wg.Go(func() {
			for k := range each {
				var ok bool
				if k%3 == 0 {
					_, ok = r.PushArg(recordArg, [2]int{p, k})
				} else {
					_, ok = r.Push(func() { record(p, k) })
				}
				if !ok {
					bad.Add(1)
				}
			}
		})
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	for finished := false; !finished; {
		select {
		case <-done:
			finished = true
		default:
		}
		q.Take(&r)
		for q.Len() > 0 {
			popRun(&q)
		}
	}
	assert.Equal(t, producers*each, ran, "every callback runs once")
	assert.Zero(t, bad.Load(), "each producer's callbacks run in the order it pushed them")
}

func TestRemoteHandlesStayValidAcrossTake(t *testing.T) {
	var r sched.Remote
	var q sched.Queue
	var rec recorder
	var hs []sched.Handle
	for id := range 600 { // three chunks
		h, ok := r.PushArg(rec.fn, id)
		require.True(t, ok)
		hs = append(hs, h)
	}
	assert.True(t, hs[10].Cancel(), "a handle cancels before Take")
	q.Take(&r)
	assert.Equal(t, 600, q.Len())
	assert.True(t, hs[300].Cancel(), "a handle cancels after Take")
	assert.True(t, hs[10].Cancelled())
	assert.True(t, hs[599].Pending())
	assert.Equal(t, 598, drain(&q))
	want := seq(0, 600)
	want = append(want[:300], want[301:]...)
	want = append(want[:10], want[11:]...)
	assert.Equal(t, want, rec.ran)
	assert.False(t, hs[599].Pending(), "a handle whose callback ran is not pending")
	assert.False(t, hs[599].Cancel(), "a callback that ran cannot be cancelled")
}

func TestRemoteRefuse(t *testing.T) {
	var r sched.Remote
	var q sched.Queue
	var rec recorder
	for id := range 3 {
		_, ok := r.PushArg(rec.fn, id)
		require.True(t, ok)
	}
	r.Refuse()
	_, ok := r.Push(func() { t.Error("a refused callback ran") })
	assert.False(t, ok, "Push after Refuse")
	_, ok = r.PushArg(rec.fn, 99)
	assert.False(t, ok, "PushArg after Refuse")
	q.Take(&r)
	assert.Equal(t, 3, drain(&q))
	assert.Equal(t, []int{0, 1, 2}, rec.ran, "what was pushed before Refuse is taken")
	q.Take(&r)
	assert.Zero(t, q.Len())
}

func TestRemoteTakeWhenEmpty(t *testing.T) {
	var r sched.Remote
	var q sched.Queue
	q.Take(&r)
	assert.Zero(t, q.Len(), "the zero Remote holds nothing")
	r.Push(func() {})
	q.Take(&r)
	require.Equal(t, 1, drain(&q))
	q.Take(&r)
	assert.Zero(t, q.Len(), "a Take after everything was taken takes nothing")
}

// TestRemoteTakeKeepsTheQueuesOwnCallbacks checks that what a Queue holds
// stays ahead of what it takes, and that its own pushes after a Take go
// behind.
func TestRemoteTakeKeepsTheQueuesOwnCallbacks(t *testing.T) {
	var r sched.Remote
	var q sched.Queue
	var rec recorder
	pushID(&q, &rec, 0)
	r.PushArg(rec.fn, 1)
	q.Take(&r)
	pushID(&q, &rec, 2)
	r.PushArg(rec.fn, 3)
	q.Take(&r)
	assert.Equal(t, 4, drain(&q))
	assert.Equal(t, []int{0, 1, 2, 3}, rec.ran)
}

// TestRemoteReusesChunks: a steady flow through a Remote allocates nothing
// once its chunks circulate.
func TestRemoteReusesChunks(t *testing.T) {
	var r sched.Remote
	var q sched.Queue
	fn := func() {}
	round := func() {
		for range 700 {
			r.Push(fn)
		}
		q.Take(&r)
		for q.Len() > 0 {
			q.Pop()
		}
	}
	round()
	assert.Zero(t, testing.AllocsPerRun(20, round))
}

// BenchmarkRemotePush measures Push from parallel goroutines while one
// consumer takes and runs the callbacks.
func BenchmarkRemotePush(b *testing.B) {
	var r sched.Remote
	var q sched.Queue
	var stop atomic.Bool
	consumed := make(chan struct{})
	go func() {
		defer close(consumed)
		for !stop.Load() {
			q.Take(&r)
			for q.Len() > 0 {
				popRun(&q)
			}
		}
	}()
	fn := func() {}
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r.Push(fn)
		}
	})
	stop.Store(true)
	<-consumed
}
