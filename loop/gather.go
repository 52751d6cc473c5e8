package loop

import (
	"errors"

	"github.com/aio-go/aio/future"
	"github.com/aio-go/aio/internal/hooks"
)

// Outcome is one child's result in GatherSettled: asyncio's gather with
// return_exceptions=True, where a failed child contributes its error.
type Outcome[T any] struct {
	Value T
	Err   error
}

// Gather is asyncio's gather: a future of the children's results, in the
// order of fs (not the order they complete in). It fails with the first
// child error as soon as that child fails; the other children are not
// cancelled and keep running, and their later errors count as retrieved. A
// cancelled child makes Gather fail with an error matching
// future.ErrCancelled (Gather's future itself is then not Cancelled, as in
// asyncio). A future given twice is one child whose result appears twice.
// If every child is already done, so is the returned future; with no
// children, it is done with an empty slice. The children are futures or
// tasks, passed as they are (Gather(l, t1, t2), or Gather(l, ts...) for a
// slice).
//
// Gather panics if a child is nil. If a child belongs to another loop, the
// returned future has already failed with an error matching ErrOtherLoop,
// and no child is followed.
//
// Cancelling the returned future cancels every child that is not done; it
// completes, with an error matching future.ErrCancelled, once all of them
// have finished.
//
// Must be called on the loop goroutine.
func Gather[T any, F future.Of[T]](l *Loop, fs ...F) *future.Future[[]T] {
	return newGather(l, "Gather", fs, false, func(f *future.Future[T]) T {
		v, _ := f.Result()
		return v
	})
}

// GatherSettled is Gather with return_exceptions=True: it waits for every
// child and returns each one's value or error (a cancelled child's error
// matches future.ErrCancelled). It fails only if it is itself cancelled,
// or, as Gather does, at once if a child belongs to another loop; it panics
// if a child is nil.
//
// Must be called on the loop goroutine.
func GatherSettled[T any, F future.Of[T]](l *Loop, fs ...F) *future.Future[[]Outcome[T]] {
	return newGather(l, "GatherSettled", fs, true, func(f *future.Future[T]) (o Outcome[T]) {
		o.Value, o.Err = f.Result()
		return o
	})
}

// gather follows the children fs and completes out with each child's
// result(f), in the order of fs.
type gather[T, R any] struct {
	fs        []*future.Future[T] // the caller's children, as futures
	left      int                 // entries of fs not done yet
	settle    bool                // wait for every child, even failed ones
	cancelReq bool
	result    func(*future.Future[T]) R
	out       *future.Future[[]R]
}

// newGather starts a gather for the function op and returns its future. A
// future given twice is followed twice (its done-callback counts for both
// entries), which is the same as following it once, except for cancelling
// it: cancel skips repeats.
func newGather[T, R any, F future.Of[T]](l *Loop, op string, children []F, settle bool, result func(*future.Future[T]) R) *future.Future[[]R] {
	fs := make([]*future.Future[T], len(children))
	otherLoop := false
	for i, c := range children {
		f := futureOf[T](c, op)
		otherLoop = otherLoop || f.Scheduler() != future.Scheduler(l)
		fs[i] = f
	}
	if otherLoop {
		out := future.New[[]R](l)
		out.SetError(&opError{op, ErrOtherLoop})
		return out
	}
	g := &gather[T, R]{fs: fs, left: len(fs), settle: settle, result: result}
	g.out = future.New[[]R](l)
	hooks.Future.SetNamer(g.out, g) // for Snapshot: the children a task awaits through out
	hooks.Future.OnCancel(g.out, cancelGather[T, R])
	if g.left == 0 {
		g.finish()
		return g.out
	}
	childDone := g.childDone
	for _, f := range g.fs {
		if f.Done() {
			childDone(f)
		} else {
			hooks.Future.OnDoneCallback(f, childDone)
		}
	}
	return g.out
}

func (g *gather[T, R]) childDone(f *future.Future[T]) {
	g.left--
	if g.out.Done() {
		// Gather already failed: later errors count as retrieved.
		_ = f.Err()
		return
	}
	if !g.settle && !g.cancelReq {
		if err := f.Err(); err != nil {
			g.out.SetError(err)
			return
		}
	}
	if g.left == 0 {
		g.finish()
	}
}

// finish completes the gather once every child is done.
func (g *gather[T, R]) finish() {
	if g.cancelReq {
		// Every child's error counts as retrieved; the first cancellation
		// (with its cause) is the gather's.
		var err error
		for _, f := range g.fs {
			if e := f.Err(); err == nil && e != nil && errors.Is(e, future.ErrCancelled) {
				err = e
			}
		}
		if err == nil {
			err = future.Cancelled(nil)
		}
		g.out.SetError(err)
		return
	}
	res := make([]R, len(g.fs))
	for i, f := range g.fs {
		res[i] = g.result(f)
	}
	g.out.SetResult(res)
}

// cancelGather is the outer future's Cancel, given the gather (its namer).
func cancelGather[T, R any](g any, cause error) bool { return g.(*gather[T, R]).cancel(cause) }

// cancel is the outer future's Cancel: cancel the children and let the
// gather finish when they have.
func (g *gather[T, R]) cancel(cause error) bool {
	cancelled := false
	seen := make(map[*future.Future[T]]struct{}, len(g.fs))
	for _, f := range g.fs {
		if _, repeat := seen[f]; repeat {
			continue
		}
		seen[f] = struct{}{}
		if f.CancelWithCause(cause) {
			cancelled = true
		}
	}
	if cancelled {
		g.cancelReq = true
	}
	return cancelled
}
