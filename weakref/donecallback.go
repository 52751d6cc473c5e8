package weakref

import (
	"weak"

	"github.com/aio-go/aio/future"
)

// DoneCallback is Python's add_done_callback(weakref.WeakMethod(recv.method)):
// it registers a done-callback on f that holds recv weakly. When f completes
// and the callback runs, method(recv, f) is called if recv is still alive;
// if recv was collected, the call is skipped and a warning naming f, the
// receiver's type and method is logged (see WithLogger). The returned remove
// func is f's: it unregisters the callback and reports whether it was still
// registered.
//
// The registration keeps recv alive only if method does: pass a method
// expression, (*Handler).OnDone, or a func literal that uses only its
// arguments. A method value (h.OnDone) or a closure that mentions recv holds
// recv strongly for as long as f holds the callback, which defeats the
// point. recv must be a heap object with pointers in it or larger than 16
// bytes: smaller pointer-free objects may share a memory block with others
// and live as long as they do.
//
// DoneCallback panics if recv or method is nil.
//
// Must be called on the loop goroutine.
func DoneCallback[R, T any](f *future.Future[T], recv *R, method func(r *R, f *future.Future[T]), opts ...Option) (remove func() bool) {
	if recv == nil || method == nil {
		panic("weakref: DoneCallback with a nil receiver or method")
	}
	cfg := newConfig(opts)
	wp := weak.Make(recv)
	return f.AddDoneCallback(func(f *future.Future[T]) {
		r := wp.Value()
		if r == nil {
			receiver, callback := describe[R](method)
			cfg.logger.Warn("weakref: done-callback skipped: its receiver was collected",
				"future", f.String(), "receiver", receiver, "callback", callback)
			return
		}
		method(r, f)
	})
}
