package aio_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"
	"testing/synctest"
	"time"
	"weak"

	"github.com/aio-go/aio/future"
	"github.com/aio-go/aio/loop"
	"github.com/aio-go/aio/timer"
	"github.com/aio-go/aio/weakref"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// asyncio.run: tasks still running when main returns are cancelled and may
// clean up; one that fails during its clean-up is reported through the
// exception handler, and a timer that never came due is discarded and
// reported when the loop closes. When the run's context ends, the main task
// is cancelled, and the cancellation carries the context's cause out of Run.
func TestRun(t *testing.T) {
	t.Run("leftover tasks", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			errFlush := errors.New("flush failed")
			var reports []loop.ExceptionContext
			v, lines, err := program(t, func(co *loop.Coro, tr *trace) (int, error) {
				l := co.Loop()
				var never loop.Event
				loop.SpawnNamed(l, "ticker", func(co *loop.Coro) (struct{}, error) {
					for {
						if err := loop.Sleep(co, 10*time.Millisecond); err != nil {
							tr.logf("ticker stops: %s", outcome(err))
							return struct{}{}, err
						}
						tr.logf("tick")
					}
				})
				loop.SpawnNamed(l, "writer", func(co *loop.Coro) (struct{}, error) {
					err := never.Wait(co)
					tr.logf("writer flushes after %s", outcome(err))
					return struct{}{}, errFlush
				})
				loop.SpawnNamed(l, "idle", func(co *loop.Coro) (struct{}, error) {
					err := loop.Sleep(co, time.Hour)
					tr.logf("idle: %s", outcome(err))
					return struct{}{}, err
				})
				l.CallLater(time.Hour, func() { tr.logf("hourly report") })
				if err := loop.Sleep(co, 25*time.Millisecond); err != nil {
					return 0, err
				}
				tr.logf("main returns")
				return 42, nil
			}, loop.WithExceptionHandler(func(c loop.ExceptionContext) { reports = append(reports, c) }))
			require.NoError(t, err)
			assert.Equal(t, 42, v)
			assert.Equal(t, []string{
				"10ms tick", "20ms tick", "25ms main returns",
				"25ms ticker stops: cancelled", "25ms writer flushes after cancelled", "25ms idle: cancelled",
			}, lines)
			require.Len(t, reports, 1, "reports: %v (the hourly timer pending at Close is counted, not reported)", reports)
			assert.Equal(t, "loop: task failed during Run shutdown", reports[0].Message)
			assert.ErrorIs(t, reports[0].Err, errFlush)
			require.NotNil(t, reports[0].Task)
			assert.Contains(t, reports[0].Task.String(), "writer")
		})
	})
	t.Run("context deadline", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
			defer cancel()
			var slept time.Duration
			_, err := loop.Run(ctx, func(co *loop.Coro) (string, error) {
				start := co.Loop().Now()
				err := loop.Sleep(co, time.Hour)
				slept = co.Loop().Now().Sub(start)
				return "", err
			})
			assert.ErrorIs(t, err, future.ErrCancelled)
			assert.ErrorIs(t, err, context.DeadlineExceeded)
			assert.Equal(t, 30*time.Millisecond, slept)
		})
	})
}

// A session with an idle timeout, asyncio's "async with timeout(None) as
// tm: ... tm.reschedule(loop.time() + idle)": every message moves the
// deadline, and the session ends when the peer falls silent or says bye.
func TestIdleTimeoutReschedule(t *testing.T) {
	tests := []struct {
		name string
		at   []time.Duration // ms at which messages arrive
		msgs []string
		want []string
	}{
		{
			name: "peer falls silent",
			at:   []time.Duration{10, 20, 35, 60}, msgs: []string{"a", "b", "c", "d"},
			want: []string{
				"10ms got a, deadline 40ms", "20ms got b, deadline 50ms", "35ms got c, deadline 65ms",
				"60ms got d, deadline 90ms", "90ms session: timeout (expired true)",
			},
		},
		{
			name: "peer says bye",
			at:   []time.Duration{10, 30, 50, 200}, msgs: []string{"a", "b", "bye", "late"},
			want: []string{
				"10ms got a, deadline 40ms", "30ms got b, deadline 60ms", "50ms got bye, deadline 80ms",
				"50ms session: ok (expired false)",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				const idle = 30 * time.Millisecond
				var reports []string
				_, lines, err := program(t, func(co *loop.Coro, tr *trace) (struct{}, error) {
					l := co.Loop()
					inbox := loop.NewQueue[string](0)
					var arrivals []timer.Handle
					for i, ms := range tt.at {
						arrivals = append(arrivals, l.CallLater(ms*time.Millisecond, func() { _ = inbox.PutNowait(tt.msgs[i]) }))
					}
					tm := loop.NewTimeout(l, loop.NoTimeout)
					err := tm.Do(co, func() error {
						tm.Reschedule(l.Now().Add(idle))
						for {
							msg, err := inbox.Get(co)
							if err != nil {
								return err
							}
							tm.Reschedule(l.Now().Add(idle))
							tr.logf("got %s, deadline %dms", msg, tm.When().Sub(tr.start).Milliseconds())
							if msg == "bye" {
								return nil
							}
						}
					})
					tr.logf("session: %s (expired %t)", outcome(err), tm.Expired())
					for _, h := range arrivals {
						h.Cancel() // the connection is closed: drop what is still in flight
					}
					return struct{}{}, nil
				}, loop.WithExceptionHandler(func(c loop.ExceptionContext) { reports = append(reports, c.Message) }))
				require.NoError(t, err)
				assert.Equal(t, tt.want, lines)
				assert.Empty(t, reports, "cancelled timers are not discarded work")
			})
		})
	}
}

