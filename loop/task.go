package loop

// The task invariant (asyncio's, at the top of its Task class): a task is
// either waiting on a future (waiter is set, and the future will wake it
// through a done-callback) and not scheduled, or scheduled (its step is in
// the ready queue, or it is running) and not waiting. A done task is
// neither. The task's state field says which.
//
// A task's body runs on an iter.Pull coroutine (coroutine.go): a goroutine
// of its own while it runs, which only the goroutine running the loop
// switches to (step) and which switches back only by yielding (Await,
// Sleep), or, while it waits, runs the loop itself (lend.go). So exactly
// one of the loop and a task body runs at a time, and task bodies touch
// loop state without locks.

import (
	"context"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/aio-go/aio/future"
	"github.com/aio-go/aio/internal/hooks"
)

// taskCounter numbers tasks across loops ("Task-1", "Task-2", ...), as
// asyncio's process-global counter does.
var taskCounter atomic.Uint64

// canceller is a pending future a task awaits, whatever its type.
type canceller interface {
	CancelWithCause(cause error) bool
	Done() bool
}

// taskState is where a task is in its life. Only the task's own code
// (Spawn, run, suspend, finish, and stopTask at Close) changes it:
//
//	pending ──first step──▶ running ──Await, Sleep──▶ waiting ──wake-up──▶ running
//	   │                     │  ▲                        │
//	   │                     │  └────────────────────────┘
//	   │                     └──body returns──▶ done
//	   ├──cancelled before its first step──▶ done
//	   └─────────────── Close (from any state but done) ──▶ stopping ──body returns──▶ done
//
// What each state means:
//
//   - pending: spawned; its first step is scheduled; the body has not begun.
//   - running: the body runs, between a step and its next suspension.
//   - waiting: the body is suspended: on waiter, whose done-callback is
//     the task's wake-up, or with its step scheduled (Sleep(0), or a
//     cancellation its waiter refused). A wake-up that finds the task
//     waiting on a future that is not done is stale and is skipped.
//   - stopping: Close stopped the task's coroutine: the body runs to its
//     end, and every suspension fails with ErrClosed at once.
//   - done: the body has returned, or never ran; the task's future is
//     completed.
//
// A cancellation request (mustCancel, cause, cancels) is not a state: it
// is delivered at the task's next resumption or suspension.
type taskState uint8

const (
	taskPending taskState = iota
	taskRunning
	taskWaiting
	taskStopping
	taskDone
)

// finisher is the typed side of a task, seen from the untyped side.
type finisher interface {
	start(yield func(struct{}) bool) // run the body, on the task's coroutine
	finish()                         // complete the task's future from what the body returned
	self() any                       // the task's *future.Future[T], to catch a task awaiting itself
	Done() bool
	String() string
}

// task is the untyped part of a Task. The fields each step reads come
// first: a program may step a hundred thousand tasks in turn, and each
// step then finds its task in no cache.
type task struct {
	l  *Loop
	co Coro
	c  coroutine // from the first step until the body returns

	state      taskState
	mustCancel bool  // deliver a cancellation at the next resumption
	returned   bool  // the body has returned, on its coroutine
	detached   bool  // woken without its waiter: a stale wake-up may come
	cancelling bool  // cancel is cancelling the waiter: a cycle leads back here
	panicked   bool  // the body panicked: the owner's error is the *PanicError
	stopped    bool  // Close stopped the task: ErrClosed is the default cause
	again      bool  // the body yielded in Sleep(0): runStep schedules its next step
	cancels    int32 // asyncio's cancelling() counter
	index      int32 // position in the loop's task set, -1 once removed

	waiter canceller // the future the task waits on, if any
	step   func()    // runStep(t), bound at the first Await: the wake-up done-callback

	owner finisher // the *Task[T]
	id    uint64   // for the name "Task-<id>"
	rare  *taskRare
	body  any // until the first step: a func(*Coro) (T, error), or a Go body
}

// taskRare holds the fields most tasks never need, to keep a task small:
// a program may have a hundred thousand of them.
type taskRare struct {
	name      string // given to SpawnNamed, or formatted on demand
	cause     error  // the cause of the cancellation requested, if one was given
	ctx       context.Context
	ctxCancel context.CancelCauseFunc
	goid      uint64 // the task's goroutine: in debug mode, or once it runs the loop

	// What the task waits on, for a Snapshot: the primitive or group
	// (waiters.go, taskgroup.go), or a Sleep's deadline.
	on    waitable
	until time.Time
	obs   *taskObs // WithTaskCounters, WithTrace (counters.go)
}

