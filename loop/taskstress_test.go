package loop_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"runtime"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aio-go/aio/future"
	"github.com/aio-go/aio/loop"
)

// The task stress test: thousands of tasks, each running a random program
// of steps (await a future someone else completes, sleep, await another
// task, run work on the executor, cancel a task, complete someone's
// future, hold a shared Lock or Semaphore across a suspension, wait on an
// Event or a Condition, put to and get from shared queues), cancelled at
// random by each other and by callbacks, then the loop is closed mid-way
// (Close) or shut down (Shutdown). Everything runs in a synctest bubble, so
// sleeps and timers are virtual and a task left waiting forever shows up as
// a deadlock.
//
// To add a kind of step, append to taskStressSteps; to check more at the
// end, append to taskStressInvariants.

const (
	taskStressSeeds    = 4
	taskStressMaxSteps = 8
	taskStressMaxDelay = 5 * time.Millisecond
	taskStressSpread   = 50 * time.Millisecond // tasks are spawned over this long
	taskStressScan     = 100 * time.Microsecond
)

var errStressInjected = errors.New("stress: injected error")

// taskStressStep is one kind of step of a task's program. run performs it
// in the task's body and returns the error its suspension ended with, if
// any; what it finds wrong goes to w.violate.
type taskStressStep struct {
	name   string
	weight int
	run    func(w *taskStressWorld, me *taskStressTask, co *loop.Coro) error
}

var taskStressSteps = []taskStressStep{
	{"await-future", 4, stepAwaitFuture},
	{"sleep", 3, stepSleep},
	{"await-task", 2, stepAwaitTask},
	{"executor", 1, stepExecutor},
	{"cancel-task", 1, stepCancelTask},
	{"complete-future", 2, stepCompleteFuture},
	{"lock-hold", 3, stepLockHold},
	{"sem-hold", 3, stepSemHold},
	{"event-wait", 2, stepEventWait},
	{"event-toggle", 2, stepEventToggle},
	{"cond-wait", 2, stepCondWait},
	{"cond-notify", 2, stepCondNotify},
	{"queue-put", 3, stepQueuePut},
	{"queue-get", 3, stepQueueGet},
	{"queue-join", 1, stepQueueJoin},
}

// taskStressInvariants are checked after the loop is closed.
var taskStressInvariants = []func(t *testing.T, w *taskStressWorld){
	checkTasksDone, checkNoWaiters, checkLocks, checkSemaphores, checkQueues,
}

// taskStressWorld is the state shared by the tasks and callbacks of one
// run. It is touched on the loop goroutine only.
type taskStressWorld struct {
	l          *loop.Loop
	rng        *rand.Rand // callbacks' and the driver's
	seed       uint64
	tasks      []*taskStressTask
	pool       []*stressFuture // futures awaited by one task, to be completed by another
	violations []string
	stepsRun   map[string]int
	taskStressPrims
}

type taskStressTask struct {
	id   int
	t    *loop.Task[int]
	rng  *rand.Rand
	prog []int // indices into taskStressSteps

	waitingOn  *stressProbe // what it waits on, if any
	selfCancel bool         // it cancelled itself; no suspension since
}

// stressFuture is a future a task awaits and someone else completes.
type stressFuture struct {
	f   *future.Future[int]
	v   int
	how string // "result", "error" or "cancel", once completed by complete
}

// violate records a violation; the first 50 are kept.
func (w *taskStressWorld) violate(format string, args ...any) {
	if len(w.violations) < 50 {
		w.violations = append(w.violations, fmt.Sprintf(format, args...))
	}
}

func stressDelay(r *rand.Rand) time.Duration {
	if r.IntN(4) == 0 {
		return 0
	}
	return time.Duration(r.Int64N(int64(taskStressMaxDelay))) + 1
}

// complete sets, fails or cancels p's future, if it is still pending.
func (w *taskStressWorld) complete(p *stressFuture) {
	if p.f.Done() {
		return
	}
	switch n := w.rng.IntN(10); {
	case n < 7:
		p.how = "result"
		p.f.SetResult(p.v)
	case n < 8:
		p.how = "error"
		p.f.SetError(errStressInjected)
	default:
		p.how = "cancel"
		p.f.Cancel()
	}
}

