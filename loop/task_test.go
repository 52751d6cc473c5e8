package loop_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aio-go/aio/future"
	"github.com/aio-go/aio/loop"
)

// taskTrace collects what task bodies and callbacks saw. It is used on the
// loop goroutine only; the test reads it after the loop has returned.
type taskTrace struct {
	l   *loop.Loop
	got []string
}

func (tr *taskTrace) add(format string, args ...any) {
	tr.got = append(tr.got, fmt.Sprintf(format, args...))
}

// it is the iteration the loop is in.
func (tr *taskTrace) it() uint64 { return tr.l.Stats().Iterations }

// at records name with the iteration it happened in ("inner@3").
func (tr *taskTrace) at(name string) { tr.add("%s@%d", name, tr.it()) }

// traceErr names an error by the sentinel it matches, for traces.
func traceErr(err error) string {
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, future.ErrCancelled):
		return "cancelled"
	case errors.Is(err, loop.ErrClosed):
		return "closed"
	case errors.Is(err, loop.ErrAwaitSelf):
		return "await-self"
	case errors.Is(err, loop.ErrOtherLoop):
		return "other-loop"
	}
	return err.Error()
}

// taskScenario is one row of a task table: main runs as the loop's main
// task (named "main") until it returns, and the trace must equal want.
type taskScenario struct {
	name string
	main func(co *loop.Coro, tr *taskTrace)
	want []string
}

// runTaskScenarios runs each row in a synctest bubble of its own, so Sleep
// is virtual and a task that would wait forever fails the row as a
// deadlock. No row may reach the exception handler.
func runTaskScenarios(t *testing.T, table []taskScenario) {
	t.Helper()
	for _, sc := range table {
		t.Run(sc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var excs []string
				l := loop.New(loop.WithExceptionHandler(func(c loop.ExceptionContext) {
					excs = append(excs, c.Message)
				}))
				tr := &taskTrace{l: l}
				main := loop.SpawnNamed(l, "main", func(co *loop.Coro) (struct{}, error) {
					sc.main(co, tr)
					return struct{}{}, nil
				})
				_, err := loop.RunUntilComplete(l, main.Future)
				require.NoError(t, err)
				assert.Equal(t, sc.want, tr.got)
				require.NoError(t, l.Close())
				assert.Empty(t, excs, "exception handler calls")
			})
		})
	}
}

// recordBody returns a body that adds name to the trace and returns v.
func recordBody(tr *taskTrace, name string, v int) func(*loop.Coro) (int, error) {
	return func(*loop.Coro) (int, error) {
		tr.add("%s", name)
		return v, nil
	}
}

// awaitRecord returns a body that awaits f, records how that went and
// returns f's outcome.
func awaitRecord(tr *taskTrace, name string, f *future.Future[int]) func(*loop.Coro) (int, error) {
	return func(co *loop.Coro) (int, error) {
		v, err := loop.Await(co, f)
		tr.add("%s resumed@%d: %d %s", name, tr.it(), v, traceErr(err))
		return v, err
	}
}

// settleTask awaits t and records its outcome and counters.
func settleTask(co *loop.Coro, tr *taskTrace, t *loop.Task[int]) {
	v, err := loop.Await(co, t.Future)
	tr.add("%s: %d %s, cancelled=%v cancelling=%d", t.Name(), v, traceErr(err), t.Cancelled(), t.Cancelling())
}

// blockedTask spawns a task "t" that awaits a new future f (recording how that
// went), and lets it reach that Await.
func blockedTask(co *loop.Coro, tr *taskTrace) (*loop.Task[int], *future.Future[int]) {
	f := future.New[int](co.Loop())
	tk := loop.SpawnNamed(co.Loop(), "t", awaitRecord(tr, "t", f))
	_ = loop.Sleep(co, 0)
	return tk, f
}

func taskNames(ts []loop.AnyTask) string {
	names := make([]string, len(ts))
	for i, t := range ts {
		names[i] = t.Name()
	}
	return strings.Join(names, " ")
}

