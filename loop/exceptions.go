package loop

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"

	"github.com/aio-go/aio/timer"
)

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
// handler. A panic in a custom handler is recovered and reported through
// the default handler; the loop keeps running.
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
// ctx through the loop's logger, at Error level, or at Warn level when the
// error matches ErrDiscarded. A custom handler may call it.
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
	level := slog.LevelError
	if errors.Is(ctx.Err, ErrDiscarded) {
		level = slog.LevelWarn
	}
	l.cfg.logger.LogAttrs(context.Background(), level, ctx.Message, attrs...)
}

// callbackPanicked reports a panic recovered from a callback.
func (l *Loop) callbackPanicked(v any) {
	l.stats.Panics++
	l.CallExceptionHandler(ExceptionContext{
		Message: "loop: panic in callback",
		Err:     newPanicError(v),
		Source:  l.currentSource(),
	})
}
