package loop_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aio-go/aio/future"
	"github.com/aio-go/aio/loop"
)

// curTask is the running task, for its Cancelling count.
func curTask(s *sim) loop.AnyTask { return loop.CurrentTask(s.l) }

// sleepBlock is a Timeout body that sleeps d and records how that went.
func sleepBlock(s *sim, co *loop.Coro, name string, d time.Duration) func(*loop.Timeout) error {
	return func(*loop.Timeout) error {
		err := loop.Sleep(co, d)
		s.at("%s sleep %s", name, outcome(err))
		return err
	}
}

// TestTimeout covers asyncio's timeout and timeout_at (ASYNCIO_SEMANTICS
// §4.5).
func TestTimeout(t *testing.T) {
	runSims(t, []simCase{{
		name: "a block that finishes in time",
		main: func(s *sim, co *loop.Coro) error {
			var tm *loop.Timeout
			err := loop.WithTimeout(co, 2*time.Second, func(t *loop.Timeout) error {
				tm = t
				s.log("when=%v", t.When().Sub(s.start))
				return sleepBlock(s, co, "block", time.Second)(t)
			})
			s.at("%s expired=%v %s", outcome(err), tm.Expired(), tm)
			return nil
		},
		want: []string{"when=2s", "block sleep ok@1s", "ok expired=false Timeout<finished>@1s", "main: ok"},
	}, {
		name: "expiry cancels the block, reports ErrTimeout, and leaves the task uncancelled",
		main: func(s *sim, co *loop.Coro) error {
			var tm *loop.Timeout
			err := loop.WithTimeout(co, time.Second, func(t *loop.Timeout) error {
				tm = t
				return sleepBlock(s, co, "block", 5*time.Second)(t)
			})
			s.at("%s expired=%v %s cancelling=%d", outcome(err), tm.Expired(), tm, curTask(s).Cancelling())
			return loop.Sleep(co, time.Second)
		},
		want: []string{"block sleep cancelled@1s", "timeout expired=true Timeout<expired> cancelling=0@1s", "main: ok"},
	}, {
		name: "the deadline is fixed when the Timeout is created",
		main: func(s *sim, co *loop.Coro) error {
			tm := loop.NewTimeout(s.l, 2*time.Second)
			_ = loop.Sleep(co, time.Second)
			err := tm.Do(co, func() error { return sleepBlock(s, co, "block", 5*time.Second)(tm) })
			s.at("%s", outcome(err))
			return nil
		},
		want: []string{"block sleep cancelled@2s", "timeout@2s", "main: ok"},
	}, {
		name: "a block that swallows the cancellation gets no error, yet expired",
		main: func(s *sim, co *loop.Coro) error {
			var tm *loop.Timeout
			err := loop.WithTimeout(co, time.Second, func(t *loop.Timeout) error {
				tm = t
				_ = sleepBlock(s, co, "block", 5*time.Second)(t)
				return nil
			})
			s.at("%s expired=%v cancelling=%d", outcome(err), tm.Expired(), curTask(s).Cancelling())
			return loop.Sleep(co, time.Second)
		},
		want: []string{"block sleep cancelled@1s", "ok expired=true cancelling=0@1s", "main: ok"},
	}, {
		name: "another error from an expired block is returned as it is",
		main: func(s *sim, co *loop.Coro) error {
			err := loop.WithTimeout(co, time.Second, func(t *loop.Timeout) error {
				_ = sleepBlock(s, co, "block", 5*time.Second)(t)
				return errBoom
			})
			s.at("%s cancelling=%d", outcome(err), curTask(s).Cancelling())
			return nil
		},
		want: []string{"block sleep cancelled@1s", "boom cancelling=0@1s", "main: ok"},
	}, {
		name: "a deadline that has passed lets the block run until it first suspends",
		main: func(s *sim, co *loop.Coro) error {
			err := loop.WithTimeout(co, 0, func(t *loop.Timeout) error {
				s.log("running, expired=%v", t.Expired())
				return sleepBlock(s, co, "block", 0)(t)
			})
			s.at("zero: %s", outcome(err))
			err = loop.WithTimeoutAt(co, s.l.Now().Add(-time.Hour), sleepBlock(s, co, "past", time.Second))
			s.at("past: %s", outcome(err))
			err = loop.WithTimeout(co, -time.Second, func(*loop.Timeout) error {
				s.log("never suspends")
				return nil
			})
			s.at("no suspension: %s", outcome(err))
			return loop.Sleep(co, time.Second)
		},
		want: []string{
			"running, expired=false", "block sleep cancelled@0s", "zero: timeout@0s",
			"past sleep cancelled@0s", "past: timeout@0s", "never suspends", "no suspension: ok@0s", "main: ok",
		},
	}, {
		// asyncio's test_nested_timeouts: the inner block sees the
		// cancellation, the outer one converts it.
		name: "nested timeouts expiring together: only the outermost reports ErrTimeout",
		main: func(s *sim, co *loop.Coro) error {
			deadline := s.l.Now().Add(time.Second)
			var outer, inner *loop.Timeout
			err := loop.WithTimeoutAt(co, deadline, func(tm *loop.Timeout) error {
				outer = tm
				err := loop.WithTimeoutAt(co, deadline, func(tm *loop.Timeout) error {
					inner = tm
					return sleepBlock(s, co, "inner", 10*time.Second)(tm)
				})
				s.at("inner: %s cancelling=%d", outcome(err), curTask(s).Cancelling())
				return err
			})
			s.at("outer: %s expired=%v,%v cancelling=%d", outcome(err), outer.Expired(), inner.Expired(), curTask(s).Cancelling())
			return nil
		},
		want: []string{
			"inner sleep cancelled@1s", "inner: cancelled cancelling=1@1s",
			"outer: timeout expired=true,true cancelling=0@1s", "main: ok",
		},
	}, {
		name: "an inner timeout expiring alone reports ErrTimeout to the outer block",
		main: func(s *sim, co *loop.Coro) error {
			err := loop.WithTimeout(co, 5*time.Second, func(outer *loop.Timeout) error {
				err := loop.WithTimeout(co, time.Second, sleepBlock(s, co, "inner", 10*time.Second))
				s.at("inner: %s", outcome(err))
				return sleepBlock(s, co, "outer", time.Second)(outer)
			})
			s.at("outer: %s", outcome(err))
			return nil
		},
		want: []string{"inner sleep cancelled@1s", "inner: timeout@1s", "outer sleep ok@2s", "outer: ok@2s", "main: ok"},
	}, {
		name: "an outer timeout expiring inside an inner one: the inner block sees a cancellation",
		main: func(s *sim, co *loop.Coro) error {
			err := loop.WithTimeout(co, time.Second, func(*loop.Timeout) error {
				var inner *loop.Timeout
				err := loop.WithTimeout(co, 5*time.Second, func(tm *loop.Timeout) error {
					inner = tm
					return sleepBlock(s, co, "inner", 10*time.Second)(tm)
				})
				s.at("inner: %s expired=%v", outcome(err), inner.Expired())
				return err
			})
			s.at("outer: %s", outcome(err))
			return nil
		},
		want: []string{"inner sleep cancelled@1s", "inner: cancelled expired=false@1s", "outer: timeout@1s", "main: ok"},
	}, {
		name: "a cancellation from outside before expiry stays a cancellation",
		main: func(s *sim, co *loop.Coro) error {
			w := s.spawn("worker", func(co *loop.Coro) (int, error) {
				err := loop.WithTimeout(co, 5*time.Second, sleepBlock(s, co, "block", 10*time.Second))
				s.at("worker: %s cancelling=%d", outcome(err), curTask(s).Cancelling())
				return 0, err
			})
			s.l.CallLater(time.Second, func() { w.Cancel() })
			_, err := loop.Await(co, w.Future)
			s.at("worker %s Cancelled=%v", outcome(err), w.Cancelled())
			return nil
		},
		want: []string{"block sleep cancelled@1s", "worker: cancelled cancelling=1@1s", "worker cancelled Cancelled=true@1s", "main: ok"},
	}, {
		name: "a cancellation from outside as the deadline passes stays a cancellation",
		main: func(s *sim, co *loop.Coro) error {
			return cancelWorker(s, co, func(co *loop.Coro) (int, error) {
				var tm *loop.Timeout
				err := loop.WithTimeout(co, time.Second, func(t *loop.Timeout) error {
					tm = t
					return sleepBlock(s, co, "block", 10*time.Second)(t)
				})
				s.at("worker: %s expired=%v cancelling=%d", outcome(err), tm.Expired(), curTask(s).Cancelling())
				return 0, err
			})
		},
		want: []string{"block sleep cancelled@1s", "worker: cancelled expired=true cancelling=1@1s", "worker cancelled@1s", "main: ok"},
	}, {
		// asyncio's wait_for issue 86296: the expiry lands after the awaited
		// future completed but before the task resumed; the value is lost.
		name: "expiry between the awaited future's completion and the task's resumption wins",
		main: func(s *sim, co *loop.Coro) error {
			f := s.fut("f")
			s.l.CallLater(time.Second, func() { f.SetResult(1) })
			err := loop.WithTimeout(co, time.Second, func(*loop.Timeout) error {
				v, err := loop.Await(co, f)
				s.at("await %d %s", v, outcome(err))
				return err
			})
			s.at("%s f=%s", outcome(err), outcome(f.Err()))
			return nil
		},
		want: []string{"await 0 cancelled@1s", "timeout f=ok@1s", "main: ok"},
	}, {
		name: "Reschedule moves or removes the deadline",
		main: func(s *sim, co *loop.Coro) error {
			err := loop.WithTimeout(co, time.Second, func(tm *loop.Timeout) error {
				tm.Reschedule(s.l.Now().Add(3 * time.Second))
				_ = sleepBlock(s, co, "extended", 2*time.Second)(tm)
				tm.Reschedule(time.Time{})
				s.log("when zero=%v", tm.When().IsZero())
				return sleepBlock(s, co, "no deadline", time.Hour)(tm)
			})
			s.at("first: %s", outcome(err))
			err = loop.WithTimeout(co, time.Hour, func(tm *loop.Timeout) error {
				tm.Reschedule(s.l.Now().Add(-time.Second))
				return sleepBlock(s, co, "moved into the past", time.Hour)(tm)
			})
			s.at("second: %s", outcome(err))
			return nil
		},
		want: []string{
			"extended sleep ok@2s", "when zero=true", "no deadline sleep ok@1h0m2s", "first: ok@1h0m2s",
			"moved into the past sleep cancelled@1h0m2s", "second: timeout@1h0m2s", "main: ok",
		},
	}, {
		name: "NoTimeout and the zero time mean no deadline",
		main: func(s *sim, co *loop.Coro) error {
			tm := loop.NewTimeout(s.l, loop.NoTimeout)
			s.log("%s zero=%v", tm, tm.When().IsZero())
			err := tm.Do(co, func() error { return sleepBlock(s, co, "NoTimeout", time.Hour)(tm) })
			s.at("%s", outcome(err))
			err = loop.WithTimeoutAt(co, time.Time{}, sleepBlock(s, co, "zero time", time.Hour))
			s.at("%s", outcome(err))
			return nil
		},
		want: []string{
			"Timeout<created> zero=true", "NoTimeout sleep ok@1h0m0s", "ok@1h0m0s", "zero time sleep ok@2h0m0s", "ok@2h0m0s", "main: ok",
		},
	}, {
		name: "misuse panics",
		main: func(s *sim, co *loop.Coro) error {
			try := func(name string, fn func()) {
				defer func() { s.log("%s: %v", name, recover()) }()
				fn()
			}
			tm := loop.NewTimeout(s.l, time.Second)
			try("Reschedule before Do", func() { tm.Reschedule(time.Time{}) })
			_ = tm.Do(co, func() error {
				s.log("active: %v", strings.HasPrefix(tm.String(), "Timeout<active when="))
				_ = loop.Sleep(co, 2*time.Second)
				try("Reschedule while expiring", func() { tm.Reschedule(time.Time{}) })
				return nil
			})
			try("Reschedule after expiry", func() { tm.Reschedule(time.Time{}) })
			try("Do twice", func() { _ = tm.Do(co, func() error { return nil }) })
			done := loop.NewTimeout(s.l, time.Second)
			_ = done.Do(co, func() error { return nil })
			try("Reschedule when finished", func() { done.Reschedule(time.Time{}) })
			called := future.New[struct{}](s.l)
			s.l.CallSoon(func() {
				try("Do outside a task", func() { _ = loop.NewTimeout(s.l, time.Second).Do(co, func() error { return nil }) })
				called.SetResult(struct{}{})
			})
			_, err := loop.Await(co, called)
			return err
		},
		want: []string{
			"Reschedule before Do: loop: Timeout.Reschedule: the timeout has not been entered",
			"active: true",
			"Reschedule while expiring: loop: Timeout.Reschedule: the timeout is expiring",
			"Reschedule after expiry: loop: Timeout.Reschedule: the timeout is expired",
			"Do twice: loop: Timeout.Do: the timeout has already been used",
			"Reschedule when finished: loop: Timeout.Reschedule: the timeout is finished",
			"Do outside a task: loop: Timeout.Do: called outside a task",
			"main: ok",
		},
	}})
}

