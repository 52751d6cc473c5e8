package loop_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aio-go/aio/future"
	"github.com/aio-go/aio/loop"
)

// sim is one simulated program for the combinator tests: a loop in a
// synctest bubble, a main task, and the trace of what happened. Tasks and
// callbacks record into it on the loop goroutine; the test asserts on the
// trace after the loop has returned.
type sim struct {
	l     *loop.Loop
	start time.Time
	trace []string
	names map[future.Awaitable]string
	excs  []loop.ExceptionContext
}

// log records an event.
func (s *sim) log(format string, args ...any) {
	s.trace = append(s.trace, fmt.Sprintf(format, args...))
}

// at records an event with the virtual time since the start: "a done@2s".
func (s *sim) at(format string, args ...any) {
	s.log("%s@%v", fmt.Sprintf(format, args...), s.l.Now().Sub(s.start))
}

// iter records an event with the loop iteration it happened in: "a#3".
func (s *sim) iter(format string, args ...any) {
	s.log("%s#%d", fmt.Sprintf(format, args...), s.l.Stats().Iterations)
}

// task spawns a task named name that sleeps d, records "name done@t" (or
// "name cancelled@t" if its sleep was cancelled, returning the
// cancellation), and returns v and err.
func (s *sim) task(name string, d time.Duration, v int, err error) *loop.Task[int] {
	return s.spawn(name, func(co *loop.Coro) (int, error) {
		if e := loop.Sleep(co, d); e != nil {
			s.at("%s cancelled", name)
			return 0, e
		}
		s.at("%s done", name)
		return v, err
	})
}

// spawn spawns body as a task named name.
func (s *sim) spawn(name string, body func(co *loop.Coro) (int, error)) *loop.Task[int] {
	t := loop.SpawnNamed(s.l, name, body)
	s.names[t] = name
	return t
}

// fut returns a new future named name.
func (s *sim) fut(name string) *future.Future[int] {
	f := future.New[int](s.l)
	f.SetName(name)
	s.names[f] = name
	return f
}

// list names futures for the trace: "[a b]". fs is a slice of
// future.Awaitable, *loop.Task[int] or *future.Future[int], as Wait
// returns them.
func (s *sim) list(fs any) string {
	var names []string
	switch fs := fs.(type) {
	case []future.Awaitable:
		names = namesOf(s, fs)
	case []*loop.Task[int]:
		names = namesOf(s, fs)
	case []*future.Future[int]:
		names = namesOf(s, fs)
	default:
		panic(fmt.Sprintf("list of %T", fs))
	}
	return "[" + strings.Join(names, " ") + "]"
}

func namesOf[F future.Awaitable](s *sim, fs []F) []string {
	names := make([]string, len(fs))
	for i, f := range fs {
		names[i] = s.names[f]
	}
	return names
}

// outcome names an error for traces: "ok", "cancelled", "timeout", the
// message of other errors, and "join(a, b)" for joined ones. An error that
// matches both ErrTimeout and ErrCancelled, or ErrTimeout without
// context.DeadlineExceeded, gets a name no test expects.
func outcome(err error) string {
	if err == nil {
		return "ok"
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		parts := make([]string, 0, len(j.Unwrap()))
		for _, e := range j.Unwrap() {
			parts = append(parts, outcome(e))
		}
		return "join(" + strings.Join(parts, ", ") + ")"
	}
	timeout, cancelled := errors.Is(err, loop.ErrTimeout), errors.Is(err, future.ErrCancelled)
	switch {
	case timeout && cancelled:
		return "timeout+cancelled"
	case timeout && !errors.Is(err, context.DeadlineExceeded):
		return "timeout-not-deadline"
	case timeout:
		return "timeout"
	case cancelled && !errors.Is(err, context.Canceled):
		return "cancelled-not-context"
	case cancelled:
		return "cancelled"
	}
	return err.Error()
}

