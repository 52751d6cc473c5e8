package sched_test

import (
	"slices"
	"testing"

	"github.com/aio-go/aio/internal/sched"
)

// The states of a callback in the queue model.
const (
	cQueued    = iota // in q or o, not cancelled
	cCancelled        // Cancel reported true
	cRan              // popped and run
	cCleared          // dropped by Queue.Clear
)

// queueModel is the reference for two sched.Queues q and o: two FIFO slices
// of callback ids (cancelled ones included, as Len counts them) and the
// state of every callback ever pushed.
type queueModel struct {
	q, o   []int
	states []int
	hs     []sched.Handle
}

// live returns the ids of the callbacks that can still be cancelled.
func (m *queueModel) live() []int {
	var ids []int
	for id, s := range m.states {
		if s == cQueued {
			ids = append(ids, id)
		}
	}
	return ids
}

const maxCallbacks = 3000

// FuzzQueue applies a program of operations to two sched.Queues, q and o,
// and to a reference model of two FIFO slices, and compares them after
// every operation, including the state of every handle ever returned.
// Opcodes (first byte mod 18):
//
//	0-2 push to q           3  push a burst to q
//	4   push to o           5  push a burst to o
//	6-7 pop q               8  pop a burst from q
//	9   pop o               10 q.Splice(o)        11 o.Splice(q)
//	12  cancel a live callback                    13 cancel any callback ever pushed
//	14  clear q (one time in four), else drain q  15 cancel a stride of live callbacks
//	16  q.ShareFree(o)      17 o.ShareFree(q)
func FuzzQueue(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{0, 0, 0, 6, 6, 6})
	f.Add([]byte{3, 255, 3, 255, 8, 255, 8, 200, 3, 10, 14, 1})                 // across chunks, reuse
	f.Add([]byte{0, 1, 2, 12, 1, 6, 6, 6, 0, 13, 1, 13, 0})                     // cancel, then reuse
	f.Add([]byte{4, 4, 4, 10, 0, 4, 10, 6, 6, 6, 6, 6})                         // splice into non-empty
	f.Add([]byte{5, 255, 10, 3, 255, 11, 8, 255, 14, 1})                        // splice chunks both ways
	f.Add([]byte{3, 255, 15, 0, 8, 255, 8, 255, 3, 255, 13, 7, 13, 200, 14, 0}) // stride cancel across chunks
	f.Add([]byte{3, 100, 14, 0, 3, 100, 12, 50, 14, 4, 0, 6})                   // clear then reuse
	f.Add([]byte{5, 255, 5, 255, 15, 1, 10, 8, 255, 8, 255, 8, 255, 3, 255, 14, 1})
	f.Add([]byte{0, 6, 0, 6, 0, 6, 3, 255, 8, 255, 3, 255, 13, 0, 13, 1, 13, 2, 14, 1})
	f.Add([]byte{3, 255, 3, 255, 8, 255, 8, 255, 16, 4, 4, 9, 10, 5, 255, 9, 9, 10, 14, 1, 13, 3}) // shared chunks
	f.Add([]byte{5, 100, 9, 9, 0, 0, 10, 6, 4, 4, 11, 9, 9, 9, 10, 14, 1})                         // splice partly popped queues
	f.Fuzz(func(t *testing.T, input []byte) {
		var q, o sched.Queue
		var m queueModel
		var ran []int
		p := &program{b: input}

		push := func(dst *sched.Queue, fifo *[]int) {
			if len(m.hs) >= maxCallbacks {
				return
			}
			id := len(m.hs)
			var h sched.Handle
			if id%2 == 0 {
				h = dst.Push(func() { ran = append(ran, id) })
			} else {
				h = dst.PushArg(func(arg any) { ran = append(ran, arg.(int)) }, id)
			}
			m.hs = append(m.hs, h)
			m.states = append(m.states, cQueued)
			*fifo = append(*fifo, id)
		}
		// pop pops one callback from src and checks it against the head of
		// fifo.
		pop := func(op int, src *sched.Queue, fifo *[]int) {
			if len(*fifo) == 0 {
				return
			}
			id := (*fifo)[0]
			*fifo = (*fifo)[1:]
			ran = ran[:0]
			live := popRun(src)
			switch {
			case m.states[id] == cCancelled:
				if live {
					t.Fatalf("op %d: popped cancelled callback %d as live (ran %v)", op, id, ran)
				}
			case !live:
				t.Fatalf("op %d: popped callback %d as cancelled", op, id)
			case len(ran) != 1 || ran[0] != id:
				t.Fatalf("op %d: popped %v, want callback %d", op, ran, id)
			default:
				m.states[id] = cRan
			}
		}
		cancel := func(op, id int) {
			got := m.hs[id].Cancel()
			if want := m.states[id] == cQueued; got != want {
				t.Fatalf("op %d: Cancel of callback %d (state %d) = %v, want %v", op, id, m.states[id], got, want)
			}
			if got {
				m.states[id] = cCancelled
			}
		}

		for op := 0; op < maxOps && !p.done(); op++ {
			switch code := p.next() % 18; {
			case code <= 2:
				push(&q, &m.q)
			case code == 3:
				for range int(p.next()) + 1 {
					push(&q, &m.q)
				}
			case code == 4:
				push(&o, &m.o)
			case code == 5:
				for range int(p.next()) + 1 {
					push(&o, &m.o)
				}
			case code <= 7:
				pop(op, &q, &m.q)
			case code == 8:
				for range int(p.next()) + 1 {
					pop(op, &q, &m.q)
				}
			case code == 9:
				pop(op, &o, &m.o)
			case code == 10:
				q.Splice(&o)
				m.q, m.o = append(m.q, m.o...), nil
			case code == 11:
				o.Splice(&q)
				m.o, m.q = append(m.o, m.q...), nil
			case code == 12:
				if live := m.live(); len(live) > 0 {
					cancel(op, live[int(p.next())%len(live)])
				}
			case code == 13:
				if len(m.hs) > 0 {
					cancel(op, int(p.next())%len(m.hs))
				}
			case code == 14:
				if p.next()%4 == 0 {
					want := 0
					for _, id := range m.q {
						if m.states[id] == cQueued {
							m.states[id] = cCleared
							want++
						}
					}
					m.q = nil
					if got := q.Clear(); got != want {
						t.Fatalf("op %d: Clear() = %d, want %d", op, got, want)
					}
				} else {
					for len(m.q) > 0 {
						pop(op, &q, &m.q)
					}
				}
			case code == 15:
				stride := int(p.next()%8) + 2
				for i, id := range m.live() {
					if i%stride == 0 {
						cancel(op, id)
					}
				}
			case code == 16:
				q.ShareFree(&o)
			case code == 17:
				o.ShareFree(&q)
			}
			checkQueues(t, op, &q, &o, &m)
		}
		// Whatever is left runs in order.
		for _, fifo := range []struct {
			q   *sched.Queue
			ids *[]int
		}{{&q, &m.q}, {&o, &m.o}} {
			var want []int
			for _, id := range *fifo.ids {
				if m.states[id] == cQueued {
					want = append(want, id)
				}
			}
			ran = ran[:0]
			for fifo.q.Len() > 0 {
				popRun(fifo.q)
			}
			if !slices.Equal(ran, want) {
				t.Fatalf("draining ran %v, want %v", ran, want)
			}
		}
	})
}

func checkQueues(t *testing.T, op int, q, o *sched.Queue, m *queueModel) {
	t.Helper()
	if q.Len() != len(m.q) || o.Len() != len(m.o) {
		t.Fatalf("op %d: Len() = %d, %d; want %d, %d", op, q.Len(), o.Len(), len(m.q), len(m.o))
	}
	for id, h := range m.hs {
		s := m.states[id]
		if got, want := h.Pending(), s == cQueued; got != want {
			t.Fatalf("op %d: callback %d (state %d): Pending() = %v", op, id, s, got)
		}
		if got, want := h.Cancelled(), s == cCancelled; got != want {
			t.Fatalf("op %d: callback %d (state %d): Cancelled() = %v", op, id, s, got)
		}
		if !h.When().IsZero() {
			t.Fatalf("op %d: callback %d: When() = %v, want the zero time", op, id, h.When())
		}
		// Handles of callbacks that ran, were cleared or were cancelled,
		// stale ones included, cancel nothing.
		if s != cQueued && h.Cancel() {
			t.Fatalf("op %d: Cancel of callback %d (state %d) reported true", op, id, s)
		}
	}
}
