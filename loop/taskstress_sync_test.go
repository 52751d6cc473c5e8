package loop_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aio-go/aio/future"
	"github.com/aio-go/aio/loop"
)

// The steps on shared primitives. The tasks keep books of each primitive
// (holders of each lock and semaphore, a model of each queue's contents
// and of cond's waiters) and check it against them after each operation
// and after the loop closes. Right after an operation that wakes waiters,
// one of them is sometimes cancelled: the woken waiter may not have
// resumed yet, and must pass its wake-up on.
//
// A guard cancels a task whose step on a primitive takes long, so that
// every wait ends (Shutdown waits for the tasks that go on after being
// cancelled). Since that would also end the wait of a task nobody will
// ever wake, a stranded check runs first: a task must not still be
// waiting once what it waits on has been free at an earlier instant
// (wake-ups pass from waiter to waiter without time passing).

// taskStressPrims are the shared primitives and the tasks' books of them.
type taskStressPrims struct {
	locks      [3]loop.Lock // locks[0] is cond's
	lockHeld   [3]int
	lockProbes [3]*stressProbe
	cond       *loop.Condition
	condGen    int // bumped by every notifier, under the lock
	condQ      []*condEntry
	condProbe  *stressProbe // never ready: holds cond's waiters
	notified   *stressProbe // lock 0, for the notified waiters of cond
	sems       []*stressSem
	events     [2]loop.Event
	eventSets  [2]int // times each event went from cleared to set
	evProbes   [2]*stressProbe
	queues     []*stressQueue
	nextItem   int
	delivered  map[int]bool
	probes     []*stressProbe
	ends       map[string]int // how waits ended, for the coverage check
	closing    bool           // the model of cond is off: Shutdown cancels
}

type stressSem struct {
	s       *loop.Semaphore
	release func() // the BoundedSemaphore's own Release for the bounded one
	limit   int
	held    int
	probe   *stressProbe
}

type stressQueue struct {
	q                *loop.Queue[int]
	max              int
	lifo             bool
	model            []int // the items in the queue, in the order they were put
	put, got         int
	unfinished       int // put and not yet marked done
	drained          int // times unfinished dropped to 0
	get, room, joins *stressProbe
}

// stressProbe watches whether a primitive would let its waiters through,
// and since when, and which tasks wait on it.
type stressProbe struct {
	name    string
	ready   func() bool
	was     bool
	since   time.Time
	waiters []*taskStressTask
}

// condEntry is a task inside one cond.Wait, in the model of cond's queue:
// Notify(n) wakes the first n entries neither notified nor cancelled, and
// a Wait that fails passes one notification on.
type condEntry struct {
	me       *taskStressTask
	cancels  int // me.t.Cancelling() when it started waiting
	notified bool
	dropped  bool // cancelled before it was notified: Notify skips it
}

func (w *taskStressWorld) initPrims() {
	p := &w.taskStressPrims
	p.delivered, p.ends = map[int]bool{}, map[string]int{}
	probe := func(name string, ready func() bool) *stressProbe {
		pr := &stressProbe{name: name, ready: ready, was: ready(), since: w.l.Now()}
		p.probes = append(p.probes, pr)
		return pr
	}
	for i := range p.locks {
		p.lockProbes[i] = probe(fmt.Sprintf("lock %d", i), func() bool { return !p.locks[i].Locked() })
	}
	p.cond = loop.NewCondition(&p.locks[0])
	p.condProbe = probe("cond", func() bool { return false })
	p.notified = probe("lock 0 after a Notify", func() bool { return !p.locks[0].Locked() })
	b := loop.NewBoundedSemaphore(2)
	p.sems = []*stressSem{
		{s: loop.NewSemaphore(3), limit: 3},
		{s: &b.Semaphore, release: b.Release, limit: 2},
	}
	p.sems[0].release = p.sems[0].s.Release
	for i, s := range p.sems {
		s.probe = probe(fmt.Sprintf("semaphore %d", i), func() bool { return s.s.Value() > 0 })
	}
	for i := range p.events {
		p.evProbes[i] = probe(fmt.Sprintf("event %d", i), p.events[i].IsSet)
	}
	p.queues = []*stressQueue{
		{q: loop.NewQueue[int](4), max: 4},
		{q: loop.NewQueue[int](0)},
		{q: loop.NewLifoQueue[int](2), max: 2, lifo: true},
	}
	for i, s := range p.queues {
		s.get = probe(fmt.Sprintf("queue %d get", i), func() bool { return !s.q.Empty() })
		s.room = probe(fmt.Sprintf("queue %d put", i), func() bool { return !s.q.Full() })
		s.joins = probe(fmt.Sprintf("queue %d join", i), func() bool { return s.unfinished == 0 })
	}
}

