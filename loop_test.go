package aio_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aio-go/aio/future"
	"github.com/aio-go/aio/loop"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// trace is a program's output: lines stamped with the loop's time since the
// program's main task started. It is written only on the loop goroutine.
type trace struct {
	l     *loop.Loop
	start time.Time
	lines []string
}

func (tr *trace) logf(format string, args ...any) {
	ms := tr.l.Now().Sub(tr.start).Milliseconds()
	tr.lines = append(tr.lines, fmt.Sprintf("%dms ", ms)+fmt.Sprintf(format, args...))
}

// program runs main as asyncio.run runs a coroutine (loop.Run), with a trace
// that starts when main does, and returns main's outcome and the trace.
// Called inside a synctest bubble, the program runs on virtual time.
func program[T any](t *testing.T, main func(co *loop.Coro, tr *trace) (T, error), opts ...loop.Option) (T, []string, error) {
	t.Helper()
	var tr *trace
	v, err := loop.Run(context.Background(), func(co *loop.Coro) (T, error) {
		tr = &trace{l: co.Loop(), start: co.Loop().Now()}
		return main(co, tr)
	}, opts...)
	require.NotNil(t, tr, "the main task never ran")
	return v, tr.lines, err
}

// outcome names an error as a trace shows it.
func outcome(err error) string {
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, loop.ErrTimeout):
		return "timeout"
	case errors.Is(err, future.ErrCancelled):
		return "cancelled"
	}
	return err.Error()
}

// asyncio's producer/consumer: a bounded Queue, a producer that blocks while
// it is full, two workers that mark items done, Join to wait for the work,
// and Shutdown to release the idle workers.
func TestPipelineQueueJoinShutdown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cost := func(item int) time.Duration { return time.Duration(item%3+1) * 10 * time.Millisecond }
		done, lines, err := program(t, func(co *loop.Coro, tr *trace) ([][]int, error) {
			l := co.Loop()
			q := loop.NewQueue[int](2)
			producer := loop.Spawn(l, func(co *loop.Coro) (struct{}, error) {
				for i := range 6 {
					if err := q.Put(co, i); err != nil {
						return struct{}{}, err
					}
					tr.logf("put %d", i)
				}
				return struct{}{}, nil
			})
			worker := func(name string) *loop.Task[[]int] {
				return loop.Spawn(l, func(co *loop.Coro) ([]int, error) {
					var did []int
					for {
						item, err := q.Get(co)
						if errors.Is(err, loop.ErrQueueShutDown) {
							tr.logf("%s exits", name)
							return did, nil
						}
						if err != nil {
							return did, err
						}
						tr.logf("%s got %d", name, item)
						if err := loop.Sleep(co, cost(item)); err != nil {
							return did, err
						}
						tr.logf("%s done %d", name, item)
						did = append(did, item)
						q.TaskDone()
					}
				})
			}
			a, b := worker("A"), worker("B")
			if _, err := producer.Await(co); err != nil {
				return nil, err
			}
			tr.logf("producer finished, %d queued", q.Len())
			if err := q.Join(co); err != nil {
				return nil, err
			}
			tr.logf("joined")
			q.Shutdown(false)
			return loop.Await(co, loop.Gather(l, a, b))
		})
		require.NoError(t, err)
		assert.Equal(t, [][]int{{0, 2, 5}, {1, 3, 4}}, done)
		assert.Equal(t, []string{
			"0ms put 0", "0ms put 1", "0ms A got 0", "0ms B got 1", "0ms put 2", "0ms put 3",
			"10ms A done 0", "10ms A got 2", "10ms put 4",
			"20ms B done 1", "20ms B got 3", "20ms put 5", "20ms producer finished, 2 queued",
			"30ms B done 3", "30ms B got 4",
			"40ms A done 2", "40ms A got 5",
			"50ms B done 4",
			"70ms A done 5", "70ms joined", "70ms B exits", "70ms A exits",
		}, lines)
	})
}

