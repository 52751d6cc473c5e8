package loop_test

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aio-go/aio/future"
	"github.com/aio-go/aio/loop"
)

// A waiting task runs the loop on its own goroutine (lend.go). These tests
// check that nothing a program can see changes: order, CurrentTask,
// OnLoop, Stop, panics, idle waits and other tasks. Each runs with and
// without debug mode, which does not lend, and both must agree.
func eachLending(t *testing.T, test func(t *testing.T, opts ...loop.Option)) {
	t.Run("lending", func(t *testing.T) { test(t) })
	t.Run("debug", func(t *testing.T) { test(t, loop.WithDebug(true)) })
}

// TestLendOrder checks that callbacks run while a task waits keep
// asyncio's order, and that they run as plain callbacks (no current task).
func TestLendOrder(t *testing.T) {
	eachLending(t, func(t *testing.T, opts ...loop.Option) {
		l := loop.New(opts...)
		defer l.Close()
		tr := &taskTrace{l: l}
		f := future.New[int](l)
		main := loop.Spawn(l, func(co *loop.Coro) (int, error) {
			tr.at("await")
			l.CallSoon(func() {
				tr.add("c1 task=%v", loop.CurrentTask(l) != nil)
				f.SetResult(7)
				l.CallSoon(func() { tr.at("c3") })
			})
			l.CallSoon(func() { tr.at("c2") })
			v, err := loop.Await(co, f)
			tr.at("resumed")
			tr.add("task=%v", loop.CurrentTask(l) != nil)
			return v, err
		})
		v, err := loop.RunUntilComplete(l, main.Future)
		require.NoError(t, err)
		assert.Equal(t, 7, v)
		// c1 and c2 run in iteration 2; the task's wake-up was scheduled by
		// c1 before c3, so it resumes first in iteration 3.
		assert.Equal(t, []string{"await@1", "c1 task=false", "c2@2", "resumed@3", "task=true", "c3@3"}, tr.got)
	})
}

// TestLendOnLoop checks that a callback run while a task waits is on the
// loop: OnLoop reports true and Wait refuses to block.
func TestLendOnLoop(t *testing.T) {
	eachLending(t, func(t *testing.T, opts ...loop.Option) {
		synctest.Test(t, func(t *testing.T) {
			l := loop.New(opts...)
			defer l.Close()
			pending := future.New[int](l)
			var onLoop bool
			var waitErr error
			main := loop.Spawn(l, func(co *loop.Coro) (int, error) {
				f := future.New[int](l)
				l.CallSoon(func() {
					onLoop = l.OnLoop()
					_, waitErr = pending.Wait(context.Background())
					f.SetResult(1)
				})
				return loop.Await(co, f)
			})
			_, err := loop.RunUntilComplete(l, main.Future)
			require.NoError(t, err)
			assert.True(t, onLoop)
			assert.ErrorIs(t, waitErr, future.ErrWouldDeadlock)
		})
	})
}

// TestLendStop checks that Stop called by a callback while a task waits
// ends the run at the end of that iteration, and that the task resumes in
// the next run.
func TestLendStop(t *testing.T) {
	eachLending(t, func(t *testing.T, opts ...loop.Option) {
		l := loop.New(opts...)
		defer l.Close()
		tr := &taskTrace{l: l}
		f := future.New[int](l)
		main := loop.Spawn(l, func(co *loop.Coro) (int, error) {
			l.CallSoon(func() { tr.at("stop"); l.Stop() })
			l.CallSoon(func() { tr.at("same iteration") })
			v, err := loop.Await(co, f)
			tr.at("resumed")
			return v, err
		})
		require.NoError(t, l.RunForever())
		tr.add("returned")
		assert.False(t, main.Done())
		f.SetResult(3)
		v, err := loop.RunUntilComplete(l, main.Future)
		require.NoError(t, err)
		assert.Equal(t, 3, v)
		assert.Equal(t, []string{"stop@2", "same iteration@2", "returned", "resumed@3"}, tr.got)
	})
}

// TestLendPanic checks that a panic in a callback run while a task waits
// reaches the exception handler, the rest of the iteration runs, and the
// task resumes.
func TestLendPanic(t *testing.T) {
	eachLending(t, func(t *testing.T, opts ...loop.Option) {
		var handled []error
		opts = append(opts, loop.WithExceptionHandler(func(c loop.ExceptionContext) {
			handled = append(handled, c.Err)
		}))
		l := loop.New(opts...)
		defer l.Close()
		tr := &taskTrace{l: l}
		f := future.New[int](l)
		main := loop.Spawn(l, func(co *loop.Coro) (int, error) {
			l.CallSoon(func() { tr.at("boom"); panic("boom") })
			l.CallSoon(func() { tr.at("after"); f.SetResult(5) })
			v, err := loop.Await(co, f)
			tr.at("resumed")
			return v, err
		})
		v, err := loop.RunUntilComplete(l, main.Future)
		require.NoError(t, err)
		assert.Equal(t, 5, v)
		assert.Equal(t, []string{"boom@2", "after@2", "resumed@3"}, tr.got)
		require.Len(t, handled, 1)
		var pe *loop.PanicError
		require.ErrorAs(t, handled[0], &pe)
		assert.Equal(t, "boom", pe.Value)
	})
}

