package loop_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aio-go/aio/future"
	"github.com/aio-go/aio/loop"
	"github.com/aio-go/aio/timer"
)

// Stress tests of the cross-goroutine paths. They use real goroutines and
// no sleeps; they synchronise through channels and WaitGroups only, so any
// interleaving may happen, and their assertions hold for every one of them.

const stressSeed = 20261122

// stressSize returns the number of calls each producer makes.
func stressSize() int {
	if testing.Short() {
		return 5_000
	}
	return 100_000
}

// Outcome of one CallSoonThreadsafe, as the producer saw it.
const (
	callAccepted uint8 = iota + 1 // returned nil
	callRefused                   // returned an error matching ErrClosed
	callOtherErr                  // returned any other error
)

// stressLogger discards the loop's reports (Close reports what it
// discards).
func stressLogger() loop.Option {
	return loop.WithLogger(slog.New(slog.DiscardHandler))
}

// startLoop runs l.RunForever on a new goroutine and returns once the loop
// has run a callback; the returned channel delivers RunForever's error.
func startLoop(t *testing.T, l *loop.Loop) <-chan error {
	t.Helper()
	started := make(chan struct{})
	_, err := l.CallSoonThreadsafe(func() { close(started) })
	require.NoError(t, err)
	runErr := make(chan error, 1)
	go func() { runErr <- l.RunForever() }()
	<-started
	return runErr
}

// submitAll makes producers×n CallSoonThreadsafe calls from producers
// goroutines. Call id runs fn(id); its outcome is recorded in outcome[id].
// before is called before each call with the number of calls begun so far
// (1-based), from the producer's goroutine.
func submitAll(l *loop.Loop, producers, n int, fn func(id int), outcome []uint8, before func(k int64)) {
	var begun atomic.Int64
	var wg sync.WaitGroup
	for p := range producers {
		wg.Go(func() {
			for i := range n {
				id := p*n + i
				before(begun.Add(1))
				_, err := l.CallSoonThreadsafe(func() { fn(id) })
				switch {
				case err == nil:
					outcome[id] = callAccepted
				case errors.Is(err, loop.ErrClosed):
					outcome[id] = callRefused
				default:
					outcome[id] = callOtherErr
				}
			}
		})
	}
	wg.Wait()
}

// tally counts the calls by outcome and checks that none ran twice, none
// ran after being refused, and no call failed with an unexpected error.
type tally struct {
	ran, refused, acceptedNotRun, ranTwice, ranRefused, otherErr, notRecorded int
}

func tallyCalls(runs []int32, outcome []uint8) tally {
	var c tally
	for id, o := range outcome {
		switch {
		case o == 0:
			c.notRecorded++
		case o == callOtherErr:
			c.otherErr++
		case runs[id] > 1:
			c.ranTwice++
		case o == callRefused && runs[id] != 0:
			c.ranRefused++
		case o == callRefused:
			c.refused++
		case runs[id] == 1:
			c.ran++
		default:
			c.acceptedNotRun++
		}
	}
	return c
}

// With Shutdown, a CallSoonThreadsafe that returned nil always runs exactly
// once, and one that was refused returns ErrClosed and never runs.
func TestCallSoonThreadsafeRacingShutdown(t *testing.T) {
	const producers = 8
	n := stressSize()
	total := producers * n
	rng := rand.New(rand.NewPCG(stressSeed, 1))
	shutdownAt := int64(rng.IntN(total)) + 1
	t.Logf("seed %d: Shutdown after call %d of %d", stressSeed, shutdownAt, total)

	var reports []string // the loop's exception handler
	l := loop.New(stressLogger(), loop.WithExceptionHandler(func(ctx loop.ExceptionContext) {
		reports = append(reports, ctx.Message)
	}))
	runErr := startLoop(t, l)

	runs := make([]int32, total) // written on the loop goroutine only
	outcome := make([]uint8, total)
	shutdownErr := make(chan error, 1)
	submitAll(l, producers, n, func(id int) { runs[id]++ }, outcome, func(k int64) {
		if k == shutdownAt {
			go func() { shutdownErr <- l.Shutdown(context.Background()) }()
		}
	})

	require.NoError(t, <-shutdownErr)
	require.NoError(t, <-runErr, "RunForever must return nil when Shutdown closes the loop")
	require.True(t, l.IsClosed())

	c := tallyCalls(runs, outcome)
	t.Logf("%+v", c)
	assert.Zero(t, c.notRecorded)
	assert.Zero(t, c.otherErr, "CallSoonThreadsafe failed with an error not matching ErrClosed")
	assert.Zero(t, c.ranTwice, "a callback ran twice")
	assert.Zero(t, c.ranRefused, "a refused callback ran")
	assert.Zero(t, c.acceptedNotRun, "a callback accepted before Shutdown never ran")
	assert.Equal(t, total, c.ran+c.refused)
	assert.Zero(t, l.Stats().Discarded, "Shutdown must run everything it accepted; reports: %q", reports)
	assert.Empty(t, reports, "a clean Shutdown has nothing to report")

	_, err := l.CallSoonThreadsafe(func() {})
	assert.ErrorIs(t, err, loop.ErrClosed)
}

