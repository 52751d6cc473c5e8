package loop

import (
	"errors"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aio-go/aio/future"
)

// TestCoroutineReuse checks that tasks spawned one after another run on
// one coroutine, in both modes, a panicking body included, and that the
// idle coroutines end when the run does.
func TestCoroutineReuse(t *testing.T) {
	for _, debug := range []bool{false, true} {
		l := New(WithDebug(debug))
		var ids []uint64
		main := Spawn(l, func(co *Coro) (int, error) {
			for i := range 4 {
				child := Spawn(l, func(co *Coro) (int, error) {
					ids = append(ids, goid())
					if err := Sleep(co, 0); err != nil {
						return 0, err
					}
					l.CallSoon(func() {}) // checks the goroutine in debug mode
					if i == 2 {
						panic("boom")
					}
					return i, nil
				})
				v, err := child.Await(co)
				if i == 2 {
					var pe *PanicError
					require.ErrorAs(t, err, &pe)
				} else {
					require.NoError(t, err)
					assert.Equal(t, i, v)
				}
			}
			return 0, nil
		})
		_, err := RunUntilComplete(l, main.Future)
		require.NoError(t, err)
		require.Len(t, ids, 4)
		for _, id := range ids[1:] {
			assert.Equal(t, ids[0], id, "debug=%v: the children share a coroutine", debug)
		}
		// The idle coroutines end with the run.
		assert.Empty(t, l.parked)
		assert.Equal(t, 0, liveCoroutines())
		require.NoError(t, l.Close())
	}
}

// TestCoroutineIdleBound checks that a running loop keeps at most
// maxIdleCoroutines coroutines (the others end with their tasks), and none
// once it stops.
func TestCoroutineIdleBound(t *testing.T) {
	l := New()
	defer l.Close()
	main := Spawn(l, func(co *Coro) (int, error) {
		fs := make([]*Task[int], maxIdleCoroutines+50)
		for i := range fs {
			fs[i] = Spawn(l, func(co *Coro) (int, error) { return i, Sleep(co, 0) })
		}
		if _, err := Await(co, Gather(l, fs...)); err != nil {
			return 0, err
		}
		assert.Len(t, l.parked, maxIdleCoroutines)
		assert.Equal(t, maxIdleCoroutines+1, liveCoroutines(), "the idle ones and main's")
		return 0, nil
	})
	_, err := RunUntilComplete(l, main.Future)
	require.NoError(t, err)
	assert.Empty(t, l.parked)
	assert.Equal(t, 0, liveCoroutines())
}

// TestCoroutineStoppedNotKept checks that the coroutine of a task that
// Close stops mid-body ends instead of being kept, and that a task
// cancelled before its first step never takes one.
func TestCoroutineStoppedNotKept(t *testing.T) {
	l := New()
	blocked := Spawn(l, func(co *Coro) (int, error) {
		_, err := Await(co, future.New[int](l))
		return 0, err
	})
	never := Spawn(l, func(co *Coro) (int, error) { return 1, nil })
	never.Cancel()
	l.CallSoon(l.Stop)
	require.NoError(t, l.RunForever())
	assert.True(t, never.Cancelled())
	assert.Nil(t, never.c.next, "a task cancelled before its first step takes no coroutine")
	assert.Equal(t, 1, liveCoroutines(), "only the blocked task's coroutine")
	require.NoError(t, l.Close())
	assert.True(t, errors.Is(blocked.Err(), ErrClosed) || blocked.Cancelled())
	assert.Empty(t, l.parked)
	assert.Equal(t, 0, liveCoroutines())
}

// liveCoroutines counts the goroutines of task coroutines, of any loop
// (the tests of this package run one at a time).
func liveCoroutines() int {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			return strings.Count(string(buf[:n]), "loop.(*Loop).serve(")
		}
		buf = make([]byte, 2*len(buf))
	}
}

// TestCoroutineSpawnedCancelled checks that a task spawned while the loop
// runs and cancelled before its first step gives its coroutine back, and
// that the next task runs on it.
func TestCoroutineSpawnedCancelled(t *testing.T) {
	l := New()
	defer l.Close()
	var first, second uint64
	main := Spawn(l, func(co *Coro) (int, error) {
		a := Spawn(l, func(co *Coro) (int, error) { first = goid(); return 1, nil })
		if _, err := a.Await(co); err != nil {
			return 0, err
		}
		never := Spawn(l, func(co *Coro) (int, error) { return 1, nil })
		assert.NotNil(t, never.c.next, "spawned while running: the coroutine is taken at once")
		never.Cancel()
		if _, err := never.Await(co); !errors.Is(err, future.ErrCancelled) {
			return 0, err
		}
		assert.Nil(t, never.c.next)
		assert.Len(t, l.parked, 1, "the cancelled task gave its coroutine back")
		b := Spawn(l, func(co *Coro) (int, error) { second = goid(); return 2, nil })
		_, err := b.Await(co)
		return 0, err
	})
	_, err := RunUntilComplete(l, main.Future)
	require.NoError(t, err)
	assert.NotZero(t, first)
	assert.Equal(t, first, second, "the coroutine is reused")
	assert.Empty(t, l.parked)
	assert.Equal(t, 0, liveCoroutines())
}
