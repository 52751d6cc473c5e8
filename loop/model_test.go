package loop_test

// Model-based testing of the scheduler. A program (schedProgram) is a set of
// actors, each a list of actions; an actor runs as a callback or as a task
// body. The same program runs on the real loop, inside a synctest bubble,
// and on schedModel, a small reference written from ASYNCIO_SEMANTICS §1-§3
// alone: a FIFO slice for the ready queue, a slice of timers taken by
// (when, seq), virtual time that jumps to the next timer when nothing is
// ready, futures with callback lists, tasks as explicit state machines. Both
// record a trace of (iteration, time, event); the traces must be equal.

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aio-go/aio/future"
	"github.com/aio-go/aio/loop"
	"github.com/aio-go/aio/timer"
)

// The actions of a program. Operand a selects a handle (one of the last
// 16), a future, task or remove func (modulo the number that exist when the
// action runs); b selects an actor or a delay; flag bit 1 selects a task's
// future instead of a plain one (addDone, probeFuture), and flag bit 2 makes
// a task return the error of a cancelled wait instead of going on.
const (
	sopSoon         = iota // CallSoon(actor b)
	sopLater               // CallLater(delay a, actor b)
	sopThreadsafe          // CallSoonThreadsafe(actor b) on the loop goroutine
	sopThreadsafeGo        // CallSoonThreadsafe(actor b) from a goroutine, awaited
	sopCancel              // handle a: Cancel
	sopProbe               // handle a: Pending, Cancelled
	sopStop                // Stop
	sopNewFuture           // future.New
	sopSetResult           // future a: SetResult
	sopCancelFuture        // future a: Cancel
	sopAddDone             // future or task a: AddDoneCallback(actor b)
	sopRemoveDone          // remove func a
	sopSpawn               // Spawn(actor b)
	sopCancelTask          // task a: Cancel
	sopPanic               // panic (callbacks only)
	sopSleep               // Sleep(delay b) (tasks only)
	sopAwaitFuture         // Await(future a) (tasks only)
	sopAwaitTask           // Await(task a), a task spawned no later (tasks only)
	sopProbeFuture         // future or task a: state
	sopBurst               // 8(a+1) callbacks of actor b: CallSoon, CallLater or CallSoonThreadsafe by flag
	sopCancelStride        // Cancel every (b%3+1)th of the last 8(a+1) handles
	numSops
)

var sopNames = [numSops]string{"soon", "later", "threadsafe", "threadsafeGo", "cancel", "probe",
	"stop", "newFuture", "setResult", "cancelFuture", "addDone", "removeDone", "spawn",
	"cancelTask", "panic", "sleep", "awaitFuture", "awaitTask", "probeFuture", "burst", "cancelStride"}

// sopWeights is how often the generator picks each action.
var sopWeights = [numSops]int{14, 12, 5, 2, 8, 3, 2, 6, 6, 3, 6, 3, 6, 4, 1, 8, 5, 4, 2, 2, 2}

const ms = time.Millisecond

var (
	// schedDelays are the delays of CallLater and Sleep: past, zero and
	// repeated ones, so that deadlines tie.
	schedDelays = [...]time.Duration{-ms, 0, 0, ms, ms, 2 * ms, 3 * ms, 10 * ms}
	// arrivalSteps are the gaps between arrivals.
	arrivalSteps = [...]time.Duration{0, ms / 2, ms, 2 * ms, 3 * ms, 7 * ms}
)

// watchdogDelay is when a run stops if nothing stopped it before: a timer
// that keeps the loop from waiting forever.
const watchdogDelay = time.Hour

// maxDrainRuns bounds the runs after a program's own, which go on until one
// finds nothing to do (see idleRun). The budget bounds them anyway: a run
// that is not idle runs a callback or a stale stop, and without budget left
// no more of those are scheduled.
const maxDrainRuns = 1000

// idleRun reports whether a run's events say it did nothing: the loop
// waited for its watchdog and returned, so the program is exhausted.
func idleRun(events []schedEvent) bool {
	return len(events) == 2 && events[0].What == "watchdog"
}

// arrivalSerial numbers the callbacks handed in by the arrival goroutine.
const arrivalSerial = 1_000_000

// Where an action runs.
const (
	ctxTop      = iota // on the test goroutine, between runs
	ctxCallback        // in a callback
	ctxTask            // in a task body
)

type schedAction struct{ op, a, b, flag int }

func (a schedAction) String() string {
	return fmt.Sprintf("%s(%d,%d,%d)", sopNames[a.op], a.a, a.b, a.flag)
}

// schedRun is one RunForever, or RunUntilComplete of a future (or a task's
// future when task is set) when until is true, after the top-level actions
// pre.
type schedRun struct {
	pre         []schedAction
	until, task bool
	target      int
}

// arrival is a callback of actor handed in by another goroutine at time
// at, once the loop is idle (see startArrivals); with actor -1, a Stop.
type arrival struct {
	at    time.Duration
	actor int
}