// Regression: Shutdown published its shutdown flag before queueing its own
// cancelTasks callback, so a loop finishing its last iteration in between
// closed with that callback queued, and reported it as discarded work.
// Many short shutdowns make that window likely to be hit.
func TestShutdownRacingLastIterationDiscardsNothing(t *testing.T) {
	reps, producers, n := 1500, 8, 400
	if testing.Short() {
		reps = 100
	}
	rng := rand.New(rand.NewPCG(stressSeed, 5))
	failed := 0
	for rep := range reps {
		shutdownAt := int64(rng.IntN(producers*n/2)) + 1
		var reports []string
		l := loop.New(stressLogger(), loop.WithExceptionHandler(func(ctx loop.ExceptionContext) {
			reports = append(reports, ctx.Message)
		}))
		runErr := startLoop(t, l)
		runs := make([]int32, producers*n)
		outcome := make([]uint8, producers*n)
		shutdownErr := make(chan error, 1)
		submitAll(l, producers, n, func(id int) { runs[id]++ }, outcome, func(k int64) {
			if k == shutdownAt {
				go func() { shutdownErr <- l.Shutdown(context.Background()) }()
			}
		})
		require.NoError(t, <-shutdownErr)
		require.NoError(t, <-runErr)

		c := tallyCalls(runs, outcome)
		require.Zero(t, c.acceptedNotRun+c.ranTwice+c.ranRefused+c.otherErr+c.notRecorded, "rep %d: %+v", rep, c)
		if d := l.Stats().Discarded; d != 0 || len(reports) != 0 {
			if failed++; failed <= 3 {
				t.Errorf("rep %d: Shutdown ran every accepted call, yet Discarded = %d, reports %q", rep, d, reports)
			}
		}
	}
	assert.Zero(t, failed, "of %d shutdowns, %d reported discarded callbacks", reps, failed)
}

