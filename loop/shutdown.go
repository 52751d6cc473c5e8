package loop

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aio-go/aio/future"
	"github.com/aio-go/aio/timer"
)

// shutdown is a Shutdown (or Run's end) in its finishing phase, on the loop
// goroutine: the tasks it cancelled, and its reports of what it still waits
// for.
type shutdown struct {
	op      string  // "Shutdown" or "Run"
	tasks   []*task // the tasks cancelled, to report those that fail otherwise
	report  timer.Handle
	delay   time.Duration
	reports int
}

// Reports of what a Shutdown, Run or Close still waits for come after
// firstReport and then at doubling intervals, maxReports of them: enough to
// say what hangs, without keeping a stuck program busy forever.
const (
	firstReport = time.Second
	maxReports  = 8
)

// Shutdown closes the loop gracefully, as net/http's Server.Shutdown closes
// a server: CallSoonThreadsafe starts returning ErrClosed at once, then the
// loop runs every callback already accepted, cancels its tasks and lets
// them finish, waits for the executor's work, and closes. Timers that are
// still pending then are dropped (and counted, as by Close). So with
// Shutdown, a CallSoonThreadsafe that returned nil always runs exactly once.
// Tasks that end with an error other than a cancellation are reported
// through the exception handler, as Run reports them. The loop's I/O
// objects (servers, connections) stop accepting new work, and Shutdown
// waits for them to finish, as for tasks.
//
// If the loop is not running, Shutdown runs it on the calling goroutine
// until that work is done; a Stop does not end that run. If it is running on
// another goroutine, Shutdown asks it to finish and waits; RunForever then
// returns nil. If that goroutine stops the loop first, Shutdown takes over
// and finishes the work itself. While it waits, the loop logs at Warn level
// which tasks and executor jobs it waits for, after one second and then at
// doubling intervals.
//
// If ctx ends first, Shutdown stops waiting and returns an error matching
// ctx's error that names what was still running (the executor jobs, and
// where they were submitted). The loop is then closed at once, discarding
// what is left, without waiting for those jobs: their contexts are
// cancelled, their futures cancelled with ErrClosed, and their goroutines
// end when the jobs return (a later Close waits for them).
//
// Safe for concurrent use by multiple goroutines; called on the loop
// goroutine it returns an error matching ErrRunning.
func (l *Loop) Shutdown(ctx context.Context) error {
	if l.IsClosed() {
		return nil
	}
	if l.running.Load() && l.OnLoop() {
		return &opError{"Shutdown", ErrRunning}
	}
	return l.shutdown(ctx, "Shutdown")
}

func (l *Loop) shutdown(ctx context.Context, op string) error {
	l.advance(draining)
	for {
		if l.start(op) == nil {
			return l.drainAndClose(ctx, op)
		}
		if l.IsClosed() {
			return nil
		}
		// Running on another goroutine: it finishes the work and closes,
		// unless it is stopped first, in which case this goroutine takes
		// over.
		if l.isIdle() {
			l.wakeUp()
		}
		select {
		case <-l.done:
			return nil
		case <-l.exited:
		case <-ctx.Done():
			err := l.gaveUp(ctx, op, "")
			l.advance(expired)
			if !l.running.Load() && !l.IsClosed() {
				l.closeNow(false) // it stopped meanwhile
			}
			return err
		}
	}
}

// drainAndClose is Shutdown on the goroutine that started the loop: it
// cancels the tasks, runs the loop until the work is done (a Stop does not
// end it; ctx does), and closes.
func (l *Loop) drainAndClose(ctx context.Context, op string) error {
	defer l.finish()
	stop := context.AfterFunc(ctx, func() { l.advance(expired) })
	defer stop()
	l.cancelTasks(op)
	l.runUntil(l.mustStop)
	if l.phase() == expired {
		err := l.gaveUp(ctx, op, l.waitingFor())
		l.closeNow(false)
		return err
	}
	l.closeNow(true)
	return nil
}

// cancelTasks is the move from draining to finishing, on the loop
// goroutine: it cancels every unfinished task, once, and schedules the
// first report of what the loop waits for.
func (l *Loop) cancelTasks(op string) {
	if !l.advance(finishing) {
		return
	}
	s := &shutdown{op: op, tasks: l.tasks.live(), delay: firstReport}
	l.shut = s
	for _, t := range s.tasks {
		t.cancel(nil)
	}
	l.stopAccepting()
	s.report = l.CallLater(s.delay, l.reportWaiting)
}

// quiescent reports whether nothing is left that a Shutdown waits for.
func (l *Loop) quiescent() bool {
	return l.ready.Len() == 0 && !l.hasRemote.Load() && l.tasks.n == 0 && l.exec.idle() && len(l.resources) == l.daemons
}

// reportWaiting logs what the finishing loop still waits for, and
// schedules the next report.
func (l *Loop) reportWaiting() {
	s := l.shut
	s.reports++
	l.cfg.logger.Warn("loop: "+s.op+" is waiting", "for", l.waitingFor(), "reports", fmt.Sprintf("%d of %d", s.reports, maxReports))
	if s.reports < maxReports {
		s.delay *= 2
		s.report = l.CallLater(s.delay, l.reportWaiting)
	}
}

// waitingFor describes the tasks and executor jobs a Shutdown waits for.
func (l *Loop) waitingFor() string {
	var parts []string
	if ts := l.tasks.live(); len(ts) > 0 {
		names := make([]string, len(ts))
		for i, t := range ts {
			names[i] = t.owner.String()
		}
		parts = append(parts, counted("task", len(names), names, ", "))
	}
	if jobs := l.exec.describe(); jobs != "" {
		parts = append(parts, jobs)
	}
	if rs := l.describeResources(); rs != "" {
		parts = append(parts, rs)
	}
	if len(parts) == 0 {
		return "callbacks"
	}
	return strings.Join(parts, " and ")
}

// gaveUp is the error of a Shutdown whose ctx ended: ctx's error, with
// what was still running.
func (l *Loop) gaveUp(ctx context.Context, op, waiting string) error {
	if waiting == "" {
		waiting = l.exec.describe()
	}
	if waiting == "" {
		return &opError{op, ctx.Err()}
	}
	return &opError{op, fmt.Errorf("%w while waiting for %s", ctx.Err(), waiting)}
}

// finishShutdown ends the finishing phase before Close: it stops the
// reports and reports the cancelled tasks that failed otherwise than by
// cancellation (asyncio.run's "unhandled exception during shutdown").
func (l *Loop) finishShutdown() {
	s := l.shut
	if s == nil {
		return
	}
	l.shut = nil
	s.report.Cancel()
	for _, t := range s.tasks {
		if !t.owner.Done() {
			continue
		}
		err := t.owner.(future.Awaitable).Err()
		if err != nil && !errors.Is(err, future.ErrCancelled) {
			l.CallExceptionHandler(ExceptionContext{
				Message: "loop: task failed during " + s.op + " shutdown",
				Err:     err,
				Task:    t.owner,
			})
		}
	}
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// maxListed is how many names a report lists before "and N more".
const maxListed = 10

// counted is "n whats (a, b, ...)": it names the first maxListed of names,
// the first of the n things, joined by sep.
func counted(what string, n int, names []string, sep string) string {
	names = names[:min(len(names), maxListed)]
	s := plural(n, what) + " (" + strings.Join(names, sep)
	if n > len(names) {
		s += fmt.Sprintf("%sand %d more", sep, n-len(names))
	}
	return s + ")"
}
