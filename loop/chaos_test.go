package loop_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aio-go/aio/future"
	"github.com/aio-go/aio/loop"
)

// The chaos test: 16 goroutines hand the loop callbacks with
// CallSoonThreadsafe while, on the loop, those callbacks panic at random,
// resolve and cancel futures in races with each other, spawn tasks, cancel
// them at random points and wake them; at a random moment another
// goroutine shuts the loop down (Shutdown) or stops it for Close. Each run
// is planned from a seed, so the submissions that panic, the futures they
// race on and the moment of the end are known; what actually ran is
// counted on the loop, and the invariants are checked at the end:
//
//   - every submission ran exactly once or was refused with ErrClosed;
//     with Stop and Close, an accepted one may instead be discarded, and
//     Stats().Discarded is exactly those plus the loop's own callbacks
//     left over, which the test counts from the state it tracks (see
//     pendingInternal);
//   - the exception handler saw exactly the panics that happened;
//   - each raced future ended in exactly one state, set by the one
//     callback that reported success, and its done-callbacks ran once
//     (or, with Close, were discarded);
//   - each task ended done, cancelled if a Cancel of it succeeded, and its
//     done-callback ran once (or, with Close, was discarded);
//   - no goroutine is left (TestMain's goleak), and -race finds nothing.

const chaosProducers = 16

// chaosWindow bounds the submissions accepted and not yet run, so that the
// producers do not run far ahead of the loop: the loop's work interleaves
// with theirs all along, and the end finds it mid-way.
const chaosWindow = 256

// chaosSeeds are the planned runs; each runs with both endings.
var chaosSeeds = []uint64{1, 2, 3, 20261122, 0xdecafbad, 0x5eed}

// chaosSize is the number of submissions per producer.
func chaosSize() int {
	if testing.Short() {
		return 300
	}
	return 2_000
}

// What a submission does on the loop, besides counting its run.
type chaosAct uint8

const (
	chaosPlain      chaosAct = iota
	chaosResolve             // SetResult on raced future arg
	chaosCancelFut           // Cancel on raced future arg
	chaosSpawn               // spawn task arg
	chaosCancelTask          // Cancel task arg, if spawned
	chaosWake                // complete the gate task arg waits on, if any
)

type chaosSub struct {
	act    chaosAct
	arg    int
	panics bool // panic after acting
}

// chaosPlan is what a seed decides.
type chaosPlan struct {
	seed      uint64
	n         int        // submissions per producer; id = producer*n + i
	subs      []chaosSub // by id
	futures   int
	taskSteps []int // by task: suspensions before it returns
	endAt     int64 // the end comes before the endAt-th submission begins (1-based)
}

func newChaosPlan(seed uint64, n int) *chaosPlan {
	rng := rand.New(rand.NewPCG(seed, 0xc4a05))
	total := chaosProducers * n
	p := &chaosPlan{seed: seed, n: n, subs: make([]chaosSub, total), futures: total / 16}
	free := func(id int) bool { return p.subs[id].act == chaosPlain }
	place := func(act chaosAct, arg int) {
		for {
			if id := rng.IntN(total); free(id) {
				p.subs[id] = chaosSub{act: act, arg: arg}
				return
			}
		}
	}
	// A future's resolver and canceller go to two producers, at nearby
	// positions, so that they arrive at about the same time in either order.
	for k := range p.futures {
		for {
			p1 := rng.IntN(chaosProducers)
			p2 := (p1 + 1 + rng.IntN(chaosProducers-1)) % chaosProducers
			i1 := rng.IntN(n)
			i2 := min(max(i1+rng.IntN(9)-4, 0), n-1)
			a, b := p1*n+i1, p2*n+i2
			if free(a) && free(b) {
				p.subs[a] = chaosSub{act: chaosResolve, arg: k}
				p.subs[b] = chaosSub{act: chaosCancelFut, arg: k}
				break
			}
		}
	}
	p.taskSteps = make([]int, total/96)
	for j := range p.taskSteps {
		p.taskSteps[j] = 1 + rng.IntN(8)
		place(chaosSpawn, j)
		for range rng.IntN(3) {
			place(chaosCancelTask, j)
		}
		for range 12 {
			place(chaosWake, j)
		}
	}
	for id := range p.subs {
		p.subs[id].panics = rng.IntN(8) == 0
	}
	p.endAt = 1 + rng.Int64N(int64(total))
	return p
}

