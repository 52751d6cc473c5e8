package loop

import (
	"iter"
	"time"

	"github.com/aio-go/aio/future"
)

// AsCompleted is asyncio's as_completed: a sequence of the futures fs in
// the order they complete, each with its error (nil if it succeeded, an
// error matching future.ErrCancelled if it was cancelled). A future given
// twice comes once. Futures already done come first, in the order of fs,
// after one round of done-callbacks: ranging over the sequence always
// suspends the task.
//
//	for f, err := range loop.AsCompleted(co, fs, 5*time.Second) {
//		if f == nil {
//			return err // the timeout, or the task was cancelled
//		}
//		...
//	}
//
// The timeout is counted from the call to AsCompleted; NoTimeout means
// none. When it passes, the futures that completed before it are still
// yielded, then the sequence yields (nil, ErrTimeout) and ends. A nil
// future always comes with the error that ended the sequence: ErrTimeout, a
// cancellation, or an error matching ErrOtherLoop (at once, if a future
// belongs to another loop). The futures are never cancelled.
//
// fs may be a slice of any future type: []future.Awaitable, or
// []*Task[T] and []*future.Future[T] as they are; the sequence yields
// elements of fs.
//
// The sequence must be ranged over in the body of the task co belongs to;
// each range waits afresh, with the deadline fixed by the call. Leaving the
// range early (break, return) stops watching the futures: their
// done-callbacks from this range do nothing any more, and the timer is
// cancelled. A nil future in fs panics ("loop: AsCompleted: nil future")
// when the range starts.
//
// Cancellation: if the task is cancelled while waiting for the next
// future, the sequence yields (nil, err) with err matching
// future.ErrCancelled and ends; the futures are left as they are. If the
// loop closes, err matches ErrClosed.
//
// Must be called on the loop goroutine.
func AsCompleted[F future.Awaitable](co *Coro, fs []F, timeout time.Duration) iter.Seq2[F, error] {
	l := co.Loop()
	var deadline time.Time
	if timeout != NoTimeout {
		deadline = l.Now().Add(timeout)
	}
	return func(yield func(F, error) bool) {
		var none F
		fs, err := distinct(l, fs, "AsCompleted")
		if err != nil {
			yield(none, err)
			return
		}
		if len(fs) == 0 {
			return
		}
		c := &completions[F]{l: l}
		for _, f := range fs {
			remove := f.AddDoneFunc(func() { c.add(f) })
			defer remove()
		}
		if !deadline.IsZero() {
			h := l.CallAt(deadline, c.expire)
			defer h.Cancel()
		}
		defer c.stop()
		for range fs {
			f, ok, err := c.next(co)
			if !ok {
				yield(none, err)
				return
			}
			if !yield(f, f.Err()) {
				return
			}
		}
	}
}

// completions is the queue of one AsCompleted range: asyncio's
// _AsCompletedIterator.
type completions[F future.Awaitable] struct {
	l       *Loop
	done    []F // completed, not yet yielded
	waiter  *future.Future[struct{}]
	expired bool // the deadline passed: later completions are ignored
	stopped bool // the range ended: every callback is ignored
}

// add is a future's done-callback.
func (c *completions[F]) add(f F) {
	if c.stopped || c.expired {
		return
	}
	c.done = append(c.done, f)
	c.wake()
}

// expire is the deadline's callback.
func (c *completions[F]) expire() {
	c.expired = true
	c.wake()
}

func (c *completions[F]) wake() {
	if c.waiter != nil {
		c.waiter.SetResult(struct{}{})
	}
}

func (c *completions[F]) stop() {
	c.stopped = true
	c.done = nil
}

// next returns the next completed future and true, waiting for it if need
// be; or false and the error that ends the range.
func (c *completions[F]) next(co *Coro) (f F, ok bool, err error) {
	for len(c.done) == 0 {
		if c.expired {
			return f, false, ErrTimeout
		}
		c.waiter = future.New[struct{}](c.l)
		_, err := Await(co, c.waiter)
		c.waiter = nil
		if err != nil {
			return f, false, err
		}
	}
	f = c.done[0]
	var none F
	c.done[0] = none
	c.done = c.done[1:]
	return f, true, nil
}