// schedProgram is a program: actors, the runs that drive the loop, and the
// callbacks other goroutines hand in.
type schedProgram struct {
	budget       int // actions the program may execute
	debug, crash bool
	actors       [][]schedAction
	runs         []schedRun
	arrivals     []arrival
}

func (p *schedProgram) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "budget=%d debug=%v crash=%v\n", p.budget, p.debug, p.crash)
	for i, acts := range p.actors {
		fmt.Fprintf(&b, "actor %d: %v\n", i, acts)
	}
	for i, r := range p.runs {
		fmt.Fprintf(&b, "run %d: pre=%v until=%v task=%v target=%d\n", i, r.pre, r.until, r.task, r.target)
	}
	for _, a := range p.arrivals {
		fmt.Fprintf(&b, "arrival at %v: actor %d (-1: Stop)\n", a.at, a.actor)
	}
	return b.String()
}

// chooser is the generator's source of choices: fuzz bytes or a seeded PRNG.
type chooser interface{ intn(n int) int }

type byteChooser struct{ b []byte }

func (c *byteChooser) intn(n int) int {
	if len(c.b) == 0 || n <= 1 {
		return 0
	}
	v := int(c.b[0])
	c.b = c.b[1:]
	return v % n
}

type randChooser struct{ r *rand.Rand }

func (c randChooser) intn(n int) int {
	if n <= 1 {
		return 0
	}
	return c.r.IntN(n)
}

func genAction(c chooser) schedAction {
	total := 0
	for _, w := range sopWeights {
		total += w
	}
	k, op := c.intn(total), 0
	for k >= sopWeights[op] {
		k -= sopWeights[op]
		op++
	}
	return schedAction{op: op, a: c.intn(16), b: c.intn(16), flag: c.intn(4)}
}

func genActions(c chooser, n int) []schedAction {
	acts := make([]schedAction, n)
	for i := range acts {
		acts[i] = genAction(c)
	}
	return acts
}

// genProgram builds a bounded program: at most 8 actors of 6 actions, 4
// runs and 3 arrivals.
func genProgram(c chooser) *schedProgram {
	p := &schedProgram{budget: 30 + c.intn(471)}
	p.debug = c.intn(8) == 0
	p.crash = !p.debug && c.intn(8) == 0
	p.actors = make([][]schedAction, 1+c.intn(8))
	for i := range p.actors {
		p.actors[i] = genActions(c, c.intn(7))
	}
	p.runs = make([]schedRun, 1+c.intn(4))
	for i := range p.runs {
		n := c.intn(4)
		if i == 0 {
			n++
		}
		p.runs[i] = schedRun{pre: genActions(c, n), until: c.intn(3) == 0, task: c.intn(2) == 0, target: c.intn(8)}
	}
	var at time.Duration
	for range c.intn(4) {
		at += arrivalSteps[c.intn(len(arrivalSteps))]
		actor := c.intn(len(p.actors) + 1)
		if actor == len(p.actors) {
			actor = -1
		}
		p.arrivals = append(p.arrivals, arrival{at, actor})
	}
	return p
}

// applicable reports whether op can run where it is: waits only in tasks,
// panics only in callbacks of a loop that recovers them.
func applicable(op, where int, crash bool) bool {
	switch op {
	case sopSleep, sopAwaitFuture, sopAwaitTask:
		return where == ctxTask
	case sopPanic:
		return where == ctxCallback && !crash
	}
	return true
}

// targets reports whether what action a refers to exists.
func targets(a schedAction, handles, futures, tasks, removes int) bool {
	switch a.op {
	case sopCancel, sopProbe, sopCancelStride:
		return handles > 0
	case sopSetResult, sopCancelFuture, sopAwaitFuture:
		return futures > 0
	case sopAddDone, sopProbeFuture:
		if a.flag&1 != 0 {
			return tasks > 0
		}
		return futures > 0
	case sopRemoveDone:
		return removes > 0
	case sopCancelTask:
		return tasks > 0
	}
	return true
}

// recent maps a to one of the last 16 of n handles, where cancelling and
// probing find callbacks still pending.
func recent(a, n int) int { return n - 1 - a%min(n, 16) }

// burstSize is how many callbacks a burst schedules with budget left.
func burstSize(a schedAction, budget int) int { return 1 + min(8*(a.a+1)-1, budget) }

// Codes of outcomes in the trace: a result value (>= 0) or one of these.
const (
	codeCancelled    = -1
	codeSelf         = -2
	codeStoppedEarly = -3
	codeOther        = -5
	codePending      = -9
)

type schedEvent struct {
	Iter uint64
	At   time.Duration
	What string
	A, B int
}

