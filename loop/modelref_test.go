package loop_test

// The reference model of TestSchedulerModel: asyncio's ordering rules in
// plain Go (see model_test.go for the programs and the real-loop harness).

import (
	"slices"
	"time"
)

// States of a model callback (what a handle reports).
const (
	hPending = iota
	hCancelled
	hDone
)

// States of a model future.
const (
	fPending = iota
	fDone
	fCancelled
)

// Kinds of model callbacks.
const (
	eCall  = iota // a program callback: trace, run the actor
	eStep         // a task step
	eStop         // RunUntilComplete's done-callback: Stop
	eWatch        // the watchdog timer: trace, Stop
	eSleep        // Sleep's timer: complete the sleep's future
)

// mEntry is a model callback: in the ready queue, among the timers (when,
// seq), or run or cancelled. The handles of the program point to them.
type mEntry struct {
	kind          int
	serial, actor int
	task          *mTask
	fut           *mFuture
	state         int
	when          int64
	seq           int
}

// mCallback is a done-callback registered on a future: a copy of e is
// scheduled when the future completes, unless it was removed.
type mCallback struct {
	e       mEntry
	f       *mFuture
	removed bool
}

// mFuture is a future: its state, value and pending done-callbacks.
type mFuture struct {
	state int
	value int
	cbs   []*mCallback
	task  *mTask // the task whose future this is
}

// mTask is a task as a state machine: pc is the next action of its actor,
// wait the action it is suspended in (and waitIdx what that refers to).
type mTask struct {
	idx, actor int
	fut        *mFuture
	started    bool
	finished   bool
	mustCancel bool
	returned   bool // the body returned a cancellation error
	cancels    int
	waiter     *mFuture
	pc         int
	wait       schedAction
	waitIdx    int
	sleepFut   *mFuture
	sleepTimer *mEntry
}

// schedModel is the reference: asyncio's loop, futures and tasks in plain
// Go. As in asyncio, CallSoonThreadsafe appends to the ready queue itself;
// ran counts the callbacks run (Stats.CallbacksRun) and live the tasks not
// done (Stats.Tasks).
type schedModel struct {
	p        *schedProgram
	iter     uint64
	now      int64
	seq      int
	ready    []*mEntry
	timers   []*mEntry
	stopping bool
	arrived  int
	handles  []*mEntry
	futures  []*mFuture
	tasks    []*mTask
	removes  []*mCallback
	budget   int
	ops      int
	serial   int
	ran      int
	live     int
	trace    []schedEvent
}

// runModel runs p on the model as runReal runs it on the loop.
func runModel(p *schedProgram) []schedEvent {
	m := &schedModel{p: p, budget: p.budget}
	for i, run := range p.runs {
		m.run(i, run)
	}
	exhausted := false
	for i := len(p.runs); i < len(p.runs)+maxDrainRuns && !exhausted; i++ {
		n := len(m.trace)
		m.run(i, schedRun{})
		exhausted = idleRun(m.trace[n:])
	}
	m.final()
	return m.trace
}

// run is schedRig.run: top-level actions, then RunForever or
// RunUntilComplete under a watchdog.
func (m *schedModel) run(i int, run schedRun) {
	m.exec(run.pre, 0, ctxTop, nil)
	wd := m.later(watchdogDelay, &mEntry{kind: eWatch, serial: i})
	var f *mFuture
	switch {
	case run.until && run.task && len(m.tasks) > 0:
		f = m.tasks[run.target%len(m.tasks)].fut
	case run.until && !run.task && len(m.futures) > 0:
		f = m.futures[run.target%len(m.futures)]
	}
	if f != nil {
		c := m.addCallback(f, mEntry{kind: eStop})
		m.runForever()
		m.remove(c)
		code := codeStoppedEarly
		if f.state != fPending {
			code = m.code(f)
		}
		m.emit("runUntilComplete", i, code)
	} else {
		m.runForever()
		m.emit("runForever", i, 0)
	}
	m.cancel(wd)
}

func (m *schedModel) final() {
	for i, f := range m.futures {
		m.emit("future", i, m.code(f))
	}
	for i, t := range m.tasks {
		m.emit("task", i, m.code(t.fut))
		m.emit("cancelling", i, t.cancels)
	}
	for i, h := range m.handles {
		m.emit("handle", i, b2i(h.state == hPending)+2*b2i(h.state == hCancelled))
	}
	m.emit("stats", int(m.iter), m.ran)
	m.emit("tasks", m.live, 0)
}

