package sched_test

import (
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aio-go/aio/internal/sched"
)

// recorder collects the ids of the callbacks it runs, in order.
type recorder struct{ ran []int }

func (r *recorder) fn(arg any) { r.ran = append(r.ran, arg.(int)) }

// cb returns a callback that records id.
func (r *recorder) cb(id int) func() { return func() { r.ran = append(r.ran, id) } }

// popRun pops the callback at the head of q and runs it. It reports whether
// the callback was live (not cancelled).
func popRun(q *sched.Queue) bool {
	fn, afn, arg := q.Pop()
	switch {
	case fn != nil:
		fn()
		return true
	case afn != nil:
		afn(arg)
		return true
	}
	return false
}

// runSlot runs a timer popped from a heap the way the loop does: through a
// ready Queue. It reports whether the timer was live.
func runSlot(s *sched.Slot) bool {
	var q sched.Queue
	q.PushTimer(s)
	return popRun(&q)
}

// popAllDue pops and runs every timer due at now.
func popAllDue(t *testing.T, h *sched.Heap, now int64) {
	t.Helper()
	for {
		s, ok := h.PopDue(now)
		if !ok {
			return
		}
		require.True(t, runSlot(s), "PopDue returned a timer that is not live")
	}
}

func TestHeapOrdersByWhenThenSchedulingOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var h sched.Heap
	var rec recorder
	type sched struct{ when, id int }
	var want []sched
	for id := range 2000 {
		when := rng.IntN(20) // many ties
		h.Push(int64(when), rec.cb(id))
		want = append(want, sched{when, id})
	}
	// A stable sort keeps scheduling order among equal deadlines.
	slices.SortStableFunc(want, func(a, b sched) int { return a.when - b.when })

	popAllDue(t, &h, 1000)

	wantIDs := make([]int, len(want))
	for i, s := range want {
		wantIDs[i] = s.id
	}
	assert.Equal(t, wantIDs, rec.ran)
	assert.Zero(t, h.Len())
}

func TestHeapEqualDeadlinesAreFIFO(t *testing.T) {
	var h sched.Heap
	var rec recorder
	for id := range 500 {
		h.Push(7, rec.cb(id))
	}
	popAllDue(t, &h, 7)
	for i, id := range rec.ran {
		require.Equal(t, i, id, "timers with equal deadlines ran out of scheduling order")
	}
	assert.Len(t, rec.ran, 500)
}

func TestHeapPopDueNeverReturnsATimerBeforeItsDeadline(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	var h sched.Heap
	var rec recorder
	whens := map[int]int64{}
	for id := range 1000 {
		when := int64(rng.IntN(500)) - 100 // negative deadlines too
		whens[id] = when
		h.Push(when, rec.cb(id))
	}
	for now := int64(-150); now < 450; now += int64(rng.IntN(30)) {
		before := len(rec.ran)
		popAllDue(t, &h, now)
		for _, id := range rec.ran[before:] {
			require.LessOrEqual(t, whens[id], now, "timer %d fired at %d before its deadline", id, now)
		}
		// Whatever is left is due later than now.
		if next, ok := h.Next(); ok {
			require.Greater(t, next, now, "a due timer was left in the heap")
		}
	}
	popAllDue(t, &h, 1000)
	assert.Len(t, rec.ran, 1000)
}

func TestHeapPopDueEmpty(t *testing.T) {
	var h sched.Heap
	s, ok := h.PopDue(1 << 62)
	assert.False(t, ok)
	assert.Nil(t, s)
	_, ok = h.Next()
	assert.False(t, ok)
}

func TestHeapNextSkipsCancelledHeads(t *testing.T) {
	var h sched.Heap
	var rec recorder
	h1 := h.Push(1, rec.cb(1))
	h2 := h.Push(2, rec.cb(2))
	h.Push(3, rec.cb(3))
	require.True(t, h1.Cancel())
	require.True(t, h2.Cancel())
	assert.Equal(t, 3, h.Len(), "cancelled timers leave the heap lazily")
	assert.Equal(t, 2, h.Cancelled())

	next, ok := h.Next()
	require.True(t, ok)
	assert.Equal(t, int64(3), next)
	assert.Equal(t, 1, h.Len(), "Next drops the cancelled timers at the head")
	assert.Zero(t, h.Cancelled())

	popAllDue(t, &h, 3)
	assert.Equal(t, []int{3}, rec.ran)
}

