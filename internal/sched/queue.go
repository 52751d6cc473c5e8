package sched

import "sync/atomic"

// chunkSize is the number of callbacks in one chunk of a Queue.
const chunkSize = 256

// maxFreeChunks bounds the chunks a Queue keeps for reuse after a burst.
const maxFreeChunks = 16

// chunk holds up to chunkSize callbacks. A plain func() takes 9 bytes (the
// func and a state byte): bursts of millions of callbacks are bound by how
// much fresh memory they touch. Callbacks with an argument, and due timers,
// use the args array, allocated for the chunks that need it.
type chunk struct {
	fns    [chunkSize]func()
	states [chunkSize]uint8
	args   atomic.Pointer[[chunkSize]argCall]
	n      uint32 // callbacks written (for a Remote's chunk: slots reserved, once it stops taking them)
	lo     uint32 // first callback not yet popped when the chunk was spliced in
	gen    uint32 // incremented on reuse, so old Handles cancel nothing
	next   *chunk
	owner  any // the Owner of the Queue that allocated the chunk
	// tainted is set when a callback of this chunk was cancelled: the chunk
	// is then never reused, so that the cancelled callback's Handle keeps
	// reporting Cancelled for as long as anyone holds it.
	tainted bool

	// A Remote's chunk: the slots reserved by the goroutines that hand
	// callbacks in (remote.go). It is at least chunkSize whenever the
	// chunk is not the Remote's current one.
	taken atomic.Uint32
}

// spent is the func a cancelled callback's slot holds: not nil, so that a
// Remote's consumer sees the slot as written (remote.go), and holding
// nothing.
var spent = func() {}

// argCall is fn(arg), or a due timer when fn is nil (arg is its *Slot).
type argCall struct {
	fn  func(any)
	arg any
}

func (c *chunk) clear(i uint32) {
	c.fns[i] = spent
	if a := c.args.Load(); a != nil {
		a[i] = argCall{}
	}
}

// argsFor returns the chunk's args array, allocating it on first use. A
// Remote's producers may race to allocate it: one array wins.
func (c *chunk) argsFor() *[chunkSize]argCall {
	a := c.args.Load()
	if a == nil {
		a = new([chunkSize]argCall)
		if !c.args.CompareAndSwap(nil, a) {
			a = c.args.Load()
		}
	}
	return a
}

// Queue is the FIFO of callbacks ready to run: asyncio's _ready deque. Its
// callbacks live in chunks that are reused once drained, so that pushing a
// callback allocates nothing in the steady state.
//
// The zero Queue is empty and ready to use. A Queue is not safe for
// concurrent use.
type Queue struct {
	// Owner is what the handles of the queue's callbacks hand to
	// hooks.Loop.Check in debug mode: the loop. Set it before the first
	// Push. Queues that Splice and ShareFree chunks between them must have
	// the same Owner.
	Owner any

	head, tail *chunk
	hi         uint32 // next callback to pop in head
	n          int
	free       *chunk
	nfree      int
}

// Len returns the number of callbacks in the queue, cancelled ones included.
func (q *Queue) Len() int { return q.n }

// Push appends fn and returns its handle.
func (q *Queue) Push(fn func()) Handle {
	c := q.tail
	if c == nil || c.n == chunkSize {
		c = q.grow()
	}
	i := c.n
	c.n++
	q.n++
	c.fns[i], c.states[i] = fn, pending
	return Handle{c: c, i: i, gen: c.gen}
}

// PushArg appends fn(arg) and returns its handle.
func (q *Queue) PushArg(fn func(any), arg any) Handle {
	return q.pushArg(argCall{fn, arg})
}

// PushTimer appends a due timer. It is checked for cancellation when it is
// popped, not now.
func (q *Queue) PushTimer(s *Slot) {
	q.pushArg(argCall{arg: s})
}

func (q *Queue) pushArg(a argCall) Handle {
	c := q.tail
	if c == nil || c.n == chunkSize {
		c = q.grow()
	}
	i := c.n
	c.n++
	q.n++
	c.argsFor()[i], c.states[i] = a, pendingArg
	return Handle{c: c, i: i, gen: c.gen}
}

// Pop removes the callback at the head of a non-empty queue and returns
// it: either a func() (fn) or a func(any) and its argument (afn, arg).
// Both funcs are nil if the callback was cancelled and must be skipped.
// For a timer pushed with a note (Heap.PushNote), fn comes with the note in
// arg.
func (q *Queue) Pop() (fn func(), afn func(any), arg any) {
	c := q.head
	i := q.hi
	q.hi++
	q.n--
	// Cancel has already cleared a cancelled callback.
	switch c.states[i] {
	case pending:
		c.states[i] = done
		fn = c.fns[i]
		c.fns[i] = nil
	case pendingArg:
		c.states[i] = done
		c.fns[i] = nil // argMarker, if a Remote's producer wrote the slot
		a := &c.args.Load()[i]
		afn, arg = a.fn, a.arg
		*a = argCall{}
		if afn == nil {
			fn, arg = arg.(*Slot).take()
		}
	}
	// A consumed chunk is recycled once it is full or another follows it;
	// an emptied queue keeps filling the chunk it is in.
	if q.hi == c.n && (c.n == chunkSize || c != q.tail) {
		if q.head = c.next; q.head == nil {
			q.tail, q.hi = nil, 0
		} else {
			q.hi = q.head.lo
		}
		q.recycle(c)
	}
	return fn, afn, arg
}

// Splice moves every callback of o to the end of q, without copying: the
// chunks change hands. o is left empty. Handles of the moved callbacks stay
// valid.
func (q *Queue) Splice(o *Queue) {
	if o.n == 0 {
		return
	}
	if q.n == 0 {
		if q.head != nil {
			q.recycle(q.head)
		}
		q.head, q.hi = o.head, o.hi
	} else {
		o.head.lo = o.hi
		q.tail.next = o.head
	}
	q.tail = o.tail
	q.n += o.n
	o.head, o.tail, o.hi, o.n = nil, nil, 0, 0
}

// ShareFree gives o one of q's spare chunks if o has none, so that a queue
// that is only ever spliced from (the loop's queue of callbacks from other
// goroutines) reuses chunks instead of allocating them.
func (q *Queue) ShareFree(o *Queue) {
	if o.free != nil || q.free == nil {
		return
	}
	o.free, o.nfree = q.takeFree(), 1
}

// Clear drops every callback in the queue without running it and returns the
// number of live (not cancelled) callbacks dropped.
func (q *Queue) Clear() int {
	live := 0
	for q.n > 0 {
		if fn, afn, _ := q.Pop(); fn != nil || afn != nil {
			live++
		}
	}
	return live
}

func (q *Queue) grow() *chunk {
	c := q.takeFree()
	if c == nil {
		c = &chunk{owner: q.Owner}
	}
	if q.tail == nil {
		q.head, q.hi = c, 0
	} else {
		q.tail.next = c
	}
	q.tail = c
	return c
}

// takeFree returns a spare chunk, or nil if there is none.
func (q *Queue) takeFree() *chunk {
	c := q.free
	if c != nil {
		q.free, c.next = c.next, nil
		q.nfree--
	}
	return c
}

func (q *Queue) recycle(c *chunk) {
	if c.tainted || q.nfree >= maxFreeChunks {
		return
	}
	c.n, c.lo = 0, 0
	c.states = [chunkSize]uint8{} // pending, for Remote.Push
	c.gen++
	c.next = q.free
	q.free = c
	q.nfree++
}
