package loop_test

import (
	"errors"
	"log/slog"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aio-go/aio/future"
	"github.com/aio-go/aio/loop"
)

// groupChild is a group child that sleeps d, records "name done@t", and returns
// v and err; if cancelled, it records "name cancelled@t" and returns
// onCancel, or the cancellation if onCancel is nil.
func groupChild(s *sim, name string, d time.Duration, v int, err, onCancel error) func(co *loop.Coro) (int, error) {
	return func(co *loop.Coro) (int, error) {
		if cerr := loop.Sleep(co, d); cerr != nil {
			s.at("%s cancelled", name)
			if onCancel != nil {
				return 0, onCancel
			}
			return 0, cerr
		}
		s.at("%s done", name)
		return v, err
	}
}

// groupResult records what Group returned and the task's Cancelling count.
func groupResult(s *sim, err error) {
	s.at("group %s cancelling=%d", outcome(err), curTask(s).Cancelling())
}

// cancelWorker runs body as the task "worker", cancels it from outside
// after a second, waits for it and records "worker <outcome>@t".
func cancelWorker(s *sim, co *loop.Coro, body func(co *loop.Coro) (int, error)) error {
	w := s.spawn("worker", body)
	s.l.CallLater(time.Second, func() { w.Cancel() })
	_, err := loop.Await(co, w.Future)
	s.at("worker %s", outcome(err))
	return nil
}

// recordPanic runs fn and records the value it panics with.
func recordPanic(s *sim, name string, fn func()) {
	defer func() { s.log("%s: %v", name, recover()) }()
	fn()
}

var errA, errB = errors.New("a failed"), errors.New("b failed")