// TestTaskOrder covers task scheduling (ASYNCIO_SEMANTICS §3.1, §3.3, §3.6):
// lazy start, wake-up timing, CurrentTask and Tasks.
func TestTaskOrder(t *testing.T) {
	runTaskScenarios(t, []taskScenario{{
		name: "lazy start: first steps run FIFO with callbacks, creator runs on",
		main: func(co *loop.Coro, tr *taskTrace) {
			l := co.Loop()
			l.CallSoon(func() { tr.add("x") })
			loop.Spawn(l, recordBody(tr, "A", 0))
			loop.Spawn(l, recordBody(tr, "B", 0))
			l.CallSoon(func() { tr.add("y") })
			tr.add("creator before await")
			_ = loop.Sleep(co, 0)
			tr.add("creator")
		},
		want: []string{"creator before await", "x", "A", "B", "y", "creator"},
	}, {
		name: "wake-up: future set in k resumes its task in k+1, its awaiter in k+2",
		main: func(co *loop.Coro, tr *taskTrace) {
			l := co.Loop()
			f := future.New[int](l)
			inner := loop.SpawnNamed(l, "inner", awaitRecord(tr, "inner", f))
			outer := loop.SpawnNamed(l, "outer", awaitRecord(tr, "outer", inner.Future))
			_ = loop.Sleep(co, 0)
			tr.at("set")
			f.SetResult(1)
			_, _ = loop.Await(co, outer.Future)
			tr.at("main")
		},
		want: []string{"set@2", "inner resumed@3: 1 ok", "outer resumed@4: 1 ok", "main@5"},
	}, {
		name: "await on a done future or task does not suspend",
		main: func(co *loop.Coro, tr *taskTrace) {
			l := co.Loop()
			f := future.New[int](l)
			f.SetResult(7)
			done := loop.Spawn(l, recordBody(tr, "child", 8))
			_ = loop.Sleep(co, 0)
			tr.at("before")
			v, err := loop.Await(co, f)
			tr.add("future: %d %s", v, traceErr(err))
			v, err = done.Await(co)
			tr.add("task: %d %s", v, traceErr(err))
			tr.at("after")
		},
		want: []string{"child", "before@2", "future: 7 ok", "task: 8 ok", "after@2"},
	}, {
		name: "CurrentTask: nil in callbacks, each task sees itself",
		main: func(co *loop.Coro, tr *taskTrace) {
			l := co.Loop()
			sees := func(who string) { tr.add("%s sees %v", who, loop.CurrentTask(l)) }
			tr.add("main sees %s", loop.CurrentTask(l).Name())
			l.CallSoon(func() { sees("callback") })
			body := func(co *loop.Coro) (int, error) {
				name := loop.CurrentTask(l).Name()
				for range 2 {
					tr.add("%s sees %s", name, loop.CurrentTask(l).Name())
					if err := loop.Sleep(co, 0); err != nil {
						return 0, err
					}
				}
				return 0, nil
			}
			a := loop.SpawnNamed(l, "A", body)
			b := loop.SpawnNamed(l, "B", body)
			a.AddDoneCallback(func(*future.Future[int]) { sees("done-callback") })
			_, _ = a.Await(co)
			_, _ = b.Await(co)
			tr.add("main sees %s", loop.CurrentTask(l).Name())
		},
		want: []string{
			"main sees main", "callback sees <nil>", "A sees A", "B sees B", "A sees A", "B sees B",
			"done-callback sees <nil>", "main sees main",
		},
	}, {
		name: "Tasks lists the tasks not done, in spawn order",
		main: func(co *loop.Coro, tr *taskTrace) {
			l := co.Loop()
			f := future.New[int](l)
			loop.SpawnNamed(l, "A", recordBody(tr, "A ran", 0))
			b := loop.SpawnNamed(l, "B", awaitRecord(tr, "B", f))
			c := loop.SpawnNamed(l, "C", awaitRecord(tr, "C", f))
			tr.add("spawned: %s", taskNames(l.Tasks()))
			_ = loop.Sleep(co, 0)
			tr.add("A done: %s", taskNames(l.Tasks()))
			f.SetResult(1)
			_, _ = b.Await(co)
			_, _ = c.Await(co)
			tr.add("all done: %s", taskNames(l.Tasks()))
		},
		want: []string{
			"spawned: main A B C", "A ran", "A done: main B C", "B resumed@3: 1 ok", "C resumed@3: 1 ok",
			"all done: main",
		},
	}})
}

