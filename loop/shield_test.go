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

// TestShield covers asyncio's shield (ASYNCIO_SEMANTICS §4.6).
func TestShield(t *testing.T) {
	runSims(t, []simCase{{
		name: "a future already done is returned as it is",
		main: func(s *sim, co *loop.Coro) error {
			f := s.fut("f")
			f.SetResult(1)
			s.log("same=%v", loop.Shield(s.l, f) == f)
			return nil
		},
		want: []string{"same=true", "main: ok"},
	}, {
		name: "the shield completes as the inner future does",
		main: func(s *sim, co *loop.Coro) error {
			ok, bad, gone := s.fut("ok"), s.fut("bad"), s.fut("gone")
			shields := []*future.Future[int]{loop.Shield(s.l, ok), loop.Shield(s.l, bad), loop.Shield(s.l, gone)}
			s.l.CallSoon(func() {
				ok.SetResult(5)
				bad.SetError(errBoom)
				gone.CancelWithCause(errors.New("why"))
			})
			for _, sh := range shields {
				v, err := loop.Await(co, sh)
				s.log("%d %s Cancelled=%v cause=%v", v, outcome(err), sh.Cancelled(), errors.Unwrap(err))
			}
			return nil
		},
		want: []string{"5 ok Cancelled=false cause=<nil>", "0 boom Cancelled=false cause=<nil>", "0 cancelled Cancelled=true cause=why", "main: ok"},
	}, {
		name: "cancelling the shield does not cancel the inner task",
		main: func(s *sim, co *loop.Coro) error {
			in := s.task("inner", 2*time.Second, 7, nil)
			sh := loop.Shield(s.l, in)
			s.l.CallLater(time.Second, func() { s.at("Cancel=%v", sh.Cancel()) })
			_, err := loop.Await(co, sh)
			s.at("shield %s", outcome(err))
			v, err := loop.Await(co, in.Future)
			s.at("inner %d %s", v, outcome(err))
			return nil
		},
		want: []string{"Cancel=true@1s", "shield cancelled@1s", "inner done@2s", "inner 7 ok@2s", "main: ok"},
	}, {
		// asyncio's test_shield_effect.
		name: "cancelling the task awaiting a shield cancels that task only",
		main: func(s *sim, co *loop.Coro) error {
			in := s.task("inner", 2*time.Second, 7, nil)
			outer := s.spawn("outer", func(co *loop.Coro) (int, error) {
				v, err := loop.Await(co, loop.Shield(s.l, in))
				s.at("outer %s", outcome(err))
				return v, err
			})
			s.l.CallLater(time.Second, func() { outer.Cancel() })
			_, err := loop.Await(co, in.Future)
			s.at("outer Cancelled=%v; inner %s", outer.Cancelled(), outcome(err))
			return nil
		},
		want: []string{"outer cancelled@1s", "inner done@2s", "outer Cancelled=true; inner ok@2s", "main: ok"},
	}, {
		name: "cancelling the inner task cancels the shield",
		main: func(s *sim, co *loop.Coro) error {
			in := s.task("inner", 2*time.Second, 7, nil)
			sh := loop.Shield(s.l, in)
			s.l.CallLater(time.Second, func() { in.Cancel() })
			_, err := loop.Await(co, sh)
			s.at("shield %s Cancelled=%v", outcome(err), sh.Cancelled())
			return nil
		},
		want: []string{"inner cancelled@1s", "shield cancelled Cancelled=true@1s", "main: ok"},
	}, {
		// asyncio's test_gather_shield: cancelling the gather cancels the
		// shields, and the inner tasks finish anyway.
		name: "a gather of shields: cancelling the gather spares the inner tasks",
		main: func(s *sim, co *loop.Coro) error {
			a, b := s.task("a", 2*time.Second, 1, nil), s.task("b", 3*time.Second, 2, nil)
			g := loop.Gather(s.l, loop.Shield(s.l, a), loop.Shield(s.l, b))
			s.l.CallLater(time.Second, func() { g.Cancel() })
			_, err := loop.Await(co, g)
			s.at("gather %s", outcome(err))
			v, err := loop.Await(co, loop.Gather(s.l, a, b))
			s.at("inner %v %s", v, outcome(err))
			return nil
		},
		want: []string{"gather cancelled@1s", "a done@2s", "b done@3s", "inner [1 2] ok@3s", "main: ok"},
	}, {
		// The inner future fails before the shield lets go of it: its
		// error counts as retrieved, and Close reports nothing.
		name: "an error of the inner future in the shield's last moments is retrieved",
		main: func(s *sim, co *loop.Coro) error {
			in := s.fut("inner")
			sh := loop.Shield(s.l, in)
			sh.Cancel()
			in.SetError(errBoom)
			_, err := loop.Await(co, sh)
			s.log("shield %s", outcome(err))
			return loop.Sleep(co, 0)
		},
		want: []string{"shield cancelled", "main: ok"},
	}, {
		// asyncio removes the inner callback once the shield is done, so
		// an error after that is the inner future's owner's to read.
		name: "an error of the inner future after the shield let go of it is reported",
		main: func(s *sim, co *loop.Coro) error {
			in := s.fut("inner")
			sh := loop.Shield(s.l, in)
			sh.Cancel()
			_, err := loop.Await(co, sh)
			s.log("shield %s", outcome(err))
			_ = loop.Sleep(co, 0)
			in.SetError(errBoom)
			return loop.Sleep(co, 0)
		},
		want:    []string{"shield cancelled", "main: ok"},
		reports: []string{"never retrieved: inner"},
	}})
}

// TestShieldOtherLoopFailsInsteadOfPanicking: Shield panicked on a future
// of another loop; it returns a failed future instead.
func TestShieldOtherLoopFailsInsteadOfPanicking(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l, other := loop.New(), loop.New()
		defer l.Close()
		defer other.Close()
		f := future.New[int](other)
		var sh *future.Future[int]
		require.NotPanics(t, func() { sh = loop.Shield(l, f) })
		require.True(t, sh.Done())
		err := sh.Err()
		require.ErrorIs(t, err, loop.ErrOtherLoop)
		assert.EqualError(t, err, "loop: Shield: future belongs to another loop")
	})
}

// TestShieldNilFuturePanicsNamingShield: a nil future was a nil-pointer
// dereference; it is a panic that names the function.
func TestShieldNilFuturePanicsNamingShield(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := loop.New()
		defer l.Close()
		assert.PanicsWithValue(t, "loop: Shield: nil future", func() { loop.Shield(l, (*future.Future[int])(nil)) })
		assert.PanicsWithValue(t, "loop: Shield: nil future", func() { loop.Shield(l, (*loop.Task[int])(nil)) })
	})
}

// TestShieldTask: a task is shielded as it is; cancelling the shield
// leaves the task running, and a done task is its own future.
func TestShieldTask(t *testing.T) {
	var got []string
	syncRun(t, func(co *loop.Coro) error {
		l := co.Loop()
		tk := loop.Spawn(l, func(co *loop.Coro) (int, error) { return 7, loop.Sleep(co, time.Second) })
		sh := loop.Shield(l, tk)
		sh.Cancel()
		_, err := loop.Await(co, sh)
		got = append(got, fmt.Sprintf("shield cancelled=%v task done=%v", errors.Is(err, future.ErrCancelled), tk.Done()))
		v, err := tk.Await(co)
		got = append(got, fmt.Sprint(v, err, loop.Shield(l, tk) == tk.Future))
		return nil
	})
	assert.Equal(t, []string{"shield cancelled=true task done=false", "7 <nil> true"}, got)
}