func (e schedEvent) String() string {
	return fmt.Sprintf("it%d %v %s %d %d", e.Iter, e.At, e.What, e.A, e.B)
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// FuzzScheduler decodes the input into a program (see genProgram) and
// checks that the loop and the model trace it identically.
func FuzzScheduler(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{9, 0, 0, 3, 0, 5, 0, 0, 1, 2, 0, 20, 1, 1, 0, 40, 3, 7, 2, 0, 1, 2, 60, 1, 1, 1})
	for i := range 8 {
		r := rand.New(rand.NewPCG(7, uint64(i)))
		b := make([]byte, 40+r.IntN(200))
		for j := range b {
			b[j] = byte(r.UintN(256))
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkProgram(t, genProgram(&byteChooser{b: data}))
	})
}

// TestSchedulerModel runs 10,000 seeded random programs on the loop and on
// the model (500 with -short), executing at least a million operations
// (actions and callback runs) in all.
func TestSchedulerModel(t *testing.T) {
	const seed = 20240601
	n, minOps := 10_000, 1_000_000
	if testing.Short() {
		n, minOps = 500, 0
	}
	total := 0
	for i := range n {
		p := genProgram(randChooser{rand.New(rand.NewPCG(seed, uint64(i)))})
		total += checkProgram(t, p)
		if t.Failed() {
			t.Fatalf("program %d (rand.NewPCG(%d, %d)) diverged", i, seed, i)
		}
	}
	t.Logf("%d programs, %d operations", n, total)
	assert.GreaterOrEqual(t, total, minOps)
}

// checkProgram runs p on the model and the loop, compares the traces and
// returns the number of operations executed.
func checkProgram(t *testing.T, p *schedProgram) int {
	want := runModel(p)
	got, ops := runReal(t, p)
	if !slices.Equal(want, got) {
		i := 0
		for i < len(want) && i < len(got) && want[i] == got[i] {
			i++
		}
		require.Equal(t, want, got, "program:\n%sfirst divergence at event %d: want %v, got %v",
			p, i, want[i:min(i+3, len(want))], got[i:min(i+3, len(got))])
	}
	return ops
}

var errClosing = errors.New("model test: loop closing")

// schedRig runs a program on the real loop.
type schedRig struct {
	p       *schedProgram
	l       *loop.Loop
	base    time.Time
	trace   []schedEvent
	handles []timer.Handle
	futures []*future.Future[int]
	tasks   []*loop.Task[int]
	removes []func() bool
	budget  int
	ops     int
	serial  int
	closing bool
}

// runReal runs p on a new loop in a synctest bubble: each run after its
// top-level actions and under a watchdog timer, then more runs until the
// program is exhausted, then the final state, then Close. It returns the trace and the number of operations executed.
func runReal(t *testing.T, p *schedProgram) (trace []schedEvent, ops int) {
	synctest.Test(t, func(t *testing.T) {
		r := &schedRig{p: p, budget: p.budget}
		opts := []loop.Option{
			loop.WithExceptionHandler(r.exception),
			loop.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))),
			loop.WithDebug(p.debug),
		}
		if p.crash {
			opts = append(opts, loop.WithPanicMode(loop.PanicCrash))
		}
		r.l = loop.New(opts...)
		r.base = time.Now()
		arrived := r.startArrivals()
		for i, run := range p.runs {
			r.run(i, run)
		}
		exhausted := false
		for i := len(p.runs); i < len(p.runs)+maxDrainRuns && !exhausted; i++ {
			n := len(r.trace)
			r.run(i, schedRun{})
			exhausted = idleRun(r.trace[n:])
		}
		assert.True(t, exhausted, "the program did not run out of work")
		r.final()
		r.closing = true
		<-arrived
		require.NoError(t, r.l.Close())
		trace, ops = r.trace, r.ops
	})
	return trace, ops
}

func (r *schedRig) emit(what string, a, b int) {
	r.trace = append(r.trace, schedEvent{r.l.Stats().Iterations, r.l.Now().Sub(r.base), what, a, b})
}

func (r *schedRig) exception(loop.ExceptionContext) {
	if !r.closing {
		r.emit("exception", 0, 0)
	}
}

// startArrivals hands in the program's arrivals from another goroutine. It
// waits for each one's time, then with synctest.Wait for the loop to be
// idle (blocked waiting), so that the loop takes it in its wait.
func (r *schedRig) startArrivals() <-chan struct{} {
	done := make(chan struct{})
	l, base := r.l, r.base
	go func() {
		defer close(done)
		for i, a := range r.p.arrivals {
			time.Sleep(time.Until(base.Add(a.at)))
			synctest.Wait()
			if a.actor < 0 {
				l.Stop()
			} else {
				_, _ = l.CallSoonThreadsafe(r.callback(arrivalSerial+i, a.actor))
			}
		}
	}()
	return done
}