// TestTaskCancel covers Task.cancel, cancelling and uncancel
// (ASYNCIO_SEMANTICS §3.4, §3.5; appendix item 6).
func TestTaskCancel(t *testing.T) {
	errWhy := errors.New("why")
	runTaskScenarios(t, []taskScenario{{
		name: "cancel while awaiting cancels the future now, the task later",
		main: func(co *loop.Coro, tr *taskTrace) {
			tk, f := blockedTask(co, tr)
			tr.at("cancel")
			tr.add("Cancel=%v f.Cancelled=%v t.Done=%v", tk.Cancel(), f.Cancelled(), tk.Done())
			settleTask(co, tr, tk)
		},
		want: []string{
			"cancel@2", "Cancel=true f.Cancelled=true t.Done=false", "t resumed@3: 0 cancelled",
			"t: 0 cancelled, cancelled=true cancelling=1",
		},
	}, {
		name: "every Cancel while pending returns true and counts",
		main: func(co *loop.Coro, tr *taskTrace) {
			tk, _ := blockedTask(co, tr)
			tr.add("Cancel=%v Cancel=%v Cancelling=%d", tk.Cancel(), tk.Cancel(), tk.Cancelling())
			settleTask(co, tr, tk)
			tr.add("Cancel when done=%v", tk.Cancel())
		},
		want: []string{
			"Cancel=true Cancel=true Cancelling=2", "t resumed@3: 0 cancelled",
			"t: 0 cancelled, cancelled=true cancelling=2", "Cancel when done=false",
		},
	}, {
		name: "cancelled before its first step: the body never runs",
		main: func(co *loop.Coro, tr *taskTrace) {
			tk := loop.SpawnNamed(co.Loop(), "t", recordBody(tr, "body ran", 1))
			tr.add("Cancel=%v", tk.Cancel())
			settleTask(co, tr, tk)
		},
		want: []string{"Cancel=true", "t: 0 cancelled, cancelled=true cancelling=1"},
	}, {
		name: "cancel after the awaited future completed wins over its result",
		main: func(co *loop.Coro, tr *taskTrace) {
			tk, f := blockedTask(co, tr)
			f.SetResult(5)
			tr.add("Cancel=%v", tk.Cancel())
			settleTask(co, tr, tk)
			v, err := f.Result()
			tr.add("f: %d %s cancelled=%v", v, traceErr(err), f.Cancelled())
		},
		want: []string{
			"Cancel=true", "t resumed@3: 0 cancelled", "t: 0 cancelled, cancelled=true cancelling=1",
			"f: 5 ok cancelled=false",
		},
	}, {
		name: "a body that swallows the cancellation ends with its result",
		main: func(co *loop.Coro, tr *taskTrace) {
			f := future.New[int](co.Loop())
			tk := loop.SpawnNamed(co.Loop(), "t", func(co *loop.Coro) (int, error) {
				_, err := loop.Await(co, f)
				tr.add("caught %s", traceErr(err))
				return 42, nil
			})
			_ = loop.Sleep(co, 0)
			tk.Cancel()
			settleTask(co, tr, tk)
		},
		want: []string{"caught cancelled", "t: 42 ok, cancelled=false cancelling=1"},
	}, {
		name: "a body that catches the cancellation may keep awaiting",
		main: func(co *loop.Coro, tr *taskTrace) {
			f := future.New[int](co.Loop())
			g := future.New[int](co.Loop())
			tk := loop.SpawnNamed(co.Loop(), "t", func(co *loop.Coro) (int, error) {
				_, err := loop.Await(co, f)
				tr.add("caught %s", traceErr(err))
				v, err := loop.Await(co, g)
				tr.add("then g: %d %s", v, traceErr(err))
				return v, err
			})
			_ = loop.Sleep(co, 0)
			tk.Cancel()
			_ = loop.Sleep(co, 0)
			g.SetResult(9)
			settleTask(co, tr, tk)
		},
		want: []string{"caught cancelled", "then g: 9 ok", "t: 9 ok, cancelled=false cancelling=1"},
	}, {
		name: "a task that cancels itself and then returns ends cancelled",
		main: func(co *loop.Coro, tr *taskTrace) {
			l := co.Loop()
			tk := loop.SpawnNamed(l, "t", func(co *loop.Coro) (int, error) {
				tr.add("self Cancel=%v", loop.CurrentTask(l).Cancel())
				return 1, nil
			})
			settleTask(co, tr, tk)
		},
		want: []string{"self Cancel=true", "t: 0 cancelled, cancelled=true cancelling=1"},
	}, {
		name: "a task that cancels itself and then awaits cancels that future at once",
		main: func(co *loop.Coro, tr *taskTrace) {
			l := co.Loop()
			f := future.New[int](l)
			tk := loop.SpawnNamed(l, "t", func(co *loop.Coro) (int, error) {
				loop.CurrentTask(l).Cancel()
				tr.at("await")
				v, err := loop.Await(co, f)
				tr.add("resumed@%d: %s f.Cancelled=%v", tr.it(), traceErr(err), f.Cancelled())
				return v, err
			})
			settleTask(co, tr, tk)
		},
		want: []string{"await@2", "resumed@3: cancelled f.Cancelled=true", "t: 0 cancelled, cancelled=true cancelling=1"},
	}, {
		name: "a body returning an error matching ErrCancelled ends cancelled",
		main: func(co *loop.Coro, tr *taskTrace) {
			tk := loop.SpawnNamed(co.Loop(), "t", func(*loop.Coro) (int, error) {
				return 0, fmt.Errorf("gave up: %w", future.ErrCancelled)
			})
			settleTask(co, tr, tk)
			tr.add("err: %v", tk.Err())
		},
		want: []string{"t: 0 cancelled, cancelled=true cancelling=0", "err: gave up: future: cancelled"},
	}, {
		name: "cancelling a task blocked on another task cancels the inner task",
		main: func(co *loop.Coro, tr *taskTrace) {
			l := co.Loop()
			f := future.New[int](l)
			inner := loop.SpawnNamed(l, "inner", awaitRecord(tr, "inner", f))
			outer := loop.SpawnNamed(l, "outer", awaitRecord(tr, "outer", inner.Future))
			_ = loop.Sleep(co, 0)
			tr.add("Cancel=%v inner.Cancelling=%d inner.Done=%v f.Cancelled=%v",
				outer.Cancel(), inner.Cancelling(), inner.Done(), f.Cancelled())
			settleTask(co, tr, outer)
			settleTask(co, tr, inner)
		},
		want: []string{
			"Cancel=true inner.Cancelling=1 inner.Done=false f.Cancelled=true", "inner resumed@3: 0 cancelled",
			"outer resumed@4: 0 cancelled", "outer: 0 cancelled, cancelled=true cancelling=1",
			"inner: 0 cancelled, cancelled=true cancelling=1",
		},
	}, {
		name: "cancelling the task's future is Cancel",
		main: func(co *loop.Coro, tr *taskTrace) {
			tk, f := blockedTask(co, tr)
			tr.add("Future.Cancel=%v Cancelling=%d f.Cancelled=%v t.Done=%v",
				tk.Future.Cancel(), tk.Cancelling(), f.Cancelled(), tk.Done())
			settleTask(co, tr, tk)
		},
		want: []string{
			"Future.Cancel=true Cancelling=1 f.Cancelled=true t.Done=false", "t resumed@3: 0 cancelled",
			"t: 0 cancelled, cancelled=true cancelling=1",
		},
	}, {
		name: "CancelWithCause: the error matches the cause",
		main: func(co *loop.Coro, tr *taskTrace) {
			tk, _ := blockedTask(co, tr)
			tk.CancelWithCause(errWhy)
			settleTask(co, tr, tk)
			tr.add("matches cause: %v", errors.Is(tk.Err(), errWhy))
		},
		want: []string{"t resumed@3: 0 cancelled", "t: 0 cancelled, cancelled=true cancelling=1", "matches cause: true"},
	}, {
		name: "Uncancel to zero withdraws a cancellation not yet delivered",
		main: func(co *loop.Coro, tr *taskTrace) {
			tk := loop.SpawnNamed(co.Loop(), "t", recordBody(tr, "body ran", 3))
			tk.Cancel()
			tr.add("Uncancel=%d", tk.Uncancel())
			settleTask(co, tr, tk)
		},
		want: []string{"Uncancel=0", "body ran", "t: 3 ok, cancelled=false cancelling=0"},
	}, {
		name: "Uncancel above zero keeps the cancellation",
		main: func(co *loop.Coro, tr *taskTrace) {
			tk := loop.SpawnNamed(co.Loop(), "t", recordBody(tr, "body ran", 3))
			tk.Cancel()
			tk.Cancel()
			tr.add("Uncancel=%d", tk.Uncancel())
			settleTask(co, tr, tk)
		},
		want: []string{"Uncancel=1", "t: 0 cancelled, cancelled=true cancelling=1"},
	}, {
		name: "Uncancel on a done task changes only the counter",
		main: func(co *loop.Coro, tr *taskTrace) {
			tk := loop.SpawnNamed(co.Loop(), "t", recordBody(tr, "body ran", 3))
			tk.Cancel()
			settleTask(co, tr, tk)
			tr.add("Uncancel=%d", tk.Uncancel())
			tr.add("cancelled=%v err=%s", tk.Cancelled(), traceErr(tk.Err()))
		},
		want: []string{"t: 0 cancelled, cancelled=true cancelling=1", "Uncancel=0", "cancelled=true err=cancelled"},
	}})
}