// TestTaskGroup covers asyncio's TaskGroup (ASYNCIO_SEMANTICS §4.8).
func TestTaskGroup(t *testing.T) {
	runSims(t, []simCase{{
		name: "Group returns when every child has finished",
		main: func(s *sim, co *loop.Coro) error {
			var a *loop.Task[int]
			err := loop.Group(co, func(g *loop.TaskGroup) error {
				a = loop.SpawnIn(g, groupChild(s, "a", 2*time.Second, 1, nil, nil))
				g.Go(func(co *loop.Coro) error {
					_, err := groupChild(s, "b", time.Second, 0, nil, nil)(co)
					return err
				})
				s.at("body returns")
				return nil
			})
			groupResult(s, err)
			v, err := a.Result()
			s.log("a %d %s", v, outcome(err))
			return nil
		},
		want: []string{"body returns@0s", "b done@1s", "a done@2s", "group ok cancelling=0@2s", "a 1 ok", "main: ok"},
	}, {
		name: "the first failure cancels the siblings and the body; the task is not left cancelled",
		main: func(s *sim, co *loop.Coro) error {
			err := loop.Group(co, func(g *loop.TaskGroup) error {
				loop.SpawnIn(g, groupChild(s, "a", time.Second, 0, errA, nil))
				loop.SpawnIn(g, groupChild(s, "b", 5*time.Second, 2, nil, nil))
				err := loop.Sleep(co, 10*time.Second)
				s.at("body sleep %s", outcome(err))
				return err
			})
			groupResult(s, err)
			return loop.Sleep(co, time.Second)
		},
		want: []string{"a done@1s", "b cancelled@1s", "body sleep cancelled@1s", "group join(a failed) cancelling=0@1s", "main: ok"},
	}, {
		// asyncio's test_cancelling_level_preserved: the group cancels the
		// task while Group waits, and withdraws that afterwards.
		name: "a failure after the body returned: the Cancelling count is preserved",
		main: func(s *sim, co *loop.Coro) error {
			err := loop.Group(co, func(g *loop.TaskGroup) error {
				loop.SpawnIn(g, groupChild(s, "a", 0, 0, errA, nil))
				loop.SpawnIn(g, groupChild(s, "b", 5*time.Second, 2, nil, nil))
				return nil
			})
			groupResult(s, err)
			return loop.Sleep(co, time.Second)
		},
		want: []string{"a done@0s", "b cancelled@0s", "group join(a failed) cancelling=0@0s", "main: ok"},
	}, {
		name: "failures in the same iteration are all joined, in order",
		main: func(s *sim, co *loop.Coro) error {
			err := loop.Group(co, func(g *loop.TaskGroup) error {
				loop.SpawnIn(g, groupChild(s, "a", time.Second, 0, errA, nil))
				loop.SpawnIn(g, groupChild(s, "b", time.Second, 0, errB, nil))
				return nil
			})
			groupResult(s, err)
			return nil
		},
		want: []string{"a done@1s", "b done@1s", "group join(a failed, b failed) cancelling=0@1s", "main: ok"},
	}, {
		name: "a sibling failing while being cancelled adds its error",
		main: func(s *sim, co *loop.Coro) error {
			err := loop.Group(co, func(g *loop.TaskGroup) error {
				loop.SpawnIn(g, groupChild(s, "a", time.Second, 0, errA, nil))
				loop.SpawnIn(g, groupChild(s, "b", 5*time.Second, 0, nil, errB))
				loop.SpawnIn(g, groupChild(s, "c", 5*time.Second, 0, nil, nil))
				return nil
			})
			groupResult(s, err)
			return nil
		},
		want: []string{"a done@1s", "b cancelled@1s", "c cancelled@1s", "group join(a failed, b failed) cancelling=0@1s", "main: ok"},
	}, {
		name: "children's cancellations are never errors",
		main: func(s *sim, co *loop.Coro) error {
			err := loop.Group(co, func(g *loop.TaskGroup) error {
				a := loop.SpawnIn(g, groupChild(s, "a", 5*time.Second, 1, nil, nil))
				loop.SpawnIn(g, groupChild(s, "b", 2*time.Second, 2, nil, nil))
				s.l.CallLater(time.Second, func() { a.Cancel() })
				return nil
			})
			groupResult(s, err)
			return nil
		},
		want: []string{"a cancelled@1s", "b done@2s", "group ok cancelling=0@2s", "main: ok"},
	}, {
		name: "the body's error aborts the group and comes after the children's",
		main: func(s *sim, co *loop.Coro) error {
			err := loop.Group(co, func(g *loop.TaskGroup) error {
				loop.SpawnIn(g, groupChild(s, "a", 5*time.Second, 0, nil, errA))
				loop.SpawnIn(g, groupChild(s, "b", 5*time.Second, 0, nil, nil))
				_ = loop.Sleep(co, time.Second)
				return errBoom
			})
			groupResult(s, err)
			return loop.Sleep(co, time.Second)
		},
		want: []string{"a cancelled@1s", "b cancelled@1s", "group join(a failed, boom) cancelling=0@1s", "main: ok"},
	}, {
		name: "a cancellation from outside while the body runs propagates after the children finish",
		main: func(s *sim, co *loop.Coro) error {
			return cancelWorker(s, co, func(co *loop.Coro) (int, error) {
				err := loop.Group(co, func(g *loop.TaskGroup) error {
					loop.SpawnIn(g, cleanupBody(s, "c", 0, nil))
					err := loop.Sleep(co, 10*time.Second)
					s.at("body sleep %s", outcome(err))
					return err
				})
				groupResult(s, err)
				return 0, err
			})
		},
		want: []string{
			"body sleep cancelled@1s", "c cancelled, cleaning up@1s", "c cleaned up@2s",
			"group cancelled cancelling=1@2s", "worker cancelled@2s", "main: ok",
		},
	}, {
		name: "a cancellation from outside while Group waits cancels the children and propagates",
		main: func(s *sim, co *loop.Coro) error {
			return cancelWorker(s, co, func(co *loop.Coro) (int, error) {
				err := loop.Group(co, func(g *loop.TaskGroup) error {
					loop.SpawnIn(g, cleanupBody(s, "c", 0, nil))
					return nil
				})
				groupResult(s, err)
				return 0, err
			})
		},
		want: []string{
			"c cancelled, cleaning up@1s", "c cleaned up@2s", "group cancelled cancelling=1@2s", "worker cancelled@2s", "main: ok",
		},
	}, {
		// asyncio 3.13 re-cancels the task so that the cancellation the
		// errors replaced is not lost.
		name: "errors win over a cancellation from outside, which the next suspension reports",
		main: func(s *sim, co *loop.Coro) error {
			return cancelWorker(s, co, func(co *loop.Coro) (int, error) {
				err := loop.Group(co, func(g *loop.TaskGroup) error {
					loop.SpawnIn(g, groupChild(s, "a", 10*time.Second, 0, nil, errA))
					return loop.Sleep(co, 10*time.Second)
				})
				groupResult(s, err)
				err = loop.Sleep(co, time.Second)
				s.at("worker sleep %s", outcome(err))
				return 0, err
			})
		},
		want: []string{
			"a cancelled@1s", "group join(a failed) cancelling=1@1s", "worker sleep cancelled@1s", "worker cancelled@1s", "main: ok",
		},
	}, {
		// asyncio's test_nested_groups_both_cancelled.
		name: "nested groups failing together: each reports its own error; the count comes back to 0",
		main: func(s *sim, co *loop.Coro) error {
			err := loop.Group(co, func(outer *loop.TaskGroup) error {
				err := loop.Group(co, func(inner *loop.TaskGroup) error {
					loop.SpawnIn(inner, groupChild(s, "a", 0, 0, errA, nil))
					loop.SpawnIn(outer, groupChild(s, "b", 0, 0, errB, nil))
					return nil
				})
				s.at("inner %s cancelling=%d", outcome(err), curTask(s).Cancelling())
				return nil
			})
			groupResult(s, err)
			return loop.Sleep(co, time.Second)
		},
		want: []string{
			"a done@0s", "b done@0s", "inner join(a failed) cancelling=1@0s", "group join(b failed) cancelling=0@0s", "main: ok",
		},
	}, {
		// asyncio semantics: a cancellation the task swallowed without
		// Uncancel still counts as pending, and comes back after errors.
		name: "a swallowed earlier cancellation resurfaces after a group with errors",
		main: func(s *sim, co *loop.Coro) error {
			curTask(s).Cancel()
			s.log("swallowed: %s", outcome(loop.Sleep(co, 0)))
			err := loop.Group(co, func(g *loop.TaskGroup) error {
				loop.SpawnIn(g, groupChild(s, "a", time.Second, 0, errA, nil))
				return loop.Sleep(co, 10*time.Second)
			})
			groupResult(s, err)
			s.at("next sleep %s", outcome(loop.Sleep(co, time.Second)))
			return nil
		},
		want: []string{
			"swallowed: cancelled", "a done@1s", "group join(a failed) cancelling=1@1s", "next sleep cancelled@1s", "main: ok",
		},
	}, {
		name: "children may spawn siblings while Group waits",
		main: func(s *sim, co *loop.Coro) error {
			err := loop.Group(co, func(g *loop.TaskGroup) error {
				loop.SpawnIn(g, func(co *loop.Coro) (int, error) {
					_ = loop.Sleep(co, time.Second)
					loop.SpawnIn(g, groupChild(s, "b", time.Second, 2, nil, nil))
					s.at("a spawned b")
					return 1, nil
				})
				return nil
			})
			groupResult(s, err)
			return nil
		},
		want: []string{"a spawned b@1s", "b done@2s", "group ok cancelling=0@2s", "main: ok"},
	}, {
		name: "no children once the group is shutting down or finished",
		main: func(s *sim, co *loop.Coro) error {
			var kept *loop.TaskGroup
			err := loop.Group(co, func(g *loop.TaskGroup) error {
				kept = g
				loop.SpawnIn(g, groupChild(s, "a", time.Second, 0, errA, nil))
				_ = loop.Sleep(co, 10*time.Second)
				recordPanic(s, "shutting down", func() { loop.SpawnIn(g, groupChild(s, "x", 0, 0, nil, nil)) })
				return nil
			})
			groupResult(s, err)
			recordPanic(s, "finished", func() { kept.Go(func(*loop.Coro) error { return nil }) })
			return nil
		},
		want: []string{
			"a done@1s", "shutting down: loop: SpawnIn: the task group is shutting down",
			"group join(a failed) cancelling=0@1s", "finished: loop: TaskGroup.Go: the task group is finished", "main: ok",
		},
	}, {
		name: "a child that panics fails the group with a *PanicError",
		main: func(s *sim, co *loop.Coro) error {
			err := loop.Group(co, func(g *loop.TaskGroup) error {
				g.Go(func(co *loop.Coro) error { panic("kaboom") })
				return nil
			})
			groupResult(s, err)
			var pe *loop.PanicError
			s.log("PanicError: %v", errors.As(err, &pe) && pe.Value == "kaboom")
			return nil
		},
		want: []string{"group join(loop: panic: kaboom) cancelling=0@0s", "PanicError: true", "main: ok"},
	}, {
		// The panic goes on at once; a child's later failure has nobody
		// to go to but the exception handler.
		name: "a panicking body cancels the children without waiting for them",
		main: func(s *sim, co *loop.Coro) error {
			w := s.spawn("worker", func(co *loop.Coro) (int, error) {
				_ = loop.Group(co, func(g *loop.TaskGroup) error {
					loop.SpawnIn(g, groupChild(s, "a", 5*time.Second, 0, nil, errA))
					_ = loop.Sleep(co, time.Second)
					panic("body bug")
				})
				return 0, nil
			})
			_, err := loop.Await(co, w.Future)
			s.at("worker %s", outcome(err))
			return loop.Sleep(co, time.Second)
		},
		want:    []string{"a cancelled@1s", "worker loop: panic: body bug@1s", "main: ok"},
		reports: []string{"loop: task group child failed after its group ended"},
	}, {
		name: "Group outside a task panics",
		main: func(s *sim, co *loop.Coro) error {
			f := s.fut("f")
			s.l.CallSoon(func() {
				recordPanic(s, "Group", func() { _ = loop.Group(co, func(*loop.TaskGroup) error { return nil }) })
				f.SetResult(0)
			})
			_, err := loop.Await(co, f)
			return err
		},
		want: []string{"Group: loop: Group: called outside a task", "main: ok"},
	}})
}

