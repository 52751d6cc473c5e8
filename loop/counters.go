package loop

// Per-task counters and runtime/trace regions.
//
// Both are off by default, and then cost one predictable branch per step
// (l.obs, a byte of the loop's); WithTrace costs a check per iteration
// while no trace is recorded. They are kept on the side that drives a
// task's step (run, lend), not in the task body:
//
//   - A step is the time between run's resumption of the body and the
//     body's next suspension or end. A task that suspends while it runs the
//     loop (lend.go) goes on with the same step when its wake-up comes up;
//     the time it spent running the loop is not its running time.
//   - The time between two steps is waiting, then scheduled. The loop learns
//     that a task is ready when the iteration that runs its wake-up begins,
//     so scheduled counts from then (or from the suspension, for Sleep(0) and
//     the first step), and the time before, waiting.

import (
	"context"
	"runtime/trace"
	"time"
)

// The bits of l.obs: what makes a step do more than resume the body.
const (
	obsCounters uint8 = 1 << iota // WithTaskCounters
	obsTrace                      // WithTrace
	obsInspect                    // a task body asked for a snapshot (snapshot.go)
)

// WithTaskCounters turns per-task counters on or off (tokio-console's
// per-task times): each task counts its steps, and the time it spends
// running, scheduled (ready, in the ready queue) and waiting. Snapshot
// reports them (TaskInfo.Counters). They cost two clock reads per step;
// off, the default, one branch.
func WithTaskCounters(on bool) Option {
	return optionFunc(func(c *config) { c.counters = on })
}

// WithTrace turns runtime/trace integration on or off: while a trace is
// being recorded (trace.Start, or net/http/pprof's /debug/pprof/trace), each
// task is a trace task named "aio.task" (logged with its name), each of its
// steps a region "aio.step" in it, and each callback a region
// "aio.callback", so that "go tool trace" shows the loop's work. While no
// trace is recorded it costs a check per iteration; off, the default,
// nothing more.
func WithTrace(on bool) Option {
	return optionFunc(func(c *config) { c.trace = on })
}

// TaskCounters are a task's counters (WithTaskCounters).
type TaskCounters struct {
	Steps     uint64        `json:"steps"`
	Running   time.Duration `json:"running_ns"`   // in its steps, its body running
	Scheduled time.Duration `json:"scheduled_ns"` // ready, waiting for its step
	Waiting   time.Duration `json:"waiting_ns"`   // suspended, not ready
}

// taskObs is a task's counters and trace task.
type taskObs struct {
	steps                       uint64
	running, scheduled, waiting int64
	resumed                     int64 // when the current step began (nanotime)
	since                       int64 // when the task last suspended
	woke                        int64 // when the borrower's own wake-up ran (lend.go)

	ctx    context.Context // of the trace task, if one was made
	ttask  *trace.Task
	region *trace.Region
}

func (o *taskObs) counters() TaskCounters {
	return TaskCounters{
		Steps:     o.steps,
		Running:   time.Duration(o.running),
		Scheduled: time.Duration(o.scheduled),
		Waiting:   time.Duration(o.waiting),
	}
}

// obsOf returns t's counters, or nil.
func (t *task) obsOf() *taskObs {
	if t.rare == nil {
		return nil
	}
	return t.rare.obs
}

func (t *task) ensureObs() *taskObs {
	x := t.ext()
	if x.obs == nil {
		x.obs = new(taskObs)
	}
	return x.obs
}

// observeFlags returns l.obs's bits for the configuration. obsTrace is
// set only while a trace is recorded (observeIteration).
func (c *config) observeFlags() uint8 {
	if c.counters {
		return obsCounters
	}
	return 0
}

// observeIteration is begin's call with WithTaskCounters or WithTrace: it
// notes when the iteration begins, and whether a trace is being recorded,
// so that steps and callbacks cost nothing more while none is.
func (l *Loop) observeIteration() {
	if l.obs&obsCounters != 0 {
		l.iterStart = l.nanotime()
	}
	if l.cfg.trace {
		if trace.IsEnabled() {
			l.obs |= obsTrace
		} else {
			l.obs &^= obsTrace
		}
	}
}

// countReady counts the time t spent between its last suspension and now,
// when a step of t begins.
func (l *Loop) countReady(t *task, o *taskObs, now int64) {
	first := o.steps == 0
	o.steps++
	switch {
	case first:
		o.scheduled += now - max(l.iterStart, 0)
	case t.waiter == nil:
		o.scheduled += now - o.since
	default:
		r := max(o.since, l.iterStart)
		o.waiting += r - o.since
		o.scheduled += now - r
	}
}

// beforeStep is run's call before it resumes t's body.
func (l *Loop) beforeStep(t *task) {
	if l.obs&(obsCounters|obsTrace) == 0 {
		return
	}
	o := t.ensureObs()
	if l.obs&obsCounters != 0 {
		now := l.nanotime()
		l.countReady(t, o, now)
		o.resumed = now
	}
	if l.obs&obsTrace != 0 {
		if o.ctx == nil {
			o.ctx, o.ttask = trace.NewTask(context.Background(), "aio.task")
			trace.Log(o.ctx, "name", t.Name())
		}
		o.region = trace.StartRegion(o.ctx, "aio.step")
	}
}

// afterStep is run's call after t's body suspended or returned: it serves
// a snapshot the body asked for (snapshot.go), and closes the step's
// counters and region. It returns the step's parked result.
func (l *Loop) afterStep(t *task, parked bool) bool {
	if l.obs&obsInspect != 0 {
		parked = l.serveRequest(t, parked)
	}
	o := t.obsOf()
	if o == nil {
		return parked
	}
	if l.obs&obsCounters != 0 {
		now := l.nanotime()
		o.running += now - o.resumed
		o.since = now
	}
	if o.region != nil {
		o.region.End()
		o.region = nil
	}
	if t.returned && o.ttask != nil {
		o.ttask.End()
		o.ttask = nil
	}
	return parked
}

// lentStart is lend's call as t, waiting, begins to run the loop; it
// returns the time, for lentEnd.
func (l *Loop) lentStart(t *task) int64 {
	if l.obs&obsCounters == 0 {
		return 0
	}
	now := l.nanotime()
	t.ensureObs().since = now
	return now
}

// lentEnd is lend's call as t stops running the loop: that time was not
// t's running time.
func (l *Loop) lentEnd(t *task, start int64) {
	if l.obs&obsCounters == 0 {
		return
	}
	o := t.ensureObs()
	end := o.woke // the borrower's own wake-up has just run (borrowedStep)
	if !l.resumed {
		end = l.nanotime()
	}
	o.running -= end - start
}

// borrowedStep is run's call for the borrower's own wake-up: the task's
// step goes on (lend.go, rule 3).
func (l *Loop) borrowedStep(t *task) {
	if l.obs&obsCounters != 0 {
		o, now := t.ensureObs(), l.nanotime()
		l.countReady(t, o, now)
		o.woke = now
	}
}

// runObserved runs one callback in debug mode or while WithTrace records:
// in a trace region then.
func (l *Loop) runObserved(fn func(), afn func(any), arg any) {
	if l.obs&obsTrace != 0 && (fn != nil || afn != nil) {
		defer trace.StartRegion(context.Background(), "aio.callback").End()
	}
	switch {
	case l.cfg.debug:
		l.runTimed(fn, afn, arg)
	case fn != nil:
		l.stats.CallbacksRun++
		fn()
	case afn != nil:
		l.stats.CallbacksRun++
		afn(arg)
	}
}