// TestTaskFacts covers names, String and the errors Await returns instead
// of suspending (ASYNCIO_SEMANTICS §3.1, §3.2).
func TestTaskFacts(t *testing.T) {
	runTaskScenarios(t, []taskScenario{{
		name: "names: Task-N from one counter, or the name given",
		main: func(co *loop.Coro, tr *taskTrace) {
			body := func(*loop.Coro) (int, error) { return 0, nil }
			a, b, w := loop.Spawn(co.Loop(), body), loop.Spawn(co.Loop(), body), loop.SpawnNamed(co.Loop(), "worker", body)
			na, errA := strconv.Atoi(strings.TrimPrefix(a.Name(), "Task-"))
			nb, errB := strconv.Atoi(strings.TrimPrefix(b.Name(), "Task-"))
			tr.add("numbered: %v %v, consecutive: %v, named: %s", errA == nil && na > 0, errB == nil, nb == na+1, w.Name())
		},
		want: []string{"numbered: true true, consecutive: true, named: worker"},
	}, {
		name: "String: the name and the state",
		main: func(co *loop.Coro, tr *taskTrace) {
			l := co.Loop()
			describe := func(tk *loop.Task[int], states ...string) {
				s := tk.String()
				has := strings.Contains(s, tk.Name())
				for _, st := range states {
					has = has && strings.Contains(s, st)
				}
				tr.add("%s: %v", tk.Name(), has)
			}
			okT, _ := blockedTask(co, tr)
			describe(okT, "waiting")
			failed := loop.SpawnNamed(l, "failed", func(*loop.Coro) (int, error) { return 0, errors.New("no") })
			cancelled := loop.SpawnNamed(l, "cancelled", recordBody(tr, "never", 0))
			describe(failed, "pending")
			cancelled.Cancel()
			_, _ = failed.Await(co)
			_, _ = cancelled.Await(co)
			describe(failed, "failed")
			describe(cancelled, "cancelled")
			okT.Cancel()
			settleTask(co, tr, okT)
		},
		want: []string{
			"t: true", "failed: true", "failed: true", "cancelled: true",
			"t resumed@5: 0 cancelled", "t: 0 cancelled, cancelled=true cancelling=1",
		},
	}, {
		name: "awaiting itself or another loop's future is an error, not a suspension",
		main: func(co *loop.Coro, tr *taskTrace) {
			l, other := co.Loop(), loop.New()
			defer other.Close()
			var self *loop.Task[int]
			self = loop.SpawnNamed(l, "self", func(co *loop.Coro) (int, error) {
				_, err1 := loop.Await(co, self.Future)
				_, err2 := self.Await(co)
				_, err3 := loop.Await(co, future.New[int](other))
				tr.at(fmt.Sprintf("%s %s %s", traceErr(err1), traceErr(err2), traceErr(err3)))
				return 1, nil
			})
			settleTask(co, tr, self)
		},
		want: []string{"await-self await-self other-loop@2", "self: 1 ok, cancelled=false cancelling=0"},
	}})
}