// TestErrTimeout: ErrTimeout is a deadline, never a cancellation.
func TestErrTimeout(t *testing.T) {
	assert.ErrorIs(t, loop.ErrTimeout, loop.ErrTimeout)
	assert.ErrorIs(t, loop.ErrTimeout, context.DeadlineExceeded)
	assert.NotErrorIs(t, loop.ErrTimeout, future.ErrCancelled)
	assert.NotErrorIs(t, loop.ErrTimeout, context.Canceled)
	assert.Equal(t, "loop: timeout", loop.ErrTimeout.Error())
	var te interface{ Timeout() bool }
	if assert.ErrorAs(t, loop.ErrTimeout, &te) {
		assert.True(t, te.Timeout())
	}
}

// cleanupBody is a task body that sleeps 10s; when cancelled it takes a
// second to clean up and then returns v and err (the cancellation when err
// is nil and v is 0).
func cleanupBody(s *sim, name string, v int, err error) func(co *loop.Coro) (int, error) {
	return func(co *loop.Coro) (int, error) {
		cerr := loop.Sleep(co, 10*time.Second)
		if cerr == nil {
			s.at("%s done", name)
			return 1, nil
		}
		s.at("%s cancelled, cleaning up", name)
		_ = loop.Sleep(co, time.Second)
		s.at("%s cleaned up", name)
		if v == 0 && err == nil {
			return 0, cerr
		}
		return v, err
	}
}

