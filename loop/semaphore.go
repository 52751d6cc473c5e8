package loop

// Semaphore is asyncio's Semaphore: a counter of units for tasks of one
// loop. Acquire takes a unit, suspending the task while none is free;
// Release returns one. A Semaphore may be released more times than it was
// acquired: the count then grows past its initial value (BoundedSemaphore
// forbids that).
//
// Tasks get units in the order they started waiting (FIFO): while any task
// waits, a newcomer waits too, even if units are free. Release wakes the
// first waiting task and reserves the unit for it at once, so right after
// a Release that woke a task, Value is still 0 and Locked reports true.
//
// The zero value is a Semaphore with no units; NewSemaphore sets the
// initial count. A Semaphore binds to a loop the first time a task has to
// wait for it; from then on, a task of another loop that has to wait gets
// an error matching ErrOtherLoop. A Semaphore must not be copied after
// first use.
//
// Its methods must be called on the loop goroutine.
type Semaphore struct {
	_       noCopy
	l       *Loop
	waiters waitQueue
	value   int
}

// NewSemaphore returns a Semaphore with n units: asyncio's Semaphore(n). It
// panics if n is negative.
//
// Must be called on the loop goroutine.
func NewSemaphore(n int) *Semaphore {
	if n < 0 {
		panic("loop: NewSemaphore: negative initial value")
	}
	return &Semaphore{value: n}
}

// Acquire is asyncio's Semaphore.acquire: it takes a unit and returns nil.
// If Locked reports true (no unit free, or tasks already waiting), the task
// waits its turn (FIFO) first; otherwise Acquire returns without
// suspending.
//
// Acquire returns an error matching ErrOtherLoop, changing nothing, if the
// task would have to wait and the semaphore is bound to another loop.
//
// Cancellation: if the task is cancelled while waiting, Acquire returns an
// error matching future.ErrCancelled and the task holds no unit. If
// Release had already reserved a unit for it, the unit is given back and
// passed to the next waiter. If the loop closes, Acquire returns an error
// matching ErrClosed, with the same clean-up.
//
// Must be called on the loop goroutine.
func (s *Semaphore) Acquire(co *Coro) error {
	checkOn(s.l, "Semaphore.Acquire")
	if s.tryAcquire() {
		return nil
	}
	if err := bindLoop(&s.l, co, "Semaphore"); err != nil {
		return err
	}
	woken, err := s.waiters.wait(co, s)
	if err != nil && woken {
		// Release reserved a unit for us, but we are not taking it: give
		// it back.
		s.value++
	}
	// Units may be free while newcomers queued behind us (FIFO): wake as
	// many as there are units, reserving one for each.
	s.value -= s.waiters.wake(s.value)
	return err
}

// TryAcquire takes a unit if Acquire would take one without waiting, and
// reports whether it did. asyncio has no counterpart; it is the fast path
// of Semaphore.acquire.
//
// Must be called on the loop goroutine.
func (s *Semaphore) TryAcquire() bool {
	checkOn(s.l, "Semaphore.TryAcquire")
	return s.tryAcquire()
}

func (s *Semaphore) tryAcquire() bool {
	if s.locked() {
		return false
	}
	s.value--
	return true
}

// Release is asyncio's Semaphore.release: it returns a unit. If a task is
// waiting, the first one is woken and the unit is reserved for it.
//
// Must be called on the loop goroutine.
func (s *Semaphore) Release() {
	checkOn(s.l, "Semaphore.Release")
	s.release()
}

func (s *Semaphore) release() {
	s.value++
	s.value -= s.waiters.wake(1)
}

// Locked is asyncio's Semaphore.locked: it reports whether Acquire would
// have to wait: no unit is free, or a task that is not cancelled is
// already waiting.
//
// Must be called on the loop goroutine.
func (s *Semaphore) Locked() bool {
	checkOn(s.l, "Semaphore.Locked")
	return s.locked()
}

func (s *Semaphore) locked() bool {
	return s.value == 0 || !s.waiters.allCancelled()
}

// Value returns the number of free units. A unit that Release reserved for
// a woken task is not free. asyncio has no public counterpart.
//
// Must be called on the loop goroutine.
func (s *Semaphore) Value() int {
	checkOn(s.l, "Semaphore.Value")
	return s.value
}

// BoundedSemaphore is asyncio's BoundedSemaphore: a Semaphore whose Release
// panics when it would raise the count above the initial value, which
// catches a task releasing a unit it did not acquire. Its other methods are
// the embedded Semaphore's (calling b.Semaphore.Release skips the check).
//
// Its methods must be called on the loop goroutine.
type BoundedSemaphore struct {
	Semaphore
	bound int
}

// NewBoundedSemaphore returns a BoundedSemaphore with n units: asyncio's
// BoundedSemaphore(n). It panics if n is negative.
//
// Must be called on the loop goroutine.
func NewBoundedSemaphore(n int) *BoundedSemaphore {
	if n < 0 {
		panic("loop: NewBoundedSemaphore: negative initial value")
	}
	return &BoundedSemaphore{Semaphore: Semaphore{value: n}, bound: n}
}

// Release is asyncio's BoundedSemaphore.release: Semaphore.Release, except
// that it panics, changing nothing, if the count is already at the initial
// value (asyncio's ValueError "BoundedSemaphore released too many times").
//
// Must be called on the loop goroutine.
func (b *BoundedSemaphore) Release() {
	checkOn(b.l, "BoundedSemaphore.Release")
	if b.value >= b.bound {
		panic("loop: BoundedSemaphore.Release: released too many times")
	}
	b.release()
}
