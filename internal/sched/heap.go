package sched

import (
	"math"
	"slices"
	"time"
)

// The heap is rebuilt without its cancelled timers when it holds more than
// minCompact timers (asyncio's _MIN_SCHEDULED_TIMER_HANDLES) and more than a
// quarter of them are cancelled. asyncio waits for half; a quarter, as in Go's
// runtime timers, keeps fewer dead timers in the way: each one at the head
// costs a sift-down, while a rebuild costs about as much as a few of those
// per timer removed.
const minCompact = 100

// entry is a heap element: the deadline inline, so that sifting reads the
// slot only to break ties.
type entry struct {
	when int64
	s    *Slot
}

func (a entry) less(b entry) bool {
	return a.when < b.when || (a.when == b.when && a.s.seq < b.s.seq)
}

// Heap is the loop's timers: a 4-ary min-heap ordered by (deadline, order of
// scheduling), so timers with equal deadlines fire in the order they were
// scheduled. Deadlines are nanoseconds since Epoch.
//
// Cancelled timers leave the heap lazily: from the head as they surface, and
// all at once when more than a quarter of a heap of over 100 timers is
// cancelled.
// Cancelling many timers therefore never makes memory grow without bound.
//
// A Heap is not safe for concurrent use.
type Heap struct {
	// Epoch is the time deadlines are counted from. Set it before the
	// first Push.
	Epoch time.Time
	// Owner is what the handles of the heap's timers hand to
	// hooks.Loop.Check in debug mode: the loop.
	Owner any

	es        []entry
	seq       uint32
	cancelled int
	notes     map[*Slot]any // debug information of some timers (PushNote)
	own       origin        // the origin of the timers whose deadline fits in int64
}

// Len returns the number of timers in the heap, cancelled ones included.
func (h *Heap) Len() int { return len(h.es) }

// Cancelled returns the number of cancelled timers still in the heap.
func (h *Heap) Cancelled() int { return h.cancelled }

// Push schedules fn at when and returns its handle.
func (h *Heap) Push(when int64, fn func()) Handle {
	if h.seq == math.MaxUint32 {
		h.renumber()
	}
	h.seq++
	if h.own.h == nil {
		h.own.h = h
	}
	s := &Slot{fn: fn, o: &h.own, when: when, seq: h.seq, inHeap: true}
	h.es = append(h.es, entry{when: when, s: s})
	h.up(len(h.es) - 1)
	return Handle{s: s}
}

// PushAt schedules fn at the time at and returns its handle. The deadline is
// at's distance from Epoch in nanoseconds, saturated (before 1678 or after
// 2262, for an Epoch of today, such timers run first, or last in the order
// they were scheduled); the handle's When reports at itself even then.
func (h *Heap) PushAt(at time.Time, fn func()) Handle {
	d := at.Sub(h.Epoch)
	hd := h.Push(int64(d), fn)
	if d == math.MaxInt64 || d == math.MinInt64 {
		// Sub saturated: keep the deadline as given.
		hd.s.o = &origin{h: h, at: at, exact: true}
	}
	return hd
}

// PushNote is Push with a note (debug information) that Queue.Pop returns
// with the callback when the timer runs.
func (h *Heap) PushNote(when int64, fn func(), note any) Handle {
	hd := h.Push(when, fn)
	h.note(hd.s, note)
	return hd
}

// PushAtNote is PushAt with a note, as PushNote.
func (h *Heap) PushAtNote(at time.Time, fn func(), note any) Handle {
	hd := h.PushAt(at, fn)
	h.note(hd.s, note)
	return hd
}

func (h *Heap) note(s *Slot, note any) {
	if note != nil {
		if h.notes == nil {
			h.notes = make(map[*Slot]any)
		}
		h.notes[s] = note
	}
}

// renumber gives the timers in the heap the sequence numbers 1..n in their
// order, when the 32-bit counter runs out: relative order, and so the heap,
// is unchanged.
func (h *Heap) renumber() {
	order := slices.Clone(h.es)
	slices.SortFunc(order, func(a, b entry) int {
		if a.less(b) {
			return -1
		}
		return 1
	})
	for i, e := range order {
		e.s.seq = uint32(i + 1)
	}
	h.seq = uint32(len(order))
}

// Next returns the deadline of the earliest live timer, after dropping
// cancelled timers from the head; ok is false if there is none.
func (h *Heap) Next() (when int64, ok bool) {
	h.dropCancelledHead()
	if len(h.es) == 0 {
		return 0, false
	}
	return h.es[0].when, true
}

// PopDue removes and returns the earliest live timer if its deadline is not
// after now.
func (h *Heap) PopDue(now int64) (*Slot, bool) {
	h.dropCancelledHead()
	if len(h.es) == 0 || h.es[0].when > now {
		return nil, false
	}
	return h.pop(), true
}

// Purge is the start of asyncio's _run_once: rebuild the heap without its
// cancelled timers if they are too many (see minCompact), else drop those
// at the head.
func (h *Heap) Purge() {
	if !h.maybeCompact() {
		h.dropCancelledHead()
	}
}

// Clear drops every timer without running it and returns the number of live
// timers dropped.
func (h *Heap) Clear() int {
	live := 0
	for _, e := range h.es {
		if e.s.state == pending {
			live++
			e.s.state = done
		}
		e.s.inHeap = false
		e.s.fn = nil
		if h.notes != nil {
			delete(h.notes, e.s)
		}
	}
	h.es, h.cancelled = nil, 0
	return live
}

func (h *Heap) dropCancelledHead() {
	for len(h.es) > 0 && h.es[0].s.state != pending {
		h.pop()
		h.cancelled--
	}
}

func (h *Heap) maybeCompact() bool {
	n := len(h.es)
	if n <= minCompact || 4*h.cancelled <= n {
		return false
	}
	live := h.es[:0]
	for _, e := range h.es {
		if e.s.state == pending {
			live = append(live, e)
		} else {
			e.s.inHeap = false
		}
	}
	clear(h.es[len(live):])
	if cap(live) > 64 && len(live) < cap(live)/4 {
		live = append([]entry(nil), live...)
	}
	h.es, h.cancelled = live, 0
	// Heapify from the last parent; a heap of fewer than two timers has
	// none, and (0-2)/4 is 0, not -1.
	if n := len(h.es); n > 1 {
		for i := (n - 2) / 4; i >= 0; i-- {
			h.down(i)
		}
	}
	return true
}

// pop removes the head timer from a non-empty heap and returns it.
func (h *Heap) pop() *Slot {
	es := h.es
	top := es[0].s
	last := len(es) - 1
	es[0] = es[last]
	es[last] = entry{}
	h.es = es[:last]
	if last > 0 {
		h.down(0)
	}
	top.inHeap = false
	return top
}

func (h *Heap) up(i int) {
	es := h.es
	e := es[i]
	for i > 0 {
		p := (i - 1) / 4
		if !e.less(es[p]) {
			break
		}
		es[i] = es[p]
		i = p
	}
	es[i] = e
}

func (h *Heap) down(i int) {
	es := h.es
	n := len(es)
	e := es[i]
	for {
		c := 4*i + 1
		if c >= n {
			break
		}
		m := c
		end := min(c+4, n)
		for j := c + 1; j < end; j++ {
			if es[j].less(es[m]) {
				m = j
			}
		}
		if !es[m].less(e) {
			break
		}
		es[i] = es[m]
		i = m
	}
	es[i] = e
}