func (m *schedModel) emit(what string, a, b int) {
	m.trace = append(m.trace, schedEvent{m.iter, time.Duration(m.now), what, a, b})
}

func (m *schedModel) code(f *mFuture) int {
	switch f.state {
	case fPending:
		return codePending
	case fCancelled:
		return codeCancelled
	}
	return f.value
}

func (m *schedModel) soon(e *mEntry) *mEntry {
	e.state = hPending
	m.ready = append(m.ready, e)
	return e
}

func (m *schedModel) later(d time.Duration, e *mEntry) *mEntry {
	m.seq++
	e.when, e.seq, e.state = m.now+int64(d), m.seq, hPending
	m.timers = append(m.timers, e)
	return e
}

func (m *schedModel) cancel(e *mEntry) bool {
	if e.state != hPending {
		return false
	}
	e.state = hCancelled
	return true
}

// firstTimer drops cancelled timers and returns the index of the earliest
// by (when, seq), or -1.
func (m *schedModel) firstTimer() int {
	m.timers = slices.DeleteFunc(m.timers, func(e *mEntry) bool { return e.state != hPending })
	best := -1
	for i, e := range m.timers {
		if best < 0 || e.when < m.timers[best].when || (e.when == m.timers[best].when && e.seq < m.timers[best].seq) {
			best = i
		}
	}
	return best
}

func (m *schedModel) runForever() {
	for {
		m.runOnce()
		if m.stopping {
			break
		}
	}
	m.stopping = false
}

// runOnce is one iteration: wait if nothing is ready, move the due timers
// behind the ready callbacks, run exactly the callbacks ready now.
func (m *schedModel) runOnce() {
	m.iter++
	if len(m.ready) == 0 && !m.stopping {
		m.idle()
	}
	for {
		i := m.firstTimer()
		if i < 0 || m.timers[i].when > m.now {
			break
		}
		m.ready = append(m.ready, m.timers[i])
		m.timers = slices.Delete(m.timers, i, i+1)
	}
	for range len(m.ready) {
		e := m.ready[0]
		m.ready = m.ready[1:]
		if e.state != hPending {
			continue
		}
		e.state = hDone
		m.ran++
		m.runEntry(e)
	}
}

// idle is the loop's wait: time jumps to the earliest timer, unless an
// arrival comes first. The arrival goroutine hands its callback in only
// when the loop is blocked waiting (synctest.Wait), so an arrival due by now
// is taken only by a wait that has no timer due, one arrival per wait.
func (m *schedModel) idle() {
	i := m.firstTimer()
	if i >= 0 && m.timers[i].when <= m.now {
		return
	}
	if m.arrived < len(m.p.arrivals) {
		a := m.p.arrivals[m.arrived]
		if at := int64(a.at); at <= m.now || i < 0 || at < m.timers[i].when {
			m.now = max(m.now, at)
			if a.actor < 0 {
				m.stopping = true
			} else {
				m.soon(&mEntry{kind: eCall, serial: arrivalSerial + m.arrived, actor: a.actor})
			}
			m.arrived++
			return
		}
	}
	if i < 0 {
		panic("model: the loop would wait forever")
	}
	m.now = m.timers[i].when
}

func (m *schedModel) runEntry(e *mEntry) {
	switch e.kind {
	case eCall:
		m.ops++
		m.emit("run", e.serial, e.actor)
		m.exec(m.p.actors[e.actor], 0, ctxCallback, nil)
	case eStep:
		m.step(e.task)
	case eStop:
		m.stopping = true
	case eWatch:
		m.emit("watchdog", e.serial, 0)
		m.stopping = true
	case eSleep:
		if e.fut.state == fPending {
			m.complete(e.fut, fDone, 0)
		}
	}
}

func (m *schedModel) complete(f *mFuture, state, v int) {
	f.state, f.value = state, v
	for _, c := range f.cbs {
		if !c.removed {
			e := c.e
			m.soon(&e)
		}
	}
	f.cbs = nil
}

func (m *schedModel) addCallback(f *mFuture, e mEntry) *mCallback {
	c := &mCallback{e: e, f: f}
	if f.state != fPending {
		m.soon(&e)
	} else {
		f.cbs = append(f.cbs, c)
	}
	return c
}