// TestTaskAwaitOutsideBody: Await and Sleep with a Coro anywhere but in its
// own task's body (another task's body, a callback, after the body
// returned) panic with a "loop:" message, before touching the task: the
// victim resumes once, when its own future completes.
func TestTaskAwaitOutsideBody(t *testing.T) {
	misuses := []struct {
		name string
		use  func(co *loop.Coro, g *future.Future[int])
	}{
		{"Await", func(co *loop.Coro, g *future.Future[int]) { _, _ = loop.Await(co, g) }},
		{"Sleep(0)", func(co *loop.Coro, _ *future.Future[int]) { _ = loop.Sleep(co, 0) }},
		{"Sleep(d)", func(co *loop.Coro, _ *future.Future[int]) { _ = loop.Sleep(co, time.Millisecond) }},
	}
	for _, mu := range misuses {
		t.Run(mu.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				l := loop.New(quiet())
				tr := &taskTrace{l: l}
				f, g := future.New[int](l), future.New[int](l)
				var victimCo *loop.Coro
				victim := loop.SpawnNamed(l, "victim", func(co *loop.Coro) (int, error) {
					victimCo = co
					return awaitRecord(tr, "victim", f)(co)
				})
				var inTask, inCallback any
				misuser := loop.Spawn(l, func(co *loop.Coro) (int, error) {
					inTask = catch(func() { mu.use(victimCo, g) })
					l.CallSoon(func() { inCallback = catch(func() { mu.use(victimCo, g) }) })
					_ = loop.Sleep(co, 0)
					_ = loop.Sleep(co, 0)
					g.SetResult(2)
					_ = loop.Sleep(co, 10*time.Millisecond)
					f.SetResult(1)
					return 0, nil
				})
				_, err := loop.RunUntilComplete(l, misuser.Future)
				require.NoError(t, err)
				_, err = loop.RunUntilComplete(l, victim.Future)
				assert.NoError(t, err)
				assert.Equal(t, []string{"victim resumed@6: 1 ok"}, tr.got)
				assert.Contains(t, fmt.Sprint(inTask), "loop:", "from another task's body")
				assert.Contains(t, fmt.Sprint(inCallback), "loop:", "from a callback")
				afterBody := catch(func() { mu.use(victimCo, future.New[int](l)) })
				assert.Contains(t, fmt.Sprint(afterBody), "loop:", "after the body returned")
				require.NoError(t, l.Close())
			})
		})
	}
}