// display is a weakly held subscriber. It holds pointers and is larger than
// 16 bytes, so the allocator never packs it with other objects.
type display struct {
	name  string
	shown *[]string
}

func (d *display) show(price int) { *d.shown = append(*d.shown, fmt.Sprintf("%s %d", d.name, price)) }

// subscribePopup subscribes a display that nothing else references and
// returns only a weak pointer to it.
func subscribePopup(s *weakref.Signal[int], shown *[]string) weak.Pointer[display] {
	d := &display{name: "popup", shown: shown}
	weakref.Subscribe(s, d, (*display).show)
	return weak.Make(d)
}

// A price signal whose subscribers are held weakly: a popup that the program
// stops referencing is collected in the middle of the run and stops being
// called, with one warning; an explicit unsubscribe stops the dashboard.
func TestSignalSubscriberCollectedMidRun(t *testing.T) {
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	var shown []string
	l := loop.New()
	prices := weakref.NewSignal[int](l, weakref.WithLogger(logger))
	dashboard := &display{name: "dashboard", shown: &shown}
	unsubscribe := weakref.Subscribe(prices, dashboard, (*display).show)
	popup := subscribePopup(prices, &shown)
	tape := &display{name: "tape", shown: &shown}
	weakref.Subscribe(prices, tape, (*display).show)

	var lens []int
	collected := false
	main := loop.Spawn(l, func(co *loop.Coro) (struct{}, error) {
		publish := func(price int) error {
			lens = append(lens, prices.Len())
			prices.Emit(price)
			return loop.Sleep(co, 0) // the calls run before the task resumes
		}
		if err := publish(100); err != nil {
			return struct{}{}, err
		}
		for i := 0; i < 100 && popup.Value() != nil; i++ {
			runtime.GC()
		}
		collected = popup.Value() == nil
		if err := publish(101); err != nil {
			return struct{}{}, err
		}
		unsubscribe()
		return struct{}{}, publish(102)
	})
	_, err := loop.RunUntilComplete(l, main.Future)
	require.NoError(t, l.Close())
	require.NoError(t, err)
	runtime.KeepAlive(dashboard)
	runtime.KeepAlive(tape)

	require.True(t, collected, "the subscription kept the popup alive")
	assert.Equal(t, []int{3, 2, 1}, lens)
	assert.Equal(t, []string{"dashboard 100", "popup 100", "tape 100", "dashboard 101", "tape 101", "tape 102"}, shown)
	warnings := strings.Count(logs.String(), "level=WARN")
	assert.Equal(t, 1, warnings, "logs: %s", logs.String())
	assert.Contains(t, logs.String(), "display")
}

// bank is the outcome of one run of the bank simulation.
type bank struct {
	final    []int
	audits   []int // the total the auditor saw at each audit
	lowest   int   // the lowest balance ever written
	rejected int
	commits  []string
}