func (m *schedModel) remove(c *mCallback) bool {
	if c.f.state != fPending || c.removed {
		return false
	}
	c.removed = true
	return true
}

// cancelFuture is Future.Cancel: for a task's future, Task.Cancel.
func (m *schedModel) cancelFuture(f *mFuture) bool {
	if f.state != fPending {
		return false
	}
	if f.task != nil {
		return m.cancelTask(f.task)
	}
	m.complete(f, fCancelled, 0)
	return true
}

// cancelTask is Task.Cancel: cancel what the task waits on, else deliver
// the cancellation when it next waits.
func (m *schedModel) cancelTask(t *mTask) bool {
	if t.fut.state != fPending {
		return false
	}
	t.cancels++
	if t.waiter != nil && m.cancelFuture(t.waiter) {
		return true
	}
	t.mustCancel = true
	return true
}

// Results of exec.
const (
	execEnd = iota
	execSuspend
	execReturn
)

// exec runs acts from pc where they are; for a task t it stops at a wait
// (recording where to resume) or when the body returns a cancellation.
func (m *schedModel) exec(acts []schedAction, pc, where int, t *mTask) int {
	for ; pc < len(acts); pc++ {
		a := acts[pc]
		if m.budget <= 0 || !applicable(a.op, where, m.p.crash) ||
			!targets(a, len(m.handles), len(m.futures), len(m.tasks), len(m.removes)) {
			continue
		}
		m.budget--
		m.ops++
		actor := a.b % len(m.p.actors)
		code := 0
		switch a.op {
		case sopSoon, sopThreadsafe, sopThreadsafeGo:
			m.serial++
			m.handles = append(m.handles, m.soon(&mEntry{kind: eCall, serial: m.serial, actor: actor}))
		case sopLater:
			m.serial++
			d := schedDelays[a.a%len(schedDelays)]
			m.handles = append(m.handles, m.later(d, &mEntry{kind: eCall, serial: m.serial, actor: actor}))
		case sopCancel:
			i := recent(a.a, len(m.handles))
			m.emit("cancel", i, b2i(m.cancel(m.handles[i])))
		case sopProbe:
			i := recent(a.a, len(m.handles))
			h := m.handles[i]
			m.emit("probe", i, b2i(h.state == hPending)+2*b2i(h.state == hCancelled))
		case sopStop:
			m.emit("stop", 0, 0)
			m.stopping = true
		case sopNewFuture:
			m.futures = append(m.futures, &mFuture{})
		case sopSetResult:
			i := a.a % len(m.futures)
			f := m.futures[i]
			ok := f.state == fPending
			if ok {
				m.complete(f, fDone, m.ops)
			}
			m.emit("setResult", i, b2i(ok))
		case sopCancelFuture:
			i := a.a % len(m.futures)
			m.emit("cancelFuture", i, b2i(m.cancelFuture(m.futures[i])))
		case sopAddDone:
			m.serial++
			m.removes = append(m.removes, m.addCallback(m.target(a), mEntry{kind: eCall, serial: m.serial, actor: actor}))
		case sopRemoveDone:
			i := a.a % len(m.removes)
			m.emit("removeDone", i, b2i(m.remove(m.removes[i])))
		case sopSpawn:
			nt := &mTask{idx: len(m.tasks), actor: actor}
			nt.fut = &mFuture{task: nt}
			m.tasks = append(m.tasks, nt)
			m.live++
			m.soon(&mEntry{kind: eStep, task: nt})
		case sopCancelTask:
			i := a.a % len(m.tasks)
			m.emit("cancelTask", i, b2i(m.cancelTask(m.tasks[i])))
		case sopPanic:
			m.emit("panic", 0, 0)
			m.emit("exception", 0, 0)
			return execEnd
		case sopSleep:
			t.wait = a
			if schedDelays[a.b%len(schedDelays)] <= 0 {
				m.soon(&mEntry{kind: eStep, task: t})
				t.pc = pc + 1
				return execSuspend
			}
			t.sleepFut = &mFuture{}
			t.sleepTimer = m.later(schedDelays[a.b%len(schedDelays)], &mEntry{kind: eSleep, fut: t.sleepFut})
			m.await(t, t.sleepFut)
			t.pc = pc + 1
			return execSuspend
		case sopAwaitFuture:
			t.wait, t.waitIdx = a, a.a%len(m.futures)
			f := m.futures[t.waitIdx]
			if f.state == fPending {
				m.await(t, f)
				t.pc = pc + 1
				return execSuspend
			}
			code = m.code(f)
			m.emit("awaitedFuture", t.waitIdx, code)
		case sopAwaitTask:
			t.wait, t.waitIdx = a, a.a%(t.idx+1)
			f := m.tasks[t.waitIdx].fut
			switch {
			case t.waitIdx == t.idx:
				code = codeSelf
			case f.state == fPending:
				m.await(t, f)
				t.pc = pc + 1
				return execSuspend
			default:
				code = m.code(f)
			}
			m.emit("awaitedTask", t.waitIdx, code)
		case sopProbeFuture:
			m.emit("probeFuture", a.a, m.code(m.target(a)))
		case sopBurst:
			n := burstSize(a, m.budget)
			m.budget, m.ops = m.budget-(n-1), m.ops+(n-1)
			for j := range n {
				m.serial++
				e := &mEntry{kind: eCall, serial: m.serial, actor: actor}
				if a.flag == 1 {
					m.handles = append(m.handles, m.later(schedDelays[(a.b+j)%len(schedDelays)], e))
				} else {
					m.handles = append(m.handles, m.soon(e))
				}
			}
		case sopCancelStride:
			n, ok := len(m.handles), 0
			for j := n - 1; j >= max(0, n-8*(a.a+1)); j -= a.b%3 + 1 {
				ok += b2i(m.cancel(m.handles[j]))
			}
			m.emit("cancelStride", n, ok)
		}
		if code == codeCancelled && a.flag&2 != 0 {
			return execReturn
		}
	}
	return execEnd
}

