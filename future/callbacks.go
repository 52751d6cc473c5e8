package future

// funcs is one done-callback: fn(f), or fn0() for callers that need no
// argument (tasks waking up).
type funcs[T any] struct {
	fn  func(*Future[T])
	fn0 func()
}

func (c funcs[T]) live() bool { return c.fn != nil || c.fn0 != nil }

// entry is a done-callback after the first, with its id for removal.
type entry[T any] struct {
	funcs[T]
	id uint32
}

// The done-callback list: entry 0 is inline in the Future (first, firstID),
// the others in extra.more. Before completion, removed entries are left as
// holes, and seq is the last id handed out. At completion every callback is
// scheduled (schedule), and only those that take the future stay, for
// fireNext; after it, ids are not needed (nothing can be removed), such
// entries are only appended, and seq is the index of the first one not yet
// run.

func (f *Future[T]) entryAt(i int32) (*funcs[T], uint32) {
	if i == 0 {
		return &f.first, f.firstID
	}
	e := &f.x.more[i-1]
	return &e.funcs, e.id
}

func (f *Future[T]) add(c funcs[T], id uint32) {
	if f.n == 0 {
		f.first, f.firstID = c, id
	} else {
		x := f.ext()
		x.more = append(x.more, entry[T]{c, id})
	}
	f.n++
}

// remove clears the entry with the given id; it reports whether there was one.
func (f *Future[T]) remove(id uint32) bool {
	for i := int32(0); i < f.n; i++ {
		if c, cid := f.entryAt(i); cid == id && c.live() {
			*c = funcs[T]{}
			f.trimTail()
			return true
		}
	}
	return false
}

// trimTail drops holes at the end of the list.
func (f *Future[T]) trimTail() {
	n := f.n
	for n > 0 {
		if c, _ := f.entryAt(n - 1); c.live() {
			break
		}
		n--
	}
	f.truncate(n)
}

// schedule schedules every callback at completion, in registration order:
// one that needs no argument as it is, one that takes the future through
// fireNext. Only the latter stay in the list, in order, for fireNext to pop.
func (f *Future[T]) schedule() {
	k := int32(0)
	for i := int32(0); i < f.n; i++ {
		c, _ := f.entryAt(i)
		v := *c
		*c = funcs[T]{}
		switch {
		case v.fn0 != nil:
			f.s.CallSoon(v.fn0)
		case v.fn != nil:
			d, _ := f.entryAt(k)
			*d = v
			k++
			f.s.CallSoonArg(fireNext, f)
		}
	}
	f.truncate(k)
}

// truncate keeps the first n entries.
func (f *Future[T]) truncate(n int32) {
	f.n = n
	if f.x != nil {
		f.x.more = f.x.more[:max(n-1, 0)]
	}
}

// pop returns the next callback to run and clears its entry.
func (f *Future[T]) pop() funcs[T] {
	next := int32(f.seq)
	c, _ := f.entryAt(next)
	v := *c
	*c = funcs[T]{}
	if next++; next == f.n {
		next = 0
		f.truncate(0)
	}
	f.seq = uint32(next)
	return v
}

// AddDoneCallback is asyncio's add_done_callback: fn(f) will be scheduled
// with CallSoon when f completes, after the callbacks registered before it;
// if f is already done, it is scheduled now. The returned remove func is
// remove_done_callback: it unregisters fn and reports whether fn was still
// registered. Once f has completed, remove reports false and fn still runs.
//
// Must be called on the loop goroutine.
func (f *Future[T]) AddDoneCallback(fn func(*Future[T])) (remove func() bool) {
	checkLoop(f.s, "Future.AddDoneCallback")
	id := f.addCallback(funcs[T]{fn: fn})
	return func() bool { return f.removeCallback(id) }
}

// AddDoneFunc is AddDoneCallback for a callback that does not need the
// future: for code that handles futures of any type (future.Awaitable).
//
// Must be called on the loop goroutine.
func (f *Future[T]) AddDoneFunc(fn func()) (remove func() bool) {
	checkLoop(f.s, "Future.AddDoneFunc")
	id := f.addCallback(funcs[T]{fn0: fn})
	return func() bool { return f.removeCallback(id) }
}

func (f *Future[T]) addCallback(c funcs[T]) uint32 {
	if !c.live() {
		panic("future: nil done-callback")
	}
	if f.state.Load() != statePending {
		if c.fn0 != nil {
			f.s.CallSoon(c.fn0)
		} else {
			f.add(c, 0)
			f.s.CallSoonArg(fireNext, f)
		}
		return 0
	}
	f.seq++
	f.add(c, f.seq)
	return f.seq
}

func (f *Future[T]) removeCallback(id uint32) bool {
	if f.state.Load() != statePending {
		return false
	}
	return f.remove(id)
}

// firer is a future whose next done-callback can be run; fireNext reaches a
// Future[T] through it without knowing T, and so without a closure.
type firer interface{ fireNext() }

func fireNext(f any) { f.(firer).fireNext() }

// fireNext runs the next done-callback that takes the future. Completion
// schedules one fireNext per such callback (schedule), so each callback is
// a handle of its own, in registration order.
func (f *Future[T]) fireNext() { f.pop().fn(f) }
