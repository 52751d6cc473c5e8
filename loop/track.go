package loop

import (
	"sync/atomic"

	"github.com/aio-go/aio/internal/hooks"
)

// errorRecord follows one failed future's error until it is retrieved,
// reported, or the future is collected: asyncio's "exception was never
// retrieved" machinery. It does not reference the future, so it does not
// keep it alive.
type errorRecord struct {
	l         *Loop
	err       error
	what      string
	retrieved atomic.Bool
	reported  bool // loop goroutine only
}

// trackError is told that a future of l failed with err (hooks.Loop): the
// loop reports err through its exception handler if nobody retrieves it
// before the future is collected or the loop closes.
//
// Must be called on the loop goroutine.
func (l *Loop) trackError(err error, what string) hooks.ErrorTracker {
	r := &errorRecord{l: l, err: err, what: what}
	l.errs[r] = struct{}{}
	return r
}

// Retrieved implements hooks.ErrorTracker.
func (r *errorRecord) Retrieved() { r.retrieved.Store(true) }

// Collected implements hooks.ErrorTracker: it runs on the runtime's
// cleanup goroutine and reaches the loop through its remote queue, without
// waking it: the report is made at the loop's next iteration, or by Close.
// If the loop is closed, Close has already reported the error.
func (r *errorRecord) Collected() {
	r.l.callSoonQuietly(func() {
		delete(r.l.errs, r)
		r.report()
	})
}

func (r *errorRecord) report() {
	if r.reported || r.retrieved.Load() {
		return
	}
	r.reported = true
	r.l.CallExceptionHandler(ExceptionContext{
		Message: r.what + " error was never retrieved",
		Err:     r.err,
		Future:  r.what,
	})
}

// reportUnretrieved reports, at Close, every tracked error nobody retrieved.
func (l *Loop) reportUnretrieved() {
	for r := range l.errs {
		r.report()
	}
	clear(l.errs)
}