// Close after Stop, racing producers: every call ran exactly once, was
// refused with ErrClosed, or was discarded by Close, and Close reports
// exactly the number it discarded.
func TestCallSoonThreadsafeRacingClose(t *testing.T) {
	for _, stopIn := range []string{"callback", "producer"} {
		t.Run("StopFrom_"+stopIn, func(t *testing.T) {
			const producers = 8
			n := stressSize()
			total := producers * n
			rng := rand.New(rand.NewPCG(stressSeed, 2))
			stopAt := rng.IntN(total)
			t.Logf("seed %d: Stop at call %d of %d, from a %s", stressSeed, stopAt, total, stopIn)

			var exceptions []loop.ExceptionContext // loop goroutine, then Close's
			l := loop.New(stressLogger(), loop.WithExceptionHandler(func(ctx loop.ExceptionContext) {
				exceptions = append(exceptions, ctx)
			}))
			runErr := startLoop(t, l)

			// Close as soon as RunForever returns, producers still going.
			closeErr := make(chan error, 1)
			go func() {
				if err := <-runErr; err != nil {
					closeErr <- fmt.Errorf("RunForever: %w", err)
					return
				}
				closeErr <- l.Close()
			}()

			runs := make([]int32, total) // written on the loop goroutine only
			outcome := make([]uint8, total)
			fn := func(id int) { runs[id]++ }
			before := func(int64) {}
			if stopIn == "callback" {
				fn = func(id int) {
					runs[id]++
					if id == stopAt {
						l.Stop()
					}
				}
			} else {
				before = func(k int64) {
					if k == int64(stopAt)+1 {
						l.Stop()
					}
				}
			}
			submitAll(l, producers, n, fn, outcome, before)

			require.NoError(t, <-closeErr)
			require.True(t, l.IsClosed())
			stats := l.Stats() // the loop is closed: any goroutine may look

			c := tallyCalls(runs, outcome)
			t.Logf("%+v, Discarded=%d", c, stats.Discarded)
			assert.Zero(t, c.notRecorded)
			assert.Zero(t, c.otherErr, "CallSoonThreadsafe failed with an error not matching ErrClosed")
			assert.Zero(t, c.ranTwice, "a callback ran twice")
			assert.Zero(t, c.ranRefused, "a refused callback ran")
			discarded := c.acceptedNotRun
			assert.Equal(t, total, c.ran+c.refused+discarded)
			assert.Equal(t, uint64(discarded), stats.Discarded,
				"Close must report every accepted callback it discarded, and only those")
			if discarded > 0 {
				// Reported, not silently dropped.
				assert.NotEmpty(t, exceptions, "Close discarded callbacks without reporting them")
			}
			if stopIn == "callback" {
				assert.Equal(t, int32(1), runs[stopAt], "the callback that stopped the loop")
			}
		})
	}
}