// explode is a named frame for the panic stack to show.
func explode(v any) { panic(v) }

func TestTaskPanic(t *testing.T) {
	errBoom := errors.New("boom")
	synctest.Test(t, func(t *testing.T) {
		l := loop.New()
		s := loop.Spawn(l, func(*loop.Coro) (int, error) { explode("boom"); return 1, nil })
		e := loop.Spawn(l, func(*loop.Coro) (int, error) { explode(errBoom); return 1, nil })
		_, errS := loop.RunUntilComplete(l, s.Future)
		_, errE := loop.RunUntilComplete(l, e.Future)

		var pe *loop.PanicError
		require.ErrorAs(t, errS, &pe)
		assert.Equal(t, "boom", pe.Value)
		assert.Contains(t, string(pe.Stack), "loop_test.explode", "the stack is the body's")
		assert.False(t, s.Cancelled())
		assert.ErrorIs(t, errE, errBoom, "an error panic value unwraps")
		require.NoError(t, l.Close())
	})
}

func TestTaskContext(t *testing.T) {
	errWhy := errors.New("why")
	synctest.Test(t, func(t *testing.T) {
		l := loop.New()
		ctxs := map[string]context.Context{}
		var errBefore error
		waiter := func(name string, f *future.Future[int]) func(co *loop.Coro) (int, error) {
			return func(co *loop.Coro) (int, error) {
				ctxs[name] = co.Context()
				if err := co.Context().Err(); err != nil {
					errBefore = err
				}
				return loop.Await(co, f)
			}
		}
		f := future.New[int](l)
		cancelled := loop.Spawn(l, waiter("cancelled", future.New[int](l)))
		caused := loop.Spawn(l, waiter("caused", future.New[int](l)))
		done := loop.Spawn(l, waiter("done", f))
		late := loop.Spawn(l, func(co *loop.Coro) (int, error) {
			loop.CurrentTask(l).Cancel()
			ctxs["late"] = co.Context()
			return 0, nil
		})
		main := loop.Spawn(l, func(co *loop.Coro) (int, error) {
			_ = loop.Sleep(co, 0)
			cancelled.Cancel()
			caused.CancelWithCause(errWhy)
			f.SetResult(1)
			_, _ = done.Await(co)
			_, _ = late.Await(co)
			return 0, nil
		})
		_, err := loop.RunUntilComplete(l, main.Future)
		require.NoError(t, err)
		assert.NoError(t, errBefore, "not cancelled while the task runs")
		for name, ctx := range ctxs {
			assert.Error(t, ctx.Err(), name)
		}
		assert.ErrorIs(t, context.Cause(ctxs["cancelled"]), future.ErrCancelled)
		assert.ErrorIs(t, context.Cause(ctxs["caused"]), errWhy)
		assert.ErrorIs(t, context.Cause(ctxs["late"]), future.ErrCancelled, "created after the request")
		assert.ErrorIs(t, ctxs["done"].Err(), context.Canceled, "cancelled when done")
		assert.NotErrorIs(t, context.Cause(ctxs["done"]), future.ErrCancelled)
		require.NoError(t, l.Close())
	})
}

