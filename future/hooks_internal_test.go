package future

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aio-go/aio/internal/hooks"
	"github.com/aio-go/aio/timer"
)

// fakeScheduler is a loop driven by hand: CallSoon queues, run runs the
// queue until it is empty.
type fakeScheduler struct{ ready []func() }

func (s *fakeScheduler) CallSoon(fn func()) timer.Handle {
	s.ready = append(s.ready, fn)
	return timer.Handle{}
}

func (s *fakeScheduler) CallSoonArg(fn func(any), arg any) timer.Handle {
	return s.CallSoon(func() { fn(arg) })
}

func (s *fakeScheduler) CallSoonThreadsafe(func()) (timer.Handle, error) {
	return timer.Handle{}, errors.New("fake: no other goroutines")
}

func (s *fakeScheduler) Done() <-chan struct{} { return nil }
func (s *fakeScheduler) OnLoop() bool          { return true }

func (s *fakeScheduler) run() {
	for len(s.ready) > 0 {
		fn := s.ready[0]
		s.ready = s.ready[1:]
		fn()
	}
}

// embedding is a value embedding a future, as a *loop.Task[T] does.
type embedding struct {
	*Future[int]
	other int
}

// catch returns what fn panicked with, or nil.
func catch(fn func()) (v any) {
	defer func() { v = recover() }()
	fn()
	return nil
}

// TestOwnedRefusesCompletion covers hooks.Future.Own: SetResult and SetError
// panic with an error matching ErrInvalidState, naming the method, and leave
// the future as it was; Disown lets the owner complete it.
func TestOwnedRefusesCompletion(t *testing.T) {
	for _, viaEmbedding := range []bool{false, true} {
		s := &fakeScheduler{}
		f := New[int](s)
		var h any = f
		if viaEmbedding {
			h = &embedding{Future: f}
		}
		hooks.Future.Own(h)
		ran := 0
		f.AddDoneFunc(func() { ran++ })
		for op, call := range map[string]func(){
			"SetResult": func() { f.SetResult(7) },
			"SetError":  func() { f.SetError(errors.New("forged")) },
		} {
			err, ok := catch(call).(error)
			require.Truef(t, ok, "%s on an owned future must panic with an error", op)
			assert.ErrorIs(t, err, ErrInvalidState)
			assert.True(t, strings.HasPrefix(err.Error(), "future: "+op+": "), "message %q", err.Error())
			assert.False(t, f.Done())
			_, rerr := f.Result()
			assert.ErrorIs(t, rerr, ErrInvalidState, "still pending")
		}
		hooks.Future.Disown(h)
		require.True(t, f.SetResult(42))
		s.run()
		v, err := f.Result()
		assert.NoError(t, err)
		assert.Equal(t, 42, v)
		assert.Equal(t, 1, ran)

		// Owning a done future changes nothing.
		hooks.Future.Own(h)
		assert.False(t, f.SetResult(1))
		assert.NoError(t, f.Err())
	}
}

// TestOwnedCancelGoesThroughOnCancel: Cancel on an owned future asks its
// owner (hooks.Future.OnCancel), which may cancel it with CancelNow.
func TestOwnedCancelGoesThroughOnCancel(t *testing.T) {
	s := &fakeScheduler{}
	f := New[int](s)
	var causes []error
	owner := fixedName("owner")
	hooks.Future.SetNamer(f, owner)
	hooks.Future.OnCancel(f, func(n any, cause error) bool {
		assert.Equal(t, owner, n, "fn gets the future's namer")
		causes = append(causes, cause)
		return false
	})
	hooks.Future.Own(f)
	cause := errors.New("why")
	assert.False(t, f.CancelWithCause(cause))
	assert.False(t, f.Cancel())
	assert.Equal(t, []error{cause, nil}, causes)
	assert.False(t, f.Done(), "the owner decides")

	assert.True(t, hooks.Future.CancelNow(f, cause))
	assert.True(t, f.Cancelled())
	assert.ErrorIs(t, f.Err(), ErrCancelled)
	assert.ErrorIs(t, f.Err(), cause)
	assert.False(t, f.SetResult(1), "done: refused without a panic")
}

// TestOwnedFits: ownership takes no room of its own: a future and its extra
// stay in their size classes (see TestSizes).
func TestOwnedFits(t *testing.T) {
	f := New[int](&fakeScheduler{})
	hooks.Future.Own(f)
	assert.Same(t, errOwned, f.x.err)
	hooks.Future.Disown(f)
	assert.Nil(t, f.x.err)
}

// TestHooksRefuseOtherValues: the hooks take futures and values embedding
// one; anything else panics with a future: message.
func TestHooksRefuseOtherValues(t *testing.T) {
	for _, v := range []any{nil, 3, struct{}{}} {
		msg, ok := catch(func() { hooks.Future.Own(v) }).(string)
		require.True(t, ok, "Own(%v) must panic with a message", v)
		assert.True(t, strings.HasPrefix(msg, "future: "), "message %q", msg)
	}
	f := New[int](&fakeScheduler{})
	msg, ok := catch(func() { hooks.Future.OnDoneCallback(f, func(*Future[string]) {}) }).(string)
	require.True(t, ok, "OnDoneCallback with a callback of another type must panic")
	assert.True(t, strings.HasPrefix(msg, "future: "), "message %q", msg)
	assert.Same(t, f, hooks.Future.Base(&embedding{Future: f}))
}

// TestDebugCheck covers hooks.Loop.Check: while hooks.Debugging is not zero,
// every loop-only method asks the loop first, naming itself, before the
// future changes; while it is zero, none does.
func TestDebugCheck(t *testing.T) {
	s := &fakeScheduler{}
	type call struct {
		s  any
		op string
	}
	var calls []call
	var pendingAtCheck []bool
	var f *Future[int]
	saved := hooks.Loop.Check
	defer func() { hooks.Loop.Check = saved }()
	hooks.Loop.Check = func(s any, op string) {
		calls = append(calls, call{s, op})
		pendingAtCheck = append(pendingAtCheck, !f.Done())
	}
	exercise := func() {
		f = New[int](s)
		f.AddDoneCallback(func(*Future[int]) {})
		f.AddDoneFunc(func() {})
		f.SetResult(1)
		f = New[int](s)
		f.SetError(errors.New("boom"))
		_ = f.Err()
		f = New[int](s)
		f.Cancel()
		f = New[int](s)
		f.CancelWithCause(errors.New("why"))
		s.run()
	}

	exercise()
	assert.Empty(t, calls, "checks while no loop is in debug mode")

	hooks.Debugging.Add(1)
	defer hooks.Debugging.Add(-1)
	exercise()
	var ops []string
	for _, c := range calls {
		assert.Same(t, s, c.s)
		ops = append(ops, c.op)
	}
	assert.Equal(t, []string{"Future.AddDoneCallback", "Future.AddDoneFunc", "Future.SetResult",
		"Future.SetError", "Future.Cancel", "Future.CancelWithCause"}, ops)
	for i, pending := range pendingAtCheck {
		assert.True(t, pending, "%s: checked after the future changed", ops[i])
	}
}
