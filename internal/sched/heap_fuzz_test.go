package sched_test

import (
	"slices"
	"testing"
	"time"

	"github.com/aio-go/aio/internal/sched"
)

// The states of a timer in the heap model.
const (
	tInHeap    = iota // scheduled, not yet due
	tReady            // popped from the heap into the ready queue, not yet run
	tCancelled        // Cancel reported true
	tRan              // its callback ran
	tCleared          // dropped by Heap.Clear
)

// heapModel is the reference for a sched.Heap: every timer ever scheduled,
// in scheduling order, with its deadline and state. The earliest live timer
// is the first in (when, scheduling order) among those in the heap.
type heapModel struct {
	whens  []int64
	states []int
	hs     []sched.Handle
	ready  []int // ids in the ready queue, in the order they were moved there
}

func (m *heapModel) count(state int) int {
	n := 0
	for _, s := range m.states {
		if s == state {
			n++
		}
	}
	return n
}

// earliest returns the id of the earliest timer in the heap, or -1.
func (m *heapModel) earliest() int {
	best := -1
	for id, s := range m.states {
		if s == tInHeap && (best < 0 || m.whens[id] < m.whens[best]) {
			best = id
		}
	}
	return best
}

// due removes from the model, in order, the timers due at now, and returns
// their ids.
func (m *heapModel) due(now int64, to int) []int {
	var ids []int
	for {
		id := m.earliest()
		if id < 0 || m.whens[id] > now {
			return ids
		}
		m.states[id] = to
		ids = append(ids, id)
	}
}

// live returns the ids of the timers that can still be cancelled.
func (m *heapModel) live() []int {
	var ids []int
	for id, s := range m.states {
		if s == tInHeap || s == tReady {
			ids = append(ids, id)
		}
	}
	return ids
}

// program reads a fuzz input byte by byte; past the end it reads zeros.
type program struct {
	b []byte
	i int
}

func (p *program) done() bool { return p.i >= len(p.b) }

func (p *program) next() byte {
	if p.i >= len(p.b) {
		return 0
	}
	p.i++
	return p.b[p.i-1]
}

// when derives a deadline from one byte: mostly in -16..15, so that equal
// deadlines are common, and now and then far in the future.
func (p *program) when() int64 {
	b := p.next()
	if b >= 0xf8 {
		return int64(b) << 40
	}
	return int64(int8(b)) >> 3
}

const (
	maxOps    = 300
	maxTimers = 800
)

