package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"math/rand/v2"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/aio-go/aio/future"
	"github.com/aio-go/aio/loop"
	"github.com/aio-go/aio/timer"
)

// The soak run (-soak d): one loop carries a mixed, steady workload for d
// and reports its throughput and memory every interval. Every part of the
// workload is bounded: tasks end and are replaced, timers reschedule
// themselves, producers hand in callbacks against a fixed number of
// credits; so the live objects stay constant, and memory that grows or
// throughput that decays is the loop's doing.
//
// Every task and timer chain waits on the loop's clock from time to time,
// so the loop goes idle between bursts: the run also works inside
// testing/synctest, where time advances only when the loop waits.

// Limits of the soak run's verdict.
const (
	soakMaxRSSGrowth = 0.10 // RSS at the end over RSS after warm-up, minus one
	soakMinLastRate  = 0.80 // last interval's ops/s over the median interval's
)

// soakMix sizes the soak workload.
type soakMix struct {
	timerSlots int           // timer chains; each also schedules a decoy it cancels
	producers  int           // goroutines calling CallSoonThreadsafe
	batch      int           // callbacks per producer per tick
	tick       time.Duration // producers' period
	credits    int           // callbacks handed in and not yet run, at most
	steppers   int           // tasks doing Sleep(0), Sleep(small) and Await
	queueTasks int           // producer tasks and as many consumer tasks
	queueSize  int           // the queue's maxsize
	lockers    int           // tasks contending for the Lock
	semTasks   int           // tasks contending for the Semaphore
	semUnits   int           // the Semaphore's units
	executors  int           // tasks awaiting RunInExecutor
	maxDelay   time.Duration // longest small delay of timers and sleeps
}

var defaultSoakMix = soakMix{
	timerSlots: 256,
	producers:  4,
	batch:      64,
	tick:       time.Millisecond,
	credits:    4096,
	steppers:   512,
	queueTasks: 4,
	queueSize:  64,
	lockers:    16,
	semTasks:   16,
	semUnits:   4,
	executors:  8,
	maxDelay:   500 * time.Microsecond,
}

// soakSample is one report line.
type soakSample struct {
	at         time.Duration // since the start
	ops        uint64        // cumulative
	rate       float64       // ops/s over the interval that ends here
	cpuRate    float64       // ops per second of the process's CPU time, same interval
	rss        uint64        // bytes; 0 if unknown
	heap       uint64        // bytes
	goroutines int
}

// soaker is the state of one soak run. Apart from the channels and the
// producers' WaitGroup, it is touched on the loop goroutine only.
type soaker struct {
	w     io.Writer
	l     *loop.Loop
	mix   soakMix
	rng   *rand.Rand
	start time.Time
	n     int           // intervals
	dt    time.Duration // interval length
	race  bool          // built with -race: RSS is not checked

	stopping bool
	prev     time.Time     // time of the last sample
	prevCPU  time.Duration // process CPU time at the last sample
	samples  []soakSample

	queue    *loop.Queue[int]
	queueOps uint64 // successful Puts and Gets
	puts     uint64
	gets     uint64
	lock     loop.Lock
	locked   bool
	sem      *loop.Semaphore
	semUsed  int
	slots    []soakSlot

	faults     []string // broken invariants
	exceptions []string // other reports of the exception handler

	stop     chan struct{} // closed to stop the producers
	stopOnce sync.Once
	credits  chan struct{}
	wg       sync.WaitGroup
}

// soakSlot is one timer chain: the next timer, and a decoy that the next
// firing cancels.
type soakSlot struct{ next, decoy timer.Handle }

