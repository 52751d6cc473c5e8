package loop

import (
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aio-go/aio/future"
	"github.com/aio-go/aio/internal/hooks"
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

	// Shared with other goroutines (rule 3 of the package doc): the
	// lifecycle, the callbacks they hand in, and the idle wait. What every
	// CallSoonThreadsafe reads sits on cache lines of its own, away from
	// the ready queue the loop writes for every callback.
	_         [64]byte
	remote    sched.Remote  // the callbacks handed in while the loop is open
	hasRemote atomic.Bool   // remote or late may hold callbacks
	gate      atomic.Uint32 // gate bits: what makes loop-only methods check their caller
	_         [64]byte
	ph        atomic.Uint32 // a phase (lifecycle.go); changed under remoteMu
	running   atomic.Bool   // a goroutine is in RunForever
	stopping  atomic.Bool   // Stop was called: end the run after this iteration
	remoteMu  sync.Mutex
	late      sched.Queue // the loop's own callbacks handed in once it has left open; under remoteMu
	wake      chan struct{}
	sleep     *time.Timer
	done      chan struct{} // closed when the loop is closed
	exited    chan struct{} // a pulse when RunForever returns, for Shutdown

	// Goroutine ids: of the goroutine running the loop, and of the
	// goroutine running loop code right now (a lending task's, or in debug
	// mode a task body's).
	goid atomic.Uint64
	cur  atomic.Uint64

	cfg      config
	stats    Stats
	leak     *leakReport // what is reported if the loop is collected unclosed
	shut     *shutdown   // the Shutdown or Run under way, if any (lifecycle.go)
	tasks    taskSet
	parked   []coroutine                     // idle coroutines, for the next tasks (coroutine.go)
	serveFn  func(yield func(struct{}) bool) // l.serve, bound once: what every coroutine runs
	curTask  *task                           // the task whose body is running, if any
	left     int                             // callbacks of the current iteration not yet run
	current  any                             // debug mode: the callback running now, for reports
	lends    bool                            // the configuration allows lending (lend.go)
	borrower *task                           // the waiting task whose goroutine runs the loop now
	resumed  bool                            // the borrower's own wake-up has run
	handed   handedCall                      // a call a task body hands to its stepper (step.go)
	exec     *executor

	// Introspection (snapshot.go, counters.go).
	obs       uint8        // obs bits: what a step does besides resuming the body
	observing bool         // WithTaskCounters or WithTrace
	iterStart int64        // with counters: when the current iteration began (nanotime)
	insp      *inspection  // the snapshot under way, if any
	req       *snapRequest // a task body's request for a snapshot, if any

	resources map[hooks.Resource]struct{} // I/O objects the loop owns (resources.go)
	unjoined  []hooks.Resource            // closed, their goroutines not yet joined
	daemons   int                         // of resources, those a Shutdown does not wait for
	signals   *signals                    // the signal handlers, while there is one (signals.go)
}

// The gate bits: a loop-only method that schedules work checks its caller
// and the loop (mustSchedule) only when one is set, with one atomic load.
const (
	gateIdle   uint32 = 1 << iota // the loop is (about to be) blocked in its idle wait
	gateClosed                    // the loop is closed
	gateDebug                     // debug mode
)

// isIdle reports whether the loop is (about to be) blocked in its idle wait.
func (l *Loop) isIdle() bool { return l.gate.Load()&gateIdle != 0 }

// Stats are counters and queue lengths of a loop, for introspection.
type Stats struct {
	Iterations      uint64 // iterations of the loop (asyncio's _run_once)
	CallbacksRun    uint64 // callbacks run, task steps and done-callbacks included
	Panics          uint64 // panics recovered from callbacks
	Exceptions      uint64 // calls of the exception handler
	SlowCallbacks   uint64 // callbacks over the slow threshold (debug mode)
	Discarded       uint64 // callbacks and timers of the program's that Close dropped
	DiscardedTimers uint64 // of Discarded, the timers still pending at Close
	Ready           int    // callbacks in the ready queue, cancelled ones included until they are skipped
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
		exec:   newExecutor(),
	}
	for _, o := range opts {
		o.apply(&l.cfg)
	}
	l.lends = !l.cfg.debug && l.cfg.panicMode != PanicCrash
	l.obs, l.observing = l.cfg.observeFlags(), l.cfg.counters || l.cfg.trace
	if l.cfg.debug {
		l.gate.Store(gateDebug)
	}
	l.epoch = time.Now()
	l.timers.Epoch = l.epoch
	l.watchLeak()
	l.ready.Owner, l.remote.Owner, l.late.Owner, l.timers.Owner = l, l, l, l
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
func (l *Loop) IsClosed() bool { return l.phase() == closed }

// IsClosing reports whether Close (or the end of a Shutdown) has begun:
// the loop is stopping its tasks' coroutines, or is closed.
//
// Safe for concurrent use by multiple goroutines.
func (l *Loop) IsClosing() bool { return l.phase() >= closing }

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
// Must be called on the loop goroutine, or once the loop is closed.
func (l *Loop) Stats() Stats {
	if !l.IsClosed() {
		l.checkGoroutine("Stats")
	}
	s := l.stats
	s.Ready = l.ready.Len()
	s.Timers = l.timers.Len()
	s.CancelledTimers = l.timers.Cancelled()
	s.Tasks = l.tasks.n
	return s
}