// observe updates the probes; it runs after every operation on a
// primitive, before the task or callback yields.
func (w *taskStressWorld) observe() {
	for _, pr := range w.probes {
		if r := pr.ready(); r != pr.was {
			pr.was, pr.since = r, w.l.Now()
		}
	}
}

// stranded reports me if it still waits on a primitive that has been
// ready since an earlier instant; the probes must be up to date.
func (w *taskStressWorld) stranded(me *taskStressTask) {
	if pr := me.waitingOn; !w.closing && pr != nil && pr.was && pr.since.Before(w.l.Now()) {
		w.violate("task %d stranded: waits on %s, ready since %v (now %v)", me.id, pr.name, pr.since, w.l.Now())
	}
}

// scanStranded runs the stranded check on every waiting task, every
// taskStressScan, until the loop closes.
func (w *taskStressWorld) scanStranded() {
	if w.closing {
		return
	}
	w.observe()
	for _, pr := range w.probes {
		for _, me := range pr.waiters {
			w.stranded(me)
		}
	}
	w.l.CallLater(taskStressScan, w.scanStranded)
}

// guard cancels me, after the stranded check, if its step on a primitive is
// still running after a while.
func (w *taskStressWorld) guard(me *taskStressTask) (stop func() bool) {
	d := 2*taskStressMaxDelay + time.Duration(me.rng.Int64N(int64(6*taskStressMaxDelay)))
	return w.l.CallLater(d, func() {
		w.observe()
		w.stranded(me)
		me.t.Cancel()
	}).Cancel
}

// wakeCancel sometimes cancels one of on's waiters, the first (the one
// just woken, if any) or another; it runs right after an operation that
// may wake a waiter.
func (w *taskStressWorld) wakeCancel(on *stressProbe) {
	if n := len(on.waiters); n > 0 && w.rng.IntN(4) == 0 {
		i := 0
		if w.rng.IntN(2) == 0 {
			i = w.rng.IntN(n)
		}
		w.ends["wake-cancel"]++
		on.waiters[i].t.Cancel()
	}
}

// wait runs one suspending call on a primitive, as one of on's waiters,
// and counts how it ended; busy says the call was bound to suspend.
func (w *taskStressWorld) wait(me *taskStressTask, what string, on *stressProbe, busy bool, call func() error) error {
	on.waiters = append(on.waiters, me)
	if on != w.condProbe {
		me.waitingOn = on
	}
	err := call()
	me.waitingOn = nil
	on.waiters = slices.DeleteFunc(on.waiters, func(t *taskStressTask) bool { return t == me })
	w.observe()
	if busy {
		what += "-busy"
	}
	switch {
	case err == nil:
		w.ends[what+"-ok"]++
	case errors.Is(err, loop.ErrClosed):
		w.ends[what+"-closed"]++
	case errors.Is(err, future.ErrCancelled):
		w.ends[what+"-cancelled"]++
	}
	return err
}

// hold suspends while holding a primitive: a sleep, or an await of a
// future someone completes, fails or cancels.
func (w *taskStressWorld) hold(me *taskStressTask, co *loop.Coro) error {
	if me.rng.IntN(2) == 0 {
		return stepSleep(w, me, co)
	}
	return stepAwaitFuture(w, me, co)
}

func (w *taskStressWorld) lockTaken(who, i int) {
	w.observe()
	w.lockHeld[i]++
	if w.lockHeld[i] > 1 || !w.locks[i].Locked() {
		w.violate("task %d: took lock %d: %d holders, Locked %v", who, i, w.lockHeld[i], w.locks[i].Locked())
	}
}

func (w *taskStressWorld) lockRelease(i int) {
	w.lockHeld[i]--
	w.locks[i].Release()
	w.observe()
	w.wakeCancel(w.lockProbes[i])
}