// chaosPanic is the value a planned panic carries: its submission id.
type chaosPanic int

// Where a task's body is suspended.
type chaosWait uint8

const (
	chaosNotStarted chaosWait = iota
	chaosRunning              // in a step, or returned
	chaosYielding             // in Sleep(co, 0)
	chaosGated                // in Await of its gate
)

type chaosTask struct {
	task     *loop.Task[int]
	wait     chaosWait
	gate     *future.Future[struct{}] // the future it waits on, when gated
	steps    int
	cancelOK int   // Cancel calls that reported true
	doneRuns int   // runs of its done-callback
	bodyErr  error // an error of Await or Sleep other than cancelled or closed
}

type chaosFuture struct {
	f           *future.Future[int]
	resolvedOK  int // SetResult calls that reported true
	cancelledOK int // Cancel calls that reported true
	doneRuns    [2]int
}

// chaosRun is one run's state. Except for outcome (written by the
// producers), it is touched on the loop goroutine only, and read after
// the loop is closed.
type chaosRun struct {
	plan      *chaosPlan
	l         *loop.Loop
	ran       []int32 // by submission id
	outcome   []uint8 // by submission id: callAccepted, callRefused or callOtherErr
	window    chan struct{}
	panicsRan int
	seen      []int                   // submission ids of the panics the handler saw
	reports   []loop.ExceptionContext // everything else the handler saw
	futs      []chaosFuture
	tasks     []chaosTask
}

// TestChaos runs every seed with each ending: Shutdown from another
// goroutine, or Stop from a producer and then Close.
func TestChaos(t *testing.T) {
	for _, seed := range chaosSeeds {
		for _, ending := range []string{"Shutdown", "StopClose"} {
			t.Run(fmt.Sprintf("seed=%d/%s", seed, ending), func(t *testing.T) {
				plan := newChaosPlan(seed, chaosSize())
				t.Cleanup(func() {
					if t.Failed() {
						t.Logf("seed %d, %s before submission %d of %d", seed, ending, plan.endAt, len(plan.subs))
					}
				})
				runChaos(t, plan, ending == "Shutdown")
			})
		}
	}
}

