package sched

import (
	"math"
	"slices"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Regression: equal-deadline order must survive the 32-bit sequence counter
// running out; timers scheduled before and after the wrap stay FIFO.
func TestHeapSequenceWrapKeepsEqualDeadlinesFIFO(t *testing.T) {
	var h Heap
	h.seq = math.MaxUint32 - 3
	var ran []int
	for i := range 8 {
		h.Push(100, func() { ran = append(ran, i) })
	}
	h.Push(50, func() { ran = append(ran, -1) })
	require.Less(t, h.seq, uint32(100), "the counter was renumbered")
	for {
		s, ok := h.PopDue(100)
		if !ok {
			break
		}
		fn, _ := s.take()
		fn()
	}
	assert.Equal(t, []int{-1, 0, 1, 2, 3, 4, 5, 6, 7}, ran)
}

// A Slot stays 32 bytes: the deadline as given, for the rare timers that
// need it, lives in their origin.
func TestSlotSize(t *testing.T) {
	assert.EqualValues(t, 32, unsafe.Sizeof(Slot{}))
}

// A heap of several pages keeps (deadline, scheduling order), whichever of
// PopDue and MoveDue takes the timers, with cancelled timers among them;
// its pages are not copied as it grows, and are let go as it drains.
func TestHeapPages(t *testing.T) {
	const n = 5 * pageLen
	var h Heap
	type timer struct {
		when int64
		id   int
	}
	var want []timer
	var ran []int
	var second *entry
	hs := make([]Handle, n)
	x := uint32(7)
	for id := range n {
		x = 1664525*x + 1013904223
		when := int64(x >> 20) // 4096 deadlines: many ties
		hs[id] = h.Push(when, func() { ran = append(ran, id) })
		want = append(want, timer{when, id})
		if id == pageLen {
			second = &h.es.pages[1][0]
		}
	}
	assert.Same(t, second, &h.es.pages[1][0], "the second page moved")
	require.Len(t, h.es.pages, (n+pad-1)/pageLen+1)
	for i := 1; i < n; i++ {
		kids := h.es.children((i - 1) / 4)
		require.Equal(t, h.es.at(i), &kids[(i-1)%4], "entry %d", i)
	}
	for id := 0; id < n; id += 3 {
		require.True(t, hs[id].Cancel())
	}
	want = slices.DeleteFunc(want, func(tm timer) bool { return tm.id%3 == 0 })
	slices.SortStableFunc(want, func(a, b timer) int { return int(a.when - b.when) })

	var q Queue
	for now := int64(0); h.Len() > 0; now += 64 {
		if now%128 == 0 {
			h.MoveDue(now, &q)
		} else {
			for {
				s, ok := h.PopDue(now)
				if !ok {
					break
				}
				q.PushTimer(s)
			}
		}
	}
	for q.Len() > 0 {
		if fn, _, _ := q.Pop(); fn != nil {
			fn()
		}
	}
	require.Len(t, ran, len(want))
	for i, tm := range want {
		require.Equal(t, tm.id, ran[i], "timer %d of %d", i, len(want))
	}
	assert.LessOrEqual(t, len(h.es.pages), 1, "pages kept by an empty heap")
}
