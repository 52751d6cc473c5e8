package future

import "context"

// Wait is the sequential, await-style way to get f's outcome from a
// goroutine other than the loop's: it blocks the calling goroutine (never the
// loop) until f is done or ctx ends, and returns what Result would. If ctx
// ends first, Wait returns ctx's error and leaves f untouched.
//
// Called in loop code with f pending (a callback on the loop goroutine, or
// any task body), Wait returns ErrWouldDeadlock at once instead of blocking
// the loop: inside a task, use Await. If the loop is closed
// while f is pending, Wait returns the loop's error (matching loop.ErrClosed).
//
// Safe for concurrent use by multiple goroutines.
func (f *Future[T]) Wait(ctx context.Context) (T, error) {
	if f.Done() {
		return f.Result()
	}
	var zero T
	if err := ctx.Err(); err != nil {
		return zero, err
	}
	if f.s.OnLoop() {
		return zero, ErrWouldDeadlock
	}
	done := make(chan struct{})
	var remove func() bool
	if _, err := f.s.CallSoonThreadsafe(func() {
		remove = f.AddDoneCallback(func(*Future[T]) { close(done) })
	}); err != nil {
		return zero, err
	}
	select {
	case <-done:
		return f.Result()
	case <-ctx.Done():
		// Unregister on the loop; if the loop is closed, nothing will run
		// the callback anyway.
		_, _ = f.s.CallSoonThreadsafe(func() { remove() })
		return zero, ctx.Err()
	case <-f.s.Done():
		if f.Done() {
			return f.Result()
		}
		_, err := f.s.CallSoonThreadsafe(func() {})
		return zero, err
	}
}
