package loop_test

import (
	"errors"
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aio-go/aio/future"
	"github.com/aio-go/aio/loop"
)

// partition names what Wait returned for the trace:
// "done=[a] pending=[b] ok".
func (s *sim) partition(done, pending any, err error) string {
	return fmt.Sprintf("done=%s pending=%s %s", s.list(done), s.list(pending), outcome(err))
}

// TestWait covers asyncio's wait (ASYNCIO_SEMANTICS §4.3).
func TestWait(t *testing.T) {
	runSims(t, []simCase{{
		name: "FirstCompleted returns at the first completion and cancels nothing",
		main: func(s *sim, co *loop.Coro) error {
			a, b := s.task("a", time.Second, 1, nil), s.task("b", 2*time.Second, 2, nil)
			s.at("wait %s", s.partition(loop.Wait(co, []*loop.Task[int]{a, b}, loop.NoTimeout, loop.FirstCompleted)))
			_, err := loop.Await(co, b.Future)
			return err
		},
		want: []string{"a done@1s", "wait done=[a] pending=[b] ok@1s", "b done@2s", "main: ok"},
	}, {
		// asyncio's test_wait_really_done: a completes first, and b in
		// the iteration that runs a's done-callback; the partition is
		// taken when the task resumes, so both are done.
		name: "FirstCompleted reports everything done by the time the task resumes",
		main: func(s *sim, co *loop.Coro) error {
			a := s.spawn("a", func(co *loop.Coro) (int, error) { return 0, loop.Sleep(co, 0) })
			b := s.spawn("b", func(co *loop.Coro) (int, error) {
				_ = loop.Sleep(co, 0)
				return 0, loop.Sleep(co, 0)
			})
			s.log("wait %s", s.partition(loop.Wait(co, []*loop.Task[int]{b, a}, loop.NoTimeout, loop.FirstCompleted)))
			return nil
		},
		want: []string{"wait done=[b a] pending=[] ok", "main: ok"},
	}, {
		name: "AllCompleted waits for every future, failed and cancelled ones included",
		main: func(s *sim, co *loop.Coro) error {
			a, b, c := s.task("a", 3*time.Second, 1, nil), s.task("b", time.Second, 0, errBoom), s.task("c", 5*time.Second, 3, nil)
			s.l.CallLater(2*time.Second, func() { c.Cancel() })
			s.at("wait %s", s.partition(loop.Wait(co, []*loop.Task[int]{a, b, c}, loop.NoTimeout, loop.AllCompleted)))
			s.log("b: %s", outcome(b.Err()))
			return nil
		},
		want: []string{"b done@1s", "c cancelled@2s", "a done@3s", "wait done=[a b c] pending=[] ok@3s", "b: boom", "main: ok"},
	}, {
		name: "FirstError returns at the first failure, not at a cancellation",
		main: func(s *sim, co *loop.Coro) error {
			a, b, c := s.task("a", time.Second, 1, nil), s.task("b", 3*time.Second, 0, errBoom), s.task("c", 5*time.Second, 3, nil)
			s.l.CallLater(2*time.Second, func() { a.Cancel(); c.Cancel() }) // a is done: only c is cancelled
			d := s.task("d", 10*time.Second, 4, nil)
			s.l.CallLater(2*time.Second, func() { d.Cancel() })
			s.at("wait %s", s.partition(loop.Wait(co, []*loop.Task[int]{a, b, c, d}, loop.NoTimeout, loop.FirstError)))
			s.log("b: %s", outcome(b.Err()))
			return nil
		},
		want: []string{
			"a done@1s", "c cancelled@2s", "d cancelled@2s", "b done@3s", "wait done=[a b c d] pending=[] ok@3s",
			"b: boom", "main: ok",
		},
	}, {
		name: "FirstError without a failure waits for every future",
		main: func(s *sim, co *loop.Coro) error {
			a, b := s.task("a", time.Second, 1, nil), s.task("b", 2*time.Second, 2, nil)
			s.at("wait %s", s.partition(loop.Wait(co, []*loop.Task[int]{a, b}, loop.NoTimeout, loop.FirstError)))
			return nil
		},
		want: []string{"a done@1s", "b done@2s", "wait done=[a b] pending=[] ok@2s", "main: ok"},
	}, {
		name: "the timeout returns the partition with no error and cancels nothing",
		main: func(s *sim, co *loop.Coro) error {
			a, b := s.task("a", time.Second, 1, nil), s.task("b", 5*time.Second, 2, nil)
			s.at("wait %s", s.partition(loop.Wait(co, []*loop.Task[int]{a, b}, 2*time.Second, loop.AllCompleted)))
			_, err := loop.Await(co, b.Future)
			return err
		},
		want: []string{"a done@1s", "wait done=[a] pending=[b] ok@2s", "b done@5s", "main: ok"},
	}, {
		// Close would report the timer if Wait left it scheduled.
		name: "returning before the timeout cancels the timer",
		main: func(s *sim, co *loop.Coro) error {
			a := s.task("a", time.Second, 1, nil)
			done, _, err := loop.Wait(co, []*loop.Task[int]{a}, time.Hour, loop.AllCompleted)
			s.at("wait done=%s %s", s.list(done), outcome(err))
			return nil
		},
		want: []string{"a done@1s", "wait done=[a] ok@1s", "main: ok"},
	}, {
		// Like asyncio: the done-callbacks of done futures are scheduled
		// (iteration 2), the task resumes after them (iteration 3).
		name: "futures already done: Wait still suspends",
		main: func(s *sim, co *loop.Coro) error {
			a, b := s.fut("a"), s.fut("b")
			a.SetResult(1)
			b.SetResult(2)
			s.iter("before")
			s.iter("wait %s", s.partition(loop.Wait(co, []future.Awaitable{a, b}, loop.NoTimeout, loop.FirstCompleted)))
			return nil
		},
		want: []string{"before#1", "wait done=[a b] pending=[] ok#3", "main: ok"},
	}, {
		name: "a timeout <= 0 polls: one round of done-callbacks",
		main: func(s *sim, co *loop.Coro) error {
			a, b := s.fut("a"), s.fut("b")
			a.SetResult(1)
			s.iter("before")
			s.iter("wait %s", s.partition(loop.Wait(co, []future.Awaitable{a, b}, 0, loop.AllCompleted)))
			s.iter("wait %s", s.partition(loop.Wait(co, []future.Awaitable{b}, -time.Second, loop.AllCompleted)))
			return nil
		},
		want: []string{"before#1", "wait done=[a] pending=[b] ok#3", "wait done=[] pending=[b] ok#5", "main: ok"},
	}, {
		name: "a future given twice counts once",
		main: func(s *sim, co *loop.Coro) error {
			a, b := s.task("a", time.Second, 1, nil), s.task("b", 2*time.Second, 2, nil)
			s.at("wait %s", s.partition(loop.Wait(co, []*loop.Task[int]{a, b, a, b, a}, loop.NoTimeout, loop.AllCompleted)))
			return nil
		},
		want: []string{"a done@1s", "b done@2s", "wait done=[a b] pending=[] ok@2s", "main: ok"},
	}, {
		name: "no futures: ErrEmpty at once",
		main: func(s *sim, co *loop.Coro) error {
			done, pending, err := loop.Wait(co, []future.Awaitable(nil), time.Second, loop.AllCompleted)
			s.iter("wait %v %v empty=%v", done, pending, errors.Is(err, loop.ErrEmpty))
			return nil
		},
		want: []string{"wait [] [] empty=true#1", "main: ok"},
	}, {
		name: "cancelling the waiting task does not cancel the futures",
		main: func(s *sim, co *loop.Coro) error {
			a, b := s.task("a", time.Second, 1, nil), s.task("b", 3*time.Second, 2, nil)
			waiter := s.spawn("waiter", func(co *loop.Coro) (int, error) {
				done, pending, err := loop.Wait(co, []*loop.Task[int]{a, b}, loop.NoTimeout, loop.AllCompleted)
				s.at("wait %s", s.partition(done, pending, err))
				return 0, err
			})
			s.l.CallLater(2*time.Second, func() { waiter.Cancel() })
			_, err := loop.Await(co, b.Future)
			s.at("waiter Cancelled=%v; b %s", waiter.Cancelled(), outcome(err))
			return nil
		},
		want: []string{"a done@1s", "wait done=[a] pending=[b] cancelled@2s", "b done@3s", "waiter Cancelled=true; b ok@3s", "main: ok"},
	}, {
		// Wait has returned (timeout) when b fails: its late callback must
		// not read b's error (which would count as retrieved), so Close
		// reports it.
		name: "callbacks that run after Wait returned do nothing",
		main: func(s *sim, co *loop.Coro) error {
			b, c := s.task("b", 2*time.Second, 0, errBoom), s.task("c", 3*time.Second, 0, nil)
			_, pending, _ := loop.Wait(co, []*loop.Task[int]{b, c}, time.Second, loop.FirstError)
			s.at("wait pending=%s", s.list(pending))
			return loop.Sleep(co, 3*time.Second)
		},
		want:    []string{"wait pending=[b c]@1s", "b done@2s", "c done@3s", "main: ok"},
		reports: []string{"never retrieved: b"},
	}})
}

