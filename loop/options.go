package loop

import (
	"log/slog"
	"time"
)

// An Option configures a Loop in New (and Run).
type Option interface{ apply(*config) }

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// PanicMode says what the loop does with a panic in a callback.
type PanicMode int

const (
	// PanicRecover recovers the panic, wraps it in a *PanicError and passes
	// it to the exception handler; the loop keeps running. The default.
	PanicRecover PanicMode = iota
	// PanicCrash lets the panic propagate out of RunForever on the loop
	// goroutine, for programs and tests that want to fail fast. Callbacks
	// left in the iteration stay queued.
	PanicCrash
)

type config struct {
	handler   func(ExceptionContext)
	logger    *slog.Logger
	debug     bool
	slow      time.Duration
	panicMode PanicMode
	workers   int
	counters  bool // WithTaskCounters
	trace     bool // WithTrace
}

func defaultConfig() config {
	return config{logger: slog.Default(), slow: 100 * time.Millisecond, workers: 64}
}

// WithExceptionHandler sets the loop's exception handler: asyncio's
// set_exception_handler. It is called on the loop goroutine with every
// panic recovered from a callback and every error nobody retrieved. A nil
// handler means the default one, which logs through the loop's logger.
func WithExceptionHandler(h func(ExceptionContext)) Option {
	return optionFunc(func(c *config) { c.handler = h })
}

// WithLogger sets the logger of the default exception handler and of debug
// mode. The default is slog.Default() at the time New is called.
func WithLogger(logger *slog.Logger) Option {
	return optionFunc(func(c *config) {
		if logger != nil {
			c.logger = logger
		}
	})
}

// WithDebug turns debug mode on or off: asyncio's set_debug. In debug mode
// the loop logs callbacks slower than the threshold (WithSlowCallback) with
// where they were scheduled, and panics with ErrWrongGoroutine when a
// loop-only method is called from another goroutine while the loop runs.
// Debug mode costs time on every call; it is off by default.
func WithDebug(on bool) Option {
	return optionFunc(func(c *config) { c.debug = on })
}

// WithSlowCallback sets the debug-mode threshold above which a callback is
// logged as slow: asyncio's slow_callback_duration. The default is 100ms.
func WithSlowCallback(d time.Duration) Option {
	return optionFunc(func(c *config) { c.slow = d })
}

// WithPanicMode sets what the loop does with a panic in a callback.
func WithPanicMode(m PanicMode) Option {
	return optionFunc(func(c *config) { c.panicMode = m })
}

// WithWorkers sets the number of goroutines of the loop's executor (see
// RunInExecutor); the default is 64. It panics if n is not positive.
func WithWorkers(n int) Option {
	if n <= 0 {
		panic("loop: WithWorkers: the number of workers must be positive")
	}
	return optionFunc(func(c *config) { c.workers = n })
}
