package loop

import (
	"context"
	"fmt"
	"time"

	"github.com/aio-go/aio/future"
)

// RunForever is asyncio's run_forever: it runs the loop on the calling
// goroutine until Stop is called. It returns ErrRunning if the loop is
// already running and ErrClosed if it is closed; a failed start changes
// nothing. If Shutdown closes the loop while it runs, RunForever returns nil
// once the loop is closed.
//
// Stop called before RunForever makes it run exactly one iteration.
func (l *Loop) RunForever() error {
	if err := l.start(); err != nil {
		return err
	}
	defer l.finish()
	l.iterate(func() bool {
		return l.stopping.Load() || (l.shutdown.Load() && l.shutdownStep())
	})
	if l.shutdown.Load() && (l.quiescent() || l.abandoned.Load()) {
		l.closeNow()
	}
	return nil
}

// shutdownStep is the loop's part of a Shutdown, after each iteration: it
// cancels the tasks once, then reports whether the work is done.
func (l *Loop) shutdownStep() bool {
	if !l.tasksCancelled {
		l.tasksCancelled = true
		l.cancelTasks()
		return false
	}
	return l.quiescent()
}

func (l *Loop) start() error {
	if l.closed.Load() {
		return &opError{"RunForever", ErrClosed}
	}
	if !l.running.CompareAndSwap(false, true) {
		return &opError{"RunForever", ErrRunning}
	}
	if l.closed.Load() { // closed between the two checks
		l.running.Store(false)
		return &opError{"RunForever", ErrClosed}
	}
	id := goid()
	l.goid.Store(id)
	l.cur.Store(id)
	l.countDebugging(+1)
	l.left = 0 // callbacks a crash left behind run in a new iteration
	return nil
}

func (l *Loop) finish() {
	l.stopIdle()
	l.stopping.Store(false)
	l.countDebugging(-1)
	l.goid.Store(0)
	l.cur.Store(0)
	l.running.Store(false)
	if l.sleep != nil {
		l.sleep.Stop()
	}
	select { // tell a waiting Shutdown that the loop is free to run
	case l.exited <- struct{}{}:
	default:
	}
}

// Stop is asyncio's stop: the loop finishes the iteration it is in (every
// callback that was ready when the iteration began) and RunForever returns.
// Callbacks scheduled meanwhile stay queued for the next run.
//
// Safe for concurrent use by multiple goroutines.
func (l *Loop) Stop() {
	l.stopping.Store(true)
	if l.idle.Load() {
		l.wakeUp()
	}
}

// runOnce is one iteration: asyncio's _run_once.
func (l *Loop) runOnce() {
	l.stats.Iterations++
	if l.timers.Len() > 0 {
		l.timers.Purge()
	}
	if l.ready.Len() == 0 && !l.stopping.Load() {
		l.idleWait()
	}
	l.collect()
	if n := l.ready.Len(); n > 0 {
		if l.cfg.debug {
			l.runDebug(n)
		} else {
			l.left = n
			l.runLeft()
		}
	}
}

// collect moves the callbacks handed in by other goroutines, then the
// timers that are due, to the ready queue.
func (l *Loop) collect() {
	if l.hasRemote.Load() {
		l.drainRemote()
	}
	if l.timers.Len() > 0 {
		now := l.nanotime()
		for {
			s, ok := l.timers.PopDue(now)
			if !ok {
				break
			}
			l.ready.PushTimer(s)
		}
	}
}

// iterate runs iterations until after, called at the end of each, reports
// true. A panic in a callback is recovered here, for many iterations at
// once rather than for each callback (a deferred recover per callback
// would cost more than the callback), and reported; the interrupted
// iteration then goes on with its remaining callbacks. With PanicCrash the
// panic propagates.
func (l *Loop) iterate(after func() bool) {
	for resume := false; !l.iterateRecovering(after, resume); resume = true {
	}
}