func (r *schedRig) run(i int, run schedRun) {
	_ = r.exec(run.pre, nil, ctxTop, -1)
	wd := r.l.CallLater(watchdogDelay, func() {
		r.emit("watchdog", i, 0)
		r.l.Stop()
	})
	var f *future.Future[int]
	switch {
	case run.until && run.task && len(r.tasks) > 0:
		f = r.tasks[run.target%len(r.tasks)].Future
	case run.until && !run.task && len(r.futures) > 0:
		f = r.futures[run.target%len(r.futures)]
	}
	if f != nil {
		v, err := loop.RunUntilComplete(r.l, f)
		r.emit("runUntilComplete", i, resultCode(v, err))
	} else {
		err := r.l.RunForever()
		r.emit("runForever", i, resultCode(0, err))
	}
	wd.Cancel()
}

func (r *schedRig) final() {
	for i, f := range r.futures {
		r.emit("future", i, futureCode(f))
	}
	for i, tk := range r.tasks {
		r.emit("task", i, futureCode(tk.Future))
		r.emit("cancelling", i, tk.Cancelling())
	}
	for i, h := range r.handles {
		r.emit("handle", i, b2i(h.Pending())+2*b2i(h.Cancelled()))
	}
	s := r.l.Stats()
	r.emit("stats", int(s.Iterations), int(s.CallbacksRun))
	r.emit("tasks", s.Tasks, 0)
}

func resultCode(v int, err error) int {
	switch {
	case err == nil:
		return v
	case errors.Is(err, loop.ErrAwaitSelf):
		return codeSelf
	case errors.Is(err, loop.ErrStoppedEarly):
		return codeStoppedEarly
	case errors.Is(err, future.ErrCancelled):
		return codeCancelled
	}
	return codeOther
}

func futureCode(f *future.Future[int]) int {
	if !f.Done() {
		return codePending
	}
	return resultCode(f.Result())
}

func (r *schedRig) callback(serial, actor int) func() {
	return func() {
		if r.closing {
			return
		}
		r.ops++
		r.emit("run", serial, actor)
		_ = r.exec(r.p.actors[actor], nil, ctxCallback, -1)
	}
}

func (r *schedRig) body(idx, actor int) func(co *loop.Coro) (int, error) {
	return func(co *loop.Coro) (int, error) {
		if r.closing {
			return 0, errClosing
		}
		r.ops++
		r.emit("taskStart", idx, actor)
		if err := r.exec(r.p.actors[actor], co, ctxTask, idx); err != nil {
			if !r.closing {
				r.emit("taskReturnError", idx, 0)
			}
			return 0, err
		}
		r.emit("taskEnd", idx, 0)
		return 1000 + idx, nil
	}
}

// exec runs actions where they are (ctxTop, ctxCallback, or ctxTask with co
// the task's and self its index). It returns a task's cancellation error
// when the task returns it.
func (r *schedRig) exec(acts []schedAction, co *loop.Coro, where, self int) error {
	for _, a := range acts {
		if r.closing {
			return errClosing
		}
		if r.budget <= 0 || !applicable(a.op, where, r.p.crash) ||
			!targets(a, len(r.handles), len(r.futures), len(r.tasks), len(r.removes)) {
			continue
		}
		r.budget--
		r.ops++
		actor := a.b % len(r.p.actors)
		var err error
		switch a.op {
		case sopSoon:
			r.serial++
			r.handles = append(r.handles, r.l.CallSoon(r.callback(r.serial, actor)))
		case sopLater:
			r.serial++
			d := schedDelays[a.a%len(schedDelays)]
			r.handles = append(r.handles, r.l.CallLater(d, r.callback(r.serial, actor)))
		case sopThreadsafe:
			r.serial++
			h, _ := r.l.CallSoonThreadsafe(r.callback(r.serial, actor))
			r.handles = append(r.handles, h)
		case sopThreadsafeGo:
			r.serial++
			fn, ch := r.callback(r.serial, actor), make(chan timer.Handle)
			go func() {
				h, _ := r.l.CallSoonThreadsafe(fn)
				ch <- h
			}()
			r.handles = append(r.handles, <-ch)
		case sopCancel:
			i := recent(a.a, len(r.handles))
			r.emit("cancel", i, b2i(r.handles[i].Cancel()))
		case sopProbe:
			i := recent(a.a, len(r.handles))
			r.emit("probe", i, b2i(r.handles[i].Pending())+2*b2i(r.handles[i].Cancelled()))
		case sopStop:
			r.emit("stop", 0, 0)
			r.l.Stop()
		case sopNewFuture:
			r.futures = append(r.futures, future.New[int](r.l))
		case sopSetResult:
			i := a.a % len(r.futures)
			r.emit("setResult", i, b2i(r.futures[i].SetResult(r.ops)))
		case sopCancelFuture:
			i := a.a % len(r.futures)
			r.emit("cancelFuture", i, b2i(r.futures[i].Cancel()))
		case sopAddDone:
			r.serial++
			fn := r.callback(r.serial, actor)
			r.removes = append(r.removes, r.target(a).AddDoneCallback(func(*future.Future[int]) { fn() }))
		case sopRemoveDone:
			i := a.a % len(r.removes)
			r.emit("removeDone", i, b2i(r.removes[i]()))
		case sopSpawn:
			r.tasks = append(r.tasks, loop.Spawn(r.l, r.body(len(r.tasks), actor)))
		case sopCancelTask:
			i := a.a % len(r.tasks)
			r.emit("cancelTask", i, b2i(r.tasks[i].Cancel()))
		case sopPanic:
			r.emit("panic", 0, 0)
			panic("model test: panic action")
		case sopSleep:
			i := a.b % len(schedDelays)
			err = loop.Sleep(co, schedDelays[i])
			if !r.closing {
				r.emit("slept", i, resultCode(0, err))
			}
		case sopAwaitFuture:
			i := a.a % len(r.futures)
			var v int
			v, err = loop.Await(co, r.futures[i])
			if !r.closing {
				r.emit("awaitedFuture", i, resultCode(v, err))
			}
		case sopAwaitTask:
			i := a.a % (self + 1)
			var v int
			v, err = r.tasks[i].Await(co)
			if !r.closing {
				r.emit("awaitedTask", i, resultCode(v, err))
			}
		case sopProbeFuture:
			r.emit("probeFuture", a.a, futureCode(r.target(a)))
		case sopBurst:
			n := burstSize(a, r.budget)
			r.budget, r.ops = r.budget-(n-1), r.ops+(n-1)
			for j := range n {
				r.serial++
				fn := r.callback(r.serial, actor)
				switch a.flag {
				case 0:
					r.handles = append(r.handles, r.l.CallSoon(fn))
				case 1:
					r.handles = append(r.handles, r.l.CallLater(schedDelays[(a.b+j)%len(schedDelays)], fn))
				default:
					h, _ := r.l.CallSoonThreadsafe(fn)
					r.handles = append(r.handles, h)
				}
			}
		case sopCancelStride:
			n, ok := len(r.handles), 0
			for j := n - 1; j >= max(0, n-8*(a.a+1)); j -= a.b%3 + 1 {
				ok += b2i(r.handles[j].Cancel())
			}
			r.emit("cancelStride", n, ok)
		}
		if r.closing {
			return errClosing
		}
		if err != nil && a.flag&2 != 0 && errors.Is(err, future.ErrCancelled) {
			return err
		}
	}
	return nil
}