// Handle.Cancel racing completion: cancellers scheduled at random positions
// among the callbacks and timers they target (CallSoon, CallLater, CallAt,
// and CallSoonThreadsafe from other goroutines) cancel random targets, some
// already run, some pending. Every target either ran or had exactly one
// Cancel report true, never both; no timer ran before its deadline.
func TestCancelRacingCompletionStress(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rounds, perRound := 200, 100
		remoteProducers, perProducer := 4, 2_000
		if testing.Short() {
			rounds, remoteProducers, perProducer = 40, 2, 500
		}
		local := rounds * perRound
		remote := remoteProducers * perProducer
		total := local + remote
		cancellers := rounds * perRound

		l := loop.New(stressLogger())
		rng := rand.New(rand.NewPCG(stressSeed, 3)) // loop goroutine only

		// Loop goroutine only, except where noted.
		handles := make([]timer.Handle, total)
		ran := make([]int32, total)
		cancelOK := make([]int32, total)
		early := 0 // timers run before their deadline
		resolved, cancellersRun := 0, 0
		next := 0         // local targets scheduled
		var mu sync.Mutex // guards published and the remote part of handles
		published := make([]bool, total)

		resolve := func() {
			if resolved++; resolved == total && cancellersRun == cancellers {
				l.Stop()
			}
		}
		target := func(id int) func() {
			return func() {
				ran[id]++
				resolve()
			}
		}
		timerTarget := func(id int) func() {
			return func() {
				if l.Now().Before(handles[id].When()) {
					early++
				}
				ran[id]++
				resolve()
			}
		}
		batch := (perProducer + rounds - 1) / rounds // remote calls per round
		progress := make([]int, remoteProducers)     // under mu: handles published
		ticks := make([]chan struct{}, remoteProducers)
		for p := range ticks {
			ticks[p] = make(chan struct{}, rounds) // a token per round: never full
		}
		// cancel cancels a random target near the frontier: recent ones
		// (run or cancelled), pending ones, and ones not yet scheduled
		// (the zero Handle cancels nothing).
		cancel := func() {
			var id int
			if remote == 0 || rng.IntN(2) == 0 {
				id = min(max(next-perRound+rng.IntN(perRound+perRound/4), 0), local-1)
			} else {
				p := rng.IntN(remoteProducers)
				mu.Lock()
				i := min(max(progress[p]-2*batch+rng.IntN(2*batch+2), 0), perProducer-1)
				mu.Unlock()
				id = local + p*perProducer + i
			}
			var h timer.Handle
			ok := true
			if id >= local {
				mu.Lock()
				h, ok = handles[id], published[id]
				mu.Unlock()
			} else {
				h = handles[id]
			}
			if ok && h.Cancel() {
				cancelOK[id]++
				resolve()
			}
			if cancellersRun++; resolved == total && cancellersRun == cancellers {
				l.Stop()
			}
		}
		schedule := func(fn func()) {
			switch rng.IntN(3) {
			case 0:
				l.CallSoon(fn)
			case 1:
				l.CallLater(time.Duration(rng.IntN(5))*time.Millisecond, fn)
			default:
				l.CallAt(l.Now().Add(-time.Duration(rng.IntN(3))*time.Millisecond), fn)
			}
		}

		// Each round schedules its share of the targets and cancellers in
		// a random order.
		targetsLeft, cancellersLeft := local, cancellers
		var round func()
		round = func() {
			for _, tick := range ticks {
				tick <- struct{}{}
			}
			nt := min(perRound, targetsLeft)
			nc := min(perRound, cancellersLeft)
			if targetsLeft-nt == 0 {
				nc = cancellersLeft
			}
			targetsLeft -= nt
			cancellersLeft -= nc
			for nt+nc > 0 {
				if rng.IntN(nt+nc) < nc {
					nc--
					schedule(cancel)
					continue
				}
				nt--
				id := next
				next++
				switch rng.IntN(4) {
				case 0:
					handles[id] = l.CallSoon(target(id))
				case 1:
					handles[id] = l.CallLater(time.Duration(rng.IntN(5))*time.Millisecond, timerTarget(id))
				case 2:
					handles[id] = l.CallAt(l.Now().Add(time.Duration(rng.IntN(5)-2)*time.Millisecond), timerTarget(id))
				default:
					handles[id] = l.CallLater(0, timerTarget(id))
				}
			}
			if targetsLeft > 0 {
				// The next round, sometimes a little later.
				if rng.IntN(2) == 0 {
					l.CallSoon(round)
				} else {
					l.CallLater(time.Millisecond, round)
				}
			}
		}
		l.CallSoon(round)

		// Remote targets: handed in from other goroutines, which publish
		// their handles for the cancellers on the loop. Each producer hands
		// in a batch per round of the loop, so that its callbacks arrive
		// while the loop runs, and some are cancelled before they are taken
		// from the remote queue.
		var wg sync.WaitGroup
		remoteErrs := make([]error, remoteProducers)
		for p := range remoteProducers {
			wg.Go(func() {
				for i := range perProducer {
					if i%batch == 0 {
						<-ticks[p]
					}
					id := local + p*perProducer + i
					h, err := l.CallSoonThreadsafe(target(id))
					if err != nil {
						remoteErrs[p] = err
						return
					}
					mu.Lock()
					handles[id], published[id] = h, true
					progress[p] = i + 1
					mu.Unlock()
				}
			})
		}

		require.NoError(t, l.RunForever())
		wg.Wait()
		require.NoError(t, l.Close())

		for p, err := range remoteErrs {
			require.NoError(t, err, "producer %d", p)
		}
		assert.Zero(t, early, "timers ran before their deadline")
		bad := 0
		for id := range total {
			if ran[id]+cancelOK[id] != 1 {
				if bad++; bad <= 10 {
					t.Errorf("target %d: ran %d times, cancelled %d times", id, ran[id], cancelOK[id])
				}
			}
			if cancelOK[id] == 1 && !handles[id].Cancelled() {
				t.Errorf("target %d: cancelled, but Cancelled() reports false", id)
			}
			if ran[id] == 1 && (handles[id].Cancelled() || handles[id].Pending()) {
				t.Errorf("target %d: ran, but Cancelled()=%v Pending()=%v", id, handles[id].Cancelled(), handles[id].Pending())
			}
		}
		assert.Zero(t, bad, "targets neither run nor cancelled exactly once")
		localCancelled, remoteCancelled := 0, 0
		for id, c := range cancelOK {
			if id < local {
				localCancelled += int(c)
			} else {
				remoteCancelled += int(c)
			}
		}
		t.Logf("%d local targets, %d cancelled; %d remote targets, %d cancelled", local, localCancelled, remote, remoteCancelled)
		assert.Zero(t, l.Stats().Discarded)
	})
}

