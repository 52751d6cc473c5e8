// Package loop is aio's event loop: asyncio's BaseEventLoop, tasks,
// combinators, synchronisation primitives and the bridge to goroutines, in
// one import.
//
//	v, err := loop.Run(ctx, func(co *loop.Coro) (int, error) {
//		t := loop.Spawn(co.Loop(), func(co *loop.Coro) (int, error) {
//			if err := loop.Sleep(co, time.Second); err != nil {
//				return 0, err
//			}
//			return 42, nil
//		})
//		return t.Await(co)
//	})
//
// # What to reach for
//
// Running a loop:
//   - [Run] is asyncio.run: a new loop, a main task, and a clean shutdown.
//   - [New], then [Loop.RunForever] or [RunUntilComplete], [Loop.Stop],
//     [Loop.Close], and [Loop.Shutdown] for a graceful end. Options:
//     [WithExceptionHandler], [WithLogger], [WithDebug],
//     [WithSlowCallback], [WithPanicMode], [WithWorkers], [WithTaskCounters],
//     [WithTrace].
//
// Callbacks:
//   - [Loop.CallSoon], [Loop.CallLater], [Loop.CallAt] on the loop
//     goroutine; [Loop.CallSoonThreadsafe] from any goroutine. Each returns
//     a timer.Handle that cancels it.
//   - Futures (package future) complete on the loop and schedule their
//     done-callbacks with CallSoon.
//
// Tasks, asyncio's coroutines:
//   - [Spawn], [SpawnNamed], [Go] (a body that returns only an error);
//     [Await], [Task.Await], [Sleep]; [Task.Cancel], [CurrentTask],
//     [Loop.Tasks]; [Coro.Context] for Go APIs that take a context.
//
// Waiting for several things:
//   - [Gather], [GatherSettled], [Wait], [AsCompleted], [WaitFor],
//     [Shield], and [Group] with [TaskGroup] for structured concurrency.
//   - Deadlines: [WithTimeout], [WithTimeoutAt], [Timeout], [NoTimeout],
//     [ErrTimeout].
//
// Synchronisation between tasks: [Lock], [Event], [Condition],
// [Semaphore], [BoundedSemaphore], [Queue] ([NewQueue], [NewLifoQueue],
// [NewPriorityQueue]).
//
// Goroutines and blocking code: [RunInExecutor] and [ToThread] run
// blocking work off the loop; [SpawnThreadsafe] and [CancelThreadsafe]
// reach the loop from other goroutines; [FromChan] turns a channel receive
// into a future; future.Future's Wait blocks a goroutine (never the loop)
// for a result.
//
// Signals: [Loop.AddSignalHandler] and [Loop.RemoveSignalHandler] run a
// callback on the loop when the process gets a signal.
//
// Errors and introspection: the sentinels ([ErrClosed], [ErrRunning],
// [ErrWrongGoroutine], [ErrOtherLoop], ...), [PanicError],
// [ExceptionContext], [Loop.CallExceptionHandler], [Loop.Stats];
// [Loop.Snapshot] and [Loop.SnapshotThreadsafe] for where each task waits
// and on what (asyncio's "ps" and "pstree"), served over HTTP by package
// loophttp.
//
// # Concurrency
//
// The rules, numbered as the rest of the package refers to them:
//
//  1. One goroutine runs the loop; it alone runs callbacks and task steps.
//  2. A task's body runs on an iter.Pull coroutine, which the loop keeps
//     for a later task once the body returns (up to 256 idle ones, until
//     the loop stops running). Only the goroutine running the loop
//     switches to it, and it switches back only by suspending (Await,
//     Sleep, and the primitives built on them). So exactly one of the loop
//     and one task body runs at any moment.
//  3. Other goroutines reach the loop only through CallSoonThreadsafe (and
//     what is built on it: SpawnThreadsafe, CancelThreadsafe, the executor's
//     results, Future.Wait), Stop and Shutdown. Each method's doc ends with
//     its contract: "Must be called on the loop goroutine." or "Safe for
//     concurrent use by multiple goroutines."
//  4. The loop blocks only in a select over one wake-up channel and one
//     time.Timer, so testing/synctest drives it with virtual time.
//  5. A task that suspends runs the loop itself, on its own goroutine,
//     until its wake-up comes up, and then goes on without switching
//     coroutines; the loop goroutine waits meanwhile in the task's step.
//     The same callbacks and steps run in the same order, one at a time, as
//     rule 1 says; only the goroutine differs. OnLoop reports true there.
//     The loop goroutine takes over again to wait for work, to stop, and
//     to shut down. Debug mode and PanicCrash do not lend, and neither does
//     a loop that owns I/O objects (transports, servers, subprocesses).
//
// What breaking rule 3 costs, and what is caught: a loop-only method
// called from another goroutine while the loop waits idle panics with an
// error matching ErrWrongGoroutine, always (the caller cannot be the loop
// goroutine then). While the loop runs, only debug mode (WithDebug) catches
// it, at the method's entry, before anything changes; outside debug mode
// such a call races with the loop, and the race detector reports it.
// Future.Wait in a callback or in any task body returns
// future.ErrWouldDeadlock instead of blocking the loop, and Run,
// RunForever and RunUntilComplete called from loop code return an error
// matching ErrRunning instead of nesting a loop.
//
// # Lifecycle
//
// A loop is open until Shutdown or Close: it runs and stops any number of
// times. Shutdown (and Run, once its main task is done) drains it:
// CallSoonThreadsafe is refused from then on, what was accepted runs, the
// tasks are cancelled once, and the loop closes when nothing is left, or
// when Shutdown's ctx ends. Close stops unfinished tasks' coroutines,
// cancels the executor's jobs, and discards what is still queued, saying
// so. The phases and their transitions are drawn in lifecycle.go.
//
// # Ordering guarantees
//
//   - One iteration runs exactly the callbacks that were ready when it began;
//     what they schedule runs in the next iteration (asyncio's snapshot).
//   - Callbacks run in the order they were scheduled. Callbacks handed in by
//     one goroutine run in the order it handed them in, whether it used
//     CallSoon or CallSoonThreadsafe.
//   - A timer runs in the first iteration that begins at or after its
//     deadline, after the callbacks that were already ready; timers with
//     equal deadlines run in the order they were scheduled (asyncio leaves
//     that order undefined).
//   - A future's done-callbacks are always scheduled with CallSoon, in
//     registration order, never run inline; a task awaiting a future resumes
//     in the iteration after the future completes.
//   - Stop lets the current iteration finish; RunUntilComplete stops through
//     a done-callback, so its iteration counts match asyncio's.
//   - Lock, Semaphore, Condition and Queue serve their waiters first come,
//     first served. A release wakes the first waiter rather than handing it
//     the lock: the waiter takes it when it resumes, and a newcomer cannot
//     barge in meanwhile. A Semaphore release reserves the unit for the
//     waiter it wakes.
//   - A primitive is bound to a loop the first time a task has to wait on
//     it (zero values are ready to use); a task of another loop that would
//     have to wait gets an error matching ErrOtherLoop.
//
// # Cancellation
//
// Cancelling a task (Task.Cancel) is a request, as in asyncio: the future
// the task awaits is cancelled, or, if there is none, its next Await or
// Sleep returns an error matching future.ErrCancelled. The body decides what
// to do with the error; returning it ends the task cancelled. Every
// suspending call says in its doc what a cancellation leaves behind. Tasks
// that await each other are all woken by a cancellation of one of them.
//
// Cancellation is Go's context cancellation too: a cancellation error
// matches context.Canceled (the spelling here is asyncio's, Cancelled);
// timeouts match context.DeadlineExceeded; Coro.Context is cancelled when
// the task is; Run cancels its main task when its ctx ends.
//
// # Errors and panics
//
// A panic in a callback is recovered, wrapped in a *PanicError with the
// stack, and passed to the exception handler (WithExceptionHandler; the
// default logs through log/slog); the loop keeps running.
// WithPanicMode(PanicCrash) lets it propagate instead. A panic in a task
// body completes the task with a *PanicError. An error nobody retrieved
// from a failed future or task is reported through the exception handler
// when the future is collected or the loop closes; a loop that is
// collected without Close is reported through its logger.
//
// Errors name the operation and wrap a sentinel: "loop: Gather: future
// belongs to another loop" matches ErrOtherLoop. Misuse that is a bug in
// the calling program panics with a "loop:" message naming the method
// (CallSoon on a closed loop panics with an error matching ErrClosed). A
// race with shutdown from another goroutine is not misuse:
// CallSoonThreadsafe returns ErrClosed. Close discards what is still
// queued, and says so; Shutdown runs everything already accepted first.
//
// # Testing
//
// Create the loop inside the testing/synctest bubble that runs it: a loop
// created outside a bubble and run inside one waits on a timer of the real
// clock, and the test hangs. The package cannot detect this.
//
// # Differences from asyncio
//
//   - Callbacks are funcs: arguments are bound with closures (or CallSoonArg),
//     not passed through call_soon. There is no contextvars context per
//     callback.
//   - A Task cannot have an exception thrown into it; cancellation arrives as
//     an error returned by the suspending call.
//   - Equal-deadline timers are FIFO, and Handle.Cancelled stays exact after
//     the handle's slot is reused.
//   - Future.Wait is the blocking, sequential way to get a result from
//     another goroutine (asyncio's concurrent.futures result()); called in
//     loop code it returns future.ErrWouldDeadlock instead of hanging.
//   - Close stops unfinished tasks' coroutines and joins the executor, so no
//     goroutine is left behind; asyncio leaves pending tasks to the garbage
//     collector.
//   - There is no I/O selector yet: blocking I/O runs on the executor
//     (RunInExecutor, ToThread) and comes back as a future.
//   - Timeouts are durations with one convention everywhere: NoTimeout means
//     none, and a duration <= 0 means the deadline has already passed (Wait
//     polls once; WaitFor cancels at once). They fail with ErrTimeout, which
//     also matches context.DeadlineExceeded.
//   - Wait returns its done and pending futures as slices in the order
//     given; AsCompleted is an iter.Seq2 that ends with (nil, err) on a
//     timeout, a cancellation or the loop closing; a TaskGroup's errors are
//     joined with errors.Join.
//   - A cancelled Gather completes once every child has finished, as
//     asyncio's documentation describes; CPython's code completes it at the
//     first child to finish cancelled when return_exceptions is false.
//   - Tasks that await each other are woken by a cancellation (asyncio
//     recurses until the interpreter's stack runs out).
package loop