// A crawler limited to two requests at a time by a Semaphore, each request
// bounded by WaitFor; the fake fetcher completes its future with CallLater
// and cancels that timer when the request is abandoned.
func TestCrawlerSemaphoreGatherWaitFor(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		latency := map[string]time.Duration{"a": 30, "b": 10, "c": 80, "d": 20, "e": 40}
		peak := 0
		pages, lines, err := program(t, func(co *loop.Coro, tr *trace) ([]string, error) {
			l := co.Loop()
			fetch := func(url string) *future.Future[string] {
				f := future.New[string](l)
				h := l.CallLater(latency[url]*time.Millisecond, func() { f.SetResult("<" + url + ">") })
				f.AddDoneCallback(func(f *future.Future[string]) {
					if f.Cancelled() {
						h.Cancel()
						tr.logf("fetch %s aborted", url)
					}
				})
				return f
			}
			sem := loop.NewSemaphore(2)
			inFlight := 0
			crawl := func(co *loop.Coro, url string) (string, error) {
				if err := sem.Acquire(co); err != nil {
					return "", err
				}
				defer sem.Release()
				inFlight++
				peak = max(peak, inFlight)
				defer func() { inFlight-- }()
				tr.logf("start %s", url)
				page, err := loop.WaitFor(co, fetch(url), 50*time.Millisecond)
				if errors.Is(err, loop.ErrTimeout) {
					tr.logf("timeout %s", url)
					return "timeout", nil
				}
				if err != nil {
					return "", err
				}
				tr.logf("done %s", url)
				return page, nil
			}
			var tasks []*loop.Task[string]
			for _, url := range []string{"a", "b", "c", "d", "e"} {
				tasks = append(tasks, loop.Spawn(l, func(co *loop.Coro) (string, error) { return crawl(co, url) }))
			}
			return loop.Await(co, loop.Gather(l, tasks...))
		})
		require.NoError(t, err)
		assert.Equal(t, []string{"<a>", "<b>", "timeout", "<d>", "<e>"}, pages)
		assert.Equal(t, 2, peak, "the semaphore lets two requests run at once")
		assert.Equal(t, []string{
			"0ms start a", "0ms start b",
			"10ms done b", "10ms start c",
			"30ms done a", "30ms start d",
			"50ms done d", "50ms start e",
			"60ms fetch c aborted", "60ms timeout c",
			"90ms done e",
		}, lines)
	})
}

// A chat room: clients wait for the room to open (Event), then for new
// messages (Condition.WaitFor); a late joiner sees only what comes after it.
func TestChatRoomEventCondition(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		type message struct{ from, text string }
		var (
			open   loop.Event
			cond   loop.Condition
			log    []message
			closed bool
		)
		received, lines, err := program(t, func(co *loop.Coro, tr *trace) ([]int, error) {
			l := co.Loop()
			client := func(name string) *future.Future[int] {
				return loop.SpawnNamed(l, name, func(co *loop.Coro) (int, error) {
					if err := open.Wait(co); err != nil {
						return 0, err
					}
					if err := cond.Acquire(co); err != nil {
						return 0, err
					}
					seen, got := len(log), 0
					tr.logf("%s joined, %d in history", name, seen)
					for {
						err := cond.WaitFor(co, func() bool { return closed || len(log) > seen })
						fresh, bye := log[seen:], closed
						seen = len(log)
						cond.Release()
						if err != nil {
							return got, err
						}
						for _, m := range fresh {
							if m.from != name {
								got++
								tr.logf("%s <- %s: %s", name, m.from, m.text)
							}
						}
						if bye {
							tr.logf("%s left", name)
							return got, nil
						}
						if err := cond.Acquire(co); err != nil {
							return got, err
						}
					}
				}).Future
			}
			post := func(from, text string, last bool) error {
				if err := cond.Acquire(co); err != nil {
					return err
				}
				if text != "" {
					log = append(log, message{from, text})
				}
				closed = last
				cond.NotifyAll()
				cond.Release()
				return nil
			}
			pause := func(ms time.Duration) error { return loop.Sleep(co, ms*time.Millisecond) }
			alice, bob := client("alice"), client("bob")
			if err := pause(5); err != nil {
				return nil, err
			}
			open.Set()
			var carol *future.Future[int]
			for _, step := range []func() error{
				func() error { return pause(5) },
				func() error { return post("alice", "hi", false) },
				func() error { return pause(10) },
				func() error { return post("bob", "hey alice", false) },
				func() error { return pause(5) },
				func() error { carol = client("carol"); return pause(5) },
				func() error { return post("alice", "welcome carol", false) },
				func() error { return pause(10) },
				func() error { return post("", "", true) },
			} {
				if err := step(); err != nil {
					return nil, err
				}
			}
			return loop.Await(co, loop.Gather(l, alice, bob, carol))
		})
		require.NoError(t, err)
		assert.Equal(t, []int{1, 2, 1}, received)
		assert.Equal(t, []string{
			"5ms alice joined, 0 in history", "5ms bob joined, 0 in history",
			"10ms bob <- alice: hi",
			"20ms alice <- bob: hey alice",
			"25ms carol joined, 2 in history",
			"30ms bob <- alice: welcome carol", "30ms carol <- alice: welcome carol",
			"40ms alice left", "40ms bob left", "40ms carol left",
		}, lines)
	})
}

