package loop_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"runtime"
	"testing"
	"testing/synctest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aio-go/aio/future"
	"github.com/aio-go/aio/loop"
)

// newLogger returns a logger writing JSON records to buf, at every level.
func newLogger(buf *bytes.Buffer) *slog.Logger {
	return slog.New(slog.NewJSONHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// logRecords decodes the JSON records written by newLogger's logger.
func logRecords(t *testing.T, buf *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	dec := json.NewDecoder(bytes.NewReader(buf.Bytes()))
	for dec.More() {
		var m map[string]any
		require.NoError(t, dec.Decode(&m))
		out = append(out, m)
	}
	return out
}

// panicky is a callback that panics with its argument; named, so that the
// panic's stack can be checked for it.
func panicky(v any) func() { return func() { panic(v) } }

// TestPanickingCallbackReachesHandler checks §1.10: a panic in a callback
// reaches the handler as a *PanicError, and the loop runs the rest of the
// snapshot and goes on.
func TestPanickingCallbackReachesHandler(t *testing.T) {
	table := []struct {
		name  string
		value any
	}{{"string", "boom"}, {"error", errors.New("boom")}, {"int", 42}}
	for _, tc := range table {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var excs []loop.ExceptionContext
				l := loop.New(loop.WithExceptionHandler(func(c loop.ExceptionContext) { excs = append(excs, c) }))
				r := &recorder{l: l}
				l.CallSoon(r.cb("a"))
				l.CallSoon(panicky(tc.value))
				l.CallSoon(r.cb("c"))
				l.CallSoon(r.cb("d", func() { l.CallSoon(r.stop("e")) }))
				require.NoError(t, l.RunForever())

				assert.Equal(t, []string{"a@1", "c@1", "d@1", "e@2"}, r.got, "the loop keeps running")
				require.Len(t, excs, 1)
				assert.NotEmpty(t, excs[0].Message)
				var pe *loop.PanicError
				require.ErrorAs(t, excs[0].Err, &pe)
				assert.Equal(t, tc.value, pe.Value)
				assert.Contains(t, string(pe.Stack), "panicky", "the stack shows where it panicked")
				assert.NotEmpty(t, pe.Error())
				assert.EqualValues(t, 1, l.Stats().Panics)
				require.NoError(t, l.Close())
			})
		})
	}
}

func TestPanicErrorUnwrap(t *testing.T) {
	errBoom := errors.New("boom")
	wrapped := &loop.PanicError{Value: errBoom}
	assert.Equal(t, errBoom, wrapped.Unwrap())
	assert.ErrorIs(t, wrapped, errBoom)
	assert.Contains(t, wrapped.Error(), "boom")

	plain := &loop.PanicError{Value: "boom"}
	assert.NoError(t, plain.Unwrap())
	assert.NotErrorIs(t, plain, errBoom)
	assert.Contains(t, plain.Error(), "boom")
}

// TestPanickingHandlerIsContained checks asyncio's broken-handler rule: the
// loop keeps running and the default handler logs the handler's panic.
func TestPanickingHandlerIsContained(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var buf bytes.Buffer
		calls := 0
		l := loop.New(
			loop.WithLogger(newLogger(&buf)),
			loop.WithExceptionHandler(func(loop.ExceptionContext) {
				calls++
				panic("handler is broken")
			}),
		)
		r := &recorder{l: l}
		l.CallSoon(panicky("boom"))
		l.CallSoon(r.cb("b", func() { l.CallSoon(r.stop("c")) }))
		require.NoError(t, l.RunForever())

		assert.Equal(t, []string{"b@1", "c@2"}, r.got)
		assert.Equal(t, 1, calls)
		recs := logRecords(t, &buf)
		require.Len(t, recs, 1)
		assert.Equal(t, "ERROR", recs[0]["level"])
		assert.Contains(t, recs[0]["msg"], "panic in exception handler")
		assert.Contains(t, buf.String(), "handler is broken")
		require.NoError(t, l.Close())
	})
}

func TestDefaultHandlerLogsAtError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var buf bytes.Buffer
		l := loop.New(loop.WithLogger(newLogger(&buf)))
		l.CallSoon(panicky("kaboom"))
		l.CallSoon(l.Stop)
		require.NoError(t, l.RunForever())

		recs := logRecords(t, &buf)
		require.Len(t, recs, 1)
		assert.Equal(t, "ERROR", recs[0]["level"])
		assert.NotEmpty(t, recs[0]["msg"])
		assert.Contains(t, buf.String(), "kaboom")
		require.NoError(t, l.Close())
	})
}

// TestPanicCrash checks WithPanicMode(PanicCrash): the panic leaves
// RunForever, and the rest of the snapshot stays queued for the next run.
func TestPanicCrash(t *testing.T) {
	for _, debug := range []bool{false, true} {
		t.Run(map[bool]string{false: "normal", true: "debug"}[debug], func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				excs := 0
				l := loop.New(
					loop.WithPanicMode(loop.PanicCrash),
					loop.WithDebug(debug),
					loop.WithExceptionHandler(func(loop.ExceptionContext) { excs++ }),
				)
				r := &recorder{l: l}
				l.CallSoon(r.cb("a"))
				l.CallSoon(panicky("crash"))
				l.CallSoon(r.cb("c"))
				l.CallSoon(r.cb("d"))
				var runErr error
				v := catch(func() { runErr = l.RunForever() })
				assert.Equal(t, "crash", v)
				assert.NoError(t, runErr)
				assert.Equal(t, []string{"a@1"}, r.got)
				assert.False(t, l.IsRunning(), "the loop is cleaned up")
				assert.Equal(t, 2, l.Stats().Ready, "c and d stay queued")

				l.CallSoon(l.Stop)
				require.NoError(t, l.RunForever())
				assert.Equal(t, []string{"a@1", "c@2", "d@2"}, r.got)
				assert.Zero(t, excs, "the handler is not called in crash mode")
				require.NoError(t, l.Close())
			})
		})
	}
}

