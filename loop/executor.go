package loop

import (
	"context"
	"fmt"
	"runtime"
	"sort"
	"sync"
	"time"

	"github.com/aio-go/aio/future"
	"github.com/aio-go/aio/internal/hooks"
)

// executor runs blocking work off the loop: a pool of at most cfg.workers
// goroutines, started as work arrives and joined when the loop closes.
//
// The queue, the worker count and the jobs not yet reported back are shared
// with the workers and with Shutdown's goroutine (under mu); inflight is the
// loop's count of submitted jobs whose results have not been delivered yet
// (FromChan's receives included), touched only on the loop goroutine.
type executor struct {
	mu      sync.Mutex
	cond    *sync.Cond
	queue   []*job
	jobs    map[*job]struct{} // submitted and not yet delivered or dropped
	running map[*job]struct{} // run by a worker now
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
	ctx       context.Context
	cancel    context.CancelFunc
	run       func(ctx context.Context) // runs on a worker, then hands the result to the loop
	dropped   func()                    // runs on the loop if the job will never be delivered
	pcs       [6]uintptr                // where it was submitted
	submitted time.Time
}

// newJob begins a job for op, on the loop goroutine: it panics with an
// error matching ErrClosed if the loop is closing, and records where the
// job was submitted (op's caller).
func (l *Loop) newJob(op string) *job {
	l.checkGoroutine(op)
	if l.IsClosing() {
		panic(&opError{op, ErrClosed})
	}
	ctx, cancel := context.WithCancel(l.exec.ctx)
	j := &job{ctx: ctx, cancel: cancel, submitted: time.Now()}
	runtime.Callers(3, j.pcs[:])
	return j
}

func newExecutor() *executor {
	e := &executor{jobs: make(map[*job]struct{}), running: make(map[*job]struct{})}
	e.cond = sync.NewCond(&e.mu)
	e.ctx, e.cancel = context.WithCancel(context.Background())
	return e
}

// submit queues j, starting a worker if none is idle and the pool is not
// full. It reports false if the executor is closed.
func (e *executor) submit(j *job, maxWorkers int) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return false
	}
	e.queue = append(e.queue, j)
	e.jobs[j] = struct{}{}
	if e.idleN > 0 {
		e.cond.Signal()
	}
	// An idle worker counts only until it wakes: start another if the
	// queue outgrows the idle ones.
	if len(e.queue) > e.idleN && e.workers < maxWorkers {
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
		e.running[j] = struct{}{}
		e.mu.Unlock()
		j.run(j.ctx)
		e.mu.Lock()
		delete(e.running, j)
	}
}

// settled forgets j: its result was delivered, or it was dropped.
func (e *executor) settled(j *job) {
	e.mu.Lock()
	delete(e.jobs, j)
	e.mu.Unlock()
}

// close closes the executor: no job is accepted any more, queued jobs never
// run, and the contexts of all jobs are cancelled, so running ones end when
// they notice. It returns the jobs not yet delivered, for the loop to drop
// (Close cancels their futures with ErrClosed).
func (e *executor) close() []*job {
	e.mu.Lock()
	e.closed = true
	e.queue = nil
	left := make([]*job, 0, len(e.jobs))
	for j := range e.jobs {
		left = append(left, j)
	}
	e.cond.Broadcast()
	e.mu.Unlock()
	e.cancel()
	return left
}

// join waits for the executor's goroutines to return, reporting the jobs
// still running after firstReport and then at doubling intervals.
func (e *executor) join(l *Loop) {
	joined := make(chan struct{})
	go func() {
		e.wg.Wait()
		close(joined)
	}()
	delay := firstReport
	for n := 1; ; n++ {
		if n > maxReports {
			<-joined
			return
		}
		t := time.NewTimer(delay)
		select {
		case <-joined:
			t.Stop()
			return
		case <-t.C:
		}
		l.cfg.logger.Warn("loop: Close is waiting for executor jobs that ignore their cancelled context",
			"jobs", e.describeRunning(), "reports", fmt.Sprintf("%d of %d", n, maxReports))
		delay *= 2
	}
}

// idle reports whether no submitted work is outstanding.
func (e *executor) idle() bool { return e.inflight == 0 }

// describe lists the jobs not yet delivered, with where they were
// submitted, or returns "" if there is none. Safe for concurrent use.
func (e *executor) describe() string { return e.list(e.jobs) }

// describeRunning is describe for the jobs a worker runs now.
func (e *executor) describeRunning() string { return e.list(e.running) }

func (e *executor) list(set map[*job]struct{}) string {
	e.mu.Lock()
	js := make([]*job, 0, len(set))
	for j := range set {
		js = append(js, j)
	}
	e.mu.Unlock()
	if len(js) == 0 {
		return ""
	}
	sort.Slice(js, func(a, b int) bool { return js[a].submitted.Before(js[b].submitted) })
	srcs := make([]string, min(len(js), maxListed))
	for i, j := range js[:len(srcs)] {
		srcs[i] = "submitted at " + sourceOf(j.pcs[:]) + ", " + time.Since(j.submitted).Round(time.Millisecond).String() + " ago"
	}
	return counted("executor job", len(js), srcs, "; ")
}

// RunInExecutor is asyncio's run_in_executor (and, awaited, to_thread): it
// runs fn on one of the loop's executor goroutines (at most WithWorkers of
// them; more work waits in a queue) and returns a future that fn's result
// completes, on the loop goroutine. fn's context is cancelled when the
// future is cancelled or the loop closes; a job cancelled before it starts
// never runs. Close cancels the future of a job that has not reported back
// (with ErrClosed) and waits for its goroutine; Shutdown waits for the job.
//
// RunInExecutor panics with an error matching ErrClosed if the loop is
// closing or closed, and if fn is nil.
//
// Must be called on the loop goroutine.
func RunInExecutor[T any](l *Loop, fn func(ctx context.Context) (T, error)) *future.Future[T] {
	if fn == nil {
		panic("loop: RunInExecutor: nil func")
	}
	j := l.newJob("RunInExecutor")
	cancel := j.cancel
	f := future.New[T](l)
	e := l.exec
	// The job stays in flight until its worker has reported back (or it
	// was dropped), even if the future was cancelled meanwhile: Shutdown
	// and Run wait for it.
	delivered, reported := false, false
	report := func() {
		if !reported {
			reported = true
			e.inflight--
			e.settled(j)
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
			cancel()
			hooks.Future.CancelNow(f, ErrClosed)
		}
	}
	hooks.Future.OnCancel(f, func(_ any, cause error) bool {
		cancel()
		delivered = true
		return hooks.Future.CancelNow(f, cause)
	})
	e.inflight++
	if !e.submit(j, l.cfg.workers) {
		e.inflight--
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
// notices its context, and its result is dropped. If the loop closes, the
// error matches ErrClosed.
func ToThread[T any](co *Coro, fn func(ctx context.Context) (T, error)) (T, error) {
	return Await(co, RunInExecutor(co.Loop(), fn))
}
