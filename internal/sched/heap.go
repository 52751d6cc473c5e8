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

	es        entries
	seq       uint32
	cancelled int
	notes     map[*Slot]any // debug information of some timers (PushNote)
	own       origin        // the origin of the timers whose deadline fits in int64
}

// Len returns the number of timers in the heap, cancelled ones included.
func (h *Heap) Len() int { return h.es.n }

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
	h.es.push(entry{when: when, s: s})
	h.up(h.es.n - 1)
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
	order := make([]entry, 0, h.es.n)
	for i := range h.es.n {
		order = append(order, *h.es.at(i))
	}
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
	if h.es.n == 0 {
		return 0, false
	}
	return h.es.at(0).when, true
}

// PopDue removes and returns the earliest live timer if its deadline is not
// after now.
func (h *Heap) PopDue(now int64) (*Slot, bool) {
	h.dropCancelledHead()
	if h.es.n == 0 || h.es.at(0).when > now {
		return nil, false
	}
	return h.pop(), true
}

// MoveDue moves every live timer whose deadline is not after now to q, in
// the order they are due, as asyncio's _run_once moves them to _ready, and
// returns how many it moved.
//
// The heap is sifted without reading the timers themselves: a batch of
// due timers is taken first, and their states are read after, so that
// the reads of timers the cache does not hold overlap.
func (h *Heap) MoveDue(now int64, q *Queue) int {
	var batch [64]*Slot
	moved := 0
	for h.es.n > 0 && h.es.at(0).when <= now {
		k := 0
		for k < len(batch) && h.es.n > 0 && h.es.at(0).when <= now {
			batch[k] = h.pop()
			k++
		}
		for _, s := range batch[:k] {
			if s.state != pending {
				h.cancelled--
				continue
			}
			q.PushTimer(s)
			moved++
		}
	}
	return moved
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
	for i := range h.es.n {
		s := h.es.at(i).s
		if s.state == pending {
			live++
			s.state = done
		}
		s.inHeap = false
		s.fn = nil
		if h.notes != nil {
			delete(h.notes, s)
		}
	}
	h.es, h.cancelled = entries{}, 0
	return live
}

func (h *Heap) dropCancelledHead() {
	for h.es.n > 0 && h.es.at(0).s.state != pending {
		h.pop()
		h.cancelled--
	}
}

func (h *Heap) maybeCompact() bool {
	n := h.es.n
	if n <= minCompact || 4*h.cancelled <= n {
		return false
	}
	live := 0
	for i := range n {
		e := h.es.at(i)
		if e.s.state == pending {
			*h.es.at(live) = *e
			live++
		} else {
			e.s.inHeap = false
		}
	}
	h.es.truncate(live)
	h.cancelled = 0
	// Heapify from the last parent; a heap of fewer than two timers has
	// none, and (0-2)/4 is 0, not -1.
	if live > 1 {
		for i := (live - 2) / 4; i >= 0; i-- {
			h.down(i)
		}
	}
	return true
}

// pop removes the head timer from a non-empty heap and returns it.
func (h *Heap) pop() *Slot {
	head := h.es.at(0)
	top := head.s
	last := h.es.n - 1
	*head = *h.es.at(last)
	h.es.truncate(last)
	if last > 0 {
		h.down(0)
	}
	top.inHeap = false
	return top
}

func (h *Heap) up(i int) {
	es := &h.es
	e := *es.at(i)
	for i > 0 {
		p := (i - 1) / 4
		pe := es.at(p)
		if !e.less(*pe) {
			break
		}
		*es.at(i) = *pe
		i = p
	}
	*es.at(i) = e
}

func (h *Heap) down(i int) {
	es := &h.es
	n := es.n
	at := es.at(i)
	e := *at
	for {
		c := 4*i + 1
		if c >= n {
			break
		}
		kids := es.children(i)
		m := 0
		for j := 1; j < len(kids); j++ {
			if kids[j].less(kids[m]) {
				m = j
			}
		}
		if !kids[m].less(e) {
			break
		}
		*at = kids[m]
		at = &kids[m]
		i = c + m
	}
	*at = e
}

// entries holds a heap's entries in pages of pageLen, so that a heap
// grows and shrinks without copying what it holds: only the first page,
// while it is the only one, grows as a slice does. Entry i is stored at
// position i+pad, so that the four children of an entry, at 4i+1 to 4i+4,
// fill one aligned group of four positions: one page, one cache line.
type entries struct {
	pages [][]entry // every page but the first has pageLen positions
	n     int
}

const (
	pageBits = 10
	pageLen  = 1 << pageBits // positions per page: 16 KiB
	pad      = 3
)

// at returns entry i, which must be below n.
func (es *entries) at(i int) *entry {
	p := i + pad
	return &es.pages[p>>pageBits][p&(pageLen-1)]
}

// children returns the children of entry i, of which there is at least
// one.
func (es *entries) children(i int) []entry {
	p := 4*i + 1 + pad
	end := min(p+4, es.n+pad)
	return es.pages[p>>pageBits][p&(pageLen-1) : (end-1)&(pageLen-1)+1]
}

// push appends e.
func (es *entries) push(e entry) {
	p := es.n + pad
	pg := p >> pageBits
	switch {
	case pg == len(es.pages):
		if pg == 0 {
			es.pages = append(es.pages, make([]entry, pad+1, 16))
		} else {
			es.pages = append(es.pages, make([]entry, pageLen))
		}
	case pg == 0 && p == len(es.pages[0]):
		first := es.pages[0]
		if len(first) == cap(first) {
			first = append(make([]entry, 0, min(2*cap(first), pageLen)), first...)
		}
		es.pages[0] = first[:p+1]
	}
	es.n++
	*es.at(es.n - 1) = e
}

// truncate keeps the first n entries. A page no entry uses is kept while
// the page before it is at least half full, so that a heap whose size goes
// back and forth across a page boundary does not allocate each time.
func (es *entries) truncate(n int) {
	for i := n; i < es.n; i++ {
		*es.at(i) = entry{}
	}
	es.n = n
	keep := (n+pad-1)>>pageBits + 1
	if used := (n + pad) & (pageLen - 1); used == 0 || used >= pageLen/2 {
		keep++
	}
	for len(es.pages) > keep {
		es.pages[len(es.pages)-1] = nil
		es.pages = es.pages[:len(es.pages)-1]
	}
}
