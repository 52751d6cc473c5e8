package loop

import (
	"context"
	"errors"
	"fmt"
)

// Run is asyncio.run: it creates a loop with opts, runs body as its main
// task until it completes, and returns the task's result. Then it shuts the
// loop down as Shutdown does: it cancels the tasks still running and lets
// them finish (reporting through the exception handler any that fail with
// something other than a cancellation), waits for the executor's work, and
// closes the loop, so nothing is left behind. While it waits, it logs what
// it waits for (see Shutdown).
//
// When ctx ends, the main task is cancelled with ctx's cause: the body's
// Await and Sleep return an error matching future.ErrCancelled and ctx's
// error, and so does Run if the body returns that error.
//
// Run returns an error matching ErrRunning, running nothing, when it is
// called from a callback or task body (asyncio: "asyncio.run() cannot be
// called from a running event loop").
func Run[T any](ctx context.Context, body func(co *Coro) (T, error), opts ...Option) (T, error) {
	if inLoopCode() {
		var zero T
		return zero, &opError{"Run", fmt.Errorf("%w: called from a running loop's callback or task", ErrRunning)}
	}
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
	if serr := l.shutdown(context.Background(), "Run"); err == nil {
		err = serr
	}
	return res, err
}