// A TaskGroup whose child fails: the siblings and the body are cancelled, a
// sibling that fails while cleaning up adds its error, cancellations are not
// among the errors, and the task's Cancelling count is what it was before,
// plus a cancellation from outside if one arrived meanwhile (asyncio 3.13).
func TestTaskGroupChildFailureCancelsSiblings(t *testing.T) {
	errBoom, errCleanup := errors.New("boom"), errors.New("cleanup failed")
	tests := []struct {
		name    string
		outside time.Duration // when a supervisor cancels the main task; 0: never
		tail    []string
	}{
		{
			name: "failure only",
			tail: []string{
				"15ms stubborn cleanup failed", "15ms group returned [boom cleanup failed]",
				"15ms cancelling after: 0", "16ms next sleep: ok",
			},
		},
		{
			name:    "failure then a cancellation from outside",
			outside: 12 * time.Millisecond,
			tail: []string{
				"12ms supervisor cancels main",
				"15ms stubborn cleanup failed", "15ms group returned [boom cleanup failed]",
				"15ms cancelling after: 1", "15ms next sleep: cancelled",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				groupErr, lines, err := program(t, func(co *loop.Coro, tr *trace) (error, error) {
					l := co.Loop()
					me := loop.CurrentTask(l)
					tr.logf("cancelling before: %d", me.Cancelling())
					if tt.outside > 0 {
						l.CallLater(tt.outside, func() { tr.logf("supervisor cancels main"); me.Cancel() })
					}
					gerr := loop.Group(co, func(g *loop.TaskGroup) error {
						g.Go(func(co *loop.Coro) error {
							err := loop.Sleep(co, 100*time.Millisecond)
							tr.logf("slow: %s", outcome(err))
							return err
						})
						g.Go(func(co *loop.Coro) error {
							if err := loop.Sleep(co, 10*time.Millisecond); err != nil {
								return err
							}
							tr.logf("fail fails")
							return errBoom
						})
						g.Go(func(co *loop.Coro) error {
							err := loop.Sleep(co, 5*time.Millisecond)
							tr.logf("quick: %s", outcome(err))
							return err
						})
						g.Go(func(co *loop.Coro) error {
							if loop.Sleep(co, 100*time.Millisecond) == nil {
								return nil
							}
							tr.logf("stubborn cleaning up")
							if err := loop.Sleep(co, 5*time.Millisecond); err != nil {
								return err
							}
							tr.logf("stubborn cleanup failed")
							return errCleanup
						})
						err := loop.Sleep(co, time.Second)
						tr.logf("body: %s", outcome(err))
						return err
					})
					var errs []string
					if j, ok := gerr.(interface{ Unwrap() []error }); ok {
						for _, e := range j.Unwrap() {
							errs = append(errs, e.Error())
						}
					}
					tr.logf("group returned %v", errs)
					tr.logf("cancelling after: %d", me.Cancelling())
					tr.logf("next sleep: %s", outcome(loop.Sleep(co, time.Millisecond)))
					return gerr, nil
				})
				require.NoError(t, err)
				assert.ErrorIs(t, groupErr, errBoom)
				assert.ErrorIs(t, groupErr, errCleanup)
				assert.NotErrorIs(t, groupErr, future.ErrCancelled, "children's cancellations are not errors")
				head := []string{
					"0ms cancelling before: 0", "5ms quick: ok", "10ms fail fails",
					"10ms slow: cancelled", "10ms stubborn cleaning up", "10ms body: cancelled",
				}
				assert.Equal(t, append(head, tt.tail...), lines)
			})
		})
	}
}

// Timeouts nested in one task: only the outermost expired scope reports the
// timeout, an inner scope sees the outer expiry as a cancellation, and a
// scope that swallows its expiry leaves the task usable.
func TestNestedTimeoutScopes(t *testing.T) {
	tests := []struct {
		name                         string
		outer, inner, work, thenWork time.Duration // ms
		swallow                      bool          // the inner block ignores its cancellation
		want                         []string
	}{
		{
			name: "inner expires first", outer: 50, inner: 20, work: 100, thenWork: 100,
			want: []string{"20ms inner: timeout (expired true)", "50ms outer: timeout (expired true)"},
		},
		{
			name: "outer expires first", outer: 20, inner: 50, work: 100, thenWork: 100,
			want: []string{"20ms inner: cancelled (expired false)", "20ms outer: timeout (expired true)"},
		},
		{
			name: "equal deadlines", outer: 30, inner: 30, work: 100, thenWork: 100,
			want: []string{"30ms inner: cancelled (expired true)", "30ms outer: timeout (expired true)"},
		},
		{
			name: "inner in time, outer late", outer: 40, inner: 50, work: 10, thenWork: 100,
			want: []string{"10ms inner: ok (expired false)", "40ms outer: timeout (expired true)"},
		},
		{
			name: "inner swallows its expiry", outer: 50, inner: 20, work: 100, thenWork: 10, swallow: true,
			want: []string{"20ms inner: ok (expired true)", "30ms outer: ok (expired false)"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ms := time.Millisecond
				cancelling, lines, err := program(t, func(co *loop.Coro, tr *trace) (int, error) {
					l := co.Loop()
					outer := loop.NewTimeout(l, tt.outer*ms)
					oerr := outer.Do(co, func() error {
						inner := loop.NewTimeout(l, tt.inner*ms)
						ierr := inner.Do(co, func() error {
							err := loop.Sleep(co, tt.work*ms)
							if tt.swallow && errors.Is(err, future.ErrCancelled) {
								return nil
							}
							return err
						})
						tr.logf("inner: %s (expired %t)", outcome(ierr), inner.Expired())
						if ierr != nil && !errors.Is(ierr, loop.ErrTimeout) {
							return ierr // the outer scope's cancellation
						}
						return loop.Sleep(co, tt.thenWork*ms)
					})
					tr.logf("outer: %s (expired %t)", outcome(oerr), outer.Expired())
					if err := loop.Sleep(co, 0); err != nil {
						return -1, fmt.Errorf("the task was left cancelled: %w", err)
					}
					return loop.CurrentTask(l).Cancelling(), nil
				})
				require.NoError(t, err)
				assert.Zero(t, cancelling)
				assert.Equal(t, tt.want, lines)
			})
		})
	}
}

