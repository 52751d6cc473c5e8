package loop

import (
	"fmt"

	"github.com/aio-go/aio/future"
)

// A phase is where a loop is in its life. Phases only move forward, and
// only advance moves them:
//
//	open ──Shutdown, Run's end──▶ draining ──tasks cancelled──▶ finishing ──nothing left──┐
//	  │                               │                            │                      ▼
//	  │                               └──────ctx ended─────────────┴──▶ expired ──▶ closing ──▶ closed
//	  └──────────────────────────────────Close──────────────────────────────────────▲
//
// What each phase means:
//
//   - open: the loop accepts everything; it runs (RunForever) and stops
//     (Stop) any number of times.
//   - draining: a Shutdown (or Run, once its main task is done) has begun.
//     CallSoonThreadsafe returns ErrClosed; the loop runs what it accepted.
//     At the end of the iteration in progress, the loop goroutine cancels
//     every task, once.
//   - finishing: the tasks are cancelled, and a task spawned now is
//     cancelled at once. The loop runs until nothing is left (quiescent:
//     no callback ready or handed in, no task, no executor job), then
//     closes. A Stop does not end the run.
//   - expired: the Shutdown's ctx ended first: the loop stops at the end of
//     the iteration in progress and closes, discarding what is left.
//   - closing: Close has begun: unfinished tasks' coroutines are stopped and
//     the executor is closed. Only the loop's own callbacks (executor
//     results) are still accepted from other goroutines.
//   - closed: nothing is accepted; the Done channel is closed.
//
// The phase is the only lifecycle state. Whether a goroutine runs the loop
// (running) and whether Stop was asked for (stopping) are not phases: a
// loop runs and stops many times while open.
type phase uint32

const (
	open phase = iota
	draining
	finishing
	expired
	closing
	closed
)

var phaseNames = [...]string{"open", "draining", "finishing", "expired", "closing", "closed"}

func (p phase) String() string { return phaseNames[p] }

func (l *Loop) phase() phase { return phase(l.ph.Load()) }

// advance moves the loop to phase p unless it is there or beyond already,
// and reports whether it moved. It holds remoteMu, so that a
// CallSoonThreadsafe that was accepted was accepted before the move.
func (l *Loop) advance(p phase) bool {
	l.remoteMu.Lock()
	defer l.remoteMu.Unlock()
	if l.phase() >= p {
		return false
	}
	l.ph.Store(uint32(p))
	l.remote.Refuse()
	if p == closed {
		l.gate.Or(gateClosed)
	}
	if p == expired && l.isIdle() {
		l.wakeUp()
	}
	return true
}

// RunForever is asyncio's run_forever: it runs the loop on the calling
// goroutine until Stop is called. It returns ErrRunning if the loop is
// already running, or if it is called from loop code (a callback or a task
// body, of this loop or another: asyncio's "Cannot run the event loop while
// another loop is running"), and ErrClosed if the loop is closed; a failed
// start changes nothing. If Shutdown closes the loop while it runs,
// RunForever returns nil once the loop is closed.
//
// Stop called before RunForever makes it run exactly one iteration.
func (l *Loop) RunForever() error { return l.runForever("RunForever") }

func (l *Loop) runForever(op string) error {
	if err := l.start(op); err != nil {
		return err
	}
	defer l.finish()
	l.runUntil(l.mustStop)
	switch l.phase() { // a Shutdown waiting on another goroutine ended the run
	case finishing:
		l.closeNow(true)
	case expired:
		l.closeNow(false)
	}
	return nil
}

// runUntil runs iterations on the calling goroutine, which start has made
// the loop goroutine, until done reports true at the end of one. The
// caller calls finish when it is done with the loop.
func (l *Loop) runUntil(done func() bool) {
	l.begin(false)
	l.drive(false, done)
}

// mustStop is RunForever's end-of-iteration check: Stop was called, or a
// Shutdown under way is over.
func (l *Loop) mustStop() bool {
	switch l.phase() {
	case draining:
		l.cancelTasks("Shutdown")
		return false
	case finishing:
		return l.quiescent()
	case expired:
		return true
	}
	return l.stopping.Load()
}

func (l *Loop) start(op string) error {
	if l.IsClosed() {
		return &opError{op, ErrClosed}
	}
	if inLoopCode() {
		return &opError{op, fmt.Errorf("%w: called from a running loop's callback or task", ErrRunning)}
	}
	if !l.running.CompareAndSwap(false, true) {
		return &opError{op, ErrRunning}
	}
	if l.IsClosed() { // closed between the two checks
		l.running.Store(false)
		return &opError{op, ErrClosed}
	}
	id := goid()
	l.goid.Store(id)
	l.cur.Store(id)
	l.countDebugging(1)
	l.left = 0 // callbacks a crash left behind run in a new iteration
	return nil
}