// TestLendIdle checks a task that waits on a timer and on another
// goroutine: the loop goroutine does the idle waits, and the task resumes
// each time.
func TestLendIdle(t *testing.T) {
	eachLending(t, func(t *testing.T, opts ...loop.Option) {
		synctest.Test(t, func(t *testing.T) {
			l := loop.New(opts...)
			defer l.Close()
			start := time.Now()
			main := loop.Spawn(l, func(co *loop.Coro) (time.Duration, error) {
				if err := loop.Sleep(co, time.Second); err != nil {
					return 0, err
				}
				f := future.New[int](l)
				go func() {
					time.Sleep(time.Second)
					_, _ = l.CallSoonThreadsafe(func() { f.SetResult(1) })
				}()
				if _, err := loop.Await(co, f); err != nil {
					return 0, err
				}
				return time.Since(start), nil
			})
			d, err := loop.RunUntilComplete(l, main.Future)
			require.NoError(t, err)
			assert.Equal(t, 2*time.Second, d)
		})
	})
}

// TestLendOtherTasks checks tasks resumed while another task waits: each
// sees itself as the current task, and they interleave in asyncio's order.
func TestLendOtherTasks(t *testing.T) {
	eachLending(t, func(t *testing.T, opts ...loop.Option) {
		l := loop.New(opts...)
		defer l.Close()
		tr := &taskTrace{l: l}
		ev := new(loop.Event)
		worker := func(name string) func(co *loop.Coro) (int, error) {
			return func(co *loop.Coro) (int, error) {
				for i := range 2 {
					tr.add("%s step %d current=%v", name, i, loop.CurrentTask(l).Name() == name)
					if err := loop.Sleep(co, 0); err != nil {
						return 0, err
					}
				}
				return 0, ev.Wait(co)
			}
		}
		a := loop.SpawnNamed(l, "a", worker("a"))
		b := loop.SpawnNamed(l, "b", worker("b"))
		main := loop.SpawnNamed(l, "main", func(co *loop.Coro) (int, error) {
			tr.add("main waits")
			if err := loop.Sleep(co, 0); err != nil {
				return 0, err
			}
			tr.add("main sets")
			ev.Set()
			_, err := loop.Await(co, loop.Gather(l, a, b))
			tr.add("main done current=%v", loop.CurrentTask(l).Name() == "main")
			return 0, err
		})
		_, err := loop.RunUntilComplete(l, main.Future)
		require.NoError(t, err)
		assert.Equal(t, []string{
			"a step 0 current=true", "b step 0 current=true", "main waits",
			"a step 1 current=true", "b step 1 current=true", "main sets",
			"main done current=true",
		}, tr.got)
	})
}

// TestLendClose checks Close while a task waits after a run that stopped:
// the task's Await returns ErrClosed and nothing is left behind (goleak).
func TestLendClose(t *testing.T) {
	eachLending(t, func(t *testing.T, opts ...loop.Option) {
		l := loop.New(opts...)
		f := future.New[int](l)
		var awaitErr error
		main := loop.Spawn(l, func(co *loop.Coro) (int, error) {
			l.CallSoon(l.Stop)
			_, awaitErr = loop.Await(co, f)
			return 0, awaitErr
		})
		require.NoError(t, l.RunForever())
		require.NoError(t, l.Close())
		assert.ErrorIs(t, awaitErr, loop.ErrClosed)
		assert.True(t, main.Done())
		assert.True(t, errors.Is(main.Err(), future.ErrCancelled) || errors.Is(main.Err(), loop.ErrClosed))
	})
}

// TestLendSavesSwitches checks that lending happens: a callback run while
// a task waits has the task's body below it on its goroutine's stack (in
// debug mode, which does not lend, it runs on the loop goroutine's).
func TestLendSavesSwitches(t *testing.T) {
	for _, debug := range []bool{false, true} {
		l := loop.New(loop.WithDebug(debug))
		var loopStack, cbStack string
		l.CallSoon(func() { loopStack = callerStack() })
		main := loop.Spawn(l, func(co *loop.Coro) (int, error) {
			return awaitStack(co, &cbStack)
		})
		_, err := loop.RunUntilComplete(l, main.Future)
		require.NoError(t, err)
		require.NoError(t, l.Close())
		const body = "loop_test.awaitStack("
		assert.Equal(t, !debug, strings.Contains(cbStack, body), "debug=%v:\n%s", debug, cbStack)
		assert.NotContains(t, loopStack, body)
	}
}

// awaitStack awaits a future that a callback resolves after recording its
// own stack in stack.
func awaitStack(co *loop.Coro, stack *string) (int, error) {
	l := co.Loop()
	f := future.New[int](l)
	l.CallSoon(func() {
		*stack = callerStack()
		f.SetResult(1)
	})
	return loop.Await(co, f)
}

// callerStack is the calling goroutine's stack trace.
func callerStack() string {
	buf := make([]byte, 1<<16)
	return string(buf[:runtime.Stack(buf, false)])
}