func TestHeapNextAllCancelled(t *testing.T) {
	var h sched.Heap
	var rec recorder
	hs := []sched.Handle{h.Push(5, rec.cb(0)), h.Push(5, rec.cb(1))}
	for _, hd := range hs {
		require.True(t, hd.Cancel())
	}
	_, ok := h.Next()
	assert.False(t, ok)
	assert.Zero(t, h.Len())
	assert.Zero(t, h.Cancelled())
	s, ok := h.PopDue(10)
	assert.False(t, ok)
	assert.Nil(t, s)
	assert.Empty(t, rec.ran)
}

func TestHeapPopDueSkipsCancelled(t *testing.T) {
	var h sched.Heap
	var rec recorder
	var hs []sched.Handle
	for id := range 10 {
		hs = append(hs, h.Push(int64(id), rec.cb(id)))
	}
	for _, id := range []int{0, 3, 4, 9} {
		require.True(t, hs[id].Cancel())
		require.False(t, hs[id].Cancel(), "second Cancel must report false")
	}
	popAllDue(t, &h, 100)
	assert.Equal(t, []int{1, 2, 5, 6, 7, 8}, rec.ran)
	for _, id := range []int{0, 3, 4, 9} {
		assert.True(t, hs[id].Cancelled())
		assert.False(t, hs[id].Pending())
	}
	for _, id := range []int{1, 2, 5, 6, 7, 8} {
		assert.False(t, hs[id].Cancelled())
		assert.False(t, hs[id].Pending())
		assert.False(t, hs[id].Cancel(), "Cancel after the timer ran must report false")
	}
}

// A timer moved to the ready queue can still be cancelled until it runs.
func TestHeapCancelAfterPopDueBeforeRun(t *testing.T) {
	var h sched.Heap
	var rec recorder
	hd := h.Push(1, rec.cb(1))
	s, ok := h.PopDue(1)
	require.True(t, ok)
	assert.Zero(t, h.Len())
	assert.True(t, hd.Pending(), "a timer handed to the ready queue is still pending")

	var q sched.Queue
	q.PushTimer(s)
	require.True(t, hd.Cancel())
	assert.Zero(t, h.Cancelled(), "a timer out of the heap must not count as cancelled in it")
	assert.False(t, popRun(&q), "a timer cancelled in the ready queue must be skipped")
	assert.True(t, hd.Cancelled())
	assert.Empty(t, rec.ran)
}

// schedule pushes n timers at deadlines 1..n, with ids 0..n-1, and returns
// their handles.
func schedule(h *sched.Heap, rec *recorder, n int) []sched.Handle {
	hs := make([]sched.Handle, n)
	for i := range hs {
		hs[i] = h.Push(int64(i+1), rec.cb(i))
	}
	return hs
}

// Compaction: not in a heap of 100 timers or fewer, whatever the share of
// cancelled timers (strict >100, as asyncio's _MIN_SCHEDULED_TIMER_HANDLES);
// in a larger heap, by the time more than half are cancelled. The exact
// threshold at or below a half is the implementation's choice (asyncio waits
// for a half, Go's runtime a quarter), and it may compact while the timers
// are being cancelled, so a compacted heap is checked by its bound, not by
// an exact length. Well below any threshold nothing is compacted.
func TestHeapCompactionThresholds(t *testing.T) {
	tests := []struct {
		name      string
		timers    int
		cancelled int
		compacts  bool
	}{
		{"100 timers, 60 cancelled: not over 100", 100, 60, false},
		{"100 timers, 99 cancelled: not over 100", 100, 99, false},
		{"101 timers, 51 cancelled", 101, 51, true},
		{"102 timers, 52 cancelled", 102, 52, true},
		{"1000 timers, 501 cancelled", 1000, 501, true},
		{"1000 timers, 999 cancelled", 1000, 999, true},
		{"1000 timers, 100 cancelled: well below", 1000, 100, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h sched.Heap
			var rec recorder
			hs := schedule(&h, &rec, tt.timers)
			// Cancel the latest timers, so none is at the head and only
			// compaction can remove them.
			for _, hd := range hs[tt.timers-tt.cancelled:] {
				require.True(t, hd.Cancel())
			}
			h.Purge()
			live := tt.timers - tt.cancelled
			if tt.compacts {
				assert.Less(t, h.Len(), tt.timers, "cancelled timers should have been compacted away")
				assert.Equal(t, live, h.Len()-h.Cancelled())
				if h.Len() > 100 {
					assert.LessOrEqual(t, 2*h.Cancelled(), h.Len(), "more than half cancelled after Purge")
				}
			} else {
				assert.Equal(t, tt.timers, h.Len(), "compacted below the threshold")
				assert.Equal(t, tt.cancelled, h.Cancelled())
			}
			// Either way the live timers are intact and in order.
			popAllDue(t, &h, int64(tt.timers))
			want := make([]int, live)
			for i := range want {
				want[i] = i
			}
			assert.Equal(t, want, rec.ran)
		})
	}
}