func (l *Loop) finish() {
	l.countDebugging(-1)
	l.stopIdle()
	l.stopping.Store(false)
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
	if l.isIdle() {
		l.wakeUp()
	}
}

// RunUntilComplete is asyncio's run_until_complete: it runs the loop until
// f is done and returns f's outcome. The loop stops through a done-callback
// on f, so an already-done future still costs one iteration. If the loop is
// stopped before f is done, RunUntilComplete returns an error matching
// ErrStoppedEarly; f is left as it is. It panics if f is nil.
//
// Must be called on the goroutine that will run the loop, while it is not
// running.
func RunUntilComplete[T any](l *Loop, f *future.Future[T]) (T, error) {
	var zero T
	if f == nil {
		panic("loop: RunUntilComplete: nil future")
	}
	if f.Scheduler() != future.Scheduler(l) {
		return zero, &opError{"RunUntilComplete", ErrOtherLoop}
	}
	if l.IsClosed() {
		return zero, &opError{"RunUntilComplete", ErrClosed}
	}
	if l.running.Load() {
		return zero, &opError{"RunUntilComplete", ErrRunning}
	}
	remove := f.AddDoneCallback(func(*future.Future[T]) { l.Stop() })
	defer remove()
	if err := l.runForever("RunUntilComplete"); err != nil {
		return zero, err
	}
	if !f.Done() {
		return zero, ErrStoppedEarly
	}
	return f.Result()
}

// Close is asyncio's close: it closes a stopped loop. Callbacks still
// queued are discarded without running: their number is reported through
// the exception handler (the default handler logs it at Warn level, as an
// error matching ErrDiscarded) and counted in Stats().Discarded. Timers
// still pending are dropped and counted (Stats().DiscardedTimers), not
// reported: a heartbeat or the timer of a finished WaitFor is normal.
//
// Unfinished tasks are stopped (their coroutines end), and the loop's I/O
// objects are closed and their goroutines joined. Executor jobs
// (RunInExecutor, ToThread) that have not reported back have their
// contexts cancelled and their futures cancelled with ErrClosed; Close
// then waits for their goroutines to return, logging at Warn level which
// jobs it waits for, and where they were submitted, after one second and
// then at doubling intervals. Errors nobody retrieved
// are reported. Close is idempotent and returns ErrRunning, changing
// nothing, while the loop runs.
//
// Must not be called concurrently with running the loop.
func (l *Loop) Close() error {
	if l.running.Load() {
		return &opError{"Close", ErrRunning}
	}
	l.closeNow(true)
	return nil
}

// closeNow closes the loop; it runs on the loop goroutine (from RunForever
// at the end of a Shutdown) or while the loop is stopped. With join, it
// waits for the executor's goroutines (Close); without, it only cancels
// them (a Shutdown whose ctx ended).
func (l *Loop) closeNow(join bool) {
	if !l.advance(closing) {
		if join { // the goroutines a Shutdown left behind
			l.exec.join(l)
			l.closeResources(true)
		}
		return
	}
	l.finishShutdown()
	// Unfinished tasks end first: their bodies may still schedule.
	l.tasks.stopAll(l)
	l.closeResources(false)
	for _, j := range l.exec.close() {
		j.dropped()
	}
	if join {
		l.exec.join(l)
		l.closeResources(true)
	}

	l.advance(closed)
	if l.hasRemote.Load() {
		l.drainRemote()
	}
	callbacks := 0
	for l.ready.Len() > 0 {
		if fn, afn, arg := l.ready.Pop(); fn != nil || afn != nil && !loopsOwn(arg) {
			callbacks++
		}
	}
	timers := l.timers.Clear()
	if l.sleep != nil {
		l.sleep.Stop()
	}
	l.reportUnretrieved()
	l.stats.Discarded += uint64(callbacks + timers)
	l.stats.DiscardedTimers += uint64(timers)
	if callbacks > 0 {
		l.CallExceptionHandler(ExceptionContext{
			Message: fmt.Sprintf("loop: Close discarded %d callbacks that had not run", callbacks),
			Err:     ErrDiscarded,
		})
	}
	l.leak.closed()
	close(l.done)
}