// runSoak runs the mixed workload on one loop for d, printing a line every
// interval of about every, then a summary. It returns the exit code: 0 if
// RSS grew by at most soakMaxRSSGrowth after warm-up, the last interval's
// throughput is at least soakMinLastRate of the median interval's, and no
// invariant of the workload broke.
func runSoak(w io.Writer, d, every time.Duration) int {
	mix := defaultSoakMix
	if d <= 0 || every <= 0 {
		fmt.Fprintln(w, "soak: duration and interval must be positive")
		return 2
	}
	n := max(1, int(d/every))
	s := &soaker{
		w:       w,
		mix:     mix,
		rng:     rand.New(rand.NewPCG(1, 2)),
		n:       n,
		dt:      d / time.Duration(n),
		race:    raceBuild(),
		stop:    make(chan struct{}),
		credits: make(chan struct{}, mix.credits),
	}
	s.l = loop.New(loop.WithExceptionHandler(s.exception))
	goroutines := ownGoroutines()

	fmt.Fprintf(w, "soak: %v, a line every %v; %d timer chains (+decoys), %d producers x %d cb/%v, "+
		"%d stepper tasks, %d+%d queue tasks (maxsize %d), %d lock + %d semaphore(%d) tasks, %d executor tasks\n",
		d, s.dt, mix.timerSlots, mix.producers, mix.batch, mix.tick, mix.steppers,
		mix.queueTasks, mix.queueTasks, mix.queueSize, mix.lockers, mix.semTasks, mix.semUnits, mix.executors)
	fmt.Fprintf(w, "%9s %10s %10s %9s %9s %10s %7s %7s %7s\n",
		"elapsed", "ops/s", "ops/CPU-s", "RSS MiB", "heap MiB", "goroutines", "ready", "timers", "tasks")

	s.l.CallSoon(s.begin)
	runErr := s.l.RunForever()
	s.stopProducers() // also when RunForever failed
	s.wg.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	shutErr := s.l.Shutdown(ctx)
	cancel()
	if runErr != nil {
		s.fault("RunForever: %v", runErr)
	}
	if shutErr != nil {
		s.fault("Shutdown: %v", shutErr)
	}
	left := waitGoroutines(goroutines)
	if left > goroutines {
		s.fault("%d goroutines left after Shutdown (%d before the run)", left-goroutines, goroutines)
	}
	return s.summary(goroutines, left)
}

// begin runs as the loop's first callback: it starts every part of the
// workload and the reports.
func (s *soaker) begin() {
	l, mix := s.l, s.mix
	s.start = l.Now()
	s.prev = time.Now()
	s.prevCPU = cpuTime()
	s.queue = loop.NewQueue[int](mix.queueSize)
	s.sem = loop.NewSemaphore(mix.semUnits)

	s.slots = make([]soakSlot, mix.timerSlots)
	for i := range s.slots {
		s.fire(i)
	}
	s.keep(mix.steppers, s.stepper)
	s.keep(mix.queueTasks, s.queueProducer)
	s.keep(mix.queueTasks, s.queueConsumer)
	s.keep(mix.lockers, s.locker)
	s.keep(mix.semTasks, s.semHolder)
	s.keep(mix.executors, s.executor)
	for range mix.producers {
		s.wg.Go(s.produce)
	}
	l.CallAt(s.start.Add(s.dt), func() { s.report(1) })
}

// report takes sample k (1-based) and schedules the next, or ends the run.
func (s *soaker) report(k int) {
	now := time.Now()
	st := s.l.Stats()
	sm := soakSample{
		at:         time.Duration(k) * s.dt,
		ops:        st.CallbacksRun + s.queueOps,
		rss:        currentRSS(),
		heap:       heapInUse(),
		goroutines: runtime.NumGoroutine(),
	}
	prevOps := uint64(0)
	if len(s.samples) > 0 {
		prevOps = s.samples[len(s.samples)-1].ops
	}
	if el := now.Sub(s.prev).Seconds(); el > 0 {
		sm.rate = float64(sm.ops-prevOps) / el
	}
	cpu := cpuTime()
	if el := (cpu - s.prevCPU).Seconds(); el > 0 {
		sm.cpuRate = float64(sm.ops-prevOps) / el
	}
	s.prev, s.prevCPU = now, cpu
	s.samples = append(s.samples, sm)
	fmt.Fprintf(s.w, "%9s %10s %10s %9s %9.1f %10d %7d %7d %7d\n",
		sm.at.Round(time.Millisecond), human(sm.rate), human(sm.cpuRate), mib(sm.rss), float64(sm.heap)/(1<<20),
		sm.goroutines, st.Ready, st.Timers, st.Tasks)
	if k < s.n {
		s.l.CallAt(s.start.Add(time.Duration(k+1)*s.dt), func() { s.report(k + 1) })
		return
	}
	s.end()
}

// end stops the workload's sources: no more replacements or timers, the
// producers return; Shutdown then cancels the tasks left.
func (s *soaker) end() {
	s.stopping = true
	for _, sl := range s.slots {
		sl.next.Cancel()
		sl.decoy.Cancel()
	}
	s.stopProducers()
	s.l.Stop()
}

func (s *soaker) stopProducers() { s.stopOnce.Do(func() { close(s.stop) }) }

// exception is the loop's exception handler. A panic or an error nobody
// retrieved is a fault of the workload; other reports (what Close
// discarded) are only printed.
func (s *soaker) exception(ctx loop.ExceptionContext) {
	if ctx.Err != nil {
		s.fault("%s: %v", ctx.Message, ctx.Err)
		return
	}
	s.exceptions = append(s.exceptions, ctx.Message)
}

