package sched_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aio-go/aio/internal/sched"
)

// pushID appends a callback that records id, alternating between the two
// ways of pushing so that both are covered.
func pushID(q *sched.Queue, rec *recorder, id int) sched.Handle {
	if id%2 == 0 {
		return q.Push(func() { rec.ran = append(rec.ran, id) })
	}
	return q.PushArg(rec.fn, id)
}

// drain pops and runs every callback of q and returns how many were live.
func drain(q *sched.Queue) int {
	live := 0
	for q.Len() > 0 {
		if popRun(q) {
			live++
		}
	}
	return live
}

func seq(from, to int) []int {
	s := make([]int, 0, to-from)
	for i := from; i < to; i++ {
		s = append(s, i)
	}
	return s
}

func TestQueueFIFO(t *testing.T) {
	var q sched.Queue
	var rec recorder
	const n = 1000 // several chunks
	for id := range n {
		pushID(&q, &rec, id)
		require.Equal(t, id+1, q.Len())
	}
	assert.Equal(t, n, drain(&q))
	assert.Equal(t, seq(0, n), rec.ran)
	assert.Zero(t, q.Len())
}

func TestQueueInterleavedPushPop(t *testing.T) {
	var q sched.Queue
	var rec recorder
	next := 0
	for round := range 50 {
		for range round * 7 {
			pushID(&q, &rec, next)
			next++
		}
		for range round * 5 {
			if q.Len() == 0 {
				break
			}
			require.True(t, popRun(&q))
		}
	}
	drain(&q)
	assert.Equal(t, seq(0, next), rec.ran)
}

func TestQueueLenCountsCancelled(t *testing.T) {
	var q sched.Queue
	var rec recorder
	hs := make([]sched.Handle, 10)
	for i := range hs {
		hs[i] = pushID(&q, &rec, i)
	}
	require.True(t, hs[3].Cancel())
	require.True(t, hs[4].Cancel())
	assert.Equal(t, 10, q.Len(), "Len counts cancelled callbacks until they are popped")
	assert.Equal(t, 8, drain(&q))
	assert.Equal(t, []int{0, 1, 2, 5, 6, 7, 8, 9}, rec.ran)
}

func TestQueuePopSkipsCancelled(t *testing.T) {
	var q sched.Queue
	var rec recorder
	h := q.Push(func() { rec.ran = append(rec.ran, 1) })
	ha := q.PushArg(rec.fn, 2)
	require.True(t, h.Cancel())
	require.True(t, ha.Cancel())
	fn, afn, arg := q.Pop()
	assert.Nil(t, fn)
	assert.Nil(t, afn)
	assert.Nil(t, arg)
	fn, afn, arg = q.Pop()
	assert.Nil(t, fn)
	assert.Nil(t, afn)
	assert.Nil(t, arg)
	assert.Empty(t, rec.ran)
	assert.Zero(t, q.Len())
}

func TestQueueHandleStates(t *testing.T) {
	var q sched.Queue
	var rec recorder
	run := pushID(&q, &rec, 0)
	cancelled := pushID(&q, &rec, 1)

	assert.True(t, run.Pending())
	assert.False(t, run.Cancelled())
	assert.True(t, cancelled.Cancel())
	assert.False(t, cancelled.Cancel(), "second Cancel must report false")
	assert.True(t, cancelled.Cancelled())
	assert.False(t, cancelled.Pending())

	drain(&q)
	assert.Equal(t, []int{0}, rec.ran)
	assert.False(t, run.Pending())
	assert.False(t, run.Cancelled())
	assert.False(t, run.Cancel(), "Cancel after the callback ran must report false")
	assert.False(t, run.Cancelled(), "a failed Cancel must not mark the handle cancelled")
	assert.True(t, cancelled.Cancelled())
}

func TestQueueZeroHandle(t *testing.T) {
	var h sched.Handle
	assert.False(t, h.Cancel())
	assert.False(t, h.Cancelled())
	assert.False(t, h.Pending())
	assert.True(t, h.When().IsZero())
	assert.NotEmpty(t, h.String())
}

// Chunks are reused once drained: a handle of a callback that ran in a
// reused chunk must not cancel, nor report as pending, the callback that now
// occupies its place.
func TestQueueChunkReuseDoesNotReviveStaleHandles(t *testing.T) {
	var q sched.Queue
	var rec recorder
	const n = 700 // three chunks, so reuse goes through the free list too
	old := make([]sched.Handle, n)
	for i := range old {
		old[i] = pushID(&q, &rec, i)
	}
	drain(&q)
	for range 3 { // reuse the same chunks several times over
		rec.ran = nil
		fresh := make([]sched.Handle, n)
		for i := range fresh {
			fresh[i] = pushID(&q, &rec, n+i)
		}
		for i, h := range old {
			require.False(t, h.Pending(), "stale handle %d reports pending", i)
			require.False(t, h.Cancelled(), "stale handle %d reports cancelled", i)
			require.False(t, h.Cancel(), "stale handle %d cancelled a newer callback", i)
		}
		for i, h := range fresh {
			require.True(t, h.Pending(), "fresh handle %d", i)
		}
		assert.Equal(t, n, drain(&q), "a stale handle cancelled a newer callback")
		assert.Equal(t, seq(n, 2*n), rec.ran)
		old = fresh
	}
}