// FuzzHeap applies a program of operations to a sched.Heap and to a model,
// and compares them after every operation. Opcodes (first byte mod 16):
//
//	0-3 push one timer      4-5 push a burst of timers
//	6-7 cancel a live timer 8   cancel any timer ever scheduled
//	9-10 pop the due timers and run them
//	11  move the due timers to a ready queue    12 run the ready queue
//	13  purge               14  cancel a stride of live timers
//	15  clear (one time in four), else only compare
func FuzzHeap(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{0, 5, 0, 5, 0, 5, 9, 5})                                   // ties, then pop
	f.Add([]byte{0, 3, 1, 1, 2, 0xff, 6, 0, 9, 0x7f, 9, 0xff})              // cancel the head, pop far ahead
	f.Add([]byte{4, 63, 1, 4, 63, 2, 14, 0, 13, 9, 0x40})                   // bursts, stride cancel, purge
	f.Add([]byte{4, 63, 9, 4, 63, 9, 14, 0, 14, 0, 13, 11, 0x20, 6, 3, 12}) // ready queue cancellation
	f.Add([]byte{0, 0x10, 0, 0x10, 11, 0x10, 8, 0, 8, 1, 12, 8, 0, 15, 0})  // cancel after due, clear
	f.Add([]byte{5, 40, 7, 5, 40, 8, 5, 40, 9, 14, 1, 14, 1, 14, 1, 13, 10, 0x7f})
	f.Add([]byte{4, 50, 0, 4, 50, 0, 4, 50, 0, 14, 2, 14, 2, 13, 9, 0x08, 13, 9, 0x7f})
	f.Add([]byte{0, 0xf8, 0, 0xff, 0, 0x80, 0, 0x81, 6, 1, 9, 0xff, 9, 0xfe, 15, 4})
	f.Add([]byte{4, 63, 0, 11, 0x7f, 4, 63, 0, 14, 0, 12, 15, 0, 4, 10, 3, 9, 0x7f})
	f.Fuzz(func(t *testing.T, input []byte) {
		epoch := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		h := &sched.Heap{Epoch: epoch}
		var ready sched.Queue
		var m heapModel
		var ran []int // ids of the callbacks run, in order
		p := &program{b: input}

		push := func(when int64) {
			if len(m.hs) >= maxTimers {
				return
			}
			id := len(m.hs)
			fn := func() { ran = append(ran, id) }
			if id%3 == 0 {
				// Every third timer carries a note, its id, which Pop
				// returns with the callback.
				m.hs = append(m.hs, h.PushNote(when, fn, id))
			} else {
				m.hs = append(m.hs, h.Push(when, fn))
			}
			m.whens = append(m.whens, when)
			m.states = append(m.states, tInHeap)
		}
		cancel := func(id int) {
			got := m.hs[id].Cancel()
			want := m.states[id] == tInHeap || m.states[id] == tReady
			if got != want {
				t.Fatalf("Cancel of timer %d (state %d) = %v, want %v", id, m.states[id], got, want)
			}
			if want {
				m.states[id] = tCancelled
			}
		}
		// runQueue drains q and returns the ids of the callbacks that ran,
		// checking that each timer's note comes with it.
		runQueue := func(q *sched.Queue) []int {
			ran = ran[:0]
			for q.Len() > 0 {
				fn, afn, note := q.Pop()
				if afn != nil {
					t.Fatalf("a timer popped as a func(any)")
				}
				if fn == nil {
					continue
				}
				fn()
				id := ran[len(ran)-1]
				if id%3 == 0 && note != id || id%3 != 0 && note != nil {
					t.Fatalf("timer %d popped with note %v", id, note)
				}
			}
			return ran
		}

		for op := 0; op < maxOps && !p.done(); op++ {
			switch code := p.next() % 16; {
			case code <= 3:
				push(p.when())
			case code <= 5:
				n := int(p.next()%64) + 1
				x := uint32(p.next()) | 1
				for range n {
					x = x*1664525 + 1013904223
					push(int64(x>>28) - 4) // 16 distinct deadlines
				}
			case code <= 7:
				if live := m.live(); len(live) > 0 {
					id := live[int(p.next())%len(live)]
					if m.states[id] == tInHeap || m.states[id] == tReady {
						cancel(id)
					}
				}
			case code == 8:
				if len(m.hs) > 0 {
					cancel(int(p.next()) % len(m.hs))
				}
			case code <= 10:
				now := p.when()
				want := m.due(now, tRan)
				var q sched.Queue
				for {
					s, ok := h.PopDue(now)
					if !ok {
						break
					}
					q.PushTimer(s)
				}
				got := runQueue(&q)
				if !slices.Equal(got, want) {
					t.Fatalf("op %d: PopDue(%d) ran %v, want %v", op, now, got, want)
				}
			case code == 11:
				now := p.when()
				want := m.due(now, tReady)
				if n := h.MoveDue(now, &ready); n != len(want) {
					t.Fatalf("op %d: MoveDue(%d) moved %d timers, want %d", op, now, n, len(want))
				}
				m.ready = append(m.ready, want...)
			case code == 12:
				var want []int
				for _, id := range m.ready {
					if m.states[id] == tReady {
						want = append(want, id)
						m.states[id] = tRan
					}
				}
				m.ready = nil
				if got := runQueue(&ready); !slices.Equal(got, want) {
					t.Fatalf("op %d: the ready queue ran %v, want %v", op, got, want)
				}
			case code == 13:
				h.Purge()
				if h.Len() > 100 && 2*h.Cancelled() > h.Len() {
					t.Fatalf("op %d: after Purge %d of %d timers are cancelled", op, h.Cancelled(), h.Len())
				}
			case code == 14:
				stride := int(p.next()%4) + 2
				for i, id := range m.live() {
					if i%stride == 0 {
						cancel(id)
					}
				}
			case code == 15:
				if p.next()%4 != 0 {
					break
				}
				want := m.count(tInHeap)
				for id, s := range m.states {
					if s == tInHeap {
						m.states[id] = tCleared
					}
				}
				if got := h.Clear(); got != want {
					t.Fatalf("op %d: Clear() = %d, want %d", op, got, want)
				}
			}
			checkHeap(t, op, h, &m, epoch)
		}
	})
}

func checkHeap(t *testing.T, op int, h *sched.Heap, m *heapModel, epoch time.Time) {
	t.Helper()
	inHeap := m.count(tInHeap)
	if h.Cancelled() < 0 || h.Cancelled() > h.Len() {
		t.Fatalf("op %d: Cancelled() = %d with Len() = %d", op, h.Cancelled(), h.Len())
	}
	if got := h.Len() - h.Cancelled(); got != inHeap {
		t.Fatalf("op %d: Len()-Cancelled() = %d-%d, want %d live timers", op, h.Len(), h.Cancelled(), inHeap)
	}
	when, ok := h.Next()
	if id := m.earliest(); id < 0 {
		if ok {
			t.Fatalf("op %d: Next() = %d, want none", op, when)
		}
	} else if !ok || when != m.whens[id] {
		t.Fatalf("op %d: Next() = %d, %v; want %d (timer %d)", op, when, ok, m.whens[id], id)
	}
	for id, hd := range m.hs {
		s := m.states[id]
		if got, want := hd.Pending(), s == tInHeap || s == tReady; got != want {
			t.Fatalf("op %d: timer %d (state %d): Pending() = %v", op, id, s, got)
		}
		if got, want := hd.Cancelled(), s == tCancelled; got != want {
			t.Fatalf("op %d: timer %d (state %d): Cancelled() = %v", op, id, s, got)
		}
		if got, want := hd.When(), epoch.Add(time.Duration(m.whens[id])); !got.Equal(want) {
			t.Fatalf("op %d: timer %d: When() = %v, want %v", op, id, got, want)
		}
	}
}