func (t *task) ext() *taskRare {
	if t.rare == nil {
		t.rare = new(taskRare)
	}
	return t.rare
}

// cancelCause returns the cause of the cancellation requested: the one
// given, or ErrClosed for a task that Close stopped, or nil.
func (t *task) cancelCause() error {
	if t.rare != nil && t.rare.cause != nil {
		return t.rare.cause
	}
	if t.stopped {
		return ErrClosed
	}
	return nil
}

// setCause records the cause of the cancellation requested; a nil cause
// costs no taskRare.
func (t *task) setCause(cause error) {
	if cause != nil || t.rare != nil {
		t.ext().cause = cause
	}
}

// ctxCancel cancels the task's context, if it has one.
func (t *task) cancelCtx(cause error) {
	if t.rare != nil && t.rare.ctxCancel != nil {
		t.rare.ctxCancel(cause)
	}
}

// Coro is the running task's capability: the argument of a task body, with
// which it awaits (Await, Sleep) and reaches its loop. It belongs to the
// task's body; it must not be shared with other goroutines or used after the
// body returns.
type Coro struct {
	t     *task
	yield func(struct{}) bool
}

// Loop returns the loop running the task.
func (co *Coro) Loop() *Loop { return co.t.l }

// Context returns a context that is cancelled when the task is cancelled
// (with the cancellation as its cause) or done. It is created on first use,
// and created anew after Uncancel has withdrawn every cancellation request
// (a Timeout or TaskGroup that cancelled the task for its own purposes).
func (co *Coro) Context() context.Context {
	x := co.t.ext()
	if x.ctx == nil {
		x.ctx, x.ctxCancel = context.WithCancelCause(context.Background())
		if t := co.t; t.mustCancel || t.cancels > 0 {
			x.ctxCancel(future.Cancelled(t.cancelCause()))
		}
	}
	return x.ctx
}

// Task is a coroutine scheduled on a loop: asyncio's Task. Its body runs in
// steps on the loop goroutine, suspending at each Await or Sleep. A Task is
// also a future of its result: it embeds *future.Future[T], so Done,
// Result, AddDoneCallback and Wait work on it, and it is awaitable with
// Await(co, t.Future).
//
// Cancelling the task's future (t.Future.Cancel) is the same as t.Cancel.
// Only the task completes its future: SetResult and SetError on it panic
// while the task runs (asyncio's Task.set_result raises).
type Task[T any] struct {
	task // first: the fields a step reads open the allocation
	*future.Future[T]
	result T
	err    error
	fut    future.Future[T] // what Future points to: one allocation for both
}

// AnyTask is a task of any result type, as CurrentTask and Loop.Tasks
// return them.
type AnyTask interface {
	Name() string
	Cancel() bool
	CancelWithCause(cause error) bool
	Cancelling() int
	Uncancel() int
	Done() bool
	Cancelled() bool
	String() string
}

var _ AnyTask = (*Task[int])(nil)

// Spawn is asyncio's create_task: it schedules body to run as a task on l
// and returns the task. The body's first step runs in a later iteration,
// after the callbacks already scheduled; Spawn returns at once. The task
// completes with what body returns: a result, an error, or, when the error
// matches future.ErrCancelled, cancelled. A panic in body completes the task
// with a *PanicError.
//
// Spawn panics with an error matching ErrClosed if the loop is closed.
// While Shutdown or Run finishes the loop, after it has cancelled the
// tasks, a spawned task is cancelled at once (its body never runs).
//
// Must be called on the loop goroutine.
func Spawn[T any](l *Loop, body func(co *Coro) (T, error)) *Task[T] {
	return SpawnNamed(l, "", body)
}

// SpawnNamed is Spawn with a name for the task; an empty name means
// "Task-N", numbered across the process as asyncio numbers them.
//
// Must be called on the loop goroutine.
func SpawnNamed[T any](l *Loop, name string, body func(co *Coro) (T, error)) *Task[T] {
	if body == nil {
		panic("loop: Spawn: nil body")
	}
	return spawn[T](l, name, body)
}

