package loop_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aio-go/aio/future"
	"github.com/aio-go/aio/loop"
)

// startTasks runs a stopped loop until the tasks spawned so far have taken
// their first step.
func startTasks(t *testing.T, l *loop.Loop) {
	t.Helper()
	_, err := loop.RunUntilComplete(l, loop.Spawn(l, func(co *loop.Coro) (int, error) {
		return 0, loop.Sleep(co, 0)
	}).Future)
	require.NoError(t, err)
}

// TestShutdownStoppedLoop: Shutdown on a stopped loop runs every callback
// already accepted exactly once (and what they schedule), cancels the tasks
// and lets them finish, waits for the executor's work and delivers its
// result, then closes, discarding and reporting the timer still pending.
func TestShutdownStoppedLoop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		handler, excs := collectExceptions()
		l := loop.New(handler)
		ran := map[string]int{}
		count := func(name string) func() { return func() { ran[name]++ } }

		never := future.New[int](l)
		waiter := loop.Spawn(l, func(co *loop.Coro) (int, error) { return loop.Await(co, never) })
		cleaner := loop.Spawn(l, func(co *loop.Coro) (int, error) {
			err := loop.Sleep(co, time.Hour)
			if cerr := loop.Sleep(co, 10*time.Millisecond); cerr != nil {
				return 0, cerr
			}
			ran["cleanup"]++
			return 0, err
		})
		startTasks(t, l)

		unstarted := loop.Spawn(l, func(*loop.Coro) (int, error) { ran["unstarted body"]++; return 0, nil })
		l.CallSoon(count("soon"))
		l.CallSoon(func() { l.CallSoon(count("scheduled during shutdown")) })
		l.CallLater(time.Hour, count("hour timer"))
		l.CallLater(time.Millisecond, count("due timer"))
		accepted := make(chan error)
		go func() {
			_, err := l.CallSoonThreadsafe(count("threadsafe"))
			accepted <- err
		}()
		require.NoError(t, <-accepted)
		job := loop.RunInExecutor(l, func(context.Context) (int, error) {
			time.Sleep(time.Second)
			return 5, nil
		})
		job.AddDoneCallback(func(*future.Future[int]) { ran["job delivered"]++ })

		require.NoError(t, l.Shutdown(context.Background()))
		assert.True(t, l.IsClosed())
		assert.Equal(t, map[string]int{
			"soon": 1, "scheduled during shutdown": 1, "threadsafe": 1, "due timer": 1,
			"cleanup": 1, "job delivered": 1,
		}, ran)
		for _, tk := range []*loop.Task[int]{waiter, cleaner, unstarted} {
			assert.True(t, tk.Cancelled(), tk.Name())
		}
		v, err := job.Result()
		assert.NoError(t, err)
		assert.Equal(t, 5, v)
		assert.Equal(t, uint64(1), l.Stats().Discarded, "the hour timer")
		assert.Equal(t, uint64(1), l.Stats().DiscardedTimers, "the hour timer")
		assert.Empty(t, *excs, "a pending timer at Close is counted, not reported")
	})
}

// TestShutdownRunningLoop: Shutdown from another goroutine while
// RunForever runs: threadsafe calls are refused from the moment it begins,
// the tasks are cancelled and finish, RunForever returns nil and the loop
// is closed.
func TestShutdownRunningLoop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := loop.New()
		ran := runInBackground(l)
		cleaning := make(chan struct{})
		finish := make(chan struct{}, 1)
		var duringShutdown []error
		f, err := loop.SpawnThreadsafe(l, func(co *loop.Coro) (int, error) {
			err := loop.Sleep(co, time.Hour)
			close(cleaning)
			_, tsErr := l.CallSoonThreadsafe(func() {})
			_, spawnErr := loop.SpawnThreadsafe(l, func(*loop.Coro) (int, error) { return 0, nil })
			duringShutdown = append(duringShutdown, tsErr, spawnErr)
			if _, cerr := loop.Await(co, loop.FromChan(l, finish)); cerr != nil {
				return 0, cerr
			}
			return 0, err
		})
		require.NoError(t, err)
		synctest.Wait() // the task is asleep

		shutdown := make(chan error)
		go func() { shutdown <- l.Shutdown(context.Background()) }()
		<-cleaning
		_, err = l.CallSoonThreadsafe(func() {})
		assert.ErrorIs(t, err, loop.ErrClosed, "from another goroutine once Shutdown has begun")
		assert.False(t, l.IsClosed(), "the task is still cleaning up")
		finish <- struct{}{}

		require.NoError(t, <-shutdown)
		require.NoError(t, <-ran)
		assert.True(t, l.IsClosed())
		assert.True(t, f.Cancelled())
		require.Len(t, duringShutdown, 2)
		assert.ErrorIs(t, duringShutdown[0], loop.ErrClosed, "CallSoonThreadsafe on the loop goroutine")
		assert.ErrorIs(t, duringShutdown[1], loop.ErrClosed, "SpawnThreadsafe")
	})
}