func stepLockHold(w *taskStressWorld, me *taskStressTask, co *loop.Coro) error {
	defer w.guard(me)()
	i := 1 + me.rng.IntN(len(w.locks)-1) // locks[0] is cond's
	lk := &w.locks[i]
	if me.rng.IntN(4) == 0 {
		if !lk.TryAcquire() {
			return nil
		}
	} else if err := w.wait(me, "lock", w.lockProbes[i], lk.Locked(), func() error { return lk.Acquire(co) }); err != nil {
		return err
	}
	w.lockTaken(me.id, i)
	defer w.lockRelease(i)
	return w.hold(me, co)
}

func stepSemHold(w *taskStressWorld, me *taskStressTask, co *loop.Coro) error {
	defer w.guard(me)()
	s := w.sems[me.rng.IntN(len(w.sems))]
	if me.rng.IntN(4) == 0 {
		if !s.s.TryAcquire() {
			return nil
		}
	} else if err := w.wait(me, "sem", s.probe, s.s.Locked(), func() error { return s.s.Acquire(co) }); err != nil {
		return err
	}
	w.observe()
	s.held++
	if v := s.s.Value(); s.held > s.limit || v < 0 || s.held+v > s.limit {
		w.violate("task %d: semaphore of %d: %d holders, Value %d", me.id, s.limit, s.held, v)
	}
	defer func() {
		s.held--
		s.release()
		w.observe()
		w.wakeCancel(s.probe)
	}()
	return w.hold(me, co)
}

func (w *taskStressWorld) setEvent(i int) {
	if !w.events[i].IsSet() {
		w.eventSets[i]++
	}
	w.events[i].Set()
	w.observe()
	w.wakeCancel(w.evProbes[i])
}

func stepEventWait(w *taskStressWorld, me *taskStressTask, co *loop.Coro) error {
	defer w.guard(me)()
	i := me.rng.IntN(len(w.events))
	e := &w.events[i]
	set, sets := e.IsSet(), w.eventSets[i]
	if !set && me.rng.IntN(3) == 0 {
		w.l.CallLater(stressDelay(me.rng), func() { w.setEvent(i) })
	}
	err := w.wait(me, "event", w.evProbes[i], !set, func() error { return e.Wait(co) })
	if err == nil && !set && w.eventSets[i] == sets {
		w.violate("task %d: Wait on event %d returned without a Set", me.id, i)
	}
	return err
}

func stepEventToggle(w *taskStressWorld, me *taskStressTask, _ *loop.Coro) error {
	if i := me.rng.IntN(len(w.events)); me.rng.IntN(3) != 0 {
		w.events[i].Clear()
		w.observe()
	} else {
		w.setEvent(i)
	}
	return nil
}

// notify bumps condGen and wakes cond's waiters; the caller holds the lock.
func (w *taskStressWorld) notify(r *rand.Rand) {
	w.condGen++
	if r.IntN(3) == 0 {
		w.cond.NotifyAll()
		w.modelNotify(len(w.condQ))
	} else {
		n := 1 + r.IntN(2)
		w.cond.Notify(n)
		w.modelNotify(n)
	}
	w.wakeCancel(w.condProbe)
}

// modelNotify marks the first n entries of the model that are neither
// notified nor dropped as notified: from now on, they wait for the lock.
func (w *taskStressWorld) modelNotify(n int) {
	for _, e := range w.condQ {
		if n == 0 {
			return
		}
		if !e.notified && e.me.t.Cancelling() != e.cancels {
			// Cancelled while its wait on cond was pending.
			e.dropped = true
		}
		if !e.notified && !e.dropped {
			e.notified = true
			e.me.waitingOn = w.notified
			n--
		}
	}
}

// condEnter adds me to the model as it starts waiting on cond, and
// condLeave removes it; each returns false to let WaitFor wait.
func (w *taskStressWorld) condEnter(me *taskStressTask) bool {
	e := &condEntry{me: me, cancels: me.t.Cancelling(), dropped: me.selfCancel}
	w.condQ = append(w.condQ, e)
	return false
}

func (w *taskStressWorld) condLeave(me *taskStressTask) bool {
	w.condQ = slices.DeleteFunc(w.condQ, func(e *condEntry) bool { return e.me == me })
	me.waitingOn = nil
	return false
}