func (r *schedRig) target(a schedAction) *future.Future[int] {
	if a.flag&1 != 0 {
		return r.tasks[a.a%len(r.tasks)].Future
	}
	return r.futures[a.a%len(r.futures)]
}

// States of a model callback (what a handle reports).
const (
	hPending = iota
	hCancelled
	hDone
)

// States of a model future.
const (
	fPending = iota
	fDone
	fCancelled
)

// Kinds of model callbacks.
const (
	eCall  = iota // a program callback: trace, run the actor
	eStep         // a task step
	eStop         // RunUntilComplete's done-callback: Stop
	eWatch        // the watchdog timer: trace, Stop
	eSleep        // Sleep's timer: complete the sleep's future
)

// mEntry is a model callback: in the ready queue, among the timers (when,
// seq), or run or cancelled. The handles of the program point to them.
type mEntry struct {
	kind          int
	serial, actor int
	task          *mTask
	fut           *mFuture
	state         int
	when          int64
	seq           int
}

// mCallback is a done-callback registered on a future: a copy of e is
// scheduled when the future completes, unless it was removed.
type mCallback struct {
	e       mEntry
	f       *mFuture
	removed bool
}

// mFuture is a future: its state, value and pending done-callbacks.
type mFuture struct {
	state int
	value int
	cbs   []*mCallback
	task  *mTask // the task whose future this is
}

// mTask is a task as a state machine: pc is the next action of its actor,
// wait the action it is suspended in (and waitIdx what that refers to).
type mTask struct {
	idx, actor int
	fut        *mFuture
	started    bool
	finished   bool
	mustCancel bool
	returned   bool // the body returned a cancellation error
	cancels    int
	waiter     *mFuture
	pc         int
	wait       schedAction
	waitIdx    int
	sleepFut   *mFuture
	sleepTimer *mEntry
}

// schedModel is the reference: asyncio's loop, futures and tasks in plain
// Go. As in asyncio, CallSoonThreadsafe appends to the ready queue itself;
// ran counts the callbacks run (Stats.CallbacksRun) and live the tasks not
// done (Stats.Tasks).
type schedModel struct {
	p        *schedProgram
	iter     uint64
	now      int64
	seq      int
	ready    []*mEntry
	timers   []*mEntry
	stopping bool
	arrived  int
	handles  []*mEntry
	futures  []*mFuture
	tasks    []*mTask
	removes  []*mCallback
	budget   int
	ops      int
	serial   int
	ran      int
	live     int
	trace    []schedEvent
}