// TestCombinatorsLoopClosed: a loop closing under a waiting combinator
// ends the wait with an error matching ErrClosed (Close stops every task's
// coroutine), and nothing hangs or leaks.
func TestCombinatorsLoopClosed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := loop.New(loop.WithLogger(slog.New(slog.DiscardHandler)))
		got := map[string]error{}
		spawn := func(name string, body func(co *loop.Coro) error) {
			loop.Spawn(l, func(co *loop.Coro) (int, error) {
				err := body(co)
				got[name] = err
				return 0, err
			})
		}
		never := func() *future.Future[int] { return future.New[int](l) }
		spawn("Wait", func(co *loop.Coro) error {
			_, _, err := loop.Wait(co, []future.Awaitable{never()}, time.Hour, loop.AllCompleted)
			return err
		})
		spawn("WaitFor", func(co *loop.Coro) error {
			_, err := loop.WaitFor(co, never(), time.Hour)
			return err
		})
		spawn("WithTimeout", func(co *loop.Coro) error {
			return loop.WithTimeout(co, time.Hour, func(*loop.Timeout) error {
				_, err := loop.Await(co, never())
				return err
			})
		})
		spawn("AsCompleted", func(co *loop.Coro) error {
			for _, err := range loop.AsCompleted(co, []future.Awaitable{never()}, time.Hour) {
				return err
			}
			return nil
		})
		spawn("Group", func(co *loop.Coro) error {
			return loop.Group(co, func(g *loop.TaskGroup) error {
				g.Go(func(co *loop.Coro) error { return loop.Sleep(co, time.Hour) })
				return nil
			})
		})
		l.CallLater(time.Second, l.Stop)
		require.NoError(t, l.RunForever())
		require.NoError(t, l.Close())
		require.Len(t, got, 5)
		for name, err := range got {
			assert.ErrorIs(t, err, loop.ErrClosed, name)
			assert.NotErrorIs(t, err, loop.ErrTimeout, name)
		}
	})
}
