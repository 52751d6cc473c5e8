package future

import "unsafe"

// The done-callback list. Callback 0 is inline in the core (first, with
// firstNoArg in seq), the others are in extra.more. A callback is held as
// a func(): either one that takes no argument (tasks waking up), or a
// func(*Future[T]) stored through erase, so that the list and the remove
// funcs do not depend on T.
//
// Before completion, callbacks have ids, handed out in order (the idMask
// bits of seq are the last one); callback 0 is only ever the first callback
// registered, id 1. Removed callbacks are left as holes, trailing holes are
// dropped, and the list is empty when first is nil and more is empty. At
// completion every callback is scheduled (schedule), and only those that
// take the future stay, in order, for fireNext; after it, ids are not needed
// (nothing can be removed), such callbacks are only appended, and seq is the
// index of the first one not yet run.

// The bits of seq: firstNoArg is set while callback 0 is a func() rather
// than a func(*Future[T]); the others are an id or an index.
const (
	firstNoArg uint32 = 1 << 31
	idMask            = firstNoArg - 1
)

// entry is a done-callback after the first, with its id for removal.
type entry struct {
	fn    func()
	id    uint32
	noArg bool
}

// erase returns fn as the func() the list holds. Both funcs are one pointer
// to a func value, so the conversion keeps its memory layout; typed turns
// it back before it is called.
func erase[T any](fn func(*Future[T])) func() {
	return *(*func())(unsafe.Pointer(&fn))
}

// typed returns the func(*Future[T]) that erase made fn from.
func typed[T any](fn func()) func(*Future[T]) {
	return *(*func(*Future[T]))(unsafe.Pointer(&fn))
}

// AddDoneCallback is asyncio's add_done_callback: fn(f) will be scheduled
// with CallSoon when f completes, after the callbacks registered before it;
// if f is already done, it is scheduled now. The returned remove func is
// remove_done_callback: it unregisters fn and reports whether fn was still
// registered. Once f has completed, remove reports false and fn still runs.
//
// Must be called on the loop goroutine.
func (f *Future[T]) AddDoneCallback(fn func(*Future[T])) (remove func() bool) {
	c := &f.core
	id := call(addCallbackChecked, c, erase(fn), f)
	return func() bool { return c.removeCallback(id) }
}

// AddDoneFunc is AddDoneCallback for a callback that does not need the
// future: for code that handles futures of any type (future.Awaitable).
//
// Must be called on the loop goroutine.
func (f *Future[T]) AddDoneFunc(fn func()) (remove func() bool) {
	c := &f.core
	id := call(addFuncChecked, c, fn, f)
	return func() bool { return c.removeCallback(id) }
}

// call returns add(c, fn, f). AddDoneCallback and AddDoneFunc call their
// out-of-line part through it because the inliner counts a call of a func
// parameter as cheap: so they are inlined, and the remove func of a caller
// that drops it is never allocated.
func call(add func(*core, func(), any) uint32, c *core, fn func(), f any) uint32 {
	return add(c, fn, f)
}

// addCallbackChecked is AddDoneCallback's work: the loop's check, then
// addCallback of a func(*Future[T]) erased as fn.
func addCallbackChecked(c *core, fn func(), f any) uint32 {
	checkLoop(c.s, "Future.AddDoneCallback")
	return c.addCallback(fn, false, f)
}

// addFuncChecked is AddDoneFunc's work.
func addFuncChecked(c *core, fn func(), f any) uint32 {
	checkLoop(c.s, "Future.AddDoneFunc")
	return c.addCallback(fn, true, f)
}

// fireNext runs the next done-callback that takes the future. Completion
// schedules one fireNext per such callback (schedule), so each callback is
// a handle of its own, in registration order.
func (f *Future[T]) fireNext() { typed[T](f.pop())(f) }

// firer is a future whose next done-callback can be run; fireNext reaches a
// Future[T] through it without knowing T, and so without a closure.
type firer interface{ fireNext() }

func fireNext(f any) { f.(firer).fireNext() }