// runModel runs p on the model as runReal runs it on the loop.
func runModel(p *schedProgram) []schedEvent {
	m := &schedModel{p: p, budget: p.budget}
	for i, run := range p.runs {
		m.run(i, run)
	}
	exhausted := false
	for i := len(p.runs); i < len(p.runs)+maxDrainRuns && !exhausted; i++ {
		n := len(m.trace)
		m.run(i, schedRun{})
		exhausted = idleRun(m.trace[n:])
	}
	m.final()
	return m.trace
}

// run is schedRig.run: top-level actions, then RunForever or
// RunUntilComplete under a watchdog.
func (m *schedModel) run(i int, run schedRun) {
	m.exec(run.pre, 0, ctxTop, nil)
	wd := m.later(watchdogDelay, &mEntry{kind: eWatch, serial: i})
	var f *mFuture
	switch {
	case run.until && run.task && len(m.tasks) > 0:
		f = m.tasks[run.target%len(m.tasks)].fut
	case run.until && !run.task && len(m.futures) > 0:
		f = m.futures[run.target%len(m.futures)]
	}
	if f != nil {
		c := m.addCallback(f, mEntry{kind: eStop})
		m.runForever()
		m.remove(c)
		code := codeStoppedEarly
		if f.state != fPending {
			code = m.code(f)
		}
		m.emit("runUntilComplete", i, code)
	} else {
		m.runForever()
		m.emit("runForever", i, 0)
	}
	m.cancel(wd)
}

func (m *schedModel) final() {
	for i, f := range m.futures {
		m.emit("future", i, m.code(f))
	}
	for i, t := range m.tasks {
		m.emit("task", i, m.code(t.fut))
		m.emit("cancelling", i, t.cancels)
	}
	for i, h := range m.handles {
		m.emit("handle", i, b2i(h.state == hPending)+2*b2i(h.state == hCancelled))
	}
	m.emit("stats", int(m.iter), m.ran)
	m.emit("tasks", m.live, 0)
}

func (m *schedModel) emit(what string, a, b int) {
	m.trace = append(m.trace, schedEvent{m.iter, time.Duration(m.now), what, a, b})
}

func (m *schedModel) code(f *mFuture) int {
	switch f.state {
	case fPending:
		return codePending
	case fCancelled:
		return codeCancelled
	}
	return f.value
}

func (m *schedModel) soon(e *mEntry) *mEntry {
	e.state = hPending
	m.ready = append(m.ready, e)
	return e
}

func (m *schedModel) later(d time.Duration, e *mEntry) *mEntry {
	m.seq++
	e.when, e.seq, e.state = m.now+int64(d), m.seq, hPending
	m.timers = append(m.timers, e)
	return e
}

func (m *schedModel) cancel(e *mEntry) bool {
	if e.state != hPending {
		return false
	}
	e.state = hCancelled
	return true
}

// firstTimer drops cancelled timers and returns the index of the earliest
// by (when, seq), or -1.
func (m *schedModel) firstTimer() int {
	m.timers = slices.DeleteFunc(m.timers, func(e *mEntry) bool { return e.state != hPending })
	best := -1
	for i, e := range m.timers {
		if best < 0 || e.when < m.timers[best].when || (e.when == m.timers[best].when && e.seq < m.timers[best].seq) {
			best = i
		}
	}
	return best
}

func (m *schedModel) runForever() {
	for {
		m.runOnce()
		if m.stopping {
			break
		}
	}
	m.stopping = false
}

// runOnce is one iteration: wait if nothing is ready, move the due timers
// behind the ready callbacks, run exactly the callbacks ready now.
func (m *schedModel) runOnce() {
	m.iter++
	if len(m.ready) == 0 && !m.stopping {
		m.idle()
	}
	for {
		i := m.firstTimer()
		if i < 0 || m.timers[i].when > m.now {
			break
		}
		m.ready = append(m.ready, m.timers[i])
		m.timers = slices.Delete(m.timers, i, i+1)
	}
	for range len(m.ready) {
		e := m.ready[0]
		m.ready = m.ready[1:]
		if e.state != hPending {
			continue
		}
		e.state = hDone
		m.ran++
		m.runEntry(e)
	}
}

// idle is the loop's wait: time jumps to the earliest timer, unless an
// arrival comes first. The arrival goroutine hands its callback in only
// when the loop is blocked waiting (synctest.Wait), so an arrival due by now
// is taken only by a wait that has no timer due, one arrival per wait.
func (m *schedModel) idle() {
	i := m.firstTimer()
	if i >= 0 && m.timers[i].when <= m.now {
		return
	}
	if m.arrived < len(m.p.arrivals) {
		a := m.p.arrivals[m.arrived]
		if at := int64(a.at); at <= m.now || i < 0 || at < m.timers[i].when {
			m.now = max(m.now, at)
			if a.actor < 0 {
				m.stopping = true
			} else {
				m.soon(&mEntry{kind: eCall, serial: arrivalSerial + m.arrived, actor: a.actor})
			}
			m.arrived++
			return
		}
	}
	if i < 0 {
		panic("model: the loop would wait forever")
	}
	m.now = m.timers[i].when
}