func (s *soaker) fault(format string, args ...any) {
	s.faults = append(s.faults, fmt.Sprintf(format, args...))
}

// delay returns a random delay in [1ns, maxDelay].
func (s *soaker) delay() time.Duration {
	return 1 + time.Duration(s.rng.Int64N(int64(s.mix.maxDelay)))
}

// fire is timer chain i going off: it cancels its decoy (which usually has
// not fired: it is set further out) and schedules the next timer and decoy.
func (s *soaker) fire(i int) {
	if s.stopping {
		return
	}
	sl := &s.slots[i]
	sl.decoy.Cancel()
	sl.decoy = s.l.CallLater(s.mix.maxDelay+s.delay(), func() {})
	sl.next = s.l.CallLater(s.delay(), func() { s.fire(i) })
}

// keep runs n tasks of body; each one that ends is replaced until the run
// ends. A task may end cancelled (Shutdown) or with an error matching
// ErrClosed; any other error is a fault.
func (s *soaker) keep(n int, body func(co *loop.Coro) (struct{}, error)) {
	var spawn func()
	spawn = func() {
		t := loop.Spawn(s.l, body)
		t.AddDoneCallback(func(f *future.Future[struct{}]) {
			if err := f.Err(); err != nil && !f.Cancelled() && !errors.Is(err, loop.ErrClosed) {
				s.fault("%v: %v", t, err)
			}
			if !s.stopping {
				spawn()
			}
		})
	}
	for range n {
		spawn()
	}
}

// lifetime returns how many rounds a new task runs.
func (s *soaker) lifetime(lo, hi int) int { return lo + s.rng.IntN(hi-lo+1) }

// stepper yields, sleeps and awaits futures completed by callbacks and
// timers, at random.
func (s *soaker) stepper(co *loop.Coro) (struct{}, error) {
	var none struct{}
	l := s.l
	for range s.lifetime(16, 64) {
		var err error
		switch op := s.rng.IntN(4); op {
		case 0:
			err = loop.Sleep(co, 0)
		case 1:
			err = loop.Sleep(co, s.delay())
		default:
			f := future.New[int](l)
			var h timer.Handle
			if op == 2 {
				l.CallSoon(func() { f.SetResult(op) })
			} else {
				h = l.CallLater(s.delay(), func() { f.SetResult(op) })
			}
			var v int
			if v, err = loop.Await(co, f); err == nil && v != op {
				s.fault("stepper: awaited %d, want %d", v, op)
			}
			h.Cancel() // cancelled while waiting: the timer is not needed
		}
		if err != nil {
			return none, err
		}
	}
	return none, nil
}

// queueProducer puts numbers in the queue, pausing every 16.
func (s *soaker) queueProducer(co *loop.Coro) (struct{}, error) {
	var none struct{}
	for i := range s.lifetime(64, 256) {
		if err := s.queue.Put(co, i); err != nil {
			return none, err
		}
		s.queueOps++
		s.puts++
		if i%16 == 15 {
			if err := loop.Sleep(co, s.delay()); err != nil {
				return none, err
			}
		}
	}
	return none, nil
}

// queueConsumer takes numbers from the queue.
func (s *soaker) queueConsumer(co *loop.Coro) (struct{}, error) {
	var none struct{}
	for range s.lifetime(64, 256) {
		if _, err := s.queue.Get(co); err != nil {
			return none, err
		}
		s.queueOps++
		s.gets++
		s.queue.TaskDone()
	}
	return none, nil
}

// locker takes the Lock and holds it across a yield or a short sleep.
func (s *soaker) locker(co *loop.Coro) (struct{}, error) {
	var none struct{}
	for range s.lifetime(16, 64) {
		if err := s.lock.Acquire(co); err != nil {
			return none, err
		}
		if s.locked {
			s.fault("Lock acquired by two tasks")
		}
		s.locked = true
		var err error
		if s.rng.IntN(4) == 0 {
			err = loop.Sleep(co, s.delay())
		} else {
			err = loop.Sleep(co, 0)
		}
		s.locked = false
		s.lock.Release()
		if err != nil {
			return none, err
		}
	}
	return none, nil
}

