package sched_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aio-go/aio/internal/hooks"
	"github.com/aio-go/aio/internal/sched"
)

// check is a call of hooks.Loop.Check.
type check struct {
	owner any
	op    string
}

// debugging installs a recording hooks.Loop.Check and counts one loop in
// debug mode, until the test ends.
func debugging(t *testing.T) *[]check {
	t.Helper()
	var calls []check
	old := hooks.Loop.Check
	hooks.Loop.Check = func(s any, op string) { calls = append(calls, check{s, op}) }
	hooks.Debugging.Add(1)
	t.Cleanup(func() {
		hooks.Debugging.Add(-1)
		hooks.Loop.Check = old
	})
	return &calls
}

// Regression: in debug mode, Handle.Cancel called off the loop goroutine
// went unnoticed, because a handle had no way to reach its loop.
func TestHandleCancelChecksTheOwnerInDebugMode(t *testing.T) {
	calls := debugging(t)
	owner := new(int)
	q := sched.Queue{Owner: owner}
	remote := sched.Queue{Owner: owner}
	h := sched.Heap{Owner: owner}

	assert.True(t, q.Push(func() {}).Cancel())
	assert.True(t, q.PushArg(func(any) {}, nil).Cancel())
	spliced := remote.Push(func() {})
	q.Splice(&remote)
	assert.True(t, spliced.Cancel(), "a callback spliced from the remote queue")
	assert.True(t, h.Push(1, func() {}).Cancel())
	want := check{owner, "Handle.Cancel"}
	assert.Equal(t, []check{want, want, want, want}, *calls)

	*calls = nil
	assert.False(t, sched.Handle{}.Cancel())
	var noOwner sched.Queue
	assert.True(t, noOwner.Push(func() {}).Cancel())
	assert.Empty(t, *calls, "no owner, nothing to check")
}

// A Check that panics stops Cancel before it cancels anything.
func TestHandleCancelPanicsWhenTheCheckFails(t *testing.T) {
	debugging(t)
	hooks.Loop.Check = func(s any, op string) { panic("loop: " + op + " off the loop goroutine") }
	q := sched.Queue{Owner: "loop"}
	hd := q.Push(func() {})
	require.PanicsWithValue(t, "loop: Handle.Cancel off the loop goroutine", func() { hd.Cancel() })
	assert.True(t, hd.Pending())
}

// Outside debug mode Check is not called, and a nil Check is skipped.
func TestHandleCancelChecksNothingOutsideDebugMode(t *testing.T) {
	called := false
	old := hooks.Loop.Check
	hooks.Loop.Check = func(any, string) { called = true }
	defer func() { hooks.Loop.Check = old }()
	q := sched.Queue{Owner: "loop"}
	assert.True(t, q.Push(func() {}).Cancel())
	assert.False(t, called)

	hooks.Loop.Check = nil
	hooks.Debugging.Add(1)
	defer hooks.Debugging.Add(-1)
	assert.True(t, q.Push(func() {}).Cancel())
}