func (m *schedModel) runEntry(e *mEntry) {
	switch e.kind {
	case eCall:
		m.ops++
		m.emit("run", e.serial, e.actor)
		m.exec(m.p.actors[e.actor], 0, ctxCallback, nil)
	case eStep:
		m.step(e.task)
	case eStop:
		m.stopping = true
	case eWatch:
		m.emit("watchdog", e.serial, 0)
		m.stopping = true
	case eSleep:
		if e.fut.state == fPending {
			m.complete(e.fut, fDone, 0)
		}
	}
}

func (m *schedModel) complete(f *mFuture, state, v int) {
	f.state, f.value = state, v
	for _, c := range f.cbs {
		if !c.removed {
			e := c.e
			m.soon(&e)
		}
	}
	f.cbs = nil
}

func (m *schedModel) addCallback(f *mFuture, e mEntry) *mCallback {
	c := &mCallback{e: e, f: f}
	if f.state != fPending {
		m.soon(&e)
	} else {
		f.cbs = append(f.cbs, c)
	}
	return c
}

func (m *schedModel) remove(c *mCallback) bool {
	if c.f.state != fPending || c.removed {
		return false
	}
	c.removed = true
	return true
}

// cancelFuture is Future.Cancel: for a task's future, Task.Cancel.
func (m *schedModel) cancelFuture(f *mFuture) bool {
	if f.state != fPending {
		return false
	}
	if f.task != nil {
		return m.cancelTask(f.task)
	}
	m.complete(f, fCancelled, 0)
	return true
}

// cancelTask is Task.Cancel: cancel what the task waits on, else deliver
// the cancellation when it next waits.
func (m *schedModel) cancelTask(t *mTask) bool {
	if t.fut.state != fPending {
		return false
	}
	t.cancels++
	if t.waiter != nil && m.cancelFuture(t.waiter) {
		return true
	}
	t.mustCancel = true
	return true
}

// Results of exec.
const (
	execEnd = iota
	execSuspend
	execReturn
)

// exec runs acts from pc where they are; for a task t it stops at a wait
// (recording where to resume) or when the body returns a cancellation.
func (m *schedModel) exec(acts []schedAction, pc, where int, t *mTask) int {
	for ; pc < len(acts); pc++ {
		a := acts[pc]
		if m.budget <= 0 || !applicable(a.op, where, m.p.crash) ||
			!targets(a, len(m.handles), len(m.futures), len(m.tasks), len(m.removes)) {
			continue
		}
		m.budget--
		m.ops++
		actor := a.b % len(m.p.actors)
		code := 0
		switch a.op {
		case sopSoon, sopThreadsafe, sopThreadsafeGo:
			m.serial++
			m.handles = append(m.handles, m.soon(&mEntry{kind: eCall, serial: m.serial, actor: actor}))
		case sopLater:
			m.serial++
			d := schedDelays[a.a%len(schedDelays)]
			m.handles = append(m.handles, m.later(d, &mEntry{kind: eCall, serial: m.serial, actor: actor}))
		case sopCancel:
			i := recent(a.a, len(m.handles))
			m.emit("cancel", i, b2i(m.cancel(m.handles[i])))
		case sopProbe:
			i := recent(a.a, len(m.handles))
			h := m.handles[i]
			m.emit("probe", i, b2i(h.state == hPending)+2*b2i(h.state == hCancelled))
		case sopStop:
			m.emit("stop", 0, 0)
			m.stopping = true
		case sopNewFuture:
			m.futures = append(m.futures, &mFuture{})
		case sopSetResult:
			i := a.a % len(m.futures)
			f := m.futures[i]
			ok := f.state == fPending
			if ok {
				m.complete(f, fDone, m.ops)
			}
			m.emit("setResult", i, b2i(ok))
		case sopCancelFuture:
			i := a.a % len(m.futures)
			m.emit("cancelFuture", i, b2i(m.cancelFuture(m.futures[i])))
		case sopAddDone:
			m.serial++
			m.removes = append(m.removes, m.addCallback(m.target(a), mEntry{kind: eCall, serial: m.serial, actor: actor}))
		case sopRemoveDone:
			i := a.a % len(m.removes)
			m.emit("removeDone", i, b2i(m.remove(m.removes[i])))
		case sopSpawn:
			nt := &mTask{idx: len(m.tasks), actor: actor}
			nt.fut = &mFuture{task: nt}
			m.tasks = append(m.tasks, nt)
			m.live++
			m.soon(&mEntry{kind: eStep, task: nt})
		case sopCancelTask:
			i := a.a % len(m.tasks)
			m.emit("cancelTask", i, b2i(m.cancelTask(m.tasks[i])))
		case sopPanic:
			m.emit("panic", 0, 0)
			m.emit("exception", 0, 0)
			return execEnd
		case sopSleep:
			t.wait = a
			if schedDelays[a.b%len(schedDelays)] <= 0 {
				m.soon(&mEntry{kind: eStep, task: t})
				t.pc = pc + 1
				return execSuspend
			}
			t.sleepFut = &mFuture{}
			t.sleepTimer = m.later(schedDelays[a.b%len(schedDelays)], &mEntry{kind: eSleep, fut: t.sleepFut})
			m.await(t, t.sleepFut)
			t.pc = pc + 1
			return execSuspend
		case sopAwaitFuture:
			t.wait, t.waitIdx = a, a.a%len(m.futures)
			f := m.futures[t.waitIdx]
			if f.state == fPending {
				m.await(t, f)
				t.pc = pc + 1
				return execSuspend
			}
			code = m.code(f)
			m.emit("awaitedFuture", t.waitIdx, code)
		case sopAwaitTask:
			t.wait, t.waitIdx = a, a.a%(t.idx+1)
			f := m.tasks[t.waitIdx].fut
			switch {
			case t.waitIdx == t.idx:
				code = codeSelf
			case f.state == fPending:
				m.await(t, f)
				t.pc = pc + 1
				return execSuspend
			default:
				code = m.code(f)
			}
			m.emit("awaitedTask", t.waitIdx, code)
		case sopProbeFuture:
			m.emit("probeFuture", a.a, m.code(m.target(a)))
		case sopBurst:
			n := burstSize(a, m.budget)
			m.budget, m.ops = m.budget-(n-1), m.ops+(n-1)
			for j := range n {
				m.serial++
				e := &mEntry{kind: eCall, serial: m.serial, actor: actor}
				if a.flag == 1 {
					m.handles = append(m.handles, m.later(schedDelays[(a.b+j)%len(schedDelays)], e))
				} else {
					m.handles = append(m.handles, m.soon(e))
				}
			}
		case sopCancelStride:
			n, ok := len(m.handles), 0
			for j := n - 1; j >= max(0, n-8*(a.a+1)); j -= a.b%3 + 1 {
				ok += b2i(m.cancel(m.handles[j]))
			}
			m.emit("cancelStride", n, ok)
		}
		if code == codeCancelled && a.flag&2 != 0 {
			return execReturn
		}
	}
	return execEnd
}