// simCase is one row of a combinator table: main runs as the main task,
// and the trace, ending with "main: <outcome>", must equal want. The
// loop's exception handler must get exactly the messages in reports.
type simCase struct {
	name    string
	main    func(s *sim, co *loop.Coro) error
	want    []string
	reports []string
}

// runSims runs each row in a synctest bubble of its own.
func runSims(t *testing.T, table []simCase) {
	t.Helper()
	for _, c := range table {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s := runSim(t, c.main)
				assert.Equal(t, c.want, s.trace)
				var got []string
				for _, e := range s.excs {
					got = append(got, reportName(e))
				}
				assert.Equal(t, c.reports, got, "exception handler calls")
			})
		})
	}
}

// runSim runs main as the main task of a new loop, in the calling synctest
// bubble, until it is done; then it closes the loop. Whatever main leaves
// running or scheduled is discarded by Close, which reports it.
func runSim(t *testing.T, main func(s *sim, co *loop.Coro) error) *sim {
	t.Helper()
	s := &sim{names: map[future.Awaitable]string{}}
	s.l = loop.New(loop.WithExceptionHandler(func(c loop.ExceptionContext) {
		s.excs = append(s.excs, c)
	}))
	s.start = s.l.Now()
	m := loop.SpawnNamed(s.l, "main", func(co *loop.Coro) (struct{}, error) {
		return struct{}{}, main(s, co)
	})
	_, err := loop.RunUntilComplete(s.l, m.Future)
	s.log("main: %s", outcome(err))
	require.NoError(t, s.l.Close())
	return s
}

// reportName names an exception handler call for the table: its message, or
// "never retrieved: NAME" for an unretrieved error of the future NAME.
func reportName(e loop.ExceptionContext) string {
	if strings.Contains(e.Message, "never retrieved") {
		name, _, _ := strings.Cut(e.Future, "<")
		return "never retrieved: " + name
	}
	return e.Message
}

// ints formats a gather's results: "[1 2 3]".
func ints(v []int) string { return fmt.Sprint(v) }

// settled formats GatherSettled's outcomes: "[1 boom cancelled]".
func settled(v []loop.Outcome[int]) string {
	parts := make([]string, len(v))
	for i, o := range v {
		if o.Err != nil {
			parts[i] = outcome(o.Err)
		} else {
			parts[i] = fmt.Sprint(o.Value)
		}
	}
	return "[" + strings.Join(parts, " ") + "]"
}

var errBoom = errors.New("boom")