// cleanupTask spawns cleanupBody as the task "inner".
func cleanupTask(s *sim, v int, err error) *loop.Task[int] {
	return s.spawn("inner", cleanupBody(s, "inner", v, err))
}

// TestWaitFor covers asyncio's wait_for (ASYNCIO_SEMANTICS §4.4).
func TestWaitFor(t *testing.T) {
	runSims(t, []simCase{{
		name: "the future completes in time",
		main: func(s *sim, co *loop.Coro) error {
			v, err := loop.WaitFor(co, s.task("a", time.Second, 7, nil), 2*time.Second)
			s.at("WaitFor %d %s", v, outcome(err))
			return nil
		},
		want: []string{"a done@1s", "WaitFor 7 ok@1s", "main: ok"},
	}, {
		name: "on expiry the task is cancelled and waited for",
		main: func(s *sim, co *loop.Coro) error {
			in := cleanupTask(s, 0, nil)
			v, err := loop.WaitFor(co, in, time.Second)
			s.at("WaitFor %d %s inner Cancelled=%v cancelling=%d", v, outcome(err), in.Cancelled(), curTask(s).Cancelling())
			return loop.Sleep(co, time.Second)
		},
		want: []string{
			"inner cancelled, cleaning up@1s", "inner cleaned up@2s",
			"WaitFor 0 timeout inner Cancelled=true cancelling=0@2s", "main: ok",
		},
	}, {
		name: "a task that handles the cancellation and returns a value: the value",
		main: func(s *sim, co *loop.Coro) error {
			v, err := loop.WaitFor(co, cleanupTask(s, 42, nil), time.Second)
			s.at("WaitFor %d %s", v, outcome(err))
			return nil
		},
		want: []string{"inner cancelled, cleaning up@1s", "inner cleaned up@2s", "WaitFor 42 ok@2s", "main: ok"},
	}, {
		name: "a task that fails otherwise during the cancellation: its error",
		main: func(s *sim, co *loop.Coro) error {
			v, err := loop.WaitFor(co, cleanupTask(s, -1, errBoom), time.Second)
			s.at("WaitFor %d %s", v, outcome(err))
			return nil
		},
		want: []string{"inner cancelled, cleaning up@1s", "inner cleaned up@2s", "WaitFor 0 boom@2s", "main: ok"},
	}, {
		name: "a plain future is cancelled on expiry",
		main: func(s *sim, co *loop.Coro) error {
			f := s.fut("f")
			_, err := loop.WaitFor(co, f, time.Second)
			s.at("WaitFor %s f Cancelled=%v", outcome(err), f.Cancelled())
			return nil
		},
		want: []string{"WaitFor timeout f Cancelled=true@1s", "main: ok"},
	}, {
		name: "a timeout <= 0 with a done future gives its outcome without suspending",
		main: func(s *sim, co *loop.Coro) error {
			f, g := s.fut("f"), s.fut("g")
			f.SetResult(3)
			g.SetError(errBoom)
			v, err := loop.WaitFor(co, f, 0)
			s.iter("f %d %s", v, outcome(err))
			_, err = loop.WaitFor(co, g, -time.Second)
			s.iter("g %s", outcome(err))
			return nil
		},
		want: []string{"f 3 ok#1", "g boom#1", "main: ok"},
	}, {
		name: "a timeout <= 0 cancels a task that has not started: its body never runs",
		main: func(s *sim, co *loop.Coro) error {
			in := s.task("inner", 0, 1, nil)
			v, err := loop.WaitFor(co, in, 0)
			s.at("WaitFor %d %s Cancelled=%v", v, outcome(err), in.Cancelled())
			return nil
		},
		want: []string{"WaitFor 0 timeout Cancelled=true@0s", "main: ok"},
	}, {
		name: "a timeout <= 0 waits for a running task to finish its cancellation",
		main: func(s *sim, co *loop.Coro) error {
			in := cleanupTask(s, 5, nil)
			_ = loop.Sleep(co, time.Second)
			v, err := loop.WaitFor(co, in, 0)
			s.at("WaitFor %d %s", v, outcome(err))
			return nil
		},
		want: []string{"inner cancelled, cleaning up@1s", "inner cleaned up@2s", "WaitFor 5 ok@2s", "main: ok"},
	}, {
		name: "cancelling the caller cancels the future and waits for it",
		main: func(s *sim, co *loop.Coro) error {
			var in *loop.Task[int]
			caller := s.spawn("caller", func(co *loop.Coro) (int, error) {
				in = cleanupTask(s, 0, nil)
				v, err := loop.WaitFor(co, in, 5*time.Second)
				s.at("WaitFor %d %s", v, outcome(err))
				return v, err
			})
			s.l.CallLater(time.Second, func() { caller.Cancel() })
			_, err := loop.Await(co, caller.Future)
			s.at("caller %s inner Cancelled=%v", outcome(err), in.Cancelled())
			return nil
		},
		want: []string{
			"inner cancelled, cleaning up@1s", "inner cleaned up@2s", "WaitFor 0 cancelled@2s",
			"caller cancelled inner Cancelled=true@2s", "main: ok",
		},
	}, {
		name: "cancelling the caller while a timeout <= 0 waits for the cancelled future",
		main: func(s *sim, co *loop.Coro) error {
			var in *loop.Task[int]
			caller := s.spawn("caller", func(co *loop.Coro) (int, error) {
				in = cleanupTask(s, 0, nil)
				_ = loop.Sleep(co, time.Second)
				_, err := loop.WaitFor(co, in, 0)
				s.at("WaitFor %s", outcome(err))
				return 0, err
			})
			s.l.CallLater(1500*time.Millisecond, func() { caller.Cancel() })
			_, err := loop.Await(co, caller.Future)
			s.at("caller %s", outcome(err))
			_, err = loop.Await(co, in.Future)
			s.at("inner %s", outcome(err))
			return nil
		},
		want: []string{
			"inner cancelled, cleaning up@1s", "WaitFor cancelled@1.5s", "caller cancelled@1.5s",
			"inner cleaned up@2s", "inner cancelled@2s", "main: ok",
		},
	}, {
		name: "NoTimeout is a plain Await",
		main: func(s *sim, co *loop.Coro) error {
			v, err := loop.WaitFor(co, s.task("a", time.Hour, 9, nil), loop.NoTimeout)
			s.at("WaitFor %d %s", v, outcome(err))
			return nil
		},
		want: []string{"a done@1h0m0s", "WaitFor 9 ok@1h0m0s", "main: ok"},
	}})
}