func (m *schedModel) target(a schedAction) *mFuture {
	if a.flag&1 != 0 {
		return m.tasks[a.a%len(m.tasks)].fut
	}
	return m.futures[a.a%len(m.futures)]
}

// await suspends t on a pending future; a cancellation already requested
// cancels the future at once.
func (m *schedModel) await(t *mTask, f *mFuture) {
	t.waiter = f
	m.addCallback(f, mEntry{kind: eStep, task: t})
	if t.mustCancel && m.cancelFuture(f) {
		t.mustCancel = false
	}
}

// awaitResult is the outcome of a wait on f as the task resumes.
func (m *schedModel) awaitResult(t *mTask, f *mFuture) int {
	t.waiter = nil
	if t.mustCancel {
		t.mustCancel = false
		return codeCancelled
	}
	return m.code(f)
}

// step is a task step: start the body, or finish the wait it is suspended
// in and go on to its next wait or its end.
func (m *schedModel) step(t *mTask) {
	if t.finished {
		return
	}
	if !t.started && t.mustCancel {
		m.finish(t)
		return
	}
	res := execEnd
	if !t.started {
		t.started = true
		m.ops++
		m.emit("taskStart", t.idx, t.actor)
		res = m.exec(m.p.actors[t.actor], 0, ctxTask, t)
	} else {
		code := 0
		switch a := t.wait; a.op {
		case sopSleep:
			i := a.b % len(schedDelays)
			if schedDelays[i] <= 0 {
				if t.mustCancel {
					t.mustCancel, code = false, codeCancelled
				}
			} else {
				code = m.awaitResult(t, t.sleepFut)
				m.cancel(t.sleepTimer)
			}
			m.emit("slept", i, code)
		case sopAwaitFuture:
			code = m.awaitResult(t, m.futures[t.waitIdx])
			m.emit("awaitedFuture", t.waitIdx, code)
		case sopAwaitTask:
			code = m.awaitResult(t, m.tasks[t.waitIdx].fut)
			m.emit("awaitedTask", t.waitIdx, code)
		}
		if code == codeCancelled && t.wait.flag&2 != 0 {
			res = execReturn
		} else {
			res = m.exec(m.p.actors[t.actor], t.pc, ctxTask, t)
		}
	}
	switch res {
	case execSuspend:
		return
	case execReturn:
		t.returned = true
		m.emit("taskReturnError", t.idx, 0)
	default:
		m.emit("taskEnd", t.idx, 0)
	}
	m.finish(t)
}

// finish completes a task's future from how its body ended.
func (m *schedModel) finish(t *mTask) {
	t.finished = true
	m.live--
	if !t.started || t.mustCancel || t.returned {
		m.complete(t.fut, fCancelled, 0)
	} else {
		m.complete(t.fut, fDone, 1000+t.idx)
	}
}
