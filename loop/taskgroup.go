package loop

import (
	"errors"

	"github.com/aio-go/aio/future"
	"github.com/aio-go/aio/internal/hooks"
)

// TaskGroup is asyncio's TaskGroup: structured concurrency for tasks. Group
// runs a body that starts child tasks in the group (SpawnIn, Go) and
// returns only when every child has finished, so no child outlives the
// block that started it.
//
// The first child that fails (with an error, not by being cancelled)
// aborts the group: every unfinished child is cancelled, and so is the task
// running Group, so that the body stops waiting on whatever it waits on.
// Group then waits for the children and returns their errors joined with
// errors.Join, in the order they failed, followed by the body's own error
// if it returned one that is not a cancellation. Cancellations of children
// are never among the errors. The cancellation Group made of its task is
// withdrawn: the task's Cancelling count is afterwards what it was before.
//
// A TaskGroup is only valid inside its Group call; its methods must be
// called on the loop goroutine.
type TaskGroup struct {
	l        *Loop
	parent   AnyTask
	children []future.Awaitable // in the order spawned; nil once done
	live     int                // children not done
	errs     []error
	waiter   *future.Future[struct{}] // Group waits on it for the last child

	exiting  bool // the body has returned
	finished bool // Group has returned (or the body panicked)
	aborting bool
	// The group cancelled its parent task, and must withdraw that
	// cancellation (Uncancel) at the end.
	parentCancelRequested bool
}

// Group is asyncio's "async with TaskGroup() as g": it runs body with a new
// TaskGroup in the task co belongs to, then waits until every child of the
// group has finished, and returns:
//
//   - the children's errors and body's error joined (see TaskGroup), if
//     there is any;
//   - otherwise, a cancellation error if the task was cancelled from
//     outside the group (while the body ran or while Group waited), after
//     cancelling the children;
//   - otherwise nil.
//
// If body returns an error, the group aborts as if a child had failed
// (without cancelling the task). When Group returns errors while the task
// also has a cancellation pending from outside, the task's next suspension
// reports that cancellation (asyncio 3.13 re-cancels the task).
//
// A child that panics fails with a *PanicError like any other error. If
// body panics, the children are cancelled and the panic goes on without
// waiting for them; errors they fail with afterwards go to the loop's
// exception handler.
//
// Group panics if called outside the body of the task co belongs to.
//
// Cancellation: cancelling the task while Group waits for the children
// cancels every child, waits for them all, and then returns the
// cancellation (or the errors, which take precedence). If the loop closes,
// Group returns an error matching ErrClosed joined with the errors so far,
// without waiting.
//
// Must be called on the loop goroutine.
func Group(co *Coro, body func(g *TaskGroup) error) error {
	l := co.Loop()
	parent := CurrentTask(l)
	if parent == nil {
		panic("loop: Group: called outside a task")
	}
	g := &TaskGroup{l: l, parent: parent}
	returned := false
	defer func() {
		if !returned {
			// body panicked: nothing will wait for the children.
			g.finished = true
			g.abort()
		}
	}()
	err := body(g)
	returned = true
	return g.exit(co, err)
}

// SpawnIn is asyncio's TaskGroup.create_task: Spawn, for a child of the
// group g. The group waits for the child, and the child failing aborts the
// group.
//
// SpawnIn panics if body is nil, or if the group no longer accepts
// children: once it is aborting (a child or the body failed, or the task running Group was
// cancelled while Group waited), or finished (Group returned, or the body
// returned and every child is done). While Group waits for the children
// and nothing failed, children may still spawn siblings.
//
// Must be called on the loop goroutine.
func SpawnIn[T any](g *TaskGroup, body func(co *Coro) (T, error)) *Task[T] {
	if body == nil {
		panic("loop: SpawnIn: nil body")
	}
	return spawnIn[T](g, "SpawnIn", body)
}

