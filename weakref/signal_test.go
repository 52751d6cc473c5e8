package weakref

import (
	"fmt"
	"runtime"
	"testing"
	"weak"

	"github.com/aio-go/aio/loop"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// listener records its calls in a shared trace.
type listener struct {
	name  string
	trace *[]string
}

func (r *listener) on(v int) { *r.trace = append(*r.trace, fmt.Sprintf("%s:%d", r.name, v)) }

func TestSignalOrder(t *testing.T) {
	tests := []struct {
		name string
		// steps runs on the loop goroutine (before the loop runs); sub
		// subscribes a listener by name and returns its unsubscribe.
		steps func(l *loop.Loop, s *Signal[int], sub func(name string, method ...func(*listener, int)) func(), mark func(string))
		want  []string
	}{
		{
			name: "subscription order, after callbacks already scheduled",
			steps: func(l *loop.Loop, s *Signal[int], sub func(string, ...func(*listener, int)) func(), mark func(string)) {
				sub("a")
				sub("b")
				sub("c")
				l.CallSoon(func() { mark("before") })
				s.Emit(1)
				l.CallSoon(func() { mark("after") })
			},
			want: []string{"before", "a:1", "b:1", "c:1", "after"},
		},
		{
			name: "two emits keep emit order",
			steps: func(l *loop.Loop, s *Signal[int], sub func(string, ...func(*listener, int)) func(), mark func(string)) {
				sub("a")
				sub("b")
				s.Emit(1)
				s.Emit(2)
			},
			want: []string{"a:1", "b:1", "a:2", "b:2"},
		},
		{
			name: "unsubscribed before emit",
			steps: func(l *loop.Loop, s *Signal[int], sub func(string, ...func(*listener, int)) func(), mark func(string)) {
				sub("a")
				off := sub("b")
				sub("c")
				off()
				off()
				s.Emit(1)
			},
			want: []string{"a:1", "c:1"},
		},
		{
			name: "unsubscribed after emit, before the call runs",
			steps: func(l *loop.Loop, s *Signal[int], sub func(string, ...func(*listener, int)) func(), mark func(string)) {
				sub("a")
				off := sub("b")
				s.Emit(1)
				off()
			},
			want: []string{"a:1"},
		},
		{
			name: "unsubscribed by an earlier subscriber's call",
			steps: func(l *loop.Loop, s *Signal[int], sub func(string, ...func(*listener, int)) func(), mark func(string)) {
				var off func()
				sub("a")
				sub("x", func(*listener, int) { mark("x"); off() })
				off = sub("b")
				sub("c")
				s.Emit(1)
			},
			want: []string{"a:1", "x", "c:1"},
		},
		{
			name: "subscribed during delivery gets the next emit",
			steps: func(l *loop.Loop, s *Signal[int], sub func(string, ...func(*listener, int)) func(), mark func(string)) {
				sub("a")
				l.CallSoon(func() { sub("late"); s.Emit(2) })
				s.Emit(1)
			},
			want: []string{"a:1", "a:2", "late:2"},
		},
		{
			name: "same receiver twice",
			steps: func(l *loop.Loop, s *Signal[int], sub func(string, ...func(*listener, int)) func(), mark func(string)) {
				sub("a")
				sub("a")
				s.Emit(1)
			},
			want: []string{"a:1", "a:1"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newLoop(t)
			logger, logs := logBuffer()
			s := NewSignal[int](l, WithLogger(logger))
			var trace []string
			keep := map[string]*listener{}
			sub := func(name string, method ...func(*listener, int)) func() {
				if keep[name] == nil {
					keep[name] = &listener{name: name, trace: &trace}
				}
				m := (*listener).on
				if len(method) > 0 {
					m = method[0]
				}
				return Subscribe(s, keep[name], m)
			}
			mark := func(m string) { trace = append(trace, m) }
			tt.steps(l, s, sub, mark)
			runOnce(t, l)
			runOnce(t, l)
			runtime.KeepAlive(keep)
			assert.Equal(t, tt.want, trace)
			assert.Empty(t, lines(logs))
		})
	}
}

func TestSignalDropsCollectedSubscriber(t *testing.T) {
	l := newLoop(t)
	logger, logs := logBuffer()
	s := NewSignal[int](l, WithLogger(logger))
	var trace []string
	a := &listener{name: "a", trace: &trace}
	Subscribe(s, a, (*listener).on)
	probe := func() weak.Pointer[listener] {
		b := &listener{name: "b", trace: &trace}
		Subscribe(s, b, (*listener).on)
		return weak.Make(b)
	}()
	require.Equal(t, 2, s.Len())

	require.True(t, collected(probe), "the subscription kept its receiver alive")
	assert.Equal(t, 1, s.Len())
	s.Emit(1)
	s.Emit(2)
	runOnce(t, l)

	assert.Equal(t, []string{"a:1", "a:2"}, trace)
	logged := lines(logs)
	require.Len(t, logged, 1, "the drop is logged once")
	assert.Contains(t, logged[0], "level=WARN")
	assert.Contains(t, logged[0], "receiver=*weakref.listener")
	assert.Contains(t, logged[0], "callback=(*listener).on")
	runtime.KeepAlive(a)
}

// Emit takes a strong reference to each live receiver: the call runs even
// if nothing else holds the receiver any more, and then lets it go.
func TestSignalCallKeepsReceiverUntilItRuns(t *testing.T) {
	l := newLoop(t)
	s := NewSignal[int](l)
	var trace []string
	probe := func() weak.Pointer[listener] {
		b := &listener{name: "b", trace: &trace}
		Subscribe(s, b, (*listener).on)
		s.Emit(1)
		return weak.Make(b)
	}()
	assert.True(t, survives(probe), "the scheduled call holds the receiver")
	runOnce(t, l)
	assert.Equal(t, []string{"b:1"}, trace)
	assert.True(t, collected(probe), "after the call the receiver is free")
}

func TestSignalPanicDoesNotStopOtherSubscribers(t *testing.T) {
	var reported []error
	l := newLoop(t, loop.WithExceptionHandler(func(c loop.ExceptionContext) { reported = append(reported, c.Err) }))
	s := NewSignal[int](l)
	var trace []string
	a, c := &listener{name: "a", trace: &trace}, &listener{name: "c", trace: &trace}
	Subscribe(s, a, (*listener).on)
	Subscribe(s, c, func(*listener, int) { panic("boom") })
	Subscribe(s, c, (*listener).on)
	s.Emit(1)
	runOnce(t, l)
	runtime.KeepAlive(a)
	runtime.KeepAlive(c)
	assert.Equal(t, []string{"a:1", "c:1"}, trace)
	require.Len(t, reported, 1)
	var pe *loop.PanicError
	require.ErrorAs(t, reported[0], &pe)
	assert.Equal(t, "boom", pe.Value)
}

func TestSignalNilPanics(t *testing.T) {
	l := newLoop(t)
	s := NewSignal[int](l)
	assert.PanicsWithValue(t, "weakref: NewSignal with a nil loop", func() { NewSignal[int](nil) })
	assert.PanicsWithValue(t, "weakref: Subscribe with a nil receiver or method", func() {
		Subscribe(s, (*listener)(nil), (*listener).on)
	})
	assert.PanicsWithValue(t, "weakref: Subscribe with a nil receiver or method", func() {
		Subscribe[listener](s, &listener{}, nil)
	})
}