// semHolder takes a unit of the Semaphore for a short sleep.
func (s *soaker) semHolder(co *loop.Coro) (struct{}, error) {
	var none struct{}
	for range s.lifetime(16, 64) {
		if err := s.sem.Acquire(co); err != nil {
			return none, err
		}
		if s.semUsed++; s.semUsed > s.mix.semUnits {
			s.fault("Semaphore(%d) held %d times", s.mix.semUnits, s.semUsed)
		}
		err := loop.Sleep(co, s.delay())
		s.semUsed--
		s.sem.Release()
		if err != nil {
			return none, err
		}
	}
	return none, nil
}

// executor hashes a buffer on the loop's executor and checks the result.
func (s *soaker) executor(co *loop.Coro) (struct{}, error) {
	var none struct{}
	for range s.lifetime(8, 32) {
		seed := s.rng.Uint64()
		v, err := loop.Await(co, loop.RunInExecutor(s.l, func(context.Context) (uint64, error) {
			return soakHash(seed), nil
		}))
		if err != nil {
			return none, err
		}
		if v != soakHash(seed) {
			s.fault("executor: hash %x, want %x", v, soakHash(seed))
		}
		if err := loop.Sleep(co, s.delay()); err != nil {
			return none, err
		}
	}
	return none, nil
}

// soakHash is the executor's work: FNV-1a over 1 KiB derived from seed.
func soakHash(seed uint64) uint64 {
	h := fnv.New64a()
	var b [8]byte
	for i := range 128 {
		x := seed + uint64(i)*0x9e3779b97f4a7c15
		for j := range b {
			b[j] = byte(x >> (8 * j))
		}
		h.Write(b[:])
	}
	return h.Sum64()
}

// produce is one producer goroutine: every tick it hands the loop a batch
// of callbacks, each holding a credit until it runs, so that at most
// mix.credits wait in the loop.
func (s *soaker) produce() {
	tk := time.NewTicker(s.mix.tick)
	defer tk.Stop()
	stop := s.stop
	release := func() { <-s.credits }
	for {
		select {
		case <-stop:
			return
		case <-tk.C:
		}
		for range s.mix.batch {
			select {
			case <-stop:
				return
			case s.credits <- struct{}{}:
			}
			if _, err := s.l.CallSoonThreadsafe(release); err != nil {
				<-s.credits
				return
			}
		}
	}
}

// summary prints the verdict and returns the exit code.
func (s *soaker) summary(goroutinesBefore, goroutinesAfter int) int {
	w, st := s.w, s.l.Stats() // the loop is closed: any goroutine may look
	if s.puts != s.gets+uint64(s.queue.Len()) {
		s.fault("queue: %d puts, %d gets, %d left", s.puts, s.gets, s.queue.Len())
	}
	if len(s.samples) < s.n {
		s.fault("%d of %d intervals reported", len(s.samples), s.n)
	}
	ok := len(s.faults) == 0
	fmt.Fprintln(w, "summary:")
	if len(s.samples) > 0 {
		ok = s.verdict() && ok
	}
	total := uint64(0)
	if len(s.samples) > 0 {
		total = s.samples[len(s.samples)-1].ops
	}
	fmt.Fprintf(w, "  work: %s ops (%s callbacks, timers and task steps; %s queue ops); %d panics, %d exceptions, %d discarded at close\n",
		human(float64(total)), human(float64(st.CallbacksRun)), human(float64(s.queueOps)),
		st.Panics, st.Exceptions, st.Discarded)
	fmt.Fprintf(w, "  shutdown: loop closed %v, %d tasks left; goroutines %d before the run, %d after\n",
		s.l.IsClosed(), st.Tasks, goroutinesBefore, goroutinesAfter)
	for i, e := range s.exceptions {
		if i == 5 {
			fmt.Fprintf(w, "  ... %d more exceptions\n", len(s.exceptions)-i)
			break
		}
		fmt.Fprintf(w, "  exception: %s\n", e)
	}
	for _, f := range s.faults {
		fmt.Fprintf(w, "  FAULT: %s\n", f)
	}
	if ok {
		fmt.Fprintln(w, "PASS")
		return 0
	}
	fmt.Fprintln(w, "FAIL")
	return 1
}

