package loop_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/aio-go/aio/future"
	"github.com/aio-go/aio/loop"
)

// TestGo: a body that returns only an error is a task of struct{}; its
// error fails the task, and a cancellation error ends it cancelled.
func TestGo(t *testing.T) {
	var got []string
	errBoom := errors.New("boom")
	syncRun(t, func(co *loop.Coro) error {
		l := co.Loop()
		ok := loop.Go(l, func(co *loop.Coro) error { return loop.Sleep(co, time.Second) })
		failed := loop.GoNamed(l, "failer", func(co *loop.Coro) error { return errBoom })
		slow := loop.Go(l, func(co *loop.Coro) error { return loop.Sleep(co, time.Hour) })
		_, err := ok.Await(co)
		got = append(got, fmt.Sprint("ok ", err))
		_, err = loop.WaitFor(co, failed, loop.NoTimeout)
		got = append(got, fmt.Sprint("failed ", errors.Is(err, errBoom), " ", failed.Name()))
		slow.Cancel()
		_, err = loop.Await(co, slow.Future)
		got = append(got, fmt.Sprint("slow cancelled=", slow.Cancelled(), " ", errors.Is(err, future.ErrCancelled)))
		return nil
	})
	assert.Equal(t, []string{"ok <nil>", "failed true failer", "slow cancelled=true true"}, got)
}

// TestGoNilBody: a nil body panics at the call, naming the function, not
// later in the task.
func TestGoNilBody(t *testing.T) {
	var got []any
	syncRun(t, func(co *loop.Coro) error {
		got = append(got,
			syncPanic(func() { loop.Go(co.Loop(), nil) }),
			syncPanic(func() { loop.GoNamed(co.Loop(), "x", nil) }),
		)
		return loop.Group(co, func(g *loop.TaskGroup) error {
			got = append(got,
				syncPanic(func() { g.Go(nil) }),
				syncPanic(func() { loop.SpawnIn[int](g, nil) }),
			)
			return nil
		})
	})
	assert.Equal(t, []any{
		"loop: Go: nil body", "loop: GoNamed: nil body",
		"loop: TaskGroup.Go: nil body", "loop: SpawnIn: nil body",
	}, got)
}

// TestTaskGroupGo: TaskGroup.Go returns its child, a task the group waits
// for and that aborts the group when it fails.
func TestTaskGroupGo(t *testing.T) {
	var got []string
	errBoom := errors.New("boom")
	syncRun(t, func(co *loop.Coro) error {
		var sleeper, failer *loop.Task[struct{}]
		err := loop.Group(co, func(g *loop.TaskGroup) error {
			sleeper = g.Go(func(co *loop.Coro) error { return loop.Sleep(co, time.Hour) })
			failer = g.Go(func(co *loop.Coro) error {
				if err := loop.Sleep(co, time.Second); err != nil {
					return err
				}
				return errBoom
			})
			return nil
		})
		got = append(got, fmt.Sprint(errors.Is(err, errBoom), " ", sleeper.Cancelled(), " ", failer.Done()))
		return nil
	})
	assert.Equal(t, []string{"true true true"}, got)
}