// Future.Wait from 16 goroutines while the loop completes the futures one
// per iteration, in a random order: each Wait returns its future's outcome,
// whether the future completed before the call, while it registered, or
// while it blocked. The completer keeps a few futures ahead of the waiters,
// so that all three happen.
func TestFutureWaitStress(t *testing.T) {
	const waiters = 16
	const lead = 16 // how many Wait calls the completer may run ahead by
	n := 8_000
	if testing.Short() {
		n = 1_000
	}
	errBoom := errors.New("boom")
	want := func(i int) (int, error) {
		switch {
		case i%7 == 0:
			return 0, future.ErrCancelled
		case i%5 == 0:
			return 0, fmt.Errorf("future %d: %w", i, errBoom)
		}
		return i * 3, nil
	}

	var unretrieved []string // exception handler, loop goroutine
	l := loop.New(stressLogger(), loop.WithExceptionHandler(func(ctx loop.ExceptionContext) {
		unretrieved = append(unretrieved, ctx.Message)
	}))
	fs := make([]*future.Future[int], n)
	for i := range fs {
		fs[i] = future.New[int](l) // the loop is not running yet
	}
	order := rand.New(rand.NewPCG(stressSeed, 4)).Perm(n) // completion order
	pos := make([]int, n)                                 // i's place in order
	for k, i := range order {
		pos[i] = k
	}

	// The completer, on the loop, completes the future at order[next] once
	// the waiters have begun enough Wait calls, one per iteration; when it
	// is ahead, it parks until a waiter kicks it.
	var begun atomic.Int64 // Wait calls begun
	next, parked := 0, false
	var step func()
	step = func() {
		if next == n || begun.Load() < int64(2*next-lead) {
			parked = true
			return
		}
		i := order[next]
		next++
		v, err := want(i)
		switch {
		case errors.Is(err, future.ErrCancelled):
			fs[i].Cancel()
		case err != nil:
			fs[i].SetError(err)
		default:
			fs[i].SetResult(v)
		}
		l.CallSoon(step)
	}
	kick := func() {
		if parked {
			parked = false
			step()
		}
	}

	runErr := startLoop(t, l)
	_, err := l.CallSoonThreadsafe(step)
	require.NoError(t, err)

	// Waiter w waits for every future i with i%8 == w%8, in completion
	// order: each future has two waiters.
	type mismatch struct {
		i   int
		v   int
		err error
	}
	bad := make([][]mismatch, waiters)
	kickErrs := make([]error, waiters)
	var pending atomic.Int64 // Wait calls that found the future pending (for the log)
	var wg sync.WaitGroup
	for w := range waiters {
		wg.Go(func() {
			var mine []int
			for i := w % 8; i < n; i += 8 {
				mine = append(mine, i)
			}
			slices.SortFunc(mine, func(a, b int) int { return pos[a] - pos[b] })
			for _, i := range mine {
				begun.Add(1)
				if _, err := l.CallSoonThreadsafe(kick); err != nil {
					kickErrs[w] = err
				}
				if !fs[i].Done() {
					pending.Add(1)
				}
				v, err := fs[i].Wait(context.Background())
				wv, werr := want(i)
				ok := v == wv
				switch {
				case errors.Is(werr, future.ErrCancelled):
					ok = ok && errors.Is(err, future.ErrCancelled)
				case werr != nil:
					ok = ok && errors.Is(err, errBoom) && err.Error() == werr.Error()
				default:
					ok = ok && err == nil
				}
				if !ok {
					bad[w] = append(bad[w], mismatch{i, v, err})
				}
			}
		})
	}
	wg.Wait()
	l.Stop()
	require.NoError(t, <-runErr)
	require.NoError(t, l.Close())
	t.Logf("%d Wait calls, %d found their future pending", 2*n, pending.Load())

	for w, b := range bad {
		assert.Empty(t, b[:min(len(b), 10)], "waiter %d got wrong outcomes (the first 10 shown)", w)
		assert.NoError(t, kickErrs[w])
	}
	assert.Equal(t, n, next, "the completer did not complete every future")
	for i, f := range fs {
		require.True(t, f.Done(), "future %d", i)
	}
	assert.Empty(t, unretrieved, "every error was retrieved by Wait")
	assert.Zero(t, l.Stats().Discarded)
}