// stubborn is a task body that ignores cancellation: it ends only when the
// loop closes.
func stubborn(co *loop.Coro) (int, error) {
	for {
		if err := loop.Sleep(co, time.Second); errors.Is(err, loop.ErrClosed) {
			return 0, err
		}
	}
}

// TestShutdownContextExpires: when ctx ends before a task that ignores its
// cancellation finishes, Shutdown returns ctx's error and the loop is
// closed anyway, ending the task.
func TestShutdownContextExpires(t *testing.T) {
	t.Run("stopped loop", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			l := loop.New(quiet())
			tk := loop.Spawn(l, stubborn)
			startTasks(t, l)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			start := time.Now()
			err := l.Shutdown(ctx)
			assert.ErrorIs(t, err, context.DeadlineExceeded)
			assert.Equal(t, 5*time.Second, time.Since(start))
			assert.True(t, l.IsClosed())
			assert.True(t, tk.Cancelled())
		})
	})
	t.Run("running loop", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			l := loop.New(quiet())
			ran := runInBackground(l)
			f, err := loop.SpawnThreadsafe(l, stubborn)
			require.NoError(t, err)
			synctest.Wait() // the loop runs, the task is asleep
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			assert.ErrorIs(t, l.Shutdown(ctx), context.DeadlineExceeded)
			l.Stop()
			require.NoError(t, <-ran)
			if !assert.True(t, l.IsClosed(), "closed as soon as the loop stops") {
				require.NoError(t, l.Close()) // end the task's coroutine
			}
			_, err = f.Wait(context.Background())
			assert.ErrorIs(t, err, loop.ErrClosed)
		})
	})
}

// TestTaskCloseWithUnfinishedTasks: Close ends the coroutines of unfinished
// tasks; their pending and later Await and Sleep calls return ErrClosed, a
// task that never started never runs, and all end cancelled.
func TestTaskCloseWithUnfinishedTasks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := loop.New(quiet())
		f, g := future.New[int](l), future.New[int](l)
		got := map[string][]error{}
		awaiter := loop.SpawnNamed(l, "awaiter", func(co *loop.Coro) (int, error) {
			_, err1 := loop.Await(co, f)
			_, err2 := loop.Await(co, g)
			got["awaiter"] = []error{err1, err2}
			return 0, err1
		})
		sleeper := loop.SpawnNamed(l, "sleeper", func(co *loop.Coro) (int, error) {
			err1 := loop.Sleep(co, time.Hour)
			err2 := loop.Sleep(co, 0)
			got["sleeper"] = []error{err1, err2}
			return 7, nil
		})
		ran := false
		startTasks(t, l)
		unstarted := loop.SpawnNamed(l, "unstarted", func(*loop.Coro) (int, error) { ran = true; return 0, nil })

		require.NoError(t, l.Close())
		for _, name := range []string{"awaiter", "sleeper"} {
			require.Len(t, got[name], 2, name)
			for i, err := range got[name] {
				assert.ErrorIs(t, err, loop.ErrClosed, "%s, call %d", name, i+1)
			}
		}
		assert.False(t, ran, "a task that never started does not run at Close")
		for _, tk := range []*loop.Task[int]{awaiter, sleeper, unstarted} {
			assert.True(t, tk.Cancelled(), tk.Name())
			assert.ErrorIs(t, tk.Err(), future.ErrCancelled, tk.Name())
			assert.ErrorIs(t, tk.Err(), loop.ErrClosed, tk.Name())
		}
		assert.Empty(t, l.Tasks())
		assert.Zero(t, l.Stats().Tasks)
	})
}
