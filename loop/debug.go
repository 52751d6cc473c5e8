package loop

import (
	"fmt"
	"log/slog"
	"reflect"
	"runtime"
	"strings"
	"time"
)

// goid returns the calling goroutine's id, read from its stack header
// ("goroutine 42 [running]:"). It costs about a microsecond: it is used
// when a loop starts, before blocking, and in debug mode.
func goid() uint64 {
	var buf [64]byte
	n := runtime.Stack(buf[:], false)
	const prefix = len("goroutine ")
	var id uint64
	for _, c := range buf[prefix:n] {
		if c < '0' || c > '9' {
			break
		}
		id = id*10 + uint64(c-'0')
	}
	return id
}

// OnLoop reports whether the caller runs loop code: a callback (on the loop
// goroutine, or on a waiting task's goroutine that runs the loop), or a
// task body, which blocking would deadlock too. A task body is recognised
// in debug mode, and otherwise once the task has run the loop while it
// waited; elsewhere OnLoop may report false for it. It costs about a
// microsecond; futures call it before blocking in Wait.
//
// Safe for concurrent use by multiple goroutines.
func (l *Loop) OnLoop() bool {
	loopID := l.goid.Load()
	if loopID == 0 {
		return false
	}
	id := goid()
	return id == loopID || id == l.cur.Load()
}

// checkGoroutine panics with ErrWrongGoroutine when a loop-only method is
// called from a goroutine other than the one running loop code, while the
// loop runs (asyncio's _check_thread). Debug mode only.
func (l *Loop) checkGoroutine(op string) {
	if l.goid.Load() == 0 {
		return
	}
	if id := goid(); id != l.cur.Load() {
		panic(&opError{op, fmt.Errorf("%w (goroutine %d)", ErrWrongGoroutine, id)})
	}
}

// tracedCall is a callback scheduled in debug mode, with where it came from.
type tracedCall struct {
	fn     func(any)
	arg    any
	source string
}

func runTraced(a any) {
	t := a.(*tracedCall)
	t.fn(t.arg)
}

// traced wraps fn(arg) with the place it was scheduled from.
func (l *Loop) traced(fn func(any), arg any) (func(any), any) {
	return runTraced, &tracedCall{fn: fn, arg: arg, source: callerSource()}
}

// callerSource is the file:line of the first caller outside aio's loop and
// future packages: where a callback was scheduled.
func callerSource() string {
	for skip := 2; skip < 10; skip++ {
		pc, file, line, ok := runtime.Caller(skip)
		if !ok {
			break
		}
		if f := runtime.FuncForPC(pc); f != nil && isInternal(f.Name()) {
			continue
		}
		return fmt.Sprintf("%s:%d", file, line)
	}
	return "?"
}

func isInternal(name string) bool {
	return strings.HasPrefix(name, "github.com/aio-go/aio/loop.") ||
		strings.HasPrefix(name, "github.com/aio-go/aio/future.")
}

// describe names a callback for logs: the function and where it was
// scheduled.
func describe(fn func(any), arg any) (name, source string) {
	if t, ok := arg.(*tracedCall); ok && reflect.ValueOf(fn).Pointer() == reflect.ValueOf(runTraced).Pointer() {
		fn, arg, source = t.fn, t.arg, t.source
	}
	pc := reflect.ValueOf(fn).Pointer()
	if inner, ok := arg.(func()); ok {
		pc = reflect.ValueOf(inner).Pointer()
	}
	if f := runtime.FuncForPC(pc); f != nil {
		name = f.Name()
	}
	return name, source
}

// runDebug runs an iteration's n callbacks in debug mode: each callback is timed, and those
// slower than the threshold are logged.
func (l *Loop) runDebug(n int) {
	for ; n > 0; n-- {
		f, fn, arg := l.ready.Pop()
		if f != nil {
			if tc, ok := arg.(*tracedCall); ok { // a timer's note
				fn, arg = runTraced, &tracedCall{fn: callFunc, arg: f, source: tc.source}
			} else {
				fn, arg = callFunc, f
			}
		} else if fn == nil {
			continue
		}
		l.stats.CallbacksRun++
		start := time.Now()
		l.runOne(fn, arg)
		if d := time.Since(start); d >= l.cfg.slow {
			l.stats.SlowCallbacks++
			name, source := describe(fn, arg)
			l.cfg.logger.Warn("loop: slow callback",
				slog.String("callback", name),
				slog.String("source", source),
				slog.Duration("took", d))
		}
	}
}

// runOne runs one callback, reporting a panic (debug mode).
func (l *Loop) runOne(fn func(any), arg any) {
	if l.cfg.panicMode != PanicCrash {
		defer func() {
			if r := recover(); r != nil {
				_, source := describe(fn, arg)
				l.callbackPanicked(r, source)
			}
		}()
	}
	fn(arg)
}
