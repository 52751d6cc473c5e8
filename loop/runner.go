package loop

import (
	"context"
	"errors"

	"github.com/aio-go/aio/future"
)

// Run is asyncio.run: it creates a loop with opts, runs body as its main
// task until it completes, and returns the task's result. Then it cleans
// up: it cancels the tasks still running and lets them finish (reporting
// through the exception handler any that fail with something other than a
// cancellation), waits for the executor's work, and closes the loop, so
// nothing is left behind.
//
// When ctx ends, the main task is cancelled with ctx's cause: the body's
// Await and Sleep return an error matching future.ErrCancelled and ctx's
// error, and so does Run if the body returns that error.
//
// Run must not be called from a loop goroutine.
func Run[T any](ctx context.Context, body func(co *Coro) (T, error), opts ...Option) (T, error) {
	l := New(opts...)
	main := SpawnNamed(l, "main", body)
	if ctx.Err() != nil {
		main.CancelWithCause(context.Cause(ctx)) // the body never runs
	}
	stop := context.AfterFunc(ctx, func() {
		l.callSoonInternal(func() { main.CancelWithCause(context.Cause(ctx)) })
	})
	res, err := RunUntilComplete(l, main.Future)
	stop()
	if errors.Is(err, ErrStoppedEarly) {
		// Stopped from inside: the main task is abandoned like the others.
		main.Cancel()
	}
	l.finishTasks()
	if cerr := l.Close(); err == nil {
		err = cerr
	}
	return res, err
}

// finishTasks cancels the remaining tasks and runs the loop until they, the
// executor's work and the callbacks already scheduled are done, reporting
// tasks that failed otherwise than by cancellation (asyncio.run's
// _cancel_all_tasks). Timers still pending are left to Close.
func (l *Loop) finishTasks() {
	left := l.tasks.live()
	l.tasksCancelled = true
	for _, t := range left {
		t.cancel(nil)
	}
	l.runUntil(l.quiescent)
	for _, t := range left {
		err := t.owner.(interface{ Err() error }).Err()
		if err != nil && !errors.Is(err, future.ErrCancelled) {
			l.CallExceptionHandler(ExceptionContext{
				Message: "loop: task failed during Run shutdown",
				Err:     err,
				Task:    t.owner,
			})
		}
	}
}

// runUntil runs the loop on the calling goroutine until done reports true
// after an iteration, or the loop is stopped.
func (l *Loop) runUntil(done func() bool) {
	if done() || l.start() != nil {
		return
	}
	defer l.finish()
	l.iterate(func() bool { return l.stopping.Load() || done() })
}
