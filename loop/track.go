package loop

import (
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"
	"weak"
)

// The loop follows every failed future's error until it is retrieved,
// reported, or the future is collected: asyncio's "exception was never
// retrieved" machinery. The records live in the loop's leakReport, which
// does not reference the loop, so that a loop that is never closed can
// still be collected and report them (asyncio's "unclosed event loop").

// leakReport is what a loop reports if it is collected without Close: where
// it was created, and the errors nobody retrieved. It holds nothing that
// keeps the loop alive.
type leakReport struct {
	source string // where New was called
	logger *slog.Logger
	exec   *executor
	loop   weak.Pointer[Loop]

	mu       sync.Mutex
	isClosed bool
	errs     map[*errorRecord]struct{}
}

// errorRecord follows one failed future's error. It does not reference the
// future or the loop.
type errorRecord struct {
	leak      *leakReport
	err       error
	what      string
	retrieved atomic.Bool
	reported  bool // under leak.mu
}

// watchLeak sets up the report of a loop collected without Close.
func (l *Loop) watchLeak() {
	r := &leakReport{
		source: callerSource(),
		logger: l.cfg.logger,
		exec:   l.exec,
		loop:   weak.Make(l),
		errs:   make(map[*errorRecord]struct{}),
	}
	l.leak = r
	runtime.AddCleanup(l, (*leakReport).collected, r)
}

// collected runs on the runtime's cleanup goroutine when an unclosed loop
// is garbage collected: it reports the loop, and the errors nobody
// retrieved, through the logger (the exception handler belongs to the
// loop), and ends the executor's idle goroutines.
func (r *leakReport) collected() {
	r.mu.Lock()
	if r.isClosed {
		r.mu.Unlock()
		return
	}
	r.isClosed = true
	var left []*errorRecord
	for e := range r.errs {
		if !e.reported && !e.retrieved.Load() {
			e.reported = true
			left = append(left, e)
		}
	}
	clear(r.errs)
	r.mu.Unlock()
	r.logger.Warn("loop: a Loop was garbage collected without Close: its tasks, executor goroutines and unretrieved errors were never cleaned up",
		"created", r.source, "unretrieved errors", len(left))
	for _, e := range left {
		r.logger.Error(e.what+" error was never retrieved", "err", e.err.Error(), "future", e.what)
	}
	r.exec.close()
}

// closed records that Close ran.
func (r *leakReport) closed() {
	r.mu.Lock()
	r.isClosed = true
	r.mu.Unlock()
}

// trackError is told that a future of l failed with err (hooks.Loop): the
// loop reports err through its exception handler if nobody retrieves it
// before the future is collected or the loop closes.
//
// Must be called on the loop goroutine.
func (l *Loop) trackError(err error, what string) *errorRecord {
	r := &errorRecord{leak: l.leak, err: err, what: what}
	l.leak.mu.Lock()
	l.leak.errs[r] = struct{}{}
	l.leak.mu.Unlock()
	return r
}

// Retrieved records that the program saw the error.
func (r *errorRecord) Retrieved() { r.retrieved.Store(true) }

// Collected runs on the runtime's cleanup goroutine when the future is
// collected. It reaches the loop through its remote queue, without waking
// it: the report is made at the loop's next iteration, or by Close. A loop
// that is itself collected reports the error in its leak report.
func (r *errorRecord) Collected() {
	if l := r.leak.loop.Value(); l != nil {
		l.callSoonQuietly(func() { l.report(r) })
	}
}

// report reports r through the exception handler, unless it was retrieved
// or reported already.
func (l *Loop) report(r *errorRecord) {
	r.leak.mu.Lock()
	delete(r.leak.errs, r)
	skip := r.reported || r.retrieved.Load()
	r.reported = true
	r.leak.mu.Unlock()
	if skip {
		return
	}
	l.CallExceptionHandler(ExceptionContext{
		Message: r.what + " error was never retrieved",
		Err:     r.err,
		Future:  r.what,
	})
}

// reportUnretrieved reports, at Close, every tracked error nobody retrieved.
func (l *Loop) reportUnretrieved() {
	l.leak.mu.Lock()
	rs := make([]*errorRecord, 0, len(l.leak.errs))
	for r := range l.leak.errs {
		rs = append(rs, r)
	}
	l.leak.mu.Unlock()
	for _, r := range rs {
		l.report(r)
	}
}
