package loop

import (
	"context"
	"errors"
	"sync"

	"github.com/aio-go/aio/future"
	"github.com/aio-go/aio/internal/hooks"
)

// ErrChanClosed is the error of a FromChan future whose channel was closed
// before a value arrived.
var ErrChanClosed = errors.New("loop: channel closed")

// executor runs blocking work off the loop: a pool of at most cfg.workers
// goroutines, started as work arrives and joined when the loop closes.
//
// The queue and the worker count are shared with the workers (under mu);
// inflight is the loop's count of submitted jobs whose results have not been
// delivered yet, and is touched only on the loop goroutine.
type executor struct {
	mu      sync.Mutex
	cond    *sync.Cond
	queue   []*job
	workers int
	idleN   int
	closed  bool
	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup

	inflight int
}

// job is one piece of blocking work and the loop-side delivery of its result.
type job struct {
	ctx     context.Context
	cancel  context.CancelFunc
	run     func(ctx context.Context) // runs on a worker, then hands the result to the loop
	dropped func()                    // runs on the loop if the job never runs
}

func (e *executor) init() {
	if e.cond == nil {
		e.cond = sync.NewCond(&e.mu)
		e.ctx, e.cancel = context.WithCancel(context.Background())
	}
}

// submit queues j, starting a worker if none is idle and the pool is not
// full. It reports false if the executor is closed. The caller has called
// init.
func (e *executor) submit(l *Loop, j *job) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return false
	}
	e.queue = append(e.queue, j)
	if e.idleN > 0 {
		e.cond.Signal()
	}
	// An idle worker counts only until it wakes: start another if the
	// queue outgrows the idle ones.
	if len(e.queue) > e.idleN && e.workers < l.cfg.workers {
		e.workers++
		e.wg.Add(1)
		go e.work()
	}
	return true
}

func (e *executor) work() {
	defer e.wg.Done()
	e.mu.Lock()
	for {
		for len(e.queue) == 0 && !e.closed {
			e.idleN++
			e.cond.Wait()
			e.idleN--
		}
		if len(e.queue) == 0 {
			e.workers--
			e.mu.Unlock()
			return
		}
		j := e.queue[0]
		e.queue[0] = nil
		e.queue = e.queue[1:]
		e.mu.Unlock()
		j.run(j.ctx)
		e.mu.Lock()
	}
}

// join closes the executor (Close): queued jobs are dropped, running jobs'
// contexts are cancelled, and join waits for the workers to return.
func (e *executor) join() {
	e.mu.Lock()
	e.init()
	e.closed = true
	dropped := e.queue
	e.queue = nil
	e.cond.Broadcast()
	e.mu.Unlock()
	e.cancel()
	for _, j := range dropped {
		j.cancel()
		j.dropped()
	}
	e.wg.Wait()
}

// idle reports whether no submitted work is outstanding.
func (e *executor) idle() bool { return e.inflight == 0 }

// RunInExecutor is asyncio's run_in_executor (and, awaited, to_thread): it
// runs fn on one of the loop's executor goroutines (at most WithWorkers of
// them; more work waits in a queue) and returns a future that fn's result
// completes, on the loop goroutine. fn's context is cancelled when the
// future is cancelled or the loop closes; a job cancelled before it starts
// never runs. Close waits for running jobs to return.
//
// RunInExecutor panics with an error matching ErrClosed if the loop is
// closed.
//
// Must be called on the loop goroutine.
func RunInExecutor[T any](l *Loop, fn func(ctx context.Context) (T, error)) *future.Future[T] {
	if fn == nil {
		panic("loop: RunInExecutor(nil)")
	}
	if l.closing.Load() {
		panic(&opError{"RunInExecutor", ErrClosed})
	}
	f := future.New[T](l)
	l.exec.init()
	ctx, cancel := context.WithCancel(l.exec.ctx)
	// The job stays in flight until its worker has reported back (or it
	// was dropped), even if the future was cancelled meanwhile: Shutdown
	// and Run wait for it.
	delivered, reported := false, false
	report := func() {
		if !reported {
			reported = true
			l.exec.inflight--
		}
	}
	deliver := func(v T, err error) {
		report()
		if delivered {
			return
		}
		delivered = true
		cancel()
		if err != nil {
			f.SetError(err)
		} else {
			f.SetResult(v)
		}
	}
	j := &job{ctx: ctx, cancel: cancel}
	j.run = func(ctx context.Context) {
		if ctx.Err() != nil {
			l.callSoonInternal(func() { deliver(*new(T), ctx.Err()) })
			return
		}
		v, err := callBlocking(fn, ctx)
		l.callSoonInternal(func() { deliver(v, err) })
	}
	j.dropped = func() {
		report()
		if !delivered {
			delivered = true
			hooks.Future.CancelNow(f, ErrClosed)
		}
	}
	hooks.Future.OnCancel(f, func(cause error) bool {
		cancel()
		delivered = true
		return hooks.Future.CancelNow(f, cause)
	})
	l.exec.inflight++
	if !l.exec.submit(l, j) {
		l.exec.inflight--
		panic(&opError{"RunInExecutor", ErrClosed})
	}
	return f
}

// callBlocking runs fn, turning a panic into a *PanicError.
func callBlocking[T any](fn func(ctx context.Context) (T, error), ctx context.Context) (v T, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = newPanicError(r)
		}
	}()
	return fn(ctx)
}

// ToThread is asyncio's to_thread: it runs fn on an executor goroutine and
// waits for its result, suspending the task (not the loop).
//
// Cancellation: cancelling the task cancels fn's context and returns an
// error matching future.ErrCancelled at once; fn keeps running until it
// notices its context, and its result is dropped.
func ToThread[T any](co *Coro, fn func(ctx context.Context) (T, error)) (T, error) {
	return Await(co, RunInExecutor(co.Loop(), fn))
}

// SpawnThreadsafe is asyncio's run_coroutine_threadsafe: from any
// goroutine, it spawns body as a task on l and returns a future of its
// outcome, which the calling goroutine can Wait for. A Wait that gives up
// does not cancel the task; cancel it with CancelThreadsafe. It returns an
// error matching ErrClosed if the loop is closed or shutting down.
//
// Safe for concurrent use by multiple goroutines.
func SpawnThreadsafe[T any](l *Loop, body func(co *Coro) (T, error)) (*future.Future[T], error) {
	if body == nil {
		panic("loop: SpawnThreadsafe with a nil body")
	}
	f := future.New[T](l)
	_, err := l.CallSoonThreadsafe(func() {
		if f.Done() { // cancelled before the task could start
			return
		}
		t := Spawn(l, body)
		hooks.Future.OnCancel(f, func(cause error) bool { return t.CancelWithCause(cause) })
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
// dropped.) A goroutine waits on ch meanwhile; Close stops it.
//
// Must be called on the loop goroutine.
func FromChan[T any](l *Loop, ch <-chan T) *future.Future[T] {
	if l.closing.Load() {
		panic(&opError{"FromChan", ErrClosed})
	}
	f := future.New[T](l)
	l.exec.init()
	e := &l.exec
	ctx, cancel := context.WithCancel(e.ctx)
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		cancel()
		panic(&opError{"FromChan", ErrClosed})
	}
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
		cancel()
		return true
	}
	hooks.Future.OnCancel(f, func(cause error) bool {
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