// TestGather covers asyncio's gather (ASYNCIO_SEMANTICS §4.2) with
// return_exceptions=False and True (GatherSettled).
func TestGather(t *testing.T) {
	runSims(t, []simCase{{
		name: "results come in argument order, not completion order",
		main: func(s *sim, co *loop.Coro) error {
			a, b, c := s.task("a", 3*time.Second, 1, nil), s.task("b", time.Second, 2, nil), s.task("c", 2*time.Second, 3, nil)
			v, err := loop.Await(co, loop.Gather(s.l, a, b, c))
			s.at("gather %s %s", ints(v), outcome(err))
			return nil
		},
		want: []string{"b done@1s", "c done@2s", "a done@3s", "gather [1 2 3] ok@3s", "main: ok"},
	}, {
		name: "the caller's slice is copied: changing it afterwards changes nothing",
		main: func(s *sim, co *loop.Coro) error {
			a, b := s.task("a", time.Second, 1, nil), s.task("b", 2*time.Second, 2, nil)
			fs := []*loop.Task[int]{a, b}
			g := loop.Gather(s.l, fs...)
			fs[0], fs[1] = b, b
			v, err := loop.Await(co, g)
			s.at("gather %s %s", ints(v), outcome(err))
			return nil
		},
		want: []string{"a done@1s", "b done@2s", "gather [1 2] ok@2s", "main: ok"},
	}, {
		name: "no children: already done with an empty slice",
		main: func(s *sim, co *loop.Coro) error {
			g := loop.Gather[int, *future.Future[int]](s.l)
			v, err := g.Result()
			s.log("done=%v len=%d nil=%v %s", g.Done(), len(v), v == nil, outcome(err))
			return nil
		},
		want: []string{"done=true len=0 nil=false ok", "main: ok"},
	}, {
		name: "children already done: done when Gather returns",
		main: func(s *sim, co *loop.Coro) error {
			a, b := s.fut("a"), s.fut("b")
			a.SetResult(1)
			b.SetResult(2)
			g := loop.Gather(s.l, a, b, a)
			v, err := g.Result()
			s.iter("done=%v %s %s", g.Done(), ints(v), outcome(err))
			_, _ = loop.Await(co, g)
			s.iter("await does not suspend")
			return nil
		},
		want: []string{"done=true [1 2 1] ok#1", "await does not suspend#1", "main: ok"},
	}, {
		name: "a pending child costs one hop: child at k, gather at k+1, awaiter at k+2",
		main: func(s *sim, co *loop.Coro) error {
			a, b := s.fut("a"), s.fut("b")
			a.SetResult(1)
			s.l.CallSoon(func() { s.iter("set b"); b.SetResult(2) })
			g := loop.Gather(s.l, a, b)
			g.AddDoneCallback(func(*future.Future[[]int]) { s.iter("gather done-callback") })
			s.iter("gather done=%v", g.Done())
			v, err := loop.Await(co, g)
			s.iter("resumed %s %s", ints(v), outcome(err))
			return nil
		},
		want: []string{"gather done=false#1", "set b#2", "gather done-callback#4", "resumed [1 2] ok#4", "main: ok"},
	}, {
		name: "the first error fails the gather at once; siblings are not cancelled",
		main: func(s *sim, co *loop.Coro) error {
			a, b, c := s.task("a", 2*time.Second, 1, nil), s.task("b", time.Second, 0, errBoom), s.task("c", 3*time.Second, 3, nil)
			g := loop.Gather(s.l, a, b, c)
			_, err := loop.Await(co, g)
			s.at("gather %s cancelled=%v", outcome(err), g.Cancelled())
			_, _ = loop.Await(co, c.Future)
			s.at("a=%v c=%v", a.Cancelled(), c.Cancelled())
			return nil
		},
		want: []string{"b done@1s", "gather boom cancelled=false@1s", "a done@2s", "c done@3s", "a=false c=false@3s", "main: ok"},
	}, {
		// Later errors count as retrieved: Close reports nothing, though
		// nobody read c's error.
		name: "errors after the first are not reported as never retrieved",
		main: func(s *sim, co *loop.Coro) error {
			b, c := s.task("b", time.Second, 0, errBoom), s.task("c", 2*time.Second, 0, errors.New("second"))
			_, err := loop.Await(co, loop.Gather(s.l, b, c))
			s.at("gather %s", outcome(err))
			return loop.Sleep(co, 2*time.Second)
		},
		want: []string{"b done@1s", "gather boom@1s", "c done@2s", "main: ok"},
	}, {
		name: "a cancelled child fails the gather with a cancellation; the gather is not Cancelled",
		main: func(s *sim, co *loop.Coro) error {
			a, b := s.task("a", time.Second, 1, nil), s.task("b", 2*time.Second, 2, nil)
			s.l.CallLater(time.Second/2, func() { b.Cancel() })
			g := loop.Gather(s.l, a, b)
			_, err := loop.Await(co, g)
			s.at("gather %s Cancelled=%v", outcome(err), g.Cancelled())
			return loop.Sleep(co, time.Second)
		},
		want: []string{"b cancelled@500ms", "gather cancelled Cancelled=false@500ms", "a done@1s", "main: ok"},
	}, {
		name: "GatherSettled: every outcome in argument order, cancellations included",
		main: func(s *sim, co *loop.Coro) error {
			a, b, c := s.task("a", 3*time.Second, 1, nil), s.task("b", time.Second, 0, errBoom), s.task("c", 2*time.Second, 3, nil)
			s.l.CallLater(time.Second, func() { c.Cancel() })
			v, err := loop.Await(co, loop.GatherSettled(s.l, a, b, c, b))
			s.at("settled %s %s", settled(v), outcome(err))
			return nil
		},
		// The cancelling timer was scheduled before b's sleep, with the same
		// deadline: it runs first, and so c resumes before b.
		want: []string{"c cancelled@1s", "b done@1s", "a done@3s", "settled [1 boom cancelled boom] ok@3s", "main: ok"},
	}, {
		name: "a child given twice is one child whose result repeats",
		main: func(s *sim, co *loop.Coro) error {
			a, b := s.task("a", time.Second, 1, nil), s.task("b", 2*time.Second, 2, nil)
			v, err := loop.Await(co, loop.Gather(s.l, a, a, b, a))
			s.at("gather %s %s", ints(v), outcome(err))
			return nil
		},
		want: []string{"a done@1s", "b done@2s", "gather [1 1 2 1] ok@2s", "main: ok"},
	}, {
		name: "many children, some given more than once: results in argument order",
		main: func(s *sim, co *loop.Coro) error {
			var fs []*loop.Task[int]
			for i := range 20 {
				fs = append(fs, s.task(fmt.Sprint(i), time.Duration(20-i)*time.Second, i, nil))
			}
			v, err := loop.Await(co, loop.Gather(s.l, fs...))
			s.at("gather %s %s", ints(v), outcome(err))
			fs = append(fs, fs[3], fs[0], fs[3])
			v, err = loop.Await(co, loop.Gather(s.l, append(fs[3:5:5], fs...)...))
			s.at("gather %s %s", ints(v), outcome(err))
			w, err := loop.Await(co, loop.GatherSettled(s.l, fs...))
			s.at("settled %s %s", settled(w), outcome(err))
			return nil
		},
		want: func() []string {
			var want []string
			for i := 19; i >= 0; i-- {
				want = append(want, fmt.Sprintf("%d done@%ds", i, 20-i))
			}
			return append(want,
				"gather [0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19] ok@20s",
				"gather [3 4 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 3 0 3] ok@20s",
				"settled [0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 3 0 3] ok@20s",
				"main: ok")
		}(),
	}, {
		name: "cancelling the gather cancels a child given twice once",
		main: func(s *sim, co *loop.Coro) error {
			spawn := func(name string) *loop.Task[int] {
				return s.spawn(name, func(co *loop.Coro) (int, error) {
					err := loop.Sleep(co, 5*time.Second)
					s.at("%s %s cancelling=%d", name, outcome(err), loop.CurrentTask(s.l).Cancelling())
					return 0, err
				})
			}
			a := spawn("a")
			g := loop.Gather(s.l, a, a)
			s.l.CallLater(time.Second, func() { g.Cancel() })
			_, err := loop.Await(co, g)
			s.at("gather %s", outcome(err))
			b := spawn("b")
			fs := []future.Of[int]{b}
			for i := range 20 {
				f := future.New[int](s.l)
				f.SetResult(i)
				fs = append(fs, f)
			}
			g = loop.Gather(s.l, append(fs, b)...)
			s.l.CallLater(time.Second, func() { g.Cancel() })
			_, err = loop.Await(co, g)
			s.at("gather %s", outcome(err))
			return nil
		},
		want: []string{
			"a cancelled cancelling=1@1s", "gather cancelled@1s",
			"b cancelled cancelling=1@2s", "gather cancelled@2s", "main: ok",
		},
	}, {
		// b takes a second to clean up after its cancellation: the gather
		// completes only then.
		name: "cancelling the gather cancels the children and completes after all have finished",
		main: func(s *sim, co *loop.Coro) error {
			a := s.task("a", 5*time.Second, 1, nil)
			b := s.spawn("b", func(co *loop.Coro) (int, error) {
				err := loop.Sleep(co, 5*time.Second)
				s.at("b cancelled, cleaning up")
				_ = loop.Sleep(co, time.Second)
				s.at("b cleaned up")
				return 0, err
			})
			g := loop.Gather(s.l, a, b)
			s.l.CallLater(time.Second, func() { s.at("Cancel=%v", g.Cancel()) })
			_, err := loop.Await(co, g)
			s.at("gather %s Cancelled=%v a=%v b=%v", outcome(err), g.Cancelled(), a.Cancelled(), b.Cancelled())
			return nil
		},
		want: []string{
			"Cancel=true@1s", "a cancelled@1s", "b cancelled, cleaning up@1s", "b cleaned up@2s",
			"gather cancelled Cancelled=false a=true b=true@2s", "main: ok",
		},
	}, {
		name: "cancelling a gather that is done does nothing",
		main: func(s *sim, co *loop.Coro) error {
			a, b := s.task("a", time.Second, 0, errBoom), s.task("b", 2*time.Second, 2, nil)
			g := loop.Gather(s.l, a, b)
			_, err := loop.Await(co, g)
			s.at("gather %s Cancel=%v", outcome(err), g.Cancel())
			v, err := loop.Await(co, b.Future)
			s.at("b %d %s", v, outcome(err))
			return nil
		},
		want: []string{"a done@1s", "gather boom Cancel=false@1s", "b done@2s", "b 2 ok@2s", "main: ok"},
	}, {
		name: "cancelling the task awaiting a gather cancels every child",
		main: func(s *sim, co *loop.Coro) error {
			a, b := s.task("a", 5*time.Second, 1, nil), s.task("b", 5*time.Second, 2, nil)
			waiter := s.spawn("waiter", func(co *loop.Coro) (int, error) {
				_, err := loop.Await(co, loop.Gather(s.l, a, b))
				s.at("waiter %s", outcome(err))
				return 0, err
			})
			s.l.CallLater(time.Second, func() { waiter.Cancel() })
			_, err := loop.Await(co, waiter.Future)
			s.at("waiter task %s Cancelled=%v", outcome(err), waiter.Cancelled())
			return nil
		},
		want: []string{"a cancelled@1s", "b cancelled@1s", "waiter cancelled@1s", "waiter task cancelled Cancelled=true@1s", "main: ok"},
	}, {
		name: "GatherSettled fails with a cancellation when it is cancelled",
		main: func(s *sim, co *loop.Coro) error {
			a, b := s.task("a", time.Second, 1, nil), s.task("b", 5*time.Second, 2, nil)
			g := loop.GatherSettled(s.l, a, b)
			s.l.CallLater(2*time.Second, func() { g.Cancel() })
			v, err := loop.Await(co, g)
			s.at("settled %v %s Cancelled=%v", v == nil, outcome(err), g.Cancelled())
			return nil
		},
		want: []string{"a done@1s", "b cancelled@2s", "settled true cancelled Cancelled=false@2s", "main: ok"},
	}, {
		// Regression: Gather's cancelled path read only the children up to
		// the first cancelled one, so a later child's error was neither
		// delivered nor marked retrieved, and Close reported it. asyncio
		// marks every child's error retrieved once the gather is done.
		name: "a cancelled gather leaves no child error unretrieved",
		main: func(s *sim, co *loop.Coro) error {
			a := s.task("a", 5*time.Second, 1, nil)
			b := s.spawn("b", func(co *loop.Coro) (int, error) {
				_ = loop.Sleep(co, 5*time.Second)
				s.at("b fails while cancelled")
				return 0, errBoom
			})
			g := loop.GatherSettled(s.l, a, b)
			s.l.CallLater(time.Second, func() { g.Cancel() })
			_, err := loop.Await(co, g)
			s.at("settled %s", outcome(err))
			return nil
		},
		want: []string{"a cancelled@1s", "b fails while cancelled@1s", "settled cancelled@1s", "main: ok"},
	}})
}