// TestUnretrievedErrorReportedAtClose checks asyncio's "exception was never
// retrieved" for errors still unretrieved when the loop closes.
func TestUnretrievedErrorReportedAtClose(t *testing.T) {
	errBoom := errors.New("boom")
	table := []struct {
		name     string
		act      func(l *loop.Loop, f *future.Future[int])
		reported bool
	}{
		{"never retrieved", func(l *loop.Loop, f *future.Future[int]) {
			f.SetError(errBoom)
		}, true},
		{"never retrieved, loop ran", func(l *loop.Loop, f *future.Future[int]) {
			l.CallSoon(func() { f.SetError(errBoom) })
			l.CallSoon(func() { l.CallSoon(l.Stop) })
			_ = l.RunForever()
		}, true},
		{"done-callback that ignores the error", func(l *loop.Loop, f *future.Future[int]) {
			f.AddDoneCallback(func(*future.Future[int]) {})
			f.SetError(errBoom)
			l.CallSoon(func() { l.CallSoon(l.Stop) })
			_ = l.RunForever()
		}, true},
		{"retrieved with Result", func(l *loop.Loop, f *future.Future[int]) {
			f.SetError(errBoom)
			_, _ = f.Result()
		}, false},
		{"retrieved with Err", func(l *loop.Loop, f *future.Future[int]) {
			f.SetError(errBoom)
			_ = f.Err()
		}, false},
		{"retrieved in a done-callback", func(l *loop.Loop, f *future.Future[int]) {
			f.AddDoneCallback(func(f *future.Future[int]) { _ = f.Err() })
			f.SetError(errBoom)
			l.CallSoon(func() { l.CallSoon(l.Stop) })
			_ = l.RunForever()
		}, false},
		{"retrieved by RunUntilComplete", func(l *loop.Loop, f *future.Future[int]) {
			l.CallSoon(func() { f.SetError(errBoom) })
			_, _ = loop.RunUntilComplete(l, f)
		}, false},
		{"cancelled after failing", func(l *loop.Loop, f *future.Future[int]) {
			f.SetError(errBoom)
			if f.Cancel() {
				panic("Cancel of a failed future reported true")
			}
		}, false},
		{"succeeded", func(l *loop.Loop, f *future.Future[int]) {
			f.SetResult(1)
		}, false},
		{"cancelled", func(l *loop.Loop, f *future.Future[int]) {
			f.Cancel()
		}, false},
	}
	for _, tc := range table {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var excs []loop.ExceptionContext
				l := loop.New(loop.WithExceptionHandler(func(c loop.ExceptionContext) { excs = append(excs, c) }))
				f := future.New[int](l)
				tc.act(l, f)
				require.Empty(t, excs, "reported before Close")
				require.NoError(t, l.Close())
				if !tc.reported {
					assert.Empty(t, excs)
					return
				}
				require.Len(t, excs, 1)
				assert.ErrorIs(t, excs[0].Err, errBoom)
				assert.NotEmpty(t, excs[0].Message)
				assert.NotEmpty(t, excs[0].Future)
			})
		})
	}
}

// TestUnretrievedErrorReportDescribesFailedFuture: the report described the
// failed future as pending, because SetError takes its description before
// completing it.
func TestUnretrievedErrorReportDescribesFailedFuture(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var excs []loop.ExceptionContext
		l := loop.New(loop.WithExceptionHandler(func(c loop.ExceptionContext) { excs = append(excs, c) }))
		f := future.New[int](l)
		f.SetError(errors.New("boom"))
		require.NoError(t, l.Close())
		require.Len(t, excs, 1)
		assert.NotContains(t, excs[0].Future, "pending", "the future had failed")
		assert.NotContains(t, excs[0].Message, "pending", "the future had failed")
	})
}

// TestUnretrievedErrorReportedWhenCollected checks the runtime.AddCleanup
// path: a failed future dropped unretrieved is reported once collected,
// without waiting for Close. Not in a synctest bubble: cleanups run outside
// it.
func TestUnretrievedErrorReportedWhenCollected(t *testing.T) {
	errBoom := errors.New("collected boom")
	var excs []loop.ExceptionContext
	l := loop.New(loop.WithExceptionHandler(func(c loop.ExceptionContext) { excs = append(excs, c) }))
	func() {
		f := future.New[int](l)
		f.SetError(errBoom)
	}()
	for i := 0; i < 200 && len(excs) == 0; i++ {
		runtime.GC()
		runtime.Gosched()
		l.Stop()
		require.NoError(t, l.RunForever())
	}
	require.Len(t, excs, 1, "no report after 200 collections")
	assert.ErrorIs(t, excs[0].Err, errBoom)
	assert.NotEmpty(t, excs[0].Message)
	require.NoError(t, l.Close())
	assert.Len(t, excs, 1, "reported again at Close")
}