func runChaos(t *testing.T, plan *chaosPlan, graceful bool) {
	total := len(plan.subs)
	r := &chaosRun{
		plan:    plan,
		ran:     make([]int32, total),
		outcome: make([]uint8, total),
		futs:    make([]chaosFuture, plan.futures),
		tasks:   make([]chaosTask, len(plan.taskSteps)),
	}
	r.l = loop.New(stressLogger(), loop.WithExceptionHandler(r.exception))
	l := r.l
	// The loop is not running yet: this goroutine may set it up.
	for k := range r.futs {
		fu := &r.futs[k]
		fu.f = future.New[int](l)
		for c := range fu.doneRuns {
			fu.f.AddDoneCallback(func(*future.Future[int]) { fu.doneRuns[c]++ })
		}
	}

	start := make(chan struct{})
	l.CallSoon(func() { close(start) })
	r.window = make(chan struct{}, chaosWindow)
	var begun atomic.Int64
	shutdownErr := make(chan error, 1)
	var wg sync.WaitGroup
	for p := range chaosProducers {
		wg.Go(func() {
			<-start
			for i := range plan.n {
				id := p*plan.n + i
				if begun.Add(1) == plan.endAt {
					if graceful {
						go func() { shutdownErr <- chaosShutdown(l) }()
					} else {
						l.Stop()
					}
				}
				// A slot of the window, until the callback runs; once the
				// loop is closed, discarded callbacks keep theirs.
				slot := false
				select {
				case r.window <- struct{}{}:
					slot = true
				case <-l.Done():
				}
				_, err := l.CallSoonThreadsafe(func() { r.call(id) })
				if err != nil && slot {
					<-r.window
				}
				switch {
				case err == nil:
					r.outcome[id] = callAccepted
				case errors.Is(err, loop.ErrClosed):
					r.outcome[id] = callRefused
				default:
					r.outcome[id] = callOtherErr
				}
			}
		})
	}

	require.NoError(t, l.RunForever())
	var expectDiscarded int
	if graceful {
		err := <-shutdownErr
		if err != nil && !l.IsClosed() {
			require.NoError(t, l.Close())
		}
		wg.Wait()
		if err != nil {
			r.failStuckShutdown(t, err)
		}
	} else {
		internal := r.pendingInternal(t)
		require.NoError(t, l.Close())
		wg.Wait()
		expectDiscarded = internal
	}
	require.True(t, l.IsClosed())
	stats := l.Stats() // closed: any goroutine may look

	c := tallyCalls(r.ran, r.outcome)
	t.Logf("%d submissions, the end before submission %d: %d ran, %d refused, %d accepted and not run; %d panics; Discarded %d",
		total, plan.endAt, c.ran, c.refused, c.acceptedNotRun, r.panicsRan, stats.Discarded)
	assert.Zero(t, c.notRecorded)
	assert.Zero(t, c.otherErr, "CallSoonThreadsafe failed with an error not matching ErrClosed")
	assert.Zero(t, c.ranTwice, "a submission ran twice")
	assert.Zero(t, c.ranRefused, "a refused submission ran")
	assert.Equal(t, total, c.ran+c.refused+c.acceptedNotRun)
	if graceful {
		assert.Zero(t, c.acceptedNotRun, "Shutdown must run every submission it accepted")
	}
	expectDiscarded += c.acceptedNotRun
	assert.Equal(t, uint64(expectDiscarded), stats.Discarded,
		"Discarded: %d accepted submissions not run, plus the loop's own callbacks left", c.acceptedNotRun)

	r.checkPanics(t)
	r.checkReports(t, stats.Discarded)
	r.checkFutures(t, graceful)
	r.checkTasks(t, graceful)
}

// chaosShutdownGuard bounds how long Shutdown may take. It is a guard
// against a hang, not a timing assertion: a run takes well under a second.
const chaosShutdownGuard = 10 * time.Second

// chaosShutdown shuts l down; if Shutdown gives up, it stops the loop, so
// that RunForever returns and the test can say which tasks were left.
func chaosShutdown(l *loop.Loop) error {
	ctx, cancel := context.WithTimeout(context.Background(), chaosShutdownGuard)
	defer cancel()
	err := l.Shutdown(ctx)
	if err != nil {
		l.Stop()
	}
	return err
}

// failStuckShutdown ends a run whose Shutdown did not finish, naming the
// tasks it never cancelled (Close stopped them once the loop stopped).
func (r *chaosRun) failStuckShutdown(t *testing.T, err error) {
	var never []int
	for j := range r.tasks {
		if tk := r.tasks[j].task; tk != nil && tk.Cancelling() == 0 && tk.Cancelled() {
			never = append(never, j)
		}
	}
	t.Fatalf("Shutdown did not finish within %v (%v): %d tasks were never cancelled, e.g. %v",
		chaosShutdownGuard, err, len(never), never[:min(len(never), 10)])
}