// The same, for a queue that empties with a single chunk (it restarts in
// place) and one that holds cancelled callbacks (whose chunks are never
// reused, so that the cancelled handles keep reporting Cancelled).
func TestQueueCancelledHandleStaysCancelledAfterReuse(t *testing.T) {
	var q sched.Queue
	var rec recorder
	var cancelled, ran []sched.Handle
	for round := range 20 {
		a := pushID(&q, &rec, round*3)
		b := pushID(&q, &rec, round*3+1)
		c := pushID(&q, &rec, round*3+2)
		require.True(t, b.Cancel())
		cancelled = append(cancelled, b)
		ran = append(ran, a, c)
		assert.Equal(t, 2, drain(&q))
		for i, h := range cancelled {
			require.True(t, h.Cancelled(), "round %d: cancelled handle %d no longer reports Cancelled", round, i)
			require.False(t, h.Pending())
			require.False(t, h.Cancel())
		}
		for i, h := range ran {
			require.False(t, h.Cancelled(), "round %d: handle %d", round, i)
			require.False(t, h.Pending(), "round %d: handle %d", round, i)
			require.False(t, h.Cancel(), "round %d: handle %d", round, i)
		}
	}
	// One callback at a time: the queue restarts its chunk in place.
	for id := range 10 {
		h := pushID(&q, &rec, 1000+id)
		assert.Equal(t, 1, drain(&q))
		assert.False(t, h.Pending())
		assert.False(t, h.Cancel())
	}
	assert.Len(t, rec.ran, 40+10)
}

func TestQueueSpliceKeepsOrderAndHandles(t *testing.T) {
	var q, o sched.Queue
	var rec recorder
	var hs []sched.Handle
	for id := range 300 {
		hs = append(hs, pushID(&q, &rec, id))
	}
	for range 100 {
		require.True(t, popRun(&q))
	}
	for id := 300; id < 700; id++ {
		hs = append(hs, pushID(&o, &rec, id))
	}
	q.Splice(&o)
	assert.Zero(t, o.Len(), "Splice must leave its argument empty")
	assert.Equal(t, 600, q.Len())

	// Handles of moved callbacks still work.
	require.True(t, hs[450].Cancel())
	assert.True(t, hs[450].Cancelled())
	assert.True(t, hs[699].Pending())

	// Both queues stay usable.
	hs = append(hs, pushID(&q, &rec, 700))
	pushID(&o, &rec, 701)

	assert.Equal(t, 600, drain(&q))
	want := seq(0, 701)
	want = append(want[:450], want[451:]...)
	assert.Equal(t, want, rec.ran)
	assert.False(t, hs[699].Pending())

	assert.Equal(t, 1, drain(&o))
	assert.Equal(t, 701, rec.ran[len(rec.ran)-1])
}

func TestQueueSpliceIntoEmpty(t *testing.T) {
	var q, o sched.Queue
	var rec recorder
	// q has been used and is empty again.
	pushID(&q, &rec, -1)
	drain(&q)
	rec.ran = nil
	for id := range 10 {
		pushID(&o, &rec, id)
	}
	q.Splice(&o)
	assert.Equal(t, 10, q.Len())
	pushID(&q, &rec, 10)
	assert.Equal(t, 11, drain(&q))
	assert.Equal(t, seq(0, 11), rec.ran)
}

func TestQueueSpliceEmpty(t *testing.T) {
	var q, o sched.Queue
	var rec recorder
	pushID(&q, &rec, 0)
	q.Splice(&o)
	assert.Equal(t, 1, q.Len())
	o.Splice(&sched.Queue{})
	assert.Zero(t, o.Len())
	drain(&q)
	assert.Equal(t, []int{0}, rec.ran)
}

// Splice moves "every callback of o", also when o has already been popped
// from: the callbacks o had popped must not be counted again, and none of
// the remaining ones may be lost.
func TestQueueSpliceFromPartlyPoppedQueue(t *testing.T) {
	var q, o sched.Queue
	var rec recorder
	for id := range 5 {
		pushID(&q, &rec, id)
	}
	for id := 100; id < 110; id++ {
		pushID(&o, &rec, id)
	}
	for range 3 {
		require.True(t, popRun(&o))
	}
	require.Equal(t, []int{100, 101, 102}, rec.ran)
	rec.ran = nil

	q.Splice(&o)
	require.Equal(t, 12, q.Len())
	live := drain(&q)
	assert.Equal(t, 12, live)
	assert.Equal(t, []int{0, 1, 2, 3, 4, 103, 104, 105, 106, 107, 108, 109}, rec.ran)
}