// addCallback registers fn (a func() if noArg, else an erased
// func(*Future[T])) and returns its id, or 0 if f is done: then fn is
// scheduled now, through fireNext on f unless noArg.
func (c *core) addCallback(fn func(), noArg bool, f any) uint32 {
	if fn == nil {
		panic("future: nil done-callback")
	}
	if c.state.Load() != statePending {
		if noArg {
			c.s.CallSoon(fn)
		} else {
			c.add(fn, false, 0)
			c.s.CallSoonArg(fireNext, f)
		}
		return 0
	}
	id := c.seq&idMask + 1
	if id > idMask {
		id = 2 // ids 0 and 1 have their own meaning
	}
	c.seq = c.seq&firstNoArg | id
	c.add(fn, noArg, id)
	return id
}

// removeCallback is the remove func of the callback with the given id.
func (c *core) removeCallback(id uint32) bool {
	if c.state.Load() != statePending {
		return false
	}
	return c.remove(id)
}

// len returns the number of callbacks in the list, holes included.
func (c *core) len() int {
	if c.x != nil && len(c.x.more) > 0 {
		return len(c.x.more) + 1
	}
	if c.first != nil {
		return 1
	}
	return 0
}

// setFirst makes fn callback 0.
func (c *core) setFirst(fn func(), noArg bool) {
	c.first = fn
	c.seq &^= firstNoArg
	if noArg {
		c.seq |= firstNoArg
	}
}

// take returns callback i and leaves a hole in its place.
func (c *core) take(i int) (fn func(), noArg bool) {
	if i == 0 {
		fn, noArg = c.first, c.seq&firstNoArg != 0
		c.first = nil
		return fn, noArg
	}
	e := &c.x.more[i-1]
	fn, noArg = e.fn, e.noArg
	*e = entry{}
	return fn, noArg
}

// add appends a callback with the given id. Slot 0 takes the first callback
// of a pending future (id 1), or that of an empty list once done (id 0);
// any other goes to more, after slot 0 even if it is a hole.
func (c *core) add(fn func(), noArg bool, id uint32) {
	if id <= 1 && c.len() == 0 {
		c.setFirst(fn, noArg)
		return
	}
	x := c.ext()
	x.more = append(x.more, entry{fn, id, noArg})
}

// remove clears the callback with the given id; it reports whether there
// was one.
func (c *core) remove(id uint32) bool {
	if id == 1 {
		if c.first == nil {
			return false
		}
		c.first = nil
		c.trimTail()
		return true
	}
	if c.x == nil {
		return false
	}
	for i := range c.x.more {
		if e := &c.x.more[i]; e.id == id && e.fn != nil {
			*e = entry{}
			c.trimTail()
			return true
		}
	}
	return false
}

// trimTail drops holes at the end of more; the list is then empty if slot 0
// is a hole too.
func (c *core) trimTail() {
	if c.x == nil {
		return
	}
	m := c.x.more
	k := len(m)
	for k > 0 && m[k-1].fn == nil {
		k--
	}
	c.x.more = m[:k]
}

// schedule schedules every callback at completion, in registration order:
// one that needs no argument as it is, one that takes the future f through
// fireNext. Only the latter stay in the list, in order, for fireNext to pop.
func (c *core) schedule(f any) {
	if c.x == nil || len(c.x.more) == 0 {
		switch fn := c.first; {
		case fn == nil:
		case c.seq&firstNoArg != 0:
			c.first = nil
			c.s.CallSoon(fn)
		default:
			c.s.CallSoonArg(fireNext, f)
		}
		return
	}
	n := c.len()
	k := 0
	for i := range n {
		fn, noArg := c.take(i)
		switch {
		case fn == nil:
		case noArg:
			c.s.CallSoon(fn)
		default:
			if k == 0 {
				c.setFirst(fn, false)
			} else {
				c.x.more[k-1] = entry{fn: fn}
			}
			k++
			c.s.CallSoonArg(fireNext, f)
		}
	}
	c.truncate(k)
}

// truncate keeps the first n callbacks, which are live.
func (c *core) truncate(n int) {
	if n == 0 {
		c.first = nil
	}
	if c.x != nil {
		c.x.more = c.x.more[:max(n-1, 0)]
	}
}

// pop returns the next callback to run once f is done, and clears it.
func (c *core) pop() func() {
	next := int(c.seq)
	n := c.len()
	fn, _ := c.take(next)
	if next++; next == n {
		next = 0
		c.truncate(0)
	}
	c.seq = uint32(next)
	return fn
}