func stepAwaitFuture(w *taskStressWorld, me *taskStressTask, co *loop.Coro) error {
	p := &stressFuture{f: future.New[int](w.l), v: me.rng.IntN(1000)}
	if me.rng.IntN(2) == 0 {
		w.l.CallLater(stressDelay(me.rng), func() { w.complete(p) })
	} else {
		// Another task completes it; if none does, this timer does.
		w.pool = append(w.pool, p)
		w.l.CallLater(4*taskStressMaxDelay, func() { w.complete(p) })
	}
	v, err := loop.Await(co, p.f)
	switch {
	case err == nil && (p.how != "result" || v != p.v):
		w.violate("task %d: await-future got %d, want %d (%s)", me.id, v, p.v, p.how)
	case errors.Is(err, errStressInjected) && p.how != "error":
		w.violate("task %d: await-future got an error the future was not completed with (%s)", me.id, p.how)
	case errors.Is(err, future.ErrCancelled) && p.how != "cancel" && me.t.Cancelling() == 0:
		w.violate("task %d: await-future cancelled, but neither the future (%s) nor the task was", me.id, p.how)
	}
	return err
}

func stepSleep(w *taskStressWorld, me *taskStressTask, co *loop.Coro) error {
	d := stressDelay(me.rng)
	start := w.l.Now()
	err := loop.Sleep(co, d)
	if err == nil && w.l.Now().Sub(start) < d {
		w.violate("task %d: Sleep(%v) woke after %v", me.id, d, w.l.Now().Sub(start))
	}
	return err
}

func stepAwaitTask(w *taskStressWorld, me *taskStressTask, co *loop.Coro) error {
	if me.id == 0 {
		return nil
	}
	// Only earlier tasks: the awaits form no cycle.
	other := w.tasks[me.rng.IntN(me.id)]
	v, err := other.t.Await(co)
	if err == nil && v != other.id {
		w.violate("task %d: task %d returned %d", me.id, other.id, v)
	}
	return err
}

func stepExecutor(w *taskStressWorld, me *taskStressTask, co *loop.Coro) error {
	n := me.rng.IntN(1000)
	v, err := loop.ToThread(co, func(context.Context) (int, error) { return 2 * n, nil })
	if err == nil && v != 2*n {
		w.violate("task %d: executor returned %d, want %d", me.id, v, 2*n)
	}
	return err
}

func stepCancelTask(w *taskStressWorld, me *taskStressTask, _ *loop.Coro) error {
	other := w.tasks[me.rng.IntN(len(w.tasks))]
	other.t.Cancel()
	me.selfCancel = me.selfCancel || other == me
	return nil
}

func stepCompleteFuture(w *taskStressWorld, me *taskStressTask, _ *loop.Coro) error {
	if len(w.pool) == 0 {
		return nil
	}
	i := me.rng.IntN(len(w.pool))
	p := w.pool[i]
	w.pool[i] = w.pool[len(w.pool)-1]
	w.pool = w.pool[:len(w.pool)-1]
	w.complete(p)
	return nil
}

// program draws a task's steps, by weight.
func (w *taskStressWorld) program(r *rand.Rand) []int {
	total := 0
	for _, s := range taskStressSteps {
		total += s.weight
	}
	prog := make([]int, 1+r.IntN(taskStressMaxSteps))
	for i := range prog {
		n := r.IntN(total)
		for k, s := range taskStressSteps {
			if n < s.weight {
				prog[i] = k
				break
			}
			n -= s.weight
		}
	}
	return prog
}

// spawn starts task number len(w.tasks). Its body runs its program; after a
// cancellation it usually gives up, sometimes goes on; after an injected
// error it gives up half the time. It returns its id if it reaches the end.
func (w *taskStressWorld) spawn() {
	me := &taskStressTask{id: len(w.tasks), rng: rand.New(rand.NewPCG(w.seed, uint64(len(w.tasks))))}
	me.prog = w.program(me.rng)
	w.tasks = append(w.tasks, me)
	me.t = loop.Spawn(w.l, func(co *loop.Coro) (int, error) {
		for _, k := range me.prog {
			w.stepsRun[taskStressSteps[k].name]++
			err := taskStressSteps[k].run(w, me, co)
			if errors.Is(err, future.ErrCancelled) {
				me.selfCancel = false // delivered
			}
			switch {
			case err == nil:
			case errors.Is(err, loop.ErrClosed):
				return 0, err
			case errors.Is(err, future.ErrCancelled):
				if me.rng.IntN(4) != 0 {
					return 0, err
				}
			case errors.Is(err, errStressInjected):
				if me.rng.IntN(2) == 0 {
					return 0, err
				}
			default:
				w.violate("task %d: step %s: unexpected error %v", me.id, taskStressSteps[k].name, err)
				return 0, err
			}
		}
		return me.id, nil
	})
}

