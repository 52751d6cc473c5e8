package loop

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strings"

	"github.com/aio-go/aio/timer"
)

// Errors returned (or, for misuse, panicked with) by the loop. Match them
// with errors.Is.
var (
	// ErrClosed: the loop is closed (or, for CallSoonThreadsafe, shutting
	// down): asyncio's "Event loop is closed".
	ErrClosed = errors.New("loop: closed")
	// ErrRunning: the loop is already running (RunForever,
	// RunUntilComplete), or cannot be closed because it is running.
	ErrRunning = errors.New("loop: already running")
	// ErrStoppedEarly: RunUntilComplete returned because the loop was
	// stopped before the future was done.
	ErrStoppedEarly = errors.New("loop: stopped before the future completed")
	// ErrWrongGoroutine: in debug mode, a method that must be called on the
	// loop goroutine was called from another goroutine while the loop runs.
	ErrWrongGoroutine = errors.New("loop: called off the loop goroutine")
	// ErrOtherLoop: a future or task of another loop was used with this one.
	ErrOtherLoop = errors.New("loop: future belongs to another loop")
)

// opError is a misuse error: the operation and the sentinel it matches.
type opError struct {
	op  string
	err error
}

func (e *opError) Error() string {
	return "loop: " + e.op + ": " + strings.TrimPrefix(e.err.Error(), "loop: ")
}
func (e *opError) Unwrap() error { return e.err }

// PanicError is a recovered panic: its value and the stack of the goroutine
// that panicked. A panic in a callback reaches the exception handler as a
// *PanicError; a panic in a task body completes the task with one.
type PanicError struct {
	Value any
	Stack []byte
}

// Error describes the panic value.
func (e *PanicError) Error() string { return fmt.Sprintf("loop: panic: %v", e.Value) }

// Unwrap returns the panic value when it is an error.
func (e *PanicError) Unwrap() error {
	if err, ok := e.Value.(error); ok {
		return err
	}
	return nil
}

// newPanicError captures the current goroutine's stack; called from a
// deferred function during the panic, it includes where the panic happened.
func newPanicError(v any) *PanicError {
	return &PanicError{Value: v, Stack: debug.Stack()}
}

// ExceptionContext is what the loop tells its exception handler: asyncio's
// exception handler context dict.
type ExceptionContext struct {
	// Message says what happened; it is never empty.
	Message string
	// Err is the error, if any; a *PanicError for a recovered panic.
	Err error
	// Handle is the callback's handle, when the error came from a callback
	// and the handle is known.
	Handle timer.Handle
	// Task is the task involved, if any (a *Task[T]).
	Task fmt.Stringer
	// Future describes the future involved, if any.
	Future string
	// Source is where the callback was scheduled (debug mode only).
	Source string
	// Context is the original context when the handler itself panicked.
	Context *ExceptionContext
}

// CallExceptionHandler is asyncio's call_exception_handler: it passes ctx to
// the loop's exception handler (WithExceptionHandler), or to the default
// handler, which logs at Error level through the loop's logger. A panic in
// a custom handler is recovered and reported through the default handler;
// the loop keeps running.
//
// Must be called on the loop goroutine, or while the loop is not running.
func (l *Loop) CallExceptionHandler(ctx ExceptionContext) {
	if ctx.Message == "" {
		ctx.Message = "loop: unhandled error"
	}
	l.stats.Exceptions++
	h := l.cfg.handler
	if h == nil {
		l.DefaultExceptionHandler(ctx)
		return
	}
	defer func() {
		if r := recover(); r != nil {
			l.DefaultExceptionHandler(ExceptionContext{
				Message: "loop: panic in exception handler",
				Err:     newPanicError(r),
				Context: &ctx,
			})
		}
	}()
	h(ctx)
}

// DefaultExceptionHandler is asyncio's default_exception_handler: it logs
// ctx at Error level through the loop's logger. A custom handler may call it.
//
// Safe for concurrent use by multiple goroutines, when the logger is.
func (l *Loop) DefaultExceptionHandler(ctx ExceptionContext) {
	attrs := make([]slog.Attr, 0, 6)
	if ctx.Err != nil {
		attrs = append(attrs, slog.String("err", ctx.Err.Error()))
	}
	if ctx.Handle != (timer.Handle{}) {
		attrs = append(attrs, slog.String("handle", ctx.Handle.String()))
	}
	if ctx.Task != nil {
		attrs = append(attrs, slog.String("task", ctx.Task.String()))
	}
	if ctx.Future != "" {
		attrs = append(attrs, slog.String("future", ctx.Future))
	}
	if ctx.Source != "" {
		attrs = append(attrs, slog.String("source", ctx.Source))
	}
	if ctx.Context != nil {
		attrs = append(attrs, slog.String("context", ctx.Context.Message))
	}
	var pe *PanicError
	if errors.As(ctx.Err, &pe) {
		attrs = append(attrs, slog.String("stack", string(pe.Stack)))
	}
	l.cfg.logger.LogAttrs(context.Background(), slog.LevelError, ctx.Message, attrs...)
}

// callbackPanicked reports a panic recovered from a callback.
func (l *Loop) callbackPanicked(v any, source string) {
	l.stats.Panics++
	l.CallExceptionHandler(ExceptionContext{
		Message: "loop: panic in callback",
		Err:     newPanicError(v),
		Source:  source,
	})
}