// simulateBank runs a bank: 40 transfers between 5 accounts, each reading a
// balance, waiting for the "database", and writing it back, with an auditor
// summing the balances every 7ms. With locked, every transfer holds both
// accounts' locks (taken in index order, so transfers cannot deadlock) and the
// auditor holds them all.
func simulateBank(t *testing.T, locked bool) bank {
	const accounts, transfers, initial = 5, 40, 100
	rng := rand.New(rand.NewPCG(2024, 7))
	type transfer struct {
		from, to, amount         int
		start, readLat, writeLat time.Duration
	}
	plan := make([]transfer, transfers)
	for i := range plan {
		from := rng.IntN(accounts)
		plan[i] = transfer{
			from: from, to: (from + 1 + rng.IntN(accounts-1)) % accounts, amount: 1 + rng.IntN(60),
			start:    time.Duration(rng.IntN(50)) * time.Millisecond,
			readLat:  time.Duration(1+rng.IntN(5)) * time.Millisecond,
			writeLat: time.Duration(1+rng.IntN(5)) * time.Millisecond,
		}
	}
	var b bank
	synctest.Test(t, func(t *testing.T) {
		_, lines, err := program(t, func(co *loop.Coro, tr *trace) (struct{}, error) {
			l := co.Loop()
			balance := make([]int, accounts)
			for i := range balance {
				balance[i] = initial
			}
			locks := make([]loop.Lock, accounts)
			lockAll := func(co *loop.Coro, ids ...int) (unlock func(), err error) {
				held := 0
				unlock = func() {
					for i := held - 1; i >= 0; i-- {
						locks[ids[i]].Release()
					}
				}
				if !locked {
					return func() {}, nil
				}
				for _, id := range ids {
					if err := locks[id].Acquire(co); err != nil {
						unlock()
						return nil, err
					}
					held++
				}
				return unlock, nil
			}
			var tasks []*loop.Task[struct{}]
			for _, tf := range plan {
				tasks = append(tasks, loop.Go(l, func(co *loop.Coro) error {
					if err := loop.Sleep(co, tf.start); err != nil {
						return err
					}
					unlock, err := lockAll(co, min(tf.from, tf.to), max(tf.from, tf.to))
					if err != nil {
						return err
					}
					defer unlock()
					if balance[tf.from] < tf.amount {
						b.rejected++
						return nil
					}
					v := balance[tf.from]
					if err := loop.Sleep(co, tf.readLat); err != nil {
						return err
					}
					balance[tf.from] = v - tf.amount
					b.lowest = min(b.lowest, balance[tf.from])
					w := balance[tf.to]
					if err := loop.Sleep(co, tf.writeLat); err != nil {
						return err
					}
					balance[tf.to] = w + tf.amount
					tr.logf("%d->%d %d", tf.from, tf.to, tf.amount)
					return nil
				}))
			}
			auditor := loop.Spawn(l, func(co *loop.Coro) (struct{}, error) {
				all := []int{0, 1, 2, 3, 4}
				for {
					if err := loop.Sleep(co, 7*time.Millisecond); err != nil {
						return struct{}{}, err
					}
					unlock, err := lockAll(co, all...)
					if err != nil {
						return struct{}{}, err
					}
					sum := 0
					for _, v := range balance {
						sum += v
					}
					b.audits = append(b.audits, sum)
					unlock()
				}
			})
			if _, err := loop.Await(co, loop.Gather(l, tasks...)); err != nil {
				return struct{}{}, err
			}
			auditor.Cancel()
			if _, err := auditor.Await(co); !errors.Is(err, future.ErrCancelled) {
				return struct{}{}, fmt.Errorf("auditor: %v", err)
			}
			b.final = balance
			return struct{}{}, nil
		})
		require.NoError(t, err)
		b.commits = lines
	})
	return b
}

// The bank's invariants hold with locks (the total never changes, no balance
// goes negative, every transfer commits or is rejected), the run is
// reproducible, and without the locks the same run loses money: the
// simulation does interleave transfers.
func TestBankSimulationLocksKeepInvariants(t *testing.T) {
	const total = 500
	b := simulateBank(t, true)
	require.NotEmpty(t, b.audits)
	for i, sum := range b.audits {
		assert.Equal(t, total, sum, "audit %d", i)
	}
	sum := 0
	for _, v := range b.final {
		sum += v
	}
	assert.Equal(t, total, sum)
	assert.GreaterOrEqual(t, b.lowest, 0)
	assert.Equal(t, 40, len(b.commits)+b.rejected)
	assert.NotZero(t, b.rejected, "the plan has transfers the balances cannot cover")

	assert.Equal(t, b, simulateBank(t, true), "the same plan gave another run")

	u := simulateBank(t, false)
	usum := 0
	for _, v := range u.final {
		usum += v
	}
	assert.True(t, usum != total || u.lowest < 0, "without locks the bank kept its invariants: the transfers never interleaved")
}