func stepCondWait(w *taskStressWorld, me *taskStressTask, co *loop.Coro) error {
	defer w.guard(me)()
	if err := w.wait(me, "lock", w.lockProbes[0], w.cond.Locked(), func() error { return w.cond.Acquire(co) }); err != nil {
		return err
	}
	w.lockTaken(me.id, 0)
	held := true
	defer func() {
		if held {
			w.lockRelease(0)
		}
	}()
	if me.rng.IntN(2) == 0 {
		// A callback notifies, if it gets the lock without waiting.
		w.l.CallLater(stressDelay(me.rng), func() {
			if w.cond.TryAcquire() {
				w.lockTaken(-1, 0)
				w.notify(w.rng)
				w.lockRelease(0)
			}
		})
	}
	gen, waitFor := w.condGen, me.rng.IntN(2) == 0
	w.lockHeld[0]-- // Wait releases the lock
	err := w.wait(me, "cond", w.condProbe, true, func() error {
		if waitFor {
			// pred runs before each Wait and after each that succeeds.
			return w.cond.WaitFor(co, func() bool {
				return w.condLeave(me) || w.condGen > gen || w.condEnter(me)
			})
		}
		w.condEnter(me)
		return w.cond.Wait(co)
	})
	w.condLeave(me)
	if err != nil {
		w.modelNotify(1) // as Wait passes a notification on
	}
	// Wait returns holding the lock, except when the loop closes: then it
	// holds it only if it took it without waiting, and nobody else holds
	// it by the books. (A deferred Release would release another task's
	// hold here.)
	held = !errors.Is(err, loop.ErrClosed) || (w.cond.Locked() && w.lockHeld[0] == 0)
	if held {
		w.lockTaken(me.id, 0)
	}
	if err == nil && waitFor && w.condGen <= gen {
		w.violate("task %d: WaitFor returned with its predicate false", me.id)
	}
	return err
}

func stepCondNotify(w *taskStressWorld, me *taskStressTask, co *loop.Coro) error {
	defer w.guard(me)()
	if err := w.wait(me, "lock", w.lockProbes[0], w.cond.Locked(), func() error { return w.cond.Acquire(co) }); err != nil {
		return err
	}
	w.lockTaken(me.id, 0)
	defer w.lockRelease(0)
	w.notify(me.rng)
	if me.rng.IntN(2) == 0 {
		// Hold on for an iteration: the woken wait for the lock. No
		// longer: lock 0 must be free between instants, or the
		// stranded check could not see a lost notification.
		return loop.Sleep(co, 0)
	}
	return nil
}

func (w *taskStressWorld) queueOp(who int, s *stressQueue, op string) {
	w.observe()
	if n := s.q.Len(); n != len(s.model) || s.max > 0 && n > s.max || s.unfinished < n {
		w.violate("task %d: after %s: Len %d, model %d, maxsize %d, unfinished %d",
			who, op, n, len(s.model), s.max, s.unfinished)
	}
}

func (w *taskStressWorld) queuePut(who int, s *stressQueue, v int) {
	s.model = append(s.model, v)
	s.put++
	s.unfinished++
	w.queueOp(who, s, "put")
	w.wakeCancel(s.get)
}

// queueGot checks v against the model: the next item in FIFO or LIFO
// order, never delivered before.
func (w *taskStressWorld) queueGot(who int, s *stressQueue, v int) {
	want, ok := s.take()
	if !ok || v != want || w.delivered[v] {
		w.violate("task %d: got item %d, want %d (%v), delivered before %v", who, v, want, ok, w.delivered[v])
	}
	w.delivered[v] = true
	s.got++
	w.queueOp(who, s, "get")
	w.wakeCancel(s.room)
}

func (w *taskStressWorld) taskDone(s *stressQueue) {
	s.q.TaskDone()
	if s.unfinished--; s.unfinished == 0 {
		s.drained++
	}
	w.observe()
	w.wakeCancel(s.joins)
}

// take removes the item the queue must hand out next from the model.
func (s *stressQueue) take() (int, bool) {
	n := len(s.model)
	switch {
	case n == 0:
		return 0, false
	case s.lifo:
		v := s.model[n-1]
		s.model = s.model[:n-1]
		return v, true
	}
	v := s.model[0]
	s.model = s.model[1:]
	return v, true
}