// TestGatherOtherLoopFailsInsteadOfPanicking: Gather and GatherSettled
// panicked on a child of another loop; they return a failed future instead.
func TestGatherOtherLoopFailsInsteadOfPanicking(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l, other := loop.New(), loop.New()
		defer l.Close()
		defer other.Close()
		f := future.New[int](other)
		mine := future.New[int](l)
		var g *future.Future[[]int]
		var gs *future.Future[[]loop.Outcome[int]]
		require.NotPanics(t, func() { g = loop.Gather(l, f) })
		require.NotPanics(t, func() { gs = loop.GatherSettled(l, mine, f) })
		require.True(t, g.Done())
		require.True(t, gs.Done())
		err, errSettled := g.Err(), gs.Err()
		require.ErrorIs(t, err, loop.ErrOtherLoop)
		assert.EqualError(t, err, "loop: Gather: future belongs to another loop")
		require.ErrorIs(t, errSettled, loop.ErrOtherLoop)
		assert.EqualError(t, errSettled, "loop: GatherSettled: future belongs to another loop")
		assert.False(t, mine.Done(), "no child is touched")
	})
}

// TestGatherNilFuturePanicsNamingGather: a nil child was a nil-pointer
// dereference deep in Gather; it is a panic that names the function.
func TestGatherNilFuturePanicsNamingGather(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := loop.New()
		defer l.Close()
		ok := future.New[int](l)
		assert.PanicsWithValue(t, "loop: Gather: nil future", func() {
			loop.Gather(l, ok, (*future.Future[int])(nil))
		})
		assert.PanicsWithValue(t, "loop: Gather: nil future", func() {
			loop.Gather(l, (*loop.Task[int])(nil))
		})
		assert.PanicsWithValue(t, "loop: GatherSettled: nil future", func() {
			loop.GatherSettled(l, []future.Of[int]{ok, nil}...)
		})
	})
}