// TestWaitMisuse: futures of another loop, nil futures, bad modes.
func TestWaitMisuse(t *testing.T) {
	assert.PanicsWithValue(t, "loop: Wait: invalid mode WaitMode(7)", func() {
		_, _, _ = loop.Wait(nil, []future.Awaitable(nil), 0, 7)
	})
	synctest.Test(t, func(t *testing.T) {
		other := loop.New()
		defer other.Close()
		foreign := future.New[int](other)
		s := runSim(t, func(s *sim, co *loop.Coro) error {
			_, _, err := loop.Wait(co, []future.Awaitable{s.fut("a"), foreign}, 0, loop.AllCompleted)
			s.log("Wait: other loop=%v", errors.Is(err, loop.ErrOtherLoop))
			for f, err := range loop.AsCompleted(co, []future.Awaitable{foreign}, loop.NoTimeout) {
				s.log("AsCompleted: %v other loop=%v", f, errors.Is(err, loop.ErrOtherLoop))
			}
			defer func() { s.log("nil future: %v", recover()) }()
			_, _, _ = loop.Wait(co, []future.Awaitable{nil}, 0, loop.AllCompleted)
			return nil
		})
		assert.Equal(t, []string{
			"Wait: other loop=true", "AsCompleted: <nil> other loop=true",
			"nil future: loop: Wait: nil future", "main: ok",
		}, s.trace)
	})
}

