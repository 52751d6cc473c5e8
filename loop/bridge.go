package loop

import (
	"github.com/aio-go/aio/future"
	"github.com/aio-go/aio/internal/hooks"
)

// SpawnThreadsafe is asyncio's run_coroutine_threadsafe: from any
// goroutine, it spawns body as a task on l and returns a future of its
// outcome, which the calling goroutine can Wait for. A Wait that gives up
// does not cancel the task; cancel it with CancelThreadsafe. It returns an
// error matching ErrClosed if the loop is closed or shutting down.
//
// Safe for concurrent use by multiple goroutines.
func SpawnThreadsafe[T any](l *Loop, body func(co *Coro) (T, error)) (*future.Future[T], error) {
	if body == nil {
		panic("loop: SpawnThreadsafe: nil body")
	}
	f := future.New[T](l)
	_, err := l.CallSoonThreadsafe(func() {
		if f.Done() { // cancelled before the task could start
			return
		}
		t := Spawn(l, body)
		hooks.Future.OnCancel(f, func(_ any, cause error) bool { return t.CancelWithCause(cause) })
		t.AddDoneCallback(func(t *future.Future[T]) {
			v, err := t.Result()
			switch {
			case t.Cancelled():
				hooks.Future.CancelNow(f, err)
			case err != nil:
				f.SetError(err)
			default:
				f.SetResult(v)
			}
		})
	})
	if err != nil {
		return nil, err
	}
	return f, nil
}

// CancelThreadsafe cancels f on its loop from any goroutine: for the futures
// of SpawnThreadsafe (which cancels the task) and RunInExecutor. It returns
// an error matching ErrClosed if the loop is closed or shutting down.
//
// Safe for concurrent use by multiple goroutines.
func CancelThreadsafe(l *Loop, f future.Awaitable) error {
	_, err := l.CallSoonThreadsafe(func() { f.Cancel() })
	return err
}

// FromChan turns the next receive from ch into a future, completed on the
// loop goroutine with the value, or with ErrChanClosed if ch is closed
// first. Cancelling the future stops the receive before Cancel returns: a
// value sent after that stays in the channel. (A value already received
// when Cancel is called, whose delivery to the loop is under way, is
// dropped.) A goroutine waits on ch meanwhile; Close stops it and cancels
// the future with ErrClosed. FromChan panics if ch is nil, whose receive
// would never complete.
//
// Must be called on the loop goroutine.
func FromChan[T any](l *Loop, ch <-chan T) *future.Future[T] {
	if ch == nil {
		panic("loop: FromChan: nil channel (a receive from it never completes)")
	}
	j := l.newJob("FromChan")
	ctx, cancel := j.ctx, j.cancel
	f := future.New[T](l)
	e := l.exec
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		cancel()
		panic(&opError{"FromChan", ErrClosed})
	}
	e.jobs[j] = struct{}{}
	e.wg.Add(1)
	e.mu.Unlock()
	e.inflight++
	exited := make(chan struct{})
	settled := false
	settle := func() bool {
		if settled {
			return false
		}
		settled = true
		e.inflight--
		e.settled(j)
		cancel()
		return true
	}
	j.dropped = func() {
		if settle() {
			hooks.Future.CancelNow(f, ErrClosed)
		}
	}
	hooks.Future.OnCancel(f, func(_ any, cause error) bool {
		if settle() {
			<-exited // the receive is over: nothing more is taken from ch
		}
		return hooks.Future.CancelNow(f, cause)
	})
	go func() {
		defer e.wg.Done()
		defer close(exited)
		select {
		case v, ok := <-ch:
			l.callSoonInternal(func() {
				if !settle() {
					return
				}
				if ok {
					f.SetResult(v)
				} else {
					f.SetError(ErrChanClosed)
				}
			})
		case <-ctx.Done():
		}
	}()
	return f
}