// taskStressOutcome counts how the tasks ended, and how their waits on
// primitives did.
type taskStressOutcome struct {
	spawned, results, errors, cancelled int
	ends                                map[string]int
}

func checkTasksDone(t *testing.T, w *taskStressWorld) {
	for _, me := range w.tasks {
		if !assert.True(t, me.t.Done(), "task %d", me.id) {
			continue
		}
		v, err := me.t.Result()
		switch {
		case me.t.Cancelled():
			assert.ErrorIs(t, err, future.ErrCancelled, "task %d", me.id)
		case err == nil:
			assert.Equal(t, me.id, v, "task %d", me.id)
		default:
			assert.ErrorIs(t, err, errStressInjected, "task %d", me.id)
		}
	}
	assert.Empty(t, w.l.Tasks())
	assert.Zero(t, w.l.Stats().Tasks)
}

// runTaskStress is one run: n tasks spawned in waves, the loop stopped soon
// after the last wave, a few more tasks spawned, then the loop closed with
// Close or Shutdown, and the invariants checked.
func runTaskStress(t *testing.T, seed uint64, n int, shutdown bool) taskStressOutcome {
	var panics []string
	l := loop.New(loop.WithExceptionHandler(func(c loop.ExceptionContext) {
		var pe *loop.PanicError
		if errors.As(c.Err, &pe) {
			panics = append(panics, fmt.Sprintf("%s: %v\n%s", c.Message, pe.Value, pe.Stack))
		}
	}))
	w := &taskStressWorld{l: l, seed: seed, rng: rand.New(rand.NewPCG(seed, ^uint64(0))), stepsRun: map[string]int{}}
	w.initPrims()
	l.CallSoon(w.scanStranded)

	// Spawn the tasks in waves, and cancel some from callbacks.
	const waves = 10
	for i := range waves {
		at := taskStressSpread * time.Duration(i) / waves
		l.CallLater(at, func() {
			for range n / waves {
				w.spawn()
			}
		})
	}
	for range n / 4 {
		l.CallLater(time.Duration(w.rng.Int64N(int64(2*taskStressSpread))), func() {
			if len(w.tasks) > 0 {
				w.tasks[w.rng.IntN(len(w.tasks))].t.Cancel()
			}
		})
	}
	// Stop soon after the last wave, while many programs are still running.
	lastWave := taskStressSpread * (waves - 1) / waves
	stopAt := lastWave + time.Duration(w.rng.Int64N(int64(4*taskStressMaxDelay)))
	l.CallLater(stopAt, l.Stop)
	require.NoError(t, l.RunForever())
	require.Len(t, w.tasks, n)
	pending := len(l.Tasks())
	assert.Positive(t, pending, "tasks still running when the loop stops")

	// A few tasks that have not taken their first step yet.
	for range 1 + n/100 {
		w.spawn()
	}
	w.closing = true
	if shutdown {
		require.NoError(t, l.Shutdown(context.Background()))
	} else {
		require.NoError(t, l.Close())
	}
	require.True(t, l.IsClosed())
	t.Logf("%d tasks spawned, stopped at %v with %d not done, steps %v", len(w.tasks), stopAt, pending, w.stepsRun)
	t.Logf("waits on primitives %v", w.ends)

	for _, check := range taskStressInvariants {
		check(t, w)
	}
	assert.Empty(t, w.violations)
	assert.Empty(t, panics)

	out := taskStressOutcome{spawned: len(w.tasks), ends: w.ends}
	for _, me := range w.tasks {
		switch _, err := me.t.Result(); {
		case me.t.Cancelled():
			out.cancelled++
		case err == nil:
			out.results++
		default:
			out.errors++
		}
	}
	return out
}