// spawn is SpawnNamed for a body that is a func(*Coro) (T, error), or, for
// a Task[struct{}], a func(*Coro) error (Go).
func spawn[T any](l *Loop, name string, body any) *Task[T] {
	l.checkGoroutine("Spawn")
	if l.IsClosing() {
		panic(&opError{"Spawn", ErrClosed})
	}
	tk := new(Task[T])
	hooks.Future.Init(&tk.fut, l)
	tk.Future = &tk.fut
	t := &tk.task
	t.l, t.owner, t.body = l, tk, body
	if name != "" {
		t.ext().name = name
	} else {
		t.id = taskCounter.Add(1)
	}
	t.co.t = t
	hooks.Future.SetNamer(tk.Future, t)
	hooks.Future.OnCancel(tk.Future, cancelTask)
	hooks.Future.Own(tk.Future)
	l.tasks.add(t)
	if l.running.Load() {
		t.c = l.coroutine()
	}
	l.CallSoonArg(runStep, t)
	if l.phase() >= finishing {
		// Shutdown or Run is finishing the loop: a task spawned now is
		// cancelled at once, so that the work it waits for has an end.
		t.cancel(nil)
	}
	return tk
}

// start runs the task's body on a coroutine (coroutine.go).
func (tk *Task[T]) start(yield func(struct{}) bool) {
	t := &tk.task
	t.co.yield = yield
	body := t.body
	t.body = nil
	if t.l.cfg.debug {
		t.ext().goid = goid()
		t.l.cur.Store(t.rare.goid)
	}
	defer func() {
		if r := recover(); r != nil {
			tk.err, t.panicked = newPanicError(r), true
		}
		t.returned = true
	}()
	switch body := body.(type) {
	case func(co *Coro) (T, error):
		tk.result, tk.err = body(&t.co)
	case func(co *Coro) error:
		tk.err = body(&t.co)
	}
}

// wakeUp returns the task's wake-up done-callback, bound on first use.
func (t *task) wakeUp() func() {
	if t.step == nil {
		t.step = func() { runStep(t) }
	}
	return t.step
}

// Name returns the task's name.
func (t *task) Name() string {
	x := t.ext()
	if x.name == "" {
		x.name = "Task-" + strconv.FormatUint(t.id, 10)
	}
	return x.name
}

// Cancel is asyncio's Task.cancel: it asks the task to cancel. If the task
// waits on a future, that future is cancelled now and the task sees the
// cancellation when it resumes; otherwise the next Await or Sleep the task
// reaches returns an error matching future.ErrCancelled (a task cancelled
// before its first step never runs its body). The body may handle the
// error and go on: a cancellation is a request. Cancel reports false if the
// task is done; otherwise true, and it counts the request (Cancelling).
//
// Must be called on the loop goroutine.
func (t *Task[T]) Cancel() bool {
	t.l.checkGoroutine("Task.Cancel")
	return t.cancel(nil)
}

// CancelWithCause is Cancel with a cause, asyncio's cancel(msg): the
// cancellation error then matches cause as well as future.ErrCancelled.
//
// Must be called on the loop goroutine.
func (t *Task[T]) CancelWithCause(cause error) bool {
	t.l.checkGoroutine("Task.CancelWithCause")
	return t.cancel(cause)
}

// cancelTask is the Cancel of a task's future, given the task (its namer).
func cancelTask(t any, cause error) bool { return t.(*task).cancel(cause) }

// cancel is asyncio's Task.cancel: cancel the future the task waits on, or
// have the next resumption deliver the cancellation.
func (t *task) cancel(cause error) bool {
	if t.owner.Done() {
		return false
	}
	t.cancels++
	t.cancelCtx(future.Cancelled(cause))
	if t.cancelling {
		// Tasks that await each other: cancelling this task's waiter led
		// back here. This future cannot be cancelled now; the task that
		// awaits it wakes up itself (below) and breaks the cycle.
		return false
	}
	if w := t.waiter; w != nil {
		t.cancelling = true
		ok := w.CancelWithCause(cause)
		t.cancelling = false
		if ok {
			// The waiter's cancellation reaches the task when it resumes.
			return true
		}
	}
	t.mustCancel = true
	t.setCause(cause)
	if w := t.waiter; w != nil && !w.Done() && t.state == taskWaiting {
		// The waiter refused and will not wake the task: wake it now, so
		// that it sees the cancellation. Its stale wake-up, if the waiter
		// ever completes, is skipped (run).
		t.waiter, t.detached = nil, true
		t.l.CallSoonArg(runStep, t)
	}
	return true
}