// After Purge, a heap of more than 100 timers is never more than half
// cancelled, whichever timers were cancelled; a heap that never held more
// than 100 is never compacted.
func TestHeapPurgeBoundsCancelled(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, n := range []int{50, 100, 101, 150, 400} {
		for c := 0; c <= n; c += 1 + n/40 {
			var h sched.Heap
			hs := schedule(&h, new(recorder), n)
			// Cancel c timers, never the head one.
			for _, i := range rng.Perm(n - 1)[:min(c, n-1)] {
				require.True(t, hs[i+1].Cancel())
			}
			h.Purge()
			cancelled := min(c, n-1)
			if n <= 100 {
				require.Equal(t, n, h.Len(), "n=%d c=%d: compacted a heap of at most 100", n, c)
				require.Equal(t, cancelled, h.Cancelled())
			}
			if h.Len() > 100 {
				require.LessOrEqual(t, 2*h.Cancelled(), h.Len(), "n=%d c=%d: more than half cancelled after Purge", n, c)
			}
			require.Equal(t, n-cancelled, h.Len()-h.Cancelled(), "n=%d c=%d: live count", n, c)
		}
	}
}

// Purge drops cancelled timers at the head even below the compaction
// threshold.
func TestHeapPurgeDropsCancelledHead(t *testing.T) {
	var h sched.Heap
	hs := schedule(&h, new(recorder), 10)
	for _, hd := range hs[:4] {
		require.True(t, hd.Cancel())
	}
	require.True(t, hs[6].Cancel())
	h.Purge()
	assert.Equal(t, 6, h.Len())
	assert.Equal(t, 1, h.Cancelled())
}

func TestHeapClearReturnsLiveCount(t *testing.T) {
	var h sched.Heap
	var rec recorder
	hs := make([]sched.Handle, 50)
	for i := range hs {
		hs[i] = h.Push(int64(i%7), rec.cb(i))
	}
	for i := 0; i < 50; i += 3 {
		require.True(t, hs[i].Cancel())
	}
	assert.Equal(t, 50-17, h.Clear())
	assert.Zero(t, h.Len())
	assert.Zero(t, h.Cancelled())
	_, ok := h.Next()
	assert.False(t, ok)
	for i, hd := range hs {
		assert.False(t, hd.Pending(), "timer %d still pending after Clear", i)
		assert.Equal(t, i%3 == 0, hd.Cancelled(), "timer %d", i)
		assert.False(t, hd.Cancel(), "Cancel after Clear must report false")
	}
	assert.Zero(t, h.Clear(), "Clear of an empty heap")
	assert.Empty(t, rec.ran)

	// The heap is usable after Clear.
	h.Push(1, rec.cb(99))
	popAllDue(t, &h, 1)
	assert.Equal(t, []int{99}, rec.ran)
}

func TestHeapWhenIsTheDeadline(t *testing.T) {
	epoch := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	h := sched.Heap{Epoch: epoch}
	hd := h.Push(int64(90*time.Second), func() {})
	assert.True(t, hd.When().Equal(epoch.Add(90*time.Second)))
	require.True(t, hd.Cancel())
	assert.True(t, hd.When().Equal(epoch.Add(90*time.Second)), "When must not change on Cancel")
}