// TestWaitModeString names the modes.
func TestWaitModeString(t *testing.T) {
	assert.Equal(t, "AllCompleted", loop.AllCompleted.String())
	assert.Equal(t, "FirstCompleted", loop.FirstCompleted.String())
	assert.Equal(t, "FirstError", loop.FirstError.String())
	assert.Equal(t, "WaitMode(9)", loop.WaitMode(9).String())
}

// rangeAll ranges over AsCompleted and records each (future, error) pair.
func rangeAll[F future.Awaitable](s *sim, co *loop.Coro, fs []F, timeout time.Duration) {
	var none F
	for f, err := range loop.AsCompleted(co, fs, timeout) {
		if any(f) == any(none) {
			s.at("end %s", outcome(err))
			continue
		}
		s.at("got %s %s", s.names[f], outcome(err))
	}
}

// TestAsCompleted covers asyncio's as_completed (ASYNCIO_SEMANTICS §4.7).
func TestAsCompleted(t *testing.T) {
	runSims(t, []simCase{{
		name: "futures come in completion order, each with its error",
		main: func(s *sim, co *loop.Coro) error {
			a, b, c := s.task("a", 3*time.Second, 1, nil), s.task("b", time.Second, 0, errBoom), s.task("c", 2*time.Second, 3, nil)
			s.l.CallLater(2500*time.Millisecond, func() { a.Cancel() })
			rangeAll(s, co, []*loop.Task[int]{a, b, c, b}, loop.NoTimeout)
			return nil
		},
		want: []string{
			"b done@1s", "got b boom@1s", "c done@2s", "got c ok@2s", "a cancelled@2.5s", "got a cancelled@2.5s", "main: ok",
		},
	}, {
		name: "futures already done come first, in the given order, after a suspension",
		main: func(s *sim, co *loop.Coro) error {
			a, b := s.fut("a"), s.fut("b")
			c := s.task("c", 0, 3, nil)
			b.SetResult(2)
			a.SetResult(1)
			s.iter("start")
			for f, err := range loop.AsCompleted(co, []future.Awaitable{c, a, b}, loop.NoTimeout) {
				s.iter("got %s %s", s.names[f], outcome(err))
			}
			return nil
		},
		// c's step was scheduled before the done-callbacks, so it runs
		// first in iteration 3; its own callback runs in 4, the task in 5.
		want: []string{"start#1", "c done@0s", "got a ok#3", "got b ok#3", "got c ok#5", "main: ok"},
	}, {
		// Futures done before the deadline still come; then the timeout,
		// then nothing: c, which completes later, is not cancelled.
		name: "the timeout ends the sequence and cancels nothing",
		main: func(s *sim, co *loop.Coro) error {
			a, b, c := s.task("a", time.Second, 1, nil), s.task("b", 1500*time.Millisecond, 2, nil), s.task("c", 3*time.Second, 3, nil)
			for f, err := range loop.AsCompleted(co, []*loop.Task[int]{a, b, c}, 2*time.Second) {
				if f == nil {
					s.at("end %s", outcome(err))
					break
				}
				s.at("got %s", s.names[f])
				_ = loop.Sleep(co, 2*time.Second) // a slow consumer
			}
			_, err := loop.Await(co, c.Future)
			return err
		},
		want: []string{
			"a done@1s", "got a@1s", "b done@1.5s", "c done@3s", "got b@3s", "end timeout@5s", "main: ok",
		},
	}, {
		name: "the deadline is fixed when AsCompleted is called",
		main: func(s *sim, co *loop.Coro) error {
			a := s.task("a", 3*time.Second, 1, nil)
			seq := loop.AsCompleted(co, []*loop.Task[int]{a}, 2*time.Second)
			_ = loop.Sleep(co, time.Second)
			for f, err := range seq {
				s.at("%v %s", f == nil, outcome(err))
			}
			_, err := loop.Await(co, a.Future)
			return err
		},
		want: []string{"true timeout@2s", "a done@3s", "main: ok"},
	}, {
		// Close would report the timer if breaking left it scheduled; the
		// second range gets every future again.
		name: "breaking out stops watching; a new range starts afresh",
		main: func(s *sim, co *loop.Coro) error {
			a, b := s.task("a", time.Second, 1, nil), s.task("b", 2*time.Second, 2, nil)
			fs := []*loop.Task[int]{a, b}
			for f := range loop.AsCompleted(co, fs, time.Hour) {
				s.at("first range: %s", s.names[f])
				break
			}
			rangeAll(s, co, fs, time.Hour)
			return nil
		},
		want: []string{"a done@1s", "first range: a@1s", "got a ok@1s", "b done@2s", "got b ok@2s", "main: ok"},
	}, {
		name: "cancelling the ranging task ends the sequence; the futures go on",
		main: func(s *sim, co *loop.Coro) error {
			a, b := s.task("a", time.Second, 1, nil), s.task("b", 3*time.Second, 2, nil)
			r := s.spawn("ranger", func(co *loop.Coro) (int, error) {
				rangeAll(s, co, []*loop.Task[int]{a, b}, loop.NoTimeout)
				return 0, nil
			})
			s.l.CallLater(2*time.Second, func() { r.Cancel() })
			_, err := loop.Await(co, b.Future)
			return err
		},
		want: []string{"a done@1s", "got a ok@1s", "end cancelled@2s", "b done@3s", "main: ok"},
	}, {
		name: "no futures: an empty sequence",
		main: func(s *sim, co *loop.Coro) error {
			rangeAll(s, co, []*loop.Task[int](nil), time.Second)
			s.iter("after")
			return nil
		},
		want: []string{"after#1", "main: ok"},
	}})
}

