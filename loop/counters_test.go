package loop_test

import (
	"bytes"
	"runtime/trace"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aio-go/aio/future"
	"github.com/aio-go/aio/loop"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// With WithTaskCounters, a task counts its steps and the time between them
// (virtual time here: running and scheduled take none).
func TestTaskCounters(t *testing.T) {
	s := snapshotWhen(t, 20*time.Millisecond, func(l *loop.Loop) {
		f := future.New[int](l)
		var ev loop.Event
		loop.GoNamed(l, "counted", func(co *loop.Coro) error {
			if err := loop.Sleep(co, 10*time.Millisecond); err != nil {
				return err
			}
			if err := loop.Sleep(co, 0); err != nil {
				return err
			}
			l.CallLater(5*time.Millisecond, func() { f.SetResult(1) })
			if _, err := loop.Await(co, f); err != nil {
				return err
			}
			return ev.Wait(co)
		})
	}, loop.WithTaskCounters(true))
	c := taskNamed(t, s, "counted").Counters
	assert.Equal(t, loop.TaskCounters{Steps: 4, Waiting: 15 * time.Millisecond}, c)
	assert.Contains(t, s.Table(), "STEPS")
}

// Counters are off by default.
func TestTaskCountersOff(t *testing.T) {
	s := snapshotAfter(t, func(l *loop.Loop) {
		loop.Go(l, func(co *loop.Coro) error { return loop.Sleep(co, time.Hour) })
	})
	require.Len(t, s.Tasks, 1)
	assert.Zero(t, s.Tasks[0].Counters)
	assert.NotContains(t, s.Table(), "STEPS")
}

// With WithTrace, a recorded trace has a task per aio task, and regions for
// steps and callbacks.
func TestTrace(t *testing.T) {
	if trace.IsEnabled() {
		t.Skip("a trace is already being recorded")
	}
	var buf bytes.Buffer
	require.NoError(t, trace.Start(&buf))
	l := loop.New(loop.WithTrace(true))
	var ts []*loop.Task[struct{}]
	for range 3 {
		ts = append(ts, loop.Go(l, func(co *loop.Coro) error {
			for range 3 {
				if err := loop.Sleep(co, 0); err != nil {
					return err
				}
			}
			return nil
		}))
	}
	_, err := loop.RunUntilComplete(l, loop.Gather(l, ts...))
	trace.Stop()
	require.NoError(t, err)
	require.NoError(t, l.Close())
	for _, s := range []string{"aio.task", "aio.step", "aio.callback"} {
		assert.True(t, bytes.Contains(buf.Bytes(), []byte(s)), "%s not in the trace", s)
	}
}

// Under synctest as well, WithTrace without a trace being recorded changes
// nothing.
func TestTraceNotRecording(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		v, err := loop.Run(t.Context(), func(co *loop.Coro) (int, error) {
			return 7, loop.Sleep(co, time.Millisecond)
		}, loop.WithTrace(true), loop.WithTaskCounters(true))
		require.NoError(t, err)
		assert.Equal(t, 7, v)
	})
}
