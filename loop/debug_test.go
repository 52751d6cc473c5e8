package loop_test

import (
	"bytes"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aio-go/aio/loop"
)

// TestDebugModeKeepsOrder runs the ordering tables in debug mode, which
// wraps and times every callback: the order must not change.
func TestDebugModeKeepsOrder(t *testing.T) {
	runScenarios(t, append(callbackOrderTable(), timerOrderTable()...), loop.WithDebug(true))
}

// slowCallback takes 50ms; inside a synctest bubble the sleep passes in
// virtual time at once, and the loop's clock sees it.
func slowCallback() { time.Sleep(50 * time.Millisecond) }

func fastCallback() {}

// warnings returns the Warn records of buf.
func warnings(t *testing.T, buf *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, r := range logRecords(t, buf) {
		if r["level"] == "WARN" {
			out = append(out, r)
		}
	}
	return out
}

func TestSlowCallback(t *testing.T) {
	table := []struct {
		name   string
		debug  bool
		slow   time.Duration // 0: the default (100ms)
		sleep  time.Duration
		logged bool
	}{
		{"debug, over the threshold", true, 10 * time.Millisecond, 50 * time.Millisecond, true},
		{"debug, under the default threshold", true, 0, 50 * time.Millisecond, false},
		{"debug, over the default threshold", true, 0, 150 * time.Millisecond, true},
		{"no debug", false, 10 * time.Millisecond, 50 * time.Millisecond, false},
	}
	for _, tc := range table {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var buf bytes.Buffer
				opts := []loop.Option{loop.WithDebug(tc.debug), loop.WithLogger(newLogger(&buf))}
				if tc.slow > 0 {
					opts = append(opts, loop.WithSlowCallback(tc.slow))
				}
				l := loop.New(opts...)
				l.CallSoon(fastCallback)
				_, file, line, _ := runtime.Caller(0)
				l.CallSoon(func() { time.Sleep(tc.sleep) })
				l.CallSoon(l.Stop)
				require.NoError(t, l.RunForever())

				ws := warnings(t, &buf)
				if !tc.logged {
					assert.Empty(t, ws)
					assert.Zero(t, l.Stats().SlowCallbacks)
					require.NoError(t, l.Close())
					return
				}
				require.Len(t, ws, 1)
				assert.NotEmpty(t, ws[0]["msg"])
				assert.Contains(t, ws[0]["callback"], "TestSlowCallback")
				assert.Equal(t, fmt.Sprintf("%s:%d", file, line+1), ws[0]["source"])
				assert.EqualValues(t, 1, l.Stats().SlowCallbacks)
				require.NoError(t, l.Close())
			})
		})
	}
}

// scheduler schedules fn one way and returns the line that scheduled it.
type scheduler struct {
	name     string
	schedule func(l *loop.Loop, fn func()) int
}

var (
	soonSchedulers = []scheduler{
		{"CallSoon", func(l *loop.Loop, fn func()) int {
			_, _, line, _ := runtime.Caller(0)
			l.CallSoon(fn)
			return line + 1
		}},
		{"CallSoonThreadsafe", func(l *loop.Loop, fn func()) int {
			_, _, line, _ := runtime.Caller(0)
			_, _ = l.CallSoonThreadsafe(fn)
			return line + 1
		}},
	}
	timerSchedulers = []scheduler{
		{"CallLater", func(l *loop.Loop, fn func()) int {
			_, _, line, _ := runtime.Caller(0)
			l.CallLater(time.Second, fn)
			return line + 1
		}},
		{"CallAt", func(l *loop.Loop, fn func()) int {
			_, _, line, _ := runtime.Caller(0)
			l.CallAt(l.Now().Add(time.Second), fn)
			return line + 1
		}},
	}
)

// checkDebugReports schedules a slow callback and a panicking one each way
// and checks that debug mode's reports name the callback and its source.
func checkDebugReports(t *testing.T, kinds []scheduler) {
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var buf bytes.Buffer
				var excs []loop.ExceptionContext
				l := loop.New(loop.WithDebug(true), loop.WithSlowCallback(time.Millisecond),
					loop.WithLogger(newLogger(&buf)),
					loop.WithExceptionHandler(func(c loop.ExceptionContext) { excs = append(excs, c) }))
				slowLine := k.schedule(l, slowCallback)
				panicLine := k.schedule(l, panicky("boom"))
				l.CallLater(2*time.Second, l.Stop)
				require.NoError(t, l.RunForever())

				ws := warnings(t, &buf)
				require.Len(t, ws, 1)
				assert.Contains(t, ws[0]["callback"], "slowCallback")
				assert.Equal(t, fmt.Sprintf("debug_test.go:%d", slowLine), baseName(ws[0]["source"]), "slow callback source")
				require.Len(t, excs, 1)
				assert.Equal(t, fmt.Sprintf("debug_test.go:%d", panicLine), baseName(excs[0].Source), "panic source")
				require.NoError(t, l.Close())
			})
		})
	}
}