func (l *Loop) iterateRecovering(after func() bool, resume bool) (finished bool) {
	if l.cfg.panicMode != PanicCrash {
		defer func() {
			if !finished {
				if r := recover(); r != nil {
					l.callbackPanicked(r, "")
				}
			}
		}()
	}
	if resume { // finish the iteration a panic interrupted
		l.runLeft()
		if after() {
			return true
		}
	}
	for {
		l.runOnce()
		if after() {
			return true
		}
	}
}

// runLeft runs the rest of the current iteration's snapshot. On a lent
// goroutine it stops early when the borrowing task's own wake-up has run.
func (l *Loop) runLeft() {
	for l.left > 0 && !l.resumed {
		l.left--
		l.runNext()
	}
}

// idleWait blocks until a callback is handed in, Stop is called, or the
// earliest timer is due. It waits only on channels and one time.Timer, so
// testing/synctest can drive it with virtual time.
func (l *Loop) idleWait() {
	d := time.Duration(-1)
	if when, ok := l.timers.Next(); ok {
		if d = time.Duration(when - l.nanotime()); d <= 0 {
			return
		}
	}
	l.idle.Store(true)
	if l.hasRemote.Load() || l.stopping.Load() || l.expired.Load() ||
		(l.shutdown.Load() && (!l.tasksCancelled || l.quiescent())) {
		l.idle.Store(false)
		return
	}
	if d < 0 {
		<-l.wake
	} else {
		if l.sleep == nil {
			l.sleep = time.NewTimer(d)
		} else {
			l.sleep.Reset(d)
		}
		select {
		case <-l.wake:
			l.sleep.Stop()
		case <-l.sleep.C:
		}
	}
	l.idle.Store(false)
}

// runNext pops the next ready callback and runs it, unless it was cancelled.
func (l *Loop) runNext() {
	fn, afn, arg := l.ready.Pop()
	if fn != nil {
		l.stats.CallbacksRun++
		fn()
	} else if afn != nil {
		l.stats.CallbacksRun++
		afn(arg)
	}
}

// RunUntilComplete is asyncio's run_until_complete: it runs the loop until
// f is done and returns f's outcome. The loop stops through a done-callback
// on f, so an already-done future still costs one iteration. If the loop is
// stopped before f is done, RunUntilComplete returns an error matching
// ErrStoppedEarly; f is left as it is.
//
// Must be called on the goroutine that will run the loop, while it is not
// running.
func RunUntilComplete[T any](l *Loop, f *future.Future[T]) (T, error) {
	var zero T
	if f.Scheduler() != future.Scheduler(l) {
		return zero, &opError{"RunUntilComplete", ErrOtherLoop}
	}
	if l.closed.Load() {
		return zero, &opError{"RunUntilComplete", ErrClosed}
	}
	if l.running.Load() {
		return zero, &opError{"RunUntilComplete", ErrRunning}
	}
	remove := f.AddDoneCallback(func(*future.Future[T]) { l.Stop() })
	defer remove()
	if err := l.RunForever(); err != nil {
		return zero, err
	}
	if !f.Done() {
		return zero, ErrStoppedEarly
	}
	return f.Result()
}

// Close is asyncio's close: it closes a stopped loop. Callbacks and timers
// still queued are discarded without running; the number is reported
// through the exception handler and counted in Stats().Discarded. Unfinished
// tasks are stopped (their coroutines end), the executor's goroutines are
// joined, and errors nobody retrieved are reported. Close is idempotent and
// returns ErrRunning, changing nothing, while the loop runs.
//
// Must not be called concurrently with running the loop.
func (l *Loop) Close() error {
	if l.running.Load() {
		return &opError{"Close", ErrRunning}
	}
	l.closeNow()
	return nil
}

