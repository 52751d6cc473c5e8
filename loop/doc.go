// Package loop is aio's event loop: asyncio's BaseEventLoop, tasks,
// combinators, synchronisation primitives and the bridge to goroutines, in
// one import.
//
// A Loop runs on one goroutine at a time (RunForever, RunUntilComplete, or
// Run, which is asyncio.run). That goroutine runs every callback scheduled
// with CallSoon, every timer scheduled with CallLater or CallAt, every
// done-callback of a future, and every step of every task; while a task
// waits, it may lend the work to the task's goroutine (rule 5 below).
// Nothing else touches the loop's state, so callbacks and task bodies use it
// without locks.
//
//	v, err := loop.Run(ctx, func(co *loop.Coro) (int, error) {
//		t := loop.Spawn(co.Loop(), func(co *loop.Coro) (int, error) {
//			if err := loop.Sleep(co, time.Second); err != nil {
//				return 0, err
//			}
//			return 42, nil
//		})
//		return loop.Await(co, t.Future)
//	})
//
// # Concurrency
//
// The invariants, numbered as the rest of the package refers to them:
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
//     to shut down. Debug mode and PanicCrash do not lend.
//
// Debug mode (WithDebug) checks rule 3: a loop-only method called from
// another goroutine while the loop runs panics with ErrWrongGoroutine.
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
// suspending call says in its doc what a cancellation leaves behind.
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
// when the future is collected or the loop closes.
//
// Misuse that is a bug in the calling program panics with a "loop:"
// message (CallSoon on a closed loop panics with an error matching
// ErrClosed). A race with shutdown from another goroutine is not misuse:
// CallSoonThreadsafe returns ErrClosed. Close discards what is still
// queued, and says so; Shutdown runs everything already accepted first.
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
//     another goroutine (asyncio's concurrent.futures result()); called on
//     the loop goroutine it returns future.ErrWouldDeadlock instead of
//     hanging.
//   - Close stops unfinished tasks' coroutines and joins the executor, so no
//     goroutine is left behind; asyncio leaves pending tasks to the garbage
//     collector.
//   - There is no I/O selector: blocking I/O runs on the executor
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
package loop