// Go is SpawnIn for a child that returns only an error, as errgroup's Go
// takes one (asyncio's TaskGroup.create_task of a coroutine that returns
// None; see the package function Go). It returns the child, whose result
// is struct{}.
//
// Go panics as SpawnIn does: if body is nil, or if the group no longer
// accepts children.
//
// Must be called on the loop goroutine.
func (g *TaskGroup) Go(body func(co *Coro) error) *Task[struct{}] {
	if body == nil {
		panic("loop: TaskGroup.Go: nil body")
	}
	return spawnIn[struct{}](g, "TaskGroup.Go", body)
}

// spawnIn is SpawnIn for the method op.
func spawnIn[T any](g *TaskGroup, op string, body any) *Task[T] {
	switch {
	case g.finished || g.exiting && g.live == 0:
		panic("loop: " + op + ": the task group is finished")
	case g.aborting:
		panic("loop: " + op + ": the task group is shutting down")
	}
	t := spawn[T](g.l, "", body)
	i := len(g.children)
	g.children = append(g.children, t)
	g.live++
	hooks.Future.OnDone(t.Future, func() { g.childDone(i, t) })
	return t
}

// childDone is every child's done-callback: asyncio's _on_task_done.
func (g *TaskGroup) childDone(i int, t future.Awaitable) {
	g.children[i] = nil
	g.live--
	if g.live == 0 && g.waiter != nil {
		g.waiter.SetResult(struct{}{})
	}
	if t.Cancelled() {
		return
	}
	err := t.Err()
	if err == nil {
		return
	}
	if g.finished {
		g.l.CallExceptionHandler(ExceptionContext{
			Message: "loop: task group child failed after its group ended",
			Err:     err,
			Task:    t,
		})
		return
	}
	g.errs = append(g.errs, err)
	if !g.aborting && !g.parentCancelRequested {
		g.abort()
		g.parentCancelRequested = true
		g.parent.Cancel()
	}
}

// abort cancels every child that is not done.
func (g *TaskGroup) abort() {
	g.aborting = true
	for _, t := range g.children {
		if t != nil && !t.Done() {
			t.Cancel()
		}
	}
}

// exit waits for the children once body has returned err: asyncio's
// __aexit__.
func (g *TaskGroup) exit(co *Coro, err error) error {
	g.exiting = true
	var propagate error // a cancellation of the parent from outside
	if err != nil {
		if errors.Is(err, future.ErrCancelled) {
			propagate, err = err, nil // err is now only the body's own error
		}
		if !g.aborting {
			g.abort()
		}
	}
	for g.live > 0 {
		g.waiter = future.New[struct{}](g.l)
		x := co.t.ext()
		x.on = g
		_, werr := Await(co, g.waiter)
		x.on = nil
		g.waiter = nil
		switch {
		case werr == nil:
		case errors.Is(werr, future.ErrCancelled):
			// Ours (a child failed) or from outside while the group was
			// healthy: then it is propagated, after the children.
			if !g.aborting {
				propagate = werr
				g.abort()
			}
		default:
			// The loop is closing: the children will not finish.
			g.finished = true
			g.abort()
			if err != nil {
				g.errs = append(g.errs, err)
			}
			return errors.Join(append(g.errs, werr)...)
		}
	}
	g.finished = true

	if g.parentCancelRequested && g.parent.Uncancel() == 0 {
		// Only our own cancellation was pending: it does not propagate.
		propagate = nil
	}
	if propagate != nil && len(g.errs) == 0 {
		return propagate
	}
	if err != nil {
		g.errs = append(g.errs, err)
	}
	if len(g.errs) == 0 {
		return nil
	}
	if g.parent.Cancelling() > 0 {
		// A cancellation from outside is pending, and the errors replace
		// it here: make sure the task's next suspension reports it.
		g.parent.Uncancel()
		g.parent.Cancel()
	}
	return errors.Join(g.errs...)
}