// baseName returns the file:line part of a source after the last slash.
func baseName(v any) string {
	s, _ := v.(string)
	return s[strings.LastIndex(s, "/")+1:]
}

// TestDebugCallbackHasSource checks the name and source of debug reports for
// callbacks scheduled with CallSoon and CallSoonThreadsafe.
func TestDebugCallbackHasSource(t *testing.T) { checkDebugReports(t, soonSchedulers) }

// TestDebugTimerCallbackHasSource: debug reports of timers had no source,
// because callAt stopped wrapping timers with traced when Slot.fn became a
// plain func().
func TestDebugTimerCallbackHasSource(t *testing.T) { checkDebugReports(t, timerSchedulers) }

// TestDebugPanicHasSource checks that in debug mode a panic's report says
// where the callback was scheduled.
func TestDebugPanicHasSource(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var excs []loop.ExceptionContext
		l := loop.New(loop.WithDebug(true),
			loop.WithExceptionHandler(func(c loop.ExceptionContext) { excs = append(excs, c) }))
		_, file, line, _ := runtime.Caller(0)
		l.CallSoon(panicky("boom"))
		l.CallSoon(l.Stop)
		require.NoError(t, l.RunForever())
		require.Len(t, excs, 1)
		var pe *loop.PanicError
		require.ErrorAs(t, excs[0].Err, &pe)
		assert.Equal(t, "boom", pe.Value)
		assert.Equal(t, fmt.Sprintf("%s:%d", file, line+1), excs[0].Source)
		require.NoError(t, l.Close())
	})
}

// TestDebugWrongGoroutine checks asyncio's _check_thread: in debug mode, a
// loop-only method called from another goroutine while the loop runs panics
// with ErrWrongGoroutine and schedules nothing.
func TestDebugWrongGoroutine(t *testing.T) {
	calls := []struct {
		name string
		call func(l *loop.Loop, fn func())
	}{
		{"CallSoon", func(l *loop.Loop, fn func()) { l.CallSoon(fn) }},
		{"CallLater", func(l *loop.Loop, fn func()) { l.CallLater(0, fn) }},
		{"CallAt", func(l *loop.Loop, fn func()) { l.CallAt(l.Now(), fn) }},
	}
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				l := loop.New(loop.WithDebug(true))
				var got any
				ran := false
				l.CallSoon(func() {
					res := make(chan any)
					go func() { res <- catch(func() { c.call(l, func() { ran = true }) }) }()
					got = <-res
					l.CallSoon(l.Stop)
				})
				require.NoError(t, l.RunForever())
				err, ok := got.(error)
				require.Truef(t, ok, "panic value %v (%T) is not an error", got, got)
				assert.ErrorIs(t, err, loop.ErrWrongGoroutine)
				assert.True(t, strings.HasPrefix(err.Error(), "loop:"), "message %q", err.Error())
				assert.False(t, ran)
				s := l.Stats()
				assert.Zero(t, s.Ready+s.Timers, "nothing was scheduled")
				require.NoError(t, l.Close())
			})
		})
	}
}

// TestDebugOtherGoroutineAllowed checks what debug mode does not forbid:
// CallSoonThreadsafe from anywhere, and CallSoon from another goroutine
// while the loop is not running (asyncio's check passes then too).
func TestDebugOtherGoroutineAllowed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := loop.New(loop.WithDebug(true))
		r := &recorder{l: l}
		res := make(chan any)
		go func() { res <- catch(func() { l.CallSoon(r.cb("stopped")) }) }()
		require.Nil(t, <-res)

		l.CallSoon(func() {
			go func() {
				res <- catch(func() {
					if _, err := l.CallSoonThreadsafe(r.stop("remote")); err != nil {
						panic(err)
					}
				})
			}()
		})
		require.NoError(t, l.RunForever())
		assert.Nil(t, <-res)
		assert.Equal(t, []string{"stopped@1", "remote@2"}, r.got)
		require.NoError(t, l.Close())
	})
}