func (m *schedModel) target(a schedAction) *mFuture {
	if a.flag&1 != 0 {
		return m.tasks[a.a%len(m.tasks)].fut
	}
	return m.futures[a.a%len(m.futures)]
}

// await suspends t on a pending future; a cancellation already requested
// cancels the future at once.
func (m *schedModel) await(t *mTask, f *mFuture) {
	t.waiter = f
	m.addCallback(f, mEntry{kind: eStep, task: t})
	if t.mustCancel && m.cancelFuture(f) {
		t.mustCancel = false
	}
}

// awaitResult is the outcome of a wait on f as the task resumes.
func (m *schedModel) awaitResult(t *mTask, f *mFuture) int {
	t.waiter = nil
	if t.mustCancel {
		t.mustCancel = false
		return codeCancelled
	}
	return m.code(f)
}

// step is a task step: start the body, or finish the wait it is suspended
// in and go on to its next wait or its end.
func (m *schedModel) step(t *mTask) {
	if t.finished {
		return
	}
	if !t.started && t.mustCancel {
		m.finish(t)
		return
	}
	res := execEnd
	if !t.started {
		t.started = true
		m.ops++
		m.emit("taskStart", t.idx, t.actor)
		res = m.exec(m.p.actors[t.actor], 0, ctxTask, t)
	} else {
		code := 0
		switch a := t.wait; a.op {
		case sopSleep:
			i := a.b % len(schedDelays)
			if schedDelays[i] <= 0 {
				if t.mustCancel {
					t.mustCancel, code = false, codeCancelled
				}
			} else {
				code = m.awaitResult(t, t.sleepFut)
				m.cancel(t.sleepTimer)
			}
			m.emit("slept", i, code)
		case sopAwaitFuture:
			code = m.awaitResult(t, m.futures[t.waitIdx])
			m.emit("awaitedFuture", t.waitIdx, code)
		case sopAwaitTask:
			code = m.awaitResult(t, m.tasks[t.waitIdx].fut)
			m.emit("awaitedTask", t.waitIdx, code)
		}
		if code == codeCancelled && t.wait.flag&2 != 0 {
			res = execReturn
		} else {
			res = m.exec(m.p.actors[t.actor], t.pc, ctxTask, t)
		}
	}
	switch res {
	case execSuspend:
		return
	case execReturn:
		t.returned = true
		m.emit("taskReturnError", t.idx, 0)
	default:
		m.emit("taskEnd", t.idx, 0)
	}
	m.finish(t)
}

// finish completes a task's future from how its body ended.
func (m *schedModel) finish(t *mTask) {
	t.finished = true
	m.live--
	if !t.started || t.mustCancel || t.returned {
		m.complete(t.fut, fCancelled, 0)
	} else {
		m.complete(t.fut, fDone, 1000+t.idx)
	}
}