// call is submission id, on the loop.
func (r *chaosRun) call(id int) {
	<-r.window // the slot its producer took: never blocks
	r.ran[id]++
	s := r.plan.subs[id]
	switch s.act {
	case chaosResolve:
		if fu := &r.futs[s.arg]; fu.f.SetResult(s.arg) {
			fu.resolvedOK++
		}
	case chaosCancelFut:
		if fu := &r.futs[s.arg]; fu.f.Cancel() {
			fu.cancelledOK++
		}
	case chaosSpawn:
		st := &r.tasks[s.arg]
		st.wait = chaosNotStarted
		st.task = loop.Spawn(r.l, r.body(s.arg))
		st.task.AddDoneCallback(func(*future.Future[int]) { st.doneRuns++ })
	case chaosCancelTask:
		if st := &r.tasks[s.arg]; st.task != nil && st.task.Cancel() {
			st.cancelOK++
		}
	case chaosWake:
		if g := r.tasks[s.arg].gate; g != nil {
			g.SetResult(struct{}{})
		}
	}
	if s.panics {
		r.panicsRan++
		panic(chaosPanic(id))
	}
}

// body is task j: it suspends taskSteps[j] times, yielding or waiting on a
// gate that a wake submission completes, and returns how many it did.
func (r *chaosRun) body(j int) func(co *loop.Coro) (int, error) {
	return func(co *loop.Coro) (int, error) {
		st := &r.tasks[j]
		rng := rand.New(rand.NewPCG(r.plan.seed, uint64(j)+1))
		for st.steps < r.plan.taskSteps[j] {
			var err error
			if rng.IntN(2) == 0 {
				st.wait = chaosYielding
				err = loop.Sleep(co, 0)
			} else {
				st.gate = future.New[struct{}](co.Loop())
				st.wait = chaosGated
				_, err = loop.Await(co, st.gate)
			}
			st.wait = chaosRunning
			if err != nil {
				if !errors.Is(err, future.ErrCancelled) && !errors.Is(err, loop.ErrClosed) {
					st.bodyErr = err
				}
				return st.steps, err
			}
			st.steps++
		}
		return st.steps, nil
	}
}

// exception is the loop's exception handler.
func (r *chaosRun) exception(ctx loop.ExceptionContext) {
	var pe *loop.PanicError
	if errors.As(ctx.Err, &pe) {
		if id, ok := pe.Value.(chaosPanic); ok {
			r.seen = append(r.seen, int(id))
			return
		}
	}
	r.reports = append(r.reports, ctx)
}

// pendingInternal counts, on a stopped loop, the callbacks of the loop's
// own that Close will discard besides the submissions: a suspended task's
// wake-up (its first step, the step after Sleep(co, 0), or the done-callback
// of its completed gate: one callback each), the done-callbacks of
// completed futures that have not run, and the done-callback of each
// unfinished task, which Close schedules when it stops the task. No timer,
// failed future or executor job takes part, so nothing else can be queued.
func (r *chaosRun) pendingInternal(t *testing.T) int {
	n, unfinished := 0, 0
	for j := range r.tasks {
		st := &r.tasks[j]
		switch {
		case st.task == nil:
		case st.task.Done():
			n += 1 - st.doneRuns
		default:
			unfinished++
			switch st.wait {
			case chaosNotStarted, chaosYielding:
				n++
			case chaosGated:
				if st.gate.Done() {
					n++
				}
			default:
				t.Errorf("task %d is in a step while the loop is stopped", j)
			}
		}
	}
	for k := range r.futs {
		if fu := &r.futs[k]; fu.f.Done() {
			n += len(fu.doneRuns) - fu.doneRuns[0] - fu.doneRuns[1]
		}
	}
	st := r.l.Stats()
	require.Equal(t, unfinished, st.Tasks, "unfinished tasks")
	require.GreaterOrEqual(t, st.Ready, n, "the ready queue holds at least the loop's own callbacks")
	return n + unfinished
}

// checkPanics: the handler saw exactly the planned panics whose
// submissions ran, each once.
func (r *chaosRun) checkPanics(t *testing.T) {
	var want []int
	for id, s := range r.plan.subs {
		if s.panics && r.ran[id] > 0 {
			want = append(want, id)
		}
	}
	assert.Equal(t, r.panicsRan, len(r.seen), "panics reported vs panics that happened")
	got := slices.Clone(r.seen)
	slices.Sort(got)
	assert.Equal(t, want, got, "the exception handler must see exactly the panics of the submissions that ran")
	assert.Equal(t, uint64(r.panicsRan), r.l.Stats().Panics)
}

