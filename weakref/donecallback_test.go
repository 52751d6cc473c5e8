package weakref

import (
	"runtime"
	"strconv"
	"testing"
	"weak"

	"github.com/aio-go/aio/future"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func (n *node) onDone(f *future.Future[int]) {
	v, err := f.Result()
	n.got = append(n.got, strconv.Itoa(v)+"/"+strconv.FormatBool(err == nil))
}

func TestDoneCallbackCallsLiveReceiver(t *testing.T) {
	l := newLoop(t)
	logger, logs := logBuffer()
	f := future.New[int](l)
	h := newNode("h")
	DoneCallback(f, h, (*node).onDone, WithLogger(logger))
	require.True(t, survives(weak.Make(h)), "a referenced receiver must survive collections")

	f.SetResult(7)
	runOnce(t, l)

	assert.Equal(t, []string{"7/true"}, h.got)
	assert.Empty(t, lines(logs))
	runtime.KeepAlive(h)
}

func TestDoneCallbackSkipsCollectedReceiver(t *testing.T) {
	l := newLoop(t)
	logger, logs := logBuffer()
	f := future.New[int](l)
	f.SetName("fetch")
	calls := 0
	// The method does not capture the receiver, so the registration does
	// not keep it alive.
	probe := func() weak.Pointer[node] {
		h := newNode("h")
		DoneCallback(f, h, func(*node, *future.Future[int]) { calls++ }, WithLogger(logger))
		return weak.Make(h)
	}()

	require.True(t, collected(probe), "the registration kept the receiver alive")
	f.SetResult(1)
	runOnce(t, l)

	assert.Zero(t, calls)
	logged := lines(logs)
	require.Len(t, logged, 1)
	assert.Contains(t, logged[0], "level=WARN")
	assert.Contains(t, logged[0], "future=fetch<done>")
	assert.Contains(t, logged[0], "receiver=*weakref.node")
	assert.Contains(t, logged[0], "callback=TestDoneCallbackSkipsCollectedReceiver.")
}

func TestDoneCallbackMethodExpressionDoesNotKeepReceiver(t *testing.T) {
	l := newLoop(t)
	logger, logs := logBuffer()
	f := future.New[int](l)
	probe := func() weak.Pointer[node] {
		h := newNode("h")
		DoneCallback(f, h, (*node).onDone, WithLogger(logger))
		return weak.Make(h)
	}()
	require.True(t, collected(probe))
	f.SetResult(1)
	runOnce(t, l)
	require.Len(t, lines(logs), 1)
	assert.Contains(t, lines(logs)[0], "callback=(*node).onDone")
}

// A method value is a closure over its receiver: registering one keeps the
// receiver alive, which is why DoneCallback takes a method expression.
func TestDoneCallbackMethodValueKeepsReceiver(t *testing.T) {
	l := newLoop(t)
	f := future.New[int](l)
	probe := func() weak.Pointer[node] {
		h := newNode("h")
		DoneCallback(f, h, func(_ *node, f *future.Future[int]) { h.onDone(f) })
		return weak.Make(h)
	}()
	assert.True(t, survives(probe))

	f.SetResult(3)
	runOnce(t, l)
	h := probe.Value()
	require.NotNil(t, h)
	assert.Equal(t, []string{"3/true"}, h.got)
}

func TestDoneCallbackRemove(t *testing.T) {
	l := newLoop(t)
	f := future.New[int](l)
	h := newNode("h")
	remove := DoneCallback(f, h, (*node).onDone)
	assert.True(t, remove())
	assert.False(t, remove())
	f.SetResult(1)
	runOnce(t, l)
	assert.Empty(t, h.got)

	remove = DoneCallback(f, h, (*node).onDone)
	assert.False(t, remove(), "remove after completion reports false and the callback runs")
	runOnce(t, l)
	assert.Equal(t, []string{"1/true"}, h.got)
}

func TestDoneCallbackNilPanics(t *testing.T) {
	l := newLoop(t)
	f := future.New[int](l)
	assert.PanicsWithValue(t, "weakref: DoneCallback with a nil receiver or method", func() {
		DoneCallback(f, (*node)(nil), (*node).onDone)
	})
	assert.PanicsWithValue(t, "weakref: DoneCallback with a nil receiver or method", func() {
		DoneCallback(f, newNode("h"), nil)
	})
}