// closeNow closes the loop; it runs on the loop goroutine (from RunForever
// at the end of a Shutdown) or while the loop is stopped.
func (l *Loop) closeNow() {
	if !l.closing.CompareAndSwap(false, true) {
		return
	}
	l.remoteMu.Lock()
	l.refusing = true
	l.remoteMu.Unlock()

	// Unfinished tasks end first: their bodies may still schedule.
	l.tasks.stopAll(l)
	l.exec.join()

	l.remoteMu.Lock()
	l.sealed = true
	l.remoteMu.Unlock()
	if l.hasRemote.Load() {
		l.drainRemote()
	}
	l.closed.Store(true)
	discarded := l.ready.Clear() + l.timers.Clear()
	if l.sleep != nil {
		l.sleep.Stop()
	}
	l.reportUnretrieved()
	if discarded > 0 {
		l.stats.Discarded += uint64(discarded)
		l.CallExceptionHandler(ExceptionContext{
			Message: fmt.Sprintf("loop: Close discarded %d callbacks and timers that had not run", discarded),
		})
	}
	close(l.done)
}

// Shutdown closes the loop gracefully, as net/http's Server.Shutdown closes
// a server: CallSoonThreadsafe starts returning ErrClosed at once, then the
// loop runs every callback already accepted, cancels its tasks and lets
// them finish, waits for the executor's work, and closes. Timers that are
// still pending then are discarded (and reported, as by Close). So with
// Shutdown, a CallSoonThreadsafe that returned nil always runs exactly once.
//
// If the loop is not running, Shutdown runs it on the calling goroutine
// until that work is done; a Stop does not end that run. If it is running on
// another goroutine, Shutdown asks it to finish and waits; RunForever then
// returns nil. If that goroutine stops the loop first, Shutdown takes over
// and finishes the work itself. If ctx ends first, Shutdown stops waiting:
// the loop is then closed at once (discarding what is left) when it is not
// running, or as soon as it stops when it is; Shutdown returns ctx's error.
//
// Safe for concurrent use by multiple goroutines; called on the loop
// goroutine it returns an error matching ErrRunning.
func (l *Loop) Shutdown(ctx context.Context) error {
	if l.closed.Load() {
		return nil
	}
	if l.running.Load() && l.OnLoop() {
		return &opError{"Shutdown", ErrRunning}
	}
	l.remoteMu.Lock()
	l.refusing = true
	l.remoteMu.Unlock()
	l.shutdown.Store(true)
	for {
		if l.start() == nil {
			return l.drainAndClose(ctx)
		}
		if l.closed.Load() {
			return nil
		}
		// Running on another goroutine: it finishes the work and closes,
		// unless it is stopped first, in which case this goroutine takes
		// over.
		if l.idle.Load() {
			l.wakeUp()
		}
		select {
		case <-l.done:
			return nil
		case <-l.exited:
		case <-ctx.Done():
			l.abandoned.Store(true)
			if l.idle.Load() {
				l.wakeUp()
			}
			if !l.running.Load() && !l.closed.Load() {
				_ = l.Close() // it stopped meanwhile
			}
			return ctx.Err()
		}
	}
}

// drainAndClose is Shutdown on the goroutine that started the loop: it
// cancels the tasks, runs the loop until the work is done (a Stop does not
// end it; ctx does), and closes.
func (l *Loop) drainAndClose(ctx context.Context) error {
	stop := context.AfterFunc(ctx, func() {
		l.expired.Store(true)
		if l.idle.Load() {
			l.wakeUp()
		}
	})
	defer stop()
	func() {
		defer l.finish()
		if !l.tasksCancelled {
			l.tasksCancelled = true
			l.cancelTasks()
		}
		if l.expired.Load() || l.quiescent() {
			return
		}
		l.stopping.Store(false) // a Stop does not end a Shutdown
		l.iterate(func() bool {
			if l.expired.Load() || l.quiescent() {
				return true
			}
			l.stopping.Store(false)
			return false
		})
	}()
	l.closeNow()
	return ctx.Err()
}

// quiescent reports whether nothing is left that Shutdown must wait for.
func (l *Loop) quiescent() bool {
	return l.ready.Len() == 0 && !l.hasRemote.Load() && l.tasks.n == 0 && l.exec.idle()
}