// checkReports: besides the panics, the handler heard only of what Close
// discarded, with the right count.
func (r *chaosRun) checkReports(t *testing.T, discarded uint64) {
	if discarded == 0 {
		assert.Empty(t, r.reports)
		return
	}
	if assert.Len(t, r.reports, 1) {
		assert.Contains(t, r.reports[0].Message, fmt.Sprintf("discarded %d callbacks", discarded))
	}
}

// checkFutures: a raced future is completed by exactly one of its resolver
// and canceller, in the state of the one that reported success; it stays
// pending if neither ran. Its done-callbacks ran once each (Close may have
// discarded them: that is counted in Discarded).
func (r *chaosRun) checkFutures(t *testing.T, graceful bool) {
	resolverRan := make([]bool, len(r.futs))
	cancellerRan := make([]bool, len(r.futs))
	for id, s := range r.plan.subs {
		switch {
		case s.act == chaosResolve && r.ran[id] > 0:
			resolverRan[s.arg] = true
		case s.act == chaosCancelFut && r.ran[id] > 0:
			cancellerRan[s.arg] = true
		}
	}
	bad, cancelled := 0, 0
	for k := range r.futs {
		fu := &r.futs[k]
		ok := true
		switch {
		case !resolverRan[k] && !cancellerRan[k]:
			ok = !fu.f.Done() && fu.resolvedOK+fu.cancelledOK == 0 && fu.doneRuns == [2]int{}
		default:
			ok = fu.f.Done() && fu.resolvedOK+fu.cancelledOK == 1 &&
				fu.f.Cancelled() == (fu.cancelledOK == 1) &&
				(fu.resolvedOK == 0 || resolverRan[k]) && (fu.cancelledOK == 0 || cancellerRan[k])
			if fu.resolvedOK == 1 {
				v, err := fu.f.Result()
				ok = ok && v == k && err == nil
			}
			for _, n := range fu.doneRuns {
				ok = ok && (n == 1 || !graceful && n == 0)
			}
		}
		if fu.f.Cancelled() {
			cancelled++
		}
		if !ok {
			if bad++; bad <= 10 {
				t.Errorf("future %d: resolver ran %v, canceller ran %v; SetResult ok %d, Cancel ok %d; done %v, cancelled %v; done-callbacks ran %v",
					k, resolverRan[k], cancellerRan[k], fu.resolvedOK, fu.cancelledOK, fu.f.Done(), fu.f.Cancelled(), fu.doneRuns)
			}
		}
	}
	t.Logf("%d raced futures, %d cancelled", len(r.futs), cancelled)
}

// checkTasks: every spawned task is done; cancelled if a Cancel of it
// succeeded or the end caught it unfinished, otherwise with the steps it
// planned; its done-callback ran once (or was discarded by Close).
func (r *chaosRun) checkTasks(t *testing.T, graceful bool) {
	spawned, cancelled, bad := 0, 0, 0
	for j := range r.tasks {
		st := &r.tasks[j]
		if st.task == nil {
			continue
		}
		spawned++
		ok := st.task.Done() && st.bodyErr == nil && (st.doneRuns == 1 || !graceful && st.doneRuns == 0)
		if st.task.Cancelled() {
			cancelled++
		} else {
			v, err := st.task.Result()
			ok = ok && st.cancelOK == 0 && err == nil && v == r.plan.taskSteps[j]
		}
		if !ok {
			if bad++; bad <= 10 {
				t.Errorf("task %d: done %v, cancelled %v (Cancel ok %d), steps %d of %d, done-callback ran %d times, body error %v",
					j, st.task.Done(), st.task.Cancelled(), st.cancelOK, st.steps, r.plan.taskSteps[j], st.doneRuns, st.bodyErr)
			}
		}
	}
	t.Logf("%d tasks spawned, %d cancelled, %d returned", spawned, cancelled, spawned-cancelled)
}
