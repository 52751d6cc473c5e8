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

// OnLoop reports whether the caller runs loop code, where blocking would
// stop the loop: a callback of l (on the loop goroutine, or on a waiting
// task's goroutine that runs the loop), or a task body of any loop. It costs
// a few microseconds; futures call it before blocking in Wait.
//
// Safe for concurrent use by multiple goroutines.
func (l *Loop) OnLoop() bool {
	if loopID := l.goid.Load(); loopID != 0 {
		if id := goid(); id == loopID || id == l.cur.Load() {
			return true
		}
	}
	return inTaskBody()
}

// Frames that only loop code has on its stack: the coroutine that runs
// task bodies, and the function that runs callbacks.
const (
	taskBodyFrame = "github.com/aio-go/aio/loop.(*Loop).serve"
	callbackFrame = "github.com/aio-go/aio/loop.(*Loop).driveRecovering"
)

// inTaskBody reports whether the calling goroutine is a task body's
// coroutine, of any loop.
func inTaskBody() bool { return onStack(taskBodyFrame, "") }

// inLoopCode reports whether the caller is a callback or a task body of
// any loop.
func inLoopCode() bool { return onStack(taskBodyFrame, callbackFrame) }

// onStack reports whether the calling goroutine's stack holds a frame of
// the function a or b.
func onStack(a, b string) bool {
	pcs := make([]uintptr, 64)
	for {
		n := runtime.Callers(2, pcs)
		frames := runtime.CallersFrames(pcs[:n])
		for {
			f, more := frames.Next()
			if f.Function == a || f.Function == b && b != "" {
				return true
			}
			if !more {
				break
			}
		}
		if n < len(pcs) {
			return false
		}
		pcs = make([]uintptr, 2*len(pcs))
	}
}

// checkGoroutine panics with an error matching ErrWrongGoroutine when the
// loop-only method op is called where it must not be: in any mode while
// the loop sits in its idle wait (the caller is then certainly another
// goroutine), and in debug mode from any goroutine other than the one
// running loop code while the loop runs (asyncio's _check_thread).
func (l *Loop) checkGoroutine(op string) {
	if l.gate.Load()&(gateIdle|gateDebug) != 0 {
		l.checkSlow(op)
	}
}

func (l *Loop) checkSlow(op string) {
	if l.isIdle() {
		panic(wrongGoroutine(op, "the loop is waiting in its idle wait"))
	}
	if !l.cfg.debug || l.goid.Load() == 0 {
		return
	}
	if id := goid(); id != l.cur.Load() {
		panic(wrongGoroutine(op, fmt.Sprintf("goroutine %d", id)))
	}
}

func wrongGoroutine(op, why string) error {
	return &opError{op, fmt.Errorf("%w (%s)", ErrWrongGoroutine, why)}
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
	var pcs [16]uintptr
	return sourceOf(pcs[:runtime.Callers(2, pcs[:])])
}

// sourceOf is the file:line of the first frame of pcs outside aio's loop
// and future packages.
func sourceOf(pcs []uintptr) string {
	frames := runtime.CallersFrames(pcs)
	for {
		f, more := frames.Next()
		if f.Function != "" && !isInternal(f.Function) {
			return fmt.Sprintf("%s:%d", f.File, f.Line)
		}
		if !more {
			return "?"
		}
	}
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

// debugCall is the callback running now in debug mode, for a report if it
// panics.
type debugCall struct {
	fn  func(any)
	arg any
}

// runTimed runs one callback in debug mode (driveRecovering): it is timed,
// and logged if it is slower than the threshold.
func (l *Loop) runTimed(f func(), fn func(any), arg any) {
	if f != nil {
		if tc, ok := arg.(*tracedCall); ok { // a timer's note
			fn, arg = runTraced, &tracedCall{fn: callFunc, arg: f, source: tc.source}
		} else {
			fn, arg = callFunc, f
		}
	} else if fn == nil {
		return
	}
	l.stats.CallbacksRun++
	l.current = debugCall{fn, arg}
	start := time.Now()
	fn(arg)
	l.current = nil
	if d := time.Since(start); d >= l.cfg.slow {
		l.stats.SlowCallbacks++
		name, source := describe(fn, arg)
		l.cfg.logger.Warn("loop: slow callback",
			slog.String("callback", name),
			slog.String("source", source),
			slog.Duration("took", d))
	}
}

// currentSource is where the callback running now was scheduled (debug
// mode), for the report of its panic.
func (l *Loop) currentSource() string {
	c, ok := l.current.(debugCall)
	l.current = nil
	if !ok {
		return ""
	}
	_, source := describe(c.fn, c.arg)
	return source
}