// asyncio's "sleep sort": each value sleeps value*10ms and then appends
// itself. Equal values come out in the order their tasks were spawned: equal
// deadlines run FIFO, a Go guarantee asyncio does not make.
func TestSleepSort(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		values := []int{5, 3, 9, 1, 3, 0, 7}
		sorted, lines, err := program(t, func(co *loop.Coro, tr *trace) ([]string, error) {
			l := co.Loop()
			var out []string
			var sleepers []*loop.Task[struct{}]
			for i, v := range values {
				sleepers = append(sleepers, loop.Go(l, func(co *loop.Coro) error {
					if err := loop.Sleep(co, time.Duration(v)*10*time.Millisecond); err != nil {
						return err
					}
					out = append(out, fmt.Sprintf("%d#%d", v, i))
					return nil
				}))
			}
			_, err := loop.Await(co, loop.Gather(l, sleepers...))
			tr.logf("sorted")
			return out, err
		})
		require.NoError(t, err)
		assert.Equal(t, []string{"0#5", "1#3", "3#1", "3#4", "5#0", "7#6", "9#2"}, sorted)
		assert.Equal(t, []string{"90ms sorted"}, lines)
	})
}

// asyncio's staggered_race (happy eyeballs): start an attempt, and another
// every 25ms or as soon as one fails, until one succeeds; then cancel the
// others. Built on Wait(FirstCompleted) with a timeout.
func TestStaggeredRaceWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		errRefused := errors.New("refused")
		type mirror struct {
			name string
			ms   time.Duration
			fail bool
		}
		mirrors := []mirror{{"m1", 100, false}, {"m2", 30, true}, {"m3", 20, false}, {"m4", 10, false}}
		winner, lines, err := program(t, func(co *loop.Coro, tr *trace) (string, error) {
			l := co.Loop()
			attempt := func(m mirror) *loop.Task[string] {
				tr.logf("start %s", m.name)
				return loop.Spawn(l, func(co *loop.Coro) (string, error) {
					if err := loop.Sleep(co, m.ms*time.Millisecond); err != nil {
						tr.logf("%s %s", m.name, outcome(err))
						return "", err
					}
					if m.fail {
						return "", errRefused
					}
					return m.name, nil
				})
			}
			var running []*loop.Task[string]
			names := map[*loop.Task[string]]string{}
			for next := 0; ; {
				if next < len(mirrors) {
					task := attempt(mirrors[next])
					running = append(running, task)
					names[task] = mirrors[next].name
					next++
				}
				if len(running) == 0 {
					return "", errors.New("every attempt failed")
				}
				timeout := 25 * time.Millisecond
				if next == len(mirrors) {
					timeout = loop.NoTimeout
				}
				done, pending, err := loop.Wait(co, running, timeout, loop.FirstCompleted)
				if err != nil {
					return "", err
				}
				running = pending
				for _, d := range done {
					v, err := d.Result()
					if err != nil {
						tr.logf("%s failed: %v", names[d], err)
						continue
					}
					tr.logf("%s won", v)
					for _, p := range pending {
						p.Cancel()
					}
					_, err = loop.Await(co, loop.GatherSettled(l, pending...))
					return v, err
				}
			}
		})
		require.NoError(t, err)
		assert.Equal(t, "m4", winner)
		assert.Equal(t, []string{
			"0ms start m1", "25ms start m2", "50ms start m3",
			"55ms m2 failed: refused", "55ms start m4",
			"65ms m4 won", "65ms m1 cancelled", "65ms m3 cancelled",
		}, lines)
	})
}