// Cancelling every one of a million timers must give the memory back: the
// heap must not keep a million dead entries, nor their backing array.
func TestHeapMassCancellationShrinks(t *testing.T) {
	const n = 1_000_000
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)

	h := new(sched.Heap)
	hs := schedule(h, new(recorder), n)
	for _, hd := range hs {
		require.True(t, hd.Cancel())
	}
	assert.LessOrEqual(t, h.Len(), 101, "cancelled timers were not compacted")
	assert.Equal(t, h.Len(), h.Cancelled(), "every timer left in the heap is cancelled")
	hs = nil

	var after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&after)
	// A million entries would hold at least 24 MB; allow 4 MB of noise.
	grown := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	assert.Less(t, grown, int64(4<<20), "heap still holds %d bytes after cancelling every timer", grown)

	_, ok := h.Next()
	assert.False(t, ok)
	assert.Zero(t, h.Len())
	runtime.KeepAlive(h)
	runtime.KeepAlive(hs)
}

// Regression: Heap.Clear dropped every note, so a due timer already handed
// to the ready queue ran without its note (debug mode's source).
func TestHeapClearKeepsNotesOfTimersAlreadyDue(t *testing.T) {
	var h sched.Heap
	var q sched.Queue
	var rec recorder
	h.PushNote(1, rec.cb(1), "due")
	h.PushNote(5, rec.cb(5), "later")
	s, ok := h.PopDue(1)
	require.True(t, ok)
	q.PushTimer(s)
	assert.Equal(t, 1, h.Clear(), "Clear drops the timer still in the heap")

	fn, _, note := q.Pop()
	require.NotNil(t, fn, "the due timer is not the heap's to clear")
	fn()
	assert.Equal(t, []int{1}, rec.ran)
	assert.Equal(t, "due", note, "the due timer lost its note in Clear")
}

// Regression: a compaction that left no live timer sifted down index 0 of
// an empty heap and panicked with index out of range.
func TestHeapCompactionThatEmptiesTheHeap(t *testing.T) {
	var h sched.Heap
	for range 101 {
		require.NotPanics(t, func() { h.Push(1, func() {}).Cancel() })
	}
	assert.Zero(t, h.Len(), "the last Cancel compacted the heap to nothing")
	assert.Zero(t, h.Cancelled())
	_, ok := h.Next()
	assert.False(t, ok)
	h.Push(2, func() {})
	when, ok := h.Next()
	require.True(t, ok)
	assert.EqualValues(t, 2, when)
}

// Regression: a deadline that nanoseconds since the Epoch cannot hold was
// clamped, and When reported the clamped date instead of the one given.
func TestHeapPushAtWhenIsTheTimeGiven(t *testing.T) {
	epoch := time.Date(2026, 11, 22, 3, 1, 23, 0, time.UTC)
	h := sched.Heap{Epoch: epoch}
	var rec recorder
	far := time.Date(9999, 12, 31, 23, 59, 59, 999_999_999, time.UTC)
	soon := epoch.Add(time.Second)
	hs := []sched.Handle{
		h.PushAt(far, rec.cb(3)),
		h.PushAt(time.Time{}, rec.cb(0)),
		h.PushAt(soon, rec.cb(1)),
		h.PushAt(epoch.Add(math.MaxInt64), rec.cb(2)),
	}
	assert.Equal(t, far, hs[0].When(), "year 9999")
	assert.Equal(t, time.Time{}, hs[1].When(), "the zero time")
	assert.True(t, hs[1].When().IsZero())
	assert.True(t, hs[2].When().Equal(soon), "got %v", hs[2].When())
	assert.True(t, hs[3].When().Equal(epoch.Add(math.MaxInt64)), "got %v", hs[3].When())
	assert.Contains(t, hs[0].String(), "9999-12-31")
	popAllDue(t, &h, math.MaxInt64)
	// Deadlines past what int64 holds all sort at MaxInt64, in the order
	// they were scheduled: 3 (year 9999) before 2.
	assert.Equal(t, []int{0, 1, 3, 2}, rec.ran, "saturated deadlines order first and last")
	for _, hd := range hs {
		assert.False(t, hd.Pending())
	}
	assert.Equal(t, far, hs[0].When(), "When does not change once the timer ran")
}

// PushAtNote keeps both the note and the time given.
func TestHeapPushAtNote(t *testing.T) {
	h := sched.Heap{Epoch: time.Now()}
	var q sched.Queue
	far := time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)
	hd := h.PushAtNote(far, func() {}, "note")
	assert.Equal(t, far, hd.When())
	s, ok := h.PopDue(math.MaxInt64)
	require.True(t, ok)
	q.PushTimer(s)
	fn, _, arg := q.Pop()
	assert.NotNil(t, fn)
	assert.Equal(t, "note", arg)
	assert.Equal(t, far, hd.When())
}