func TestQueueClearCount(t *testing.T) {
	var q sched.Queue
	var rec recorder
	hs := make([]sched.Handle, 600)
	for i := range hs {
		hs[i] = pushID(&q, &rec, i)
	}
	for i := 0; i < len(hs); i += 4 {
		require.True(t, hs[i].Cancel())
	}
	assert.Equal(t, 600-150, q.Clear())
	assert.Zero(t, q.Len())
	assert.Empty(t, rec.ran, "Clear must not run callbacks")
	for i, h := range hs {
		require.False(t, h.Pending(), "handle %d", i)
		require.Equal(t, i%4 == 0, h.Cancelled(), "handle %d", i)
		require.False(t, h.Cancel(), "handle %d", i)
	}
	assert.Zero(t, q.Clear())
	pushID(&q, &rec, 7)
	assert.Equal(t, 1, drain(&q))
	assert.Equal(t, []int{7}, rec.ran)
}

// A due timer in the ready queue counts in Clear only if it is live.
func TestQueueClearCountsTimers(t *testing.T) {
	var h sched.Heap
	var q sched.Queue
	var rec recorder
	a := h.Push(1, rec.cb(1))
	h.Push(2, rec.cb(2))
	for {
		s, ok := h.PopDue(2)
		if !ok {
			break
		}
		q.PushTimer(s)
	}
	require.True(t, a.Cancel())
	assert.Equal(t, 1, q.Clear())
	assert.Empty(t, rec.ran)
}

func TestQueueWhen(t *testing.T) {
	var q sched.Queue
	assert.True(t, q.Push(func() {}).When().IsZero(), "a CallSoon handle has no deadline")
	assert.True(t, q.PushArg(func(any) {}, nil).When().IsZero(), "a CallSoon handle has no deadline")

	epoch := time.Date(2026, 11, 22, 3, 1, 23, 0, time.UTC)
	h := sched.Heap{Epoch: epoch}
	th := h.Push(int64(1500*time.Millisecond), func() {})
	assert.True(t, th.When().Equal(epoch.Add(1500*time.Millisecond)), "got %v", th.When())
	neg := h.Push(-int64(time.Second), func() {})
	assert.True(t, neg.When().Equal(epoch.Add(-time.Second)), "got %v", neg.When())
}

func TestHandleString(t *testing.T) {
	var q sched.Queue
	var h sched.Heap
	qh := q.Push(func() {})
	th := h.Push(5, func() {})
	assert.Contains(t, qh.String(), "pending")
	assert.Contains(t, th.String(), "pending")
	require.True(t, qh.Cancel())
	require.True(t, th.Cancel())
	assert.Contains(t, qh.String(), "cancelled")
	assert.Contains(t, th.String(), "cancelled")
	done := q.Push(func() {})
	drain(&q)
	assert.Contains(t, done.String(), "done")
}

// A queue that is only spliced from (the loop's remote queue) gets chunks
// from another queue's spares: handles of callbacks that ran in a shared
// chunk must stay stale, and the callbacks pushed into it must all run.
func TestQueueShareFreeKeepsHandlesStale(t *testing.T) {
	var ready, remote sched.Queue
	var rec recorder
	old := make([]sched.Handle, 600) // three chunks, drained: spares
	for i := range old {
		old[i] = pushID(&ready, &rec, i)
	}
	drain(&ready)
	for round := range 5 {
		rec.ran = nil
		ready.ShareFree(&remote)
		fresh := make([]sched.Handle, 300)
		for i := range fresh {
			fresh[i] = pushID(&remote, &rec, 1000+i)
		}
		ready.Splice(&remote)
		for i, h := range old {
			require.False(t, h.Pending(), "round %d: stale handle %d", round, i)
			require.False(t, h.Cancel(), "round %d: stale handle %d cancelled a newer callback", round, i)
		}
		assert.Equal(t, 300, drain(&ready))
		assert.Equal(t, seq(1000, 1300), rec.ran)
		old = fresh
	}
}

func TestQueueShareFreeOnlyWhenNeeded(t *testing.T) {
	var a, b sched.Queue
	var rec recorder
	a.ShareFree(&b) // a has no spares: nothing happens
	pushID(&b, &rec, 1)
	assert.Equal(t, 1, b.Len())
	assert.Zero(t, a.Len())
	assert.Equal(t, 1, drain(&b))
	assert.Equal(t, []int{1}, rec.ran)
}

func TestHeapPushNoteComesBackWithTheCallback(t *testing.T) {
	var h sched.Heap
	var q sched.Queue
	var rec recorder
	h.PushNote(1, rec.cb(1), "note 1")
	h.Push(2, rec.cb(2))
	cancelled := h.PushNote(3, rec.cb(3), "note 3")
	h.PushNote(4, rec.cb(4), nil)
	require.True(t, cancelled.Cancel())
	for {
		s, ok := h.PopDue(10)
		if !ok {
			break
		}
		q.PushTimer(s)
	}
	var notes []any
	for q.Len() > 0 {
		fn, afn, arg := q.Pop()
		require.Nil(t, afn, "a timer pops as a func()")
		if fn != nil {
			fn()
			notes = append(notes, arg)
		}
	}
	assert.Equal(t, []int{1, 2, 4}, rec.ran)
	assert.Equal(t, []any{"note 1", nil, nil}, notes)
}