// TestWaitForOtherLoop: a future of another loop is refused at once.
func TestWaitForOtherLoop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		other := loop.New()
		defer other.Close()
		foreign := future.New[int](other)
		s := runSim(t, func(s *sim, co *loop.Coro) error {
			for _, d := range []time.Duration{0, time.Second, loop.NoTimeout} {
				_, err := loop.WaitFor(co, foreign, d)
				s.log("%v: %v", d > 0, errors.Is(err, loop.ErrOtherLoop))
			}
			return nil
		})
		assert.Equal(t, []string{"false: true", "true: true", "true: true", "main: ok"}, s.trace)
		assert.False(t, foreign.Done())
	})
}

// TestTimeoutDoOtherLoopReturnsError: Timeout.Do panicked for a Timeout of
// another loop; it returns an error matching ErrOtherLoop, without running
// the block.
func TestTimeoutDoOtherLoopReturnsError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		other := loop.New()
		defer other.Close()
		ran := false
		var err error
		var panicked any
		s := runSim(t, func(s *sim, co *loop.Coro) error {
			tm := loop.NewTimeout(other, time.Second)
			panicked = syncPanic(func() { err = tm.Do(co, func() error { ran = true; return nil }) })
			return nil
		})
		assert.Equal(t, []string{"main: ok"}, s.trace)
		require.Nil(t, panicked)
		assert.ErrorIs(t, err, loop.ErrOtherLoop)
		assert.EqualError(t, err, "loop: Timeout.Do: the timeout is bound to a different loop")
		assert.False(t, ran)
	})
}