// TestGatherTasks: tasks are children as they are, listed, spread from a
// slice, or mixed with futures, and the results keep their type.
func TestGatherTasks(t *testing.T) {
	var listed, spread, mixed []int
	var settled []loop.Outcome[string]
	syncRun(t, func(co *loop.Coro) error {
		l := co.Loop()
		num := func(v int) *loop.Task[int] {
			return loop.Spawn(l, func(co *loop.Coro) (int, error) { return v, loop.Sleep(co, time.Duration(v)) })
		}
		var err error
		if listed, err = loop.Await(co, loop.Gather(l, num(2), num(1))); err != nil {
			return err
		}
		ts := []*loop.Task[int]{num(3), num(1), num(2)}
		if spread, err = loop.Await(co, loop.Gather(l, ts...)); err != nil {
			return err
		}
		f := future.New[int](l)
		l.CallSoon(func() { f.SetResult(9) })
		if mixed, err = loop.Await(co, loop.Gather(l, []future.Of[int]{num(4), f}...)); err != nil {
			return err
		}
		boom := loop.Spawn(l, func(co *loop.Coro) (string, error) { return "", errors.New("boom") })
		fine := loop.Spawn(l, func(co *loop.Coro) (string, error) { return "fine", nil })
		settled, err = loop.Await(co, loop.GatherSettled(l, boom, fine))
		return err
	})
	assert.Equal(t, []int{2, 1}, listed)
	assert.Equal(t, []int{3, 1, 2}, spread)
	assert.Equal(t, []int{4, 9}, mixed)
	require.Len(t, settled, 2)
	assert.EqualError(t, settled[0].Err, "boom")
	assert.Equal(t, loop.Outcome[string]{Value: "fine"}, settled[1])
}
