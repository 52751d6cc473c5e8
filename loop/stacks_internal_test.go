package loop

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aio-go/aio/future"
	"github.com/aio-go/aio/internal/hooks"
)

// TestNoLendingWithResources checks rule 6 of lend.go: a waiting task
// lends the loop only while the loop owns no I/O object but daemons. A
// callback run while it waits is on the task's goroutine without one, and
// on the loop goroutine with one.
func TestNoLendingWithResources(t *testing.T) {
	for _, tc := range []struct {
		name     string
		resource hooks.Resource
		lends    bool
	}{
		{"none", nil, true},
		{"daemon", &daemonResource{}, true},
		{"transport", &fakeResource{}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := New()
			defer l.Close()
			var body, callback uint64
			f := future.New[int](l)
			task := Spawn(l, func(co *Coro) (int, error) {
				body = goid()
				if tc.resource != nil {
					l.track(tc.resource)
					defer l.untrack(tc.resource)
				}
				l.CallSoon(func() {
					callback = goid()
					f.SetResult(1)
				})
				return Await(co, f)
			})
			_, err := RunUntilComplete(l, task.Future)
			require.NoError(t, err)
			assert.Equal(t, tc.lends, body == callback, "callback on the task's goroutine")
		})
	}
}

// TestOnStepperRunsOnTheLoopGoroutine checks that a task body's handed
// call runs on the goroutine that stepped the body, as loop code (no
// current task), before the body goes on; and that a plain callback's runs
// at once where it is.
func TestOnStepperRunsOnTheLoopGoroutine(t *testing.T) {
	l := New()
	defer l.Close()
	var body, handed, callback, callbackHanded uint64
	var order []string
	task := Spawn(l, func(co *Coro) (int, error) {
		body = goid()
		l.onStepper(func(arg any) {
			handed = goid()
			order = append(order, fmt.Sprintf("handed %v, in a task: %v", arg, CurrentTask(l) != nil))
		}, "write")
		order = append(order, fmt.Sprintf("body, in a task: %v", CurrentTask(l) != nil))
		return 1, nil
	})
	l.CallSoon(func() {
		callback = goid()
		l.onStepper(func(any) { callbackHanded = goid() }, nil)
	})
	_, err := RunUntilComplete(l, task.Future)
	require.NoError(t, err)
	assert.Equal(t, []string{"handed write, in a task: false", "body, in a task: true"}, order)
	assert.NotEqual(t, body, handed, "the handed call ran on the task's own stack")
	assert.Equal(t, callback, handed, "the handed call ran off the loop goroutine")
	assert.Equal(t, callback, callbackHanded)
}

// TestOnStepperPanicReachesTheBody checks that a handed call's panic is
// raised in the task body that handed it, and that the loop goes on.
func TestOnStepperPanicReachesTheBody(t *testing.T) {
	l := New()
	defer l.Close()
	task := Spawn(l, func(co *Coro) (got any, err error) {
		defer func() { got = recover() }()
		l.onStepper(func(any) { panic("boom") }, nil)
		return "no panic", nil
	})
	v, err := RunUntilComplete(l, task.Future)
	require.NoError(t, err)
	assert.Equal(t, "boom", v)
	after := Spawn(l, func(co *Coro) (int, error) { return 2, nil })
	v2, err := RunUntilComplete(l, after.Future)
	require.NoError(t, err)
	assert.Equal(t, 2, v2)
}
