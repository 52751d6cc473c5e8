package loop

import (
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aio-go/aio/future"
	"github.com/aio-go/aio/internal/sched"
)

var _ future.Scheduler = (*Loop)(nil)

// Loop is an event loop: asyncio's BaseEventLoop. One goroutine at a time
// runs it (RunForever, RunUntilComplete); that goroutine, or a waiting task's
// goroutine it lends the work to (see the package doc, Concurrency), runs
// its callbacks, timers and task steps, so they never run concurrently and
// touch loop state without locks.
//
// Methods say which goroutines may call them: "Must be called on the loop
// goroutine" means from a callback or task of this loop, or from any single
// goroutine while the loop is not running. CallSoonThreadsafe, Stop,
// Shutdown and the state queries that say so are safe from any goroutine.
type Loop struct {
	ready  sched.Queue
	timers sched.Heap
	epoch  time.Time

	// Callbacks handed in by other goroutines.
	remoteMu  sync.Mutex
	remote    sched.Queue
	refusing  bool // under remoteMu: CallSoonThreadsafe returns ErrClosed
	sealed    bool // under remoteMu: nothing more is accepted at all
	hasRemote atomic.Bool

	idle     atomic.Bool // the loop is (about to be) blocked waiting
	wake     chan struct{}
	sleep    *time.Timer
	stopping atomic.Bool
	running  atomic.Bool
	closing  atomic.Bool
	closed   atomic.Bool
	done     chan struct{} // closed when the loop is closed

	// Goroutine ids: of the goroutine running the loop, and (debug mode)
	// of the goroutine running loop code right now (a task's, in a step).
	goid atomic.Uint64
	cur  atomic.Uint64

	shutdown  atomic.Bool   // Shutdown in progress: finish work, then close
	abandoned atomic.Bool   // Shutdown gave up waiting: close when the loop stops
	expired   atomic.Bool   // Shutdown's ctx ended while it ran the loop itself
	exited    chan struct{} // a pulse when RunForever returns, for Shutdown

	tasksCancelled bool // loop goroutine: Shutdown has cancelled the tasks

	cfg     config
	stats   Stats
	errs    map[*errorRecord]struct{}
	tasks   taskSet
	parked  []*coroutine // idle coroutines, for the next tasks (coroutine.go)
	curTask *task        // the task whose body is running, if any
	left    int          // callbacks of the current iteration's snapshot not yet run

	// Lending (lend.go): the waiting task whose goroutine runs the loop
	// now, and whether its own wake-up has run.
	lends    bool // the configuration allows lending
	borrower *task
	resumed  bool
	exec     executor
}

// Stats are counters and queue lengths of a loop, for introspection.
type Stats struct {
	Iterations      uint64 // iterations of the loop (asyncio's _run_once)
	CallbacksRun    uint64 // callbacks run, task steps and done-callbacks included
	Panics          uint64 // panics recovered from callbacks
	Exceptions      uint64 // calls of the exception handler
	SlowCallbacks   uint64 // callbacks over the slow threshold (debug mode)
	Discarded       uint64 // callbacks and timers dropped by Close
	Ready           int    // callbacks in the ready queue, cancelled ones included until their turn comes
	Timers          int    // timers in the heap, cancelled ones included
	CancelledTimers int    // cancelled timers still in the heap
	Tasks           int    // tasks not yet done
}

// New returns a new, stopped loop.
func New(opts ...Option) *Loop {
	l := &Loop{
		cfg:    defaultConfig(),
		wake:   make(chan struct{}, 1),
		exited: make(chan struct{}, 1),
		done:   make(chan struct{}),
		errs:   make(map[*errorRecord]struct{}),
	}
	for _, o := range opts {
		o.apply(&l.cfg)
	}
	l.lends = !l.cfg.debug && l.cfg.panicMode != PanicCrash
	l.epoch = time.Now()
	l.timers.Epoch = l.epoch
	l.ready.Owner, l.remote.Owner, l.timers.Owner = l, l, l
	return l
}

// Now is asyncio's loop.time: the loop's clock, monotonic. Timers are
// measured against it.
//
// Safe for concurrent use by multiple goroutines.
func (l *Loop) Now() time.Time {
	return l.epoch.Add(time.Since(l.epoch))
}

// nanotime is Now as nanoseconds since the loop's epoch.
func (l *Loop) nanotime() int64 { return int64(time.Since(l.epoch)) }

// IsRunning is asyncio's is_running.
//
// Safe for concurrent use by multiple goroutines.
func (l *Loop) IsRunning() bool { return l.running.Load() }

// IsClosed is asyncio's is_closed.
//
// Safe for concurrent use by multiple goroutines.
func (l *Loop) IsClosed() bool { return l.closed.Load() }

// IsClosing reports whether Close (or the end of a Shutdown) has begun:
// the loop is stopping its tasks' coroutines, or is closed.
//
// Safe for concurrent use by multiple goroutines.
func (l *Loop) IsClosing() bool { return l.closing.Load() }

// Done returns a channel that is closed when the loop is closed.
//
// Safe for concurrent use by multiple goroutines.
func (l *Loop) Done() <-chan struct{} { return l.done }

// Logger returns the loop's logger (WithLogger), for code that logs on the
// loop's behalf.
//
// Safe for concurrent use by multiple goroutines.
func (l *Loop) Logger() *slog.Logger { return l.cfg.logger }

// Stats returns the loop's counters and queue lengths.
//
// Must be called on the loop goroutine.
func (l *Loop) Stats() Stats {
	s := l.stats
	s.Ready = l.ready.Len()
	s.Timers = l.timers.Len()
	s.CancelledTimers = l.timers.Cancelled()
	s.Tasks = l.tasks.n
	return s
}
