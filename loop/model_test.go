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
// the model (2,500 under the race detector, 500 with -short), executing at
// least a million operations (actions and callback runs) in all.
func TestSchedulerModel(t *testing.T) {
	const seed = 20240601
	n, minOps := modelPrograms, modelMinOps
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