// TestAsCompletedOutsideTask: ranging outside the task's body is misuse.
func TestAsCompletedOutsideTask(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := loop.New()
		var seq func(func(future.Awaitable, error) bool)
		m := loop.Spawn(l, func(co *loop.Coro) (int, error) {
			seq = loop.AsCompleted(co, []future.Awaitable{future.New[int](l)}, loop.NoTimeout)
			return 0, nil
		})
		_, err := loop.RunUntilComplete(l, m.Future)
		require.NoError(t, err)
		assert.Panics(t, func() {
			for range seq {
			}
		})
		require.NoError(t, l.Close())
	})
}

// TestWaitOtherLoopErrorNamesFunction: the ErrOtherLoop of Wait, AsCompleted
// and WaitFor did not say which call refused the future (WaitFor's named
// Await, or nothing); each names its function now.
func TestWaitOtherLoopErrorNamesFunction(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		other := loop.New()
		defer other.Close()
		foreign := future.New[int](other)
		var errs []error
		s := runSim(t, func(s *sim, co *loop.Coro) error {
			_, _, err := loop.Wait(co, []*future.Future[int]{foreign}, loop.NoTimeout, loop.AllCompleted)
			errs = append(errs, err)
			for _, err := range loop.AsCompleted(co, []*future.Future[int]{foreign}, loop.NoTimeout) {
				errs = append(errs, err)
			}
			for _, d := range []time.Duration{loop.NoTimeout, time.Second, 0} {
				_, err := loop.WaitFor(co, foreign, d)
				errs = append(errs, err)
			}
			return nil
		})
		assert.Equal(t, []string{"main: ok"}, s.trace)
		want := []string{"Wait", "AsCompleted", "WaitFor", "WaitFor", "WaitFor"}
		require.Len(t, errs, len(want))
		for i, err := range errs {
			assert.ErrorIs(t, err, loop.ErrOtherLoop)
			assert.EqualError(t, err, "loop: "+want[i]+": future belongs to another loop")
		}
	})
}