// TestSleepOrder covers asyncio.sleep's scheduling (ASYNCIO_SEMANTICS §4.1).
func TestSleepOrder(t *testing.T) {
	runTaskScenarios(t, []taskScenario{{
		name: "Sleep(0) yields exactly one iteration, after callbacks already ready",
		main: func(co *loop.Coro, tr *taskTrace) {
			co.Loop().CallSoon(func() { tr.at("callback") })
			tr.at("before")
			_ = loop.Sleep(co, 0)
			tr.at("after")
		},
		want: []string{"before@1", "callback@2", "after@2"},
	}, {
		name: "negative Sleep is Sleep(0)",
		main: func(co *loop.Coro, tr *taskTrace) {
			tr.at("before")
			_ = loop.Sleep(co, -time.Second)
			tr.at("after")
		},
		want: []string{"before@1", "after@2"},
	}, {
		name: "two tasks looping Sleep(0) interleave",
		main: func(co *loop.Coro, tr *taskTrace) {
			body := func(name string) func(*loop.Coro) (int, error) {
				return func(co *loop.Coro) (int, error) {
					for i := range 3 {
						tr.add("%s%d", name, i)
						if err := loop.Sleep(co, 0); err != nil {
							return 0, err
						}
					}
					return 0, nil
				}
			}
			a := loop.Spawn(co.Loop(), body("A"))
			b := loop.Spawn(co.Loop(), body("B"))
			_, _ = loop.Await(co, loop.Gather(co.Loop(), a, b))
		},
		want: []string{"A0", "B0", "A1", "B1", "A2", "B2"},
	}, {
		name: "Sleep(d) wakes at the deadline on the loop clock",
		main: func(co *loop.Coro, tr *taskTrace) {
			l := co.Loop()
			start := l.Now()
			body := func(d time.Duration) func(*loop.Coro) (int, error) {
				return func(co *loop.Coro) (int, error) {
					err := loop.Sleep(co, d)
					tr.add("slept %v: woke at %v %s", d, l.Now().Sub(start), traceErr(err))
					return 0, err
				}
			}
			long := loop.Spawn(l, body(30*time.Millisecond))
			short := loop.Spawn(l, body(10*time.Millisecond))
			_, _ = loop.Await(co, loop.Gather(l, long, short))
		},
		want: []string{"slept 10ms: woke at 10ms ok", "slept 30ms: woke at 30ms ok"},
	}, {
		name: "cancelling a sleeping task cancels its timer",
		main: func(co *loop.Coro, tr *taskTrace) {
			l := co.Loop()
			live := func() int { return l.Stats().Timers - l.Stats().CancelledTimers }
			start := l.Now()
			sleeper := loop.SpawnNamed(l, "t", func(co *loop.Coro) (int, error) { return 0, loop.Sleep(co, time.Hour) })
			_ = loop.Sleep(co, 0)
			tr.add("live timers while sleeping: %d", live())
			sleeper.Cancel()
			settleTask(co, tr, sleeper)
			tr.add("live timers: %d, after %v", live(), l.Now().Sub(start))
		},
		want: []string{
			"live timers while sleeping: 1", "t: 0 cancelled, cancelled=true cancelling=1", "live timers: 0, after 0s",
		},
	}})
}