// verdict prints the RSS and throughput lines and reports whether both are
// within their limits.
func (s *soaker) verdict() bool {
	w, ss := s.w, s.samples
	n := len(ss)
	warm := min(n-1, max(0, (n+9)/10-1)) // first sample at or after 10% of the run
	mid := (n - 1) / 2
	last := n - 1
	ok := true

	wr, mr, er := ss[warm].rss, ss[mid].rss, ss[last].rss
	switch {
	case wr == 0 || er == 0:
		fmt.Fprintln(w, "  RSS: unknown (no /proc/self/statm); not checked")
	case s.race:
		fmt.Fprintf(w, "  RSS: after warm-up (%v) %s MiB, end (%v) %s MiB; not checked: built with -race, "+
			"whose own memory grows with every task created\n",
			ss[warm].at.Round(time.Millisecond), mib(wr), ss[last].at.Round(time.Millisecond), mib(er))
	default:
		growth := float64(er)/float64(wr) - 1
		verdict := "ok"
		if float64(er) > float64(wr)*(1+soakMaxRSSGrowth) {
			verdict, ok = "TOO MUCH", false
		}
		fmt.Fprintf(w, "  RSS: after warm-up (%v) %s MiB, middle (%v) %s MiB, end (%v) %s MiB; growth after warm-up %+.1f%% (limit +%.0f%%): %s\n",
			ss[warm].at.Round(time.Millisecond), mib(wr), ss[mid].at.Round(time.Millisecond), mib(mr),
			ss[last].at.Round(time.Millisecond), mib(er), 100*growth, 100*soakMaxRSSGrowth, verdict)
	}

	med := median(ss, func(sm soakSample) float64 { return sm.rate })
	verdict := "ok"
	if ss[last].rate < soakMinLastRate*med {
		verdict, ok = "TOO SLOW", false
	}
	decay := 0.0
	if ss[0].rate > 0 {
		decay = 1 - ss[last].rate/ss[0].rate
	}
	fmt.Fprintf(w, "  throughput (ops/s): first %s, middle %s, last %s, median %s; decay first to last %.1f%%; "+
		"last/median %.0f%% (limit >= %.0f%%): %s\n",
		human(ss[0].rate), human(ss[mid].rate), human(ss[last].rate), human(med), 100*decay,
		100*ss[last].rate/med, 100*soakMinLastRate, verdict)
	// Other processes take CPU from the loop, not work per CPU-second: on
	// a shared machine this line tells their noise from the loop's decay.
	cmed := median(ss, func(sm soakSample) float64 { return sm.cpuRate })
	if cmed > 0 {
		fmt.Fprintf(w, "  throughput (ops per CPU-second, not checked): first %s, middle %s, last %s, median %s; last/median %.0f%%\n",
			human(ss[0].cpuRate), human(ss[mid].cpuRate), human(ss[last].cpuRate), human(cmed), 100*ss[last].cpuRate/cmed)
	}
	return ok
}

// currentRSS is the process's resident set size now (not its peak), from
// /proc/self/statm; 0 where that is not available.
func currentRSS() uint64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0
	}
	pages, err := strconv.ParseUint(f[1], 10, 64)
	if err != nil {
		return 0
	}
	return pages * uint64(os.Getpagesize())
}

// heapInUse is the Go heap's in-use spans (runtime.MemStats.HeapInuse),
// read without stopping the world.
func heapInUse() uint64 {
	ms := []metrics.Sample{
		{Name: "/memory/classes/heap/objects:bytes"},
		{Name: "/memory/classes/heap/unused:bytes"},
	}
	metrics.Read(ms)
	var sum uint64
	for _, m := range ms {
		if m.Value.Kind() == metrics.KindUint64 {
			sum += m.Value.Uint64()
		}
	}
	return sum
}

// raceBuild reports whether the binary was built with -race. The race
// detector keeps memory for every goroutine it has seen, and every task is
// a goroutine (its coroutine): RSS then grows by some KiB per task created,
// whatever the loop does.
func raceBuild() bool {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return false
	}
	for _, st := range bi.Settings {
		if st.Key == "-race" {
			return st.Value == "true"
		}
	}
	return false
}

// cpuTime is the CPU time the process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func mib(b uint64) string {
	if b == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.1f", float64(b)/(1<<20))
}

// waitGoroutines waits up to a second for the count of ownGoroutines to
// drop to want (goroutines that were joined may still be exiting) and
// returns it.
func waitGoroutines(want int) int {
	deadline := time.Now().Add(time.Second)
	for {
		n := ownGoroutines()
		if n <= want || time.Now().After(deadline) {
			return n
		}
		time.Sleep(time.Millisecond)
	}
}

// ownGoroutines counts the goroutines running aio's code (the loop, its
// tasks and executor, the producers, this function's caller): what a soak
// could leave behind. The runtime's own goroutines (cleanups, which start
// as needed) do not count.
func ownGoroutines() int {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	count := 0
	for _, g := range bytes.Split(buf, []byte("\n\n")) {
		if bytes.Contains(g, []byte("github.com/aio-go/aio/")) {
			count++
		}
	}
	return count
}