// Cancelling is asyncio's Task.cancelling: the number of cancellation
// requests not withdrawn by Uncancel.
//
// Must be called on the loop goroutine.
func (t *task) Cancelling() int {
	t.l.checkGoroutine("Task.Cancelling")
	return int(t.cancels)
}

// Uncancel is asyncio's Task.uncancel: it withdraws one cancellation
// request and returns the number left. When none is left, a cancellation
// not yet delivered is dropped. Structured constructs (Timeout, TaskGroup)
// use it to tell their own cancellations from others.
//
// Must be called on the loop goroutine.
func (t *task) Uncancel() int {
	t.l.checkGoroutine("Task.Uncancel")
	if t.cancels > 0 {
		t.cancels--
		if t.cancels == 0 {
			t.mustCancel = false
			if x := t.rare; x != nil && x.ctx != nil && x.ctx.Err() != nil && !t.owner.Done() {
				// Every request was withdrawn: the next Context is a new one.
				x.ctx, x.ctxCancel = nil, nil
			}
		}
	}
	return int(t.cancels)
}

func (t *Task[T]) self() any { return t.Future }

// String describes the task: name and state.
func (t *Task[T]) String() string {
	return "Task<" + t.Name() + " " + t.state() + ">"
}

func (t *Task[T]) state() string {
	switch {
	case t.Future.Cancelled():
		return "cancelled"
	case t.Future.Done():
		if t.Future.Err() != nil {
			return "failed"
		}
		return "done"
	case t.waiter != nil:
		return "waiting"
	}
	return "pending"
}

// CurrentTask is asyncio's current_task: the task whose body is running on
// l, or nil in a plain callback or outside the loop.
//
// Must be called on the loop goroutine.
func CurrentTask(l *Loop) AnyTask {
	l.checkGoroutine("CurrentTask")
	if l.curTask == nil {
		return nil
	}
	return l.curTask.owner.(AnyTask)
}

// Tasks is asyncio's all_tasks: the tasks of l that are not done, in the
// order they were spawned.
//
// Must be called on the loop goroutine.
func (l *Loop) Tasks() []AnyTask {
	l.checkGoroutine("Tasks")
	out := make([]AnyTask, 0, l.tasks.n)
	for _, t := range l.tasks.ts {
		if t != nil {
			out = append(out, t.owner.(AnyTask))
		}
	}
	return out
}

// What Await and Sleep return in a task whose coroutine the closing loop
// stopped.
var (
	errStopped      = &opError{"Await", ErrClosed}
	errSleepStopped = &opError{"Sleep", ErrClosed}
)

// taskSet is the loop's unfinished tasks, in the order they were spawned.
// The loop holds them strongly: a parked coroutine is a GC root anyway.
type taskSet struct {
	ts []*task // nil where a task was removed
	n  int
}

func (s *taskSet) add(t *task) {
	t.index = int32(len(s.ts))
	s.ts = append(s.ts, t)
	s.n++
}

func (s *taskSet) remove(t *task) {
	if t.index < 0 {
		return
	}
	s.ts[t.index] = nil
	t.index = -1
	s.n--
	if len(s.ts) > 64 && len(s.ts) > 2*s.n {
		k := 0
		for _, u := range s.ts {
			if u != nil {
				u.index = int32(k)
				s.ts[k] = u
				k++
			}
		}
		clear(s.ts[k:])
		s.ts = s.ts[:k]
	}
}

// live returns the unfinished tasks.
func (s *taskSet) live() []*task {
	out := make([]*task, 0, s.n)
	for _, t := range s.ts {
		if t != nil {
			out = append(out, t)
		}
	}
	return out
}

// stopAll ends every unfinished task's coroutine (Close): the body's
// pending Await or Sleep returns an error matching ErrClosed, and so does
// every later one, without suspending; the body runs to its end now. The
// task ends cancelled, or failed if the body panicked.
func (s *taskSet) stopAll(l *Loop) {
	for _, t := range s.live() {
		l.stopTask(t)
	}
}

func (l *Loop) stopTask(t *task) {
	if t.state != taskDone {
		t.body = nil
		if c := t.c; c.stop != nil {
			prev := l.curTask
			l.curTask, t.state = t, taskStopping
			c.stop()
			l.curTask = prev
			t.c = coroutine{}
		}
		t.state = taskDone
	}
	t.mustCancel = true
	t.stopped = true
	t.owner.finish()
}