// TestWaitNilFuturePanicsNamingFunction: a nil task (a nil pointer in a
// non-nil interface) was a nil-pointer dereference in Wait, AsCompleted and
// WaitFor; each panics with a message naming the function.
func TestWaitNilFuturePanicsNamingFunction(t *testing.T) {
	var got []any
	syncRun(t, func(co *loop.Coro) error {
		var nilTask *loop.Task[int]
		got = append(got,
			syncPanic(func() { _, _, _ = loop.Wait(co, []future.Awaitable{nilTask}, 0, loop.AllCompleted) }),
			syncPanic(func() { _, _, _ = loop.Wait(co, []*loop.Task[int]{nilTask}, 0, loop.AllCompleted) }),
			syncPanic(func() {
				for range loop.AsCompleted(co, []future.Awaitable{nilTask}, 0) {
				}
			}),
			syncPanic(func() { _, _ = loop.WaitFor(co, nilTask, loop.NoTimeout) }),
			syncPanic(func() { _, _ = loop.WaitFor(co, (*future.Future[int])(nil), time.Second) }),
		)
		return nil
	})
	assert.Equal(t, []any{
		"loop: Wait: nil future", "loop: Wait: nil future", "loop: AsCompleted: nil future",
		"loop: WaitFor: nil future", "loop: WaitFor: nil future",
	}, got)
}

// TestWaitTasks: Wait, AsCompleted and WaitFor take tasks as they are, and
// Wait's partition and AsCompleted's elements keep the tasks' type.
func TestWaitTasks(t *testing.T) {
	var got []string
	syncRun(t, func(co *loop.Coro) error {
		l := co.Loop()
		num := func(v int) *loop.Task[int] {
			return loop.Spawn(l, func(co *loop.Coro) (int, error) { return v, loop.Sleep(co, time.Duration(v)*time.Second) })
		}
		ts := []*loop.Task[int]{num(2), num(1), num(3)}
		var done, pending []*loop.Task[int]
		done, pending, err := loop.Wait(co, ts, loop.NoTimeout, loop.FirstCompleted)
		if err != nil {
			return err
		}
		v, _ := done[0].Result()
		got = append(got, fmt.Sprintf("wait done=%d first=%d pending=%d", len(done), v, len(pending)))
		for tk, err := range loop.AsCompleted(co, ts, loop.NoTimeout) {
			v, _ := tk.Result()
			got = append(got, fmt.Sprint("completed ", v, err))
		}
		v, err = loop.WaitFor(co, num(4), 5*time.Second)
		got = append(got, fmt.Sprint("waitfor ", v, err))
		_, err = loop.WaitFor(co, num(9), time.Second)
		got = append(got, fmt.Sprint("waitfor timeout ", errors.Is(err, loop.ErrTimeout)))
		return nil
	})
	assert.Equal(t, []string{
		"wait done=1 first=1 pending=2",
		"completed 1 <nil>", "completed 2 <nil>", "completed 3 <nil>",
		"waitfor 4 <nil>", "waitfor timeout true",
	}, got)
}
