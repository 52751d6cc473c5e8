package sched

import (
	"runtime"
	"sync"
	"sync/atomic"
	"unsafe"
)

// Remote is the queue other goroutines hand callbacks to, for the loop to
// take into its ready Queue: tokio's remote queue beside its local one. A
// push takes no lock: it reserves a slot of the current chunk with one
// atomic add, and writes it, storing its func last with an atomic store.
// The loop takes whole chunks (Queue.Take): it seals the current chunk,
// waits for the slots reserved in it to be written, and splices the chunks
// into its Queue, so the handles of the callbacks stay valid.
//
// Invariants:
//
//  1. Only the current chunk (cur) takes reservations: every other chunk,
//     sealed, in a Queue or spare, has taken >= chunkSize, so a goroutine
//     that still holds a pointer to it reserves nothing in it.
//  2. The chunks from head to tail are in the order their slots were
//     reserved; cur is tail, or nil (no chunk takes reservations).
//  3. A chunk that is not cur has n set to the number of slots reserved in
//     it. A reserved slot is written once its func is not nil: a producer
//     stores the func last (the argMarker for a callback with an
//     argument), and a slot's func is nil from the chunk's reuse until
//     then (Pop clears it; Cancel leaves spent).
//  4. mu guards head, tail, the links between them, free, refused and
//     every change of cur.
//
// The zero Remote is ready to use. Push and PushArg are safe for
// concurrent use by multiple goroutines; Refuse and Queue.Take may be
// called by one goroutine at a time (the loop's).
type Remote struct {
	// Owner is the Owner of the Queue that takes from this Remote: its
	// chunks end up in that Queue.
	Owner any

	cur atomic.Pointer[chunk]

	mu         sync.Mutex
	head, tail *chunk
	free       *chunk // spare chunks, given by the Queue that takes
	nfree      int
	filled     int // chunks filled since the last Take
	refused    bool
}

// Push appends fn and returns its handle. It reports false, and does not
// push, once Refuse has been called.
func (r *Remote) Push(fn func()) (Handle, bool) {
	c, i, ok := r.reserve()
	if !ok {
		return Handle{}, false
	}
	// The slot's state is pending already: recycle leaves every state so.
	h := Handle{c: c, i: i, gen: c.gen}
	publish(&c.fns[i], fn)
	return h, true
}

// PushArg appends fn(arg) and returns its handle. It reports false, and
// does not push, once Refuse has been called.
func (r *Remote) PushArg(fn func(any), arg any) (Handle, bool) {
	c, i, ok := r.reserve()
	if !ok {
		return Handle{}, false
	}
	c.argsFor()[i], c.states[i] = argCall{fn, arg}, pendingArg
	h := Handle{c: c, i: i, gen: c.gen}
	publish(&c.fns[i], argMarker)
	return h, true
}

// reserve returns a slot of the current chunk, for the caller alone to
// write, or false once Refuse has been called.
func (r *Remote) reserve() (*chunk, uint32, bool) {
	for {
		c := r.cur.Load()
		if c != nil {
			if i := c.taken.Add(1) - 1; i < chunkSize {
				return c, i, true
			}
		}
		ok, yield := r.replace(c)
		if !ok {
			return nil, 0, false
		}
		if yield {
			// The loop is behind: let it run, as a producer blocked
			// on a lock would, rather than fill chunk after chunk
			// for it while it waits for a P.
			runtime.Gosched()
		}
	}
}

// replace makes a fresh chunk current in place of seen, a full chunk or
// nil, unless another goroutine has replaced it already. It reports false
// once Refuse has been called, and whether the chunks filled since the
// last Take are so many that the caller should yield.
func (r *Remote) replace(seen *chunk) (ok, yield bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.refused {
		return false, false
	}
	if r.cur.Load() != seen || seen != nil && seen.taken.Load() < chunkSize {
		// Replaced already, and perhaps even reused since as the
		// current chunk: reserve again.
		return true, false
	}
	if seen != nil {
		seen.n = chunkSize
		r.filled++
	}
	c := r.free
	if c != nil {
		r.free = c.next
		r.nfree--
	} else {
		c = &chunk{owner: r.Owner}
	}
	c.next = nil
	c.taken.Store(0)
	if r.tail == nil {
		r.head = c
	} else {
		r.tail.next = c
	}
	r.tail = c
	r.cur.Store(c)
	return true, r.filled >= backlog
}

// seal stops the current chunk from taking reservations and records how
// many it took. The caller holds mu.
func (r *Remote) seal() {
	c := r.cur.Load()
	if c == nil {
		return
	}
	c.n = min(c.taken.Swap(chunkSize), chunkSize)
	r.cur.Store(nil)
}

// Refuse makes every later Push and PushArg report false. The callbacks
// pushed before it stay, for Queue.Take.
func (r *Remote) Refuse() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.refused = true
	r.seal()
}

// remoteSpares is how many spare chunks Take leaves a Remote: enough for
// the chunks goroutines fill between two Takes of a busy loop.
const remoteSpares = 4

// backlog is how many chunks goroutines may fill between two Takes before
// each chunk they fill makes them yield.
const backlog = remoteSpares

// Take moves every callback pushed to r so far to the end of q, in the
// order they were reserved; their handles stay valid. A push that has
// reserved its slot but not yet written it is waited for: it is between
// its atomic add and its atomic store, so the wait is a few instructions
// unless its goroutine was preempted there. It gives r some of q's spare
// chunks, so that a steady flow of pushes reuses chunks.
func (q *Queue) Take(r *Remote) {
	r.mu.Lock()
	head := r.head
	if head == nil || head == r.cur.Load() && head.taken.Load() == 0 {
		r.mu.Unlock()
		return
	}
	r.seal()
	r.head, r.tail = nil, nil
	r.filled = 0
	for r.nfree < remoteSpares {
		c := q.takeFree()
		if c == nil {
			break
		}
		c.next = r.free
		r.free = c
		r.nfree++
	}
	r.mu.Unlock()

	for c := head; c != nil; {
		next := c.next
		c.next = nil
		for i := range c.n {
			for !written(&c.fns[i]) {
				runtime.Gosched()
			}
		}
		if c.n == 0 {
			q.recycle(c)
		} else {
			q.append(c)
		}
		c = next
	}
}

// append links the chunk c, whose n callbacks are all pending or
// cancelled, at the end of q.
func (q *Queue) append(c *chunk) {
	c.lo = 0
	if q.n == 0 {
		if q.head != nil {
			q.recycle(q.head)
		}
		q.head, q.hi = c, 0
	} else {
		q.tail.next = c
	}
	q.tail = c
	q.n += int(c.n)
}

// argMarker is the func a Remote's slot holds for a callback with an
// argument, which is in the chunk's args: the slot's func must not be nil
// once it is written.
var argMarker = func() {}

// publish stores fn in the slot with an atomic store, after everything
// else of the slot: a func value is one pointer.
func publish(slot *func(), fn func()) {
	atomic.StorePointer((*unsafe.Pointer)(unsafe.Pointer(slot)), *(*unsafe.Pointer)(unsafe.Pointer(&fn)))
}

// written reports whether the slot's func has been published.
func written(slot *func()) bool {
	return atomic.LoadPointer((*unsafe.Pointer)(unsafe.Pointer(slot))) != nil
}