func stepQueuePut(w *taskStressWorld, me *taskStressTask, co *loop.Coro) error {
	defer w.guard(me)()
	s := w.queues[me.rng.IntN(len(w.queues))]
	w.nextItem++
	v := w.nextItem
	if me.rng.IntN(3) == 0 {
		switch err := s.q.PutNowait(v); {
		case err == nil:
			w.queuePut(me.id, s, v)
		case !errors.Is(err, loop.ErrQueueFull) || s.max == 0 || s.q.Len() != s.max:
			w.violate("task %d: PutNowait: %v with %d of %d items", me.id, err, s.q.Len(), s.max)
		}
		return nil
	}
	err := w.wait(me, "queue-put", s.room, s.q.Full(), func() error { return s.q.Put(co, v) })
	if err == nil {
		w.queuePut(me.id, s, v)
	}
	return err
}

func stepQueueGet(w *taskStressWorld, me *taskStressTask, co *loop.Coro) error {
	defer w.guard(me)()
	s := w.queues[me.rng.IntN(len(w.queues))]
	if me.rng.IntN(3) == 0 {
		switch v, err := s.q.GetNowait(); {
		case err == nil:
			w.queueGot(me.id, s, v)
			w.taskDone(s)
		case !errors.Is(err, loop.ErrQueueEmpty) || len(s.model) != 0:
			w.violate("task %d: GetNowait: %v with %d items", me.id, err, len(s.model))
		}
		return nil
	}
	var v int
	err := w.wait(me, "queue-get", s.get, s.q.Empty(), func() (err error) {
		v, err = s.q.Get(co)
		return err
	})
	if err != nil {
		return err
	}
	w.queueGot(me.id, s, v)
	defer w.taskDone(s) // processed, even if cancelled while processing
	if me.rng.IntN(2) == 0 {
		return w.hold(me, co)
	}
	return nil
}

func stepQueueJoin(w *taskStressWorld, me *taskStressTask, co *loop.Coro) error {
	defer w.guard(me)()
	s := w.queues[me.rng.IntN(len(w.queues))]
	idle, drained := s.unfinished == 0, s.drained
	err := w.wait(me, "queue-join", s.joins, !idle, func() error { return s.q.Join(co) })
	if err == nil && !idle && s.drained == drained {
		w.violate("task %d: Join returned with %d items unfinished all along", me.id, s.unfinished)
	}
	return err
}

func checkNoWaiters(t *testing.T, w *taskStressWorld) {
	for _, pr := range w.probes {
		assert.Empty(t, pr.waiters, "tasks still waiting on %s", pr.name)
	}
	assert.Empty(t, w.condQ, "tasks still waiting on cond")
}

func checkLocks(t *testing.T, w *taskStressWorld) {
	for i := range w.locks {
		lk := &w.locks[i]
		assert.Zero(t, w.lockHeld[i], "lock %d holders", i)
		assert.False(t, lk.Locked(), "lock %d", i)
		if assert.True(t, lk.TryAcquire(), "lock %d free, with no live waiter", i) {
			lk.Release()
		}
	}
}

func checkSemaphores(t *testing.T, w *taskStressWorld) {
	for i, s := range w.sems {
		assert.Zero(t, s.held, "semaphore %d holders", i)
		assert.Equal(t, s.limit, s.s.Value(), "semaphore %d back to its initial value", i)
		assert.False(t, s.s.Locked(), "semaphore %d", i)
	}
}

// checkQueues checks conservation (put == got + Len, every item got was
// marked done) and drains each queue against its model.
func checkQueues(t *testing.T, w *taskStressWorld) {
	for i, s := range w.queues {
		n := s.q.Len()
		assert.Equal(t, s.put, s.got+n, "queue %d: put == got + Len", i)
		assert.Equal(t, n, s.unfinished, "queue %d: unfinished items", i)
		var left, want []int
		for range n {
			v, err := s.q.GetNowait()
			require.NoError(t, err, "queue %d", i)
			left = append(left, v)
			v, _ = s.take()
			want = append(want, v)
		}
		assert.Equal(t, want, left, "queue %d: the items left", i)
		_, err := s.q.GetNowait()
		assert.ErrorIs(t, err, loop.ErrQueueEmpty, "queue %d", i)
	}
}