// TestTaskStress runs the stress test with taskStressSeeds seeds, half of
// them ending with Close and half with Shutdown; the tasks are split among
// them (fewer than the race detector's goroutine limit are alive at once).
// The normal build also runs all the tasks on one loop.
func TestTaskStress(t *testing.T) {
	total := 10_000
	if testing.Short() {
		total = 1_000
	}
	sum := taskStressOutcome{ends: map[string]int{}}
	for i := range taskStressSeeds {
		seed := uint64(20261122 + i)
		shutdown := i%2 == 1
		name := fmt.Sprintf("seed=%d/close", seed)
		if shutdown {
			name = fmt.Sprintf("seed=%d/shutdown", seed)
		}
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				out := runTaskStress(t, seed, total/taskStressSeeds, shutdown)
				t.Logf("%+v", out)
				sum.spawned += out.spawned
				sum.results += out.results
				sum.errors += out.errors
				sum.cancelled += out.cancelled
				for k, n := range out.ends {
					sum.ends[k] += n
				}
			})
		})
	}
	if !raceDetector && !testing.Short() {
		// All the tasks on one loop, closed mid-way; the race detector's
		// goroutine limit rules it out in race builds.
		t.Run("one-loop/close", func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				out := runTaskStress(t, 20261122+taskStressSeeds, total, false)
				t.Logf("%+v", out)
				assert.GreaterOrEqual(t, out.spawned, total)
				assert.Equal(t, out.spawned, out.results+out.errors+out.cancelled, "every task accounted for")
			})
		})
	}
	assert.GreaterOrEqual(t, sum.spawned, total)
	assert.Equal(t, sum.spawned, sum.results+sum.errors+sum.cancelled, "every task accounted for")
	assert.Positive(t, sum.results, "tasks that finished their program")
	assert.Positive(t, sum.errors, "tasks that failed")
	assert.Positive(t, sum.cancelled, "tasks that ended cancelled")
	// Each primitive made tasks wait, let some through and lost some to a
	// cancellation or to Close.
	t.Logf("waits on primitives %v", sum.ends)
	for _, what := range []string{"lock", "sem", "queue-put", "queue-get", "queue-join", "event", "cond"} {
		what += "-busy-"
		assert.Positive(t, sum.ends[what+"ok"], what+"ok")
		assert.Positive(t, sum.ends[what+"cancelled"]+sum.ends[what+"closed"], what+"cancelled or closed")
	}
}

// TestStressCollectedFailedFutureInBubble: a failed future that is garbage
// collected while its loop idles in a synctest bubble must not crash the
// program. The runtime runs the future's cleanup on a goroutine outside the
// bubble; a wake-up sent from there on the loop's channel, which belongs to
// the bubble, is a fatal error ("send on synctest channel from outside
// bubble"), so the scenario runs in a child process.
func TestStressCollectedFailedFutureInBubble(t *testing.T) {
	const env = "AIO_TEST_COLLECT_IN_BUBBLE"
	if os.Getenv(env) == "1" {
		collectFailedFutureInBubble(t)
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestStressCollectedFailedFutureInBubble$", "-test.count=1")
	cmd.Env = append(os.Environ(), env+"=1")
	out, err := cmd.CombinedOutput()
	assert.NoError(t, err, "child process:\n%s", out)
}

func collectFailedFutureInBubble(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var reported atomic.Bool
		l := loop.New(loop.WithExceptionHandler(func(c loop.ExceptionContext) {
			if errors.Is(c.Err, errStressInjected) {
				reported.Store(true)
			}
		}))
		ran := runInBackground(l)
		failed := make(chan struct{})
		_, err := l.CallSoonThreadsafe(func() {
			future.New[int](l).SetError(errStressInjected) // unreachable from here on
			close(failed)
		})
		require.NoError(t, err)
		<-failed
		// Collect the future while the loop idles; nudge the loop after
		// each collection so that it runs what the cleanup handed in.
		for i := 0; i < 200 && !reported.Load(); i++ {
			runtime.GC()
			nudged := make(chan struct{})
			_, err := l.CallSoonThreadsafe(func() { close(nudged) })
			require.NoError(t, err)
			<-nudged
		}
		l.Stop()
		require.NoError(t, <-ran)
		assert.True(t, reported.Load(), "reported while the loop runs, before Close")
		require.NoError(t, l.Close())
	})
}
