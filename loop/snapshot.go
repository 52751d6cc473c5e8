package loop

// Taking a snapshot of the loop's tasks.
//
// Nothing is recorded while nobody looks: a task's suspension costs what it
// cost before. Where each task waits is found when the snapshot is taken,
// on the goroutine running loop code:
//
//  1. A waiting task's body is parked in its coroutine's yield (suspend).
//     The snapshot sets l.insp and resumes the coroutine; suspend sees the
//     request (probed), records the coroutine's own stack with runtime.Callers and
//     yields again, changing nothing else. So each parked task costs two
//     coroutine switches and a Callers.
//  2. The task running the loop while it waits (the borrower, lend.go) is
//     not parked: its frames are on the stack of its goroutine, below the
//     lend frame. A snapshot taken in a callback on that goroutine reads
//     them there; a snapshot taken in the body of a task the borrower
//     resumed first yields to the borrower's goroutine (the step that
//     resumed the task serves the request: afterStep), takes the snapshot
//     there, and resumes the body with it.
//  3. The task whose body takes the snapshot is running: its frames are
//     the caller's.
//  4. A task that has not started has no stack yet.
//
// What a task waits on comes from its waiter (the future it awaits) and
// from what the primitives note as they park it (taskRare.on, until).

import (
	"cmp"
	"context"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"github.com/aio-go/aio/future"
	"github.com/aio-go/aio/internal/hooks"
)

// Snapshot is the state of a loop's tasks at one moment: what asyncio 3.14's
// "python -m asyncio ps" and "pstree" show. Loop.Snapshot and
// Loop.SnapshotThreadsafe take one; WriteTree and WriteTable render it.
// A Snapshot is a copy: it does not change as the tasks go on.
type Snapshot struct {
	// Time is the loop's clock (Now) when the snapshot was taken.
	Time time.Time `json:"time"`
	// Tasks are the tasks that were not done, in the order they were
	// spawned.
	Tasks []TaskInfo `json:"tasks"`
	// Stats are the loop's Stats.
	Stats Stats `json:"stats"`
	// Cycles are the await cycles among them: each lists the IDs of tasks
	// of which each awaits the next, and the last the first. Such tasks
	// wait forever unless something cancels one of them.
	Cycles [][]uint64 `json:"cycles,omitempty"`
}

// TaskInfo is one task in a Snapshot.
type TaskInfo struct {
	// ID identifies the task while it lives (its address, as asyncio
	// identifies tasks by id()).
	ID    uint64    `json:"id"`
	Name  string    `json:"name"`
	State TaskState `json:"state"`
	// Where is the line of the task's body where it is suspended: the
	// first frame outside aio's own packages, the call of Await, Sleep,
	// Lock.Acquire and so on. For the task that took the snapshot, it is
	// the line that took it. It is zero for a task that has not started.
	Where Frame `json:"where,omitzero"`
	// Call is the aio function the task is suspended in, as
	// "loop.(*Event).Wait".
	Call string `json:"call,omitempty"`
	// Stack is the task body's stack outside aio's packages, innermost
	// first: Where is Stack[0]. Tasks suspended at the same place share
	// one Stack; it must not be modified.
	Stack []Frame `json:"stack,omitempty"`
	// WaitsOn is what the task waits on.
	WaitsOn WaitTarget `json:"waits_on,omitzero"`
	// AwaitedBy are the IDs of the tasks that wait for this one: through
	// Await of its future, a TaskGroup or a Gather.
	AwaitedBy []uint64 `json:"awaited_by,omitempty"`
	// Counters are the task's counters, with WithTaskCounters.
	Counters TaskCounters `json:"counters,omitzero"`
}

// TaskState is where a task is in its life, as a Snapshot reports it.
type TaskState string

// The states of a task in a Snapshot.
const (
	// TaskNotStarted: spawned, its first step not run yet.
	TaskNotStarted TaskState = "not started"
	// TaskRunning: its body is running (it took the snapshot).
	TaskRunning TaskState = "running"
	// TaskWaiting: suspended until what it waits on completes.
	TaskWaiting TaskState = "waiting"
	// TaskScheduled: suspended, and its next step is in the ready queue
	// (Sleep(0), or what it waited on has completed).
	TaskScheduled TaskState = "scheduled"
	// TaskStopping: Close is stopping it.
	TaskStopping TaskState = "stopping"
)

// Frame is a place in a task body's code.
type Frame struct {
	Function string `json:"function"` // the package path-qualified function name
	File     string `json:"file"`
	Line     int    `json:"line"`
}

// String returns "file:line", the file with its directory.
func (f Frame) String() string {
	if f.File == "" {
		return ""
	}
	return shortFile(f.File) + ":" + strconv.Itoa(f.Line)
}

// WaitTarget is what a task waits on.
type WaitTarget struct {
	Kind WaitKind `json:"kind"`
	// Object identifies the future, task, primitive or group waited on
	// (its address): tasks with the same Object wait on the same thing.
	Object uint64 `json:"object,omitempty"`
	// Name is the name of the task or of the future waited on, if it has
	// one.
	Name string `json:"name,omitempty"`
	// Until is a Sleep's deadline on the loop's clock.
	Until time.Time `json:"until,omitzero"`
	// Tasks are the IDs of the tasks waited on: the task awaited, or the
	// unfinished tasks of a TaskGroup or a Gather.
	Tasks []uint64 `json:"tasks,omitempty"`
}

// WaitKind says what a task waits on.
type WaitKind string

// The kinds of WaitTarget.
const (
	WaitNone      WaitKind = ""          // not waiting on anything: not started, running, or yielding (Sleep(0))
	WaitFuture    WaitKind = "future"    // a future that is not a task's
	WaitTask      WaitKind = "task"      // another task's future
	WaitSleep     WaitKind = "sleep"     // Sleep, until Until
	WaitLock      WaitKind = "Lock"      // Lock.Acquire, Condition's re-acquisition
	WaitEvent     WaitKind = "Event"     // Event.Wait
	WaitSemaphore WaitKind = "Semaphore" // Semaphore.Acquire, BoundedSemaphore's
	WaitCondition WaitKind = "Condition" // Condition.Wait, WaitFor
	WaitQueue     WaitKind = "Queue"     // Queue.Get, Put, Join
	WaitGroup     WaitKind = "TaskGroup" // Group, for the group's children
	WaitGather    WaitKind = "Gather"    // the future of Gather or GatherSettled
)

// waitable is what a primitive or a group notes a task waits on
// (taskRare.on).
type waitable interface{ waitKind() WaitKind }

func (*Lock) waitKind() WaitKind      { return WaitLock }
func (*Event) waitKind() WaitKind     { return WaitEvent }
func (*Semaphore) waitKind() WaitKind { return WaitSemaphore }
func (*Condition) waitKind() WaitKind { return WaitCondition }
func (*Queue[T]) waitKind() WaitKind  { return WaitQueue }
func (*TaskGroup) waitKind() WaitKind { return WaitGroup }

// Name is empty: a gather's future keeps its default name. The gather is
// its future's namer only so that a Snapshot finds the children of a task
// that awaits it.
func (g *gather[T, R]) Name() string { return "" }

func (g *gather[T, R]) awaited(yield func(any)) {
	for _, f := range g.fs {
		if !f.Done() {
			yield(f)
		}
	}
}

// Snapshot takes a Snapshot of l's tasks, asyncio's "ps" and "pstree"
// (loop.Tasks is all_tasks). It costs about two coroutine switches and a
// stack trace per waiting task (see the README's figures for 100,000
// tasks); nothing is recorded for it while no snapshot is taken.
//
// Snapshot may be called in a callback, in a task body, and while the loop
// is not running.
//
// Must be called on the loop goroutine.
func (l *Loop) Snapshot() *Snapshot {
	l.checkGoroutine("Snapshot")
	if l.insp != nil {
		panic("loop: Snapshot: called during a snapshot")
	}
	if t := l.curTask; t != nil && t.state == taskRunning && l.borrower != nil {
		// Rule 2: the borrower resumed this body, and its frames are on
		// the borrower's goroutine, which waits in this task's step.
		req := &snapRequest{task: t, pcs: make([]uintptr, maxProbeDepth)}
		req.pcs = req.pcs[:runtime.Callers(2, req.pcs)]
		l.req = req
		l.obs |= obsInspect
		if t.co.yield(struct{}{}) && req.snap != nil {
			return req.snap
		}
		// Not served (cannot happen while the step runs): take what can
		// be taken here.
		l.req = nil
		l.obs &^= obsInspect
	}
	return l.snapshot(nil)
}

// SnapshotThreadsafe is Snapshot from any goroutine: it hands the request
// to the loop and waits until the loop has taken the snapshot. A loop that
// is idle wakes up for it; one that is not running takes it when it runs
// next, so ctx bounds the wait. It returns ctx's error if ctx ends first,
// an error matching ErrClosed if the loop is closed first, and one
// matching future.ErrWouldDeadlock, at once, if it is called in the loop's
// own code.
//
// Safe for concurrent use by multiple goroutines.
func (l *Loop) SnapshotThreadsafe(ctx context.Context) (*Snapshot, error) {
	if l.OnLoop() {
		return nil, &opError{"SnapshotThreadsafe", future.ErrWouldDeadlock}
	}
	ch := make(chan *Snapshot, 1)
	if !l.callSoonInternal(func() { ch <- l.Snapshot() }) {
		return nil, &opError{"SnapshotThreadsafe", ErrClosed}
	}
	select {
	case s := <-ch:
		return s, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-l.done:
		select {
		case s := <-ch:
			return s, nil
		default:
			return nil, &opError{"SnapshotThreadsafe", ErrClosed}
		}
	}
}

// maxProbeDepth bounds the frames recorded per task: the place where a
// task waits is near the top of its stack.
const maxProbeDepth = 64

// inspection is a snapshot under way (l.insp): the task being probed, and
// its stack as the probe recorded it (rule 1).
type inspection struct {
	target *task
	pcs    []uintptr
	n      int
}

// snapRequest is a task body's request to take the snapshot on the
// goroutine that resumed it (rule 2).
type snapRequest struct {
	task *task
	pcs  []uintptr // the task's own stack
	snap *Snapshot
}

// probed serves the probes of a snapshot (rule 1) after suspend's yield,
// until the loop really resumes the task. It reports false if the
// coroutine was stopped.
func (co *Coro) probed() bool {
	for {
		in := co.t.l.insp
		if in == nil || in.target != co.t {
			return true
		}
		in.n = runtime.Callers(2, in.pcs)
		in.target = nil
		if !co.yield(struct{}{}) {
			return false
		}
	}
}

// serveRequest takes the snapshot a task body asked for (rule 2) on the
// goroutine that resumed it, then resumes the body with it, as often as
// the body asks. It returns the step's parked result.
func (l *Loop) serveRequest(t *task, parked bool) bool {
	for l.req != nil && l.req.task == t {
		req := l.req
		l.req = nil
		l.obs &^= obsInspect
		req.snap = l.snapshot(req)
		_, parked = t.c.next()
	}
	return parked
}

// The frames that mark the ends of a task body's stack.
const (
	lendFrame = "github.com/aio-go/aio/loop.(*Loop).lend"
	aioPrefix = "github.com/aio-go/aio/"
)

// snapshot takes the snapshot on the current goroutine; req is the task
// body that asked for it from another goroutine, if any.
func (l *Loop) snapshot(req *snapRequest) *Snapshot {
	in := &inspection{pcs: make([]uintptr, maxProbeDepth)}
	l.insp = in
	defer func() { l.insp = nil }()

	r := resolver{cache: make(map[string]resolved)}
	var here []runtime.Frame // the current goroutine's frames, once needed
	currentFrames := func() []runtime.Frame {
		if here == nil {
			pcs := make([]uintptr, 256)
			n := runtime.Callers(3, pcs)
			fs := runtime.CallersFrames(pcs[:n])
			for {
				f, more := fs.Next()
				here = append(here, f)
				if !more {
					break
				}
			}
		}
		return here
	}

	s := &Snapshot{Time: l.Now(), Stats: l.Stats(), Tasks: make([]TaskInfo, 0, l.tasks.n)}
	ts := make([]*task, 0, l.tasks.n)
	for _, t := range l.tasks.ts {
		if t == nil {
			continue
		}
		ts = append(ts, t)
		s.Tasks = append(s.Tasks, TaskInfo{ID: taskID(t), Name: t.Name()})
		ti := &s.Tasks[len(s.Tasks)-1]
		switch {
		case t.state == taskPending:
			ti.State = TaskNotStarted
			continue
		case t.state == taskStopping:
			ti.State = TaskStopping
			continue
		case req != nil && t == req.task:
			ti.State = TaskRunning
			ti.Where, ti.Call, ti.Stack = r.resolve(req.pcs)
		case t == l.curTask && t.state == taskRunning:
			ti.State = TaskRunning
			ti.Where, ti.Call, ti.Stack = bodyFrames(currentFrames(), "")
		case t == l.borrower:
			ti.State = TaskWaiting
			ti.Where, ti.Call, ti.Stack = bodyFrames(currentFrames(), lendFrame)
		case t.state == taskWaiting && t.c.next != nil:
			ti.State = TaskWaiting
			in.target = t
			t.c.next()
			if in.target == nil {
				ti.Where, ti.Call, ti.Stack = r.resolve(in.pcs[:in.n])
			}
			in.target = nil
		default:
			ti.State = TaskWaiting
		}
		if ti.State == TaskWaiting {
			l.describeWait(t, ti)
		}
		if o := t.obsOf(); o != nil {
			ti.Counters = o.counters()
		}
	}
	l.link(s, ts)
	return s
}

// describeWait fills ti.s WaitsOn (and its state, scheduled or waiting) from
// what t waits on.
func (l *Loop) describeWait(t *task, ti *TaskInfo) {
	w := t.waiter
	if w == nil || w.Done() {
		// Sleep(0), a cancellation its waiter refused, or woken: the
		// next step is in the ready queue.
		ti.State = TaskScheduled
	}
	if w == nil {
		return
	}
	ti.WaitsOn.Object = addrOf(w)
	if x := t.rare; x != nil && x.on != nil {
		ti.WaitsOn.Kind = x.on.waitKind()
		ti.WaitsOn.Object = addrOf(x.on)
		return
	} else if x != nil && !x.until.IsZero() {
		ti.WaitsOn.Kind = WaitSleep
		ti.WaitsOn.Until = x.until
		return
	}
	switch n := hooks.Future.Namer(w).(type) {
	case *task:
		ti.WaitsOn.Kind = WaitTask
		ti.WaitsOn.Name = n.Name()
	case interface{ awaited(func(any)) }:
		ti.WaitsOn.Kind = WaitGather
	case interface{ Name() string }:
		ti.WaitsOn.Kind = WaitFuture
		ti.WaitsOn.Name = n.Name()
	default:
		ti.WaitsOn.Kind = WaitFuture
	}
}

// link fills the edges between the tasks of s, which are ts: WaitsOn.Tasks,
// AwaitedBy and the await cycles.
func (l *Loop) link(s *Snapshot, ts []*task) {
	// pos maps a task's place in the loop's task set to its index in s.
	pos := make([]int32, len(l.tasks.ts))
	for i, t := range ts {
		pos[t.index] = int32(i)
	}
	indexOf := func(f any) int {
		u, ok := hooks.Future.Namer(f).(*task)
		if !ok || u.index < 0 || int(u.index) >= len(pos) || l.tasks.ts[u.index] != u {
			return -1
		}
		return int(pos[u.index])
	}
	var pairs []edge // task i waits on task j
	add := func(i int, f any) {
		if j := indexOf(f); j >= 0 {
			pairs = append(pairs, edge{int32(i), int32(j)})
		}
	}
	for i, t := range ts {
		w := t.waiter
		if w == nil || s.Tasks[i].State != TaskWaiting && s.Tasks[i].State != TaskScheduled {
			continue
		}
		switch s.Tasks[i].WaitsOn.Kind {
		case WaitTask:
			add(i, w)
		case WaitGather:
			hooks.Future.Namer(w).(interface{ awaited(func(any)) }).awaited(func(f any) { add(i, f) })
		case WaitGroup:
			for _, c := range t.rare.on.(*TaskGroup).children {
				if c != nil && !c.Done() {
					add(i, c)
				}
			}
		}
	}
	if len(pairs) == 0 {
		return
	}
	// Each list in spawn order, sliced out of one array.
	slices.SortFunc(pairs, func(a, b edge) int { return cmp.Or(cmp.Compare(a.from, b.from), cmp.Compare(a.to, b.to)) })
	pairs = slices.Compact(pairs)
	ids := make([]uint64, len(pairs))
	for k, e := range pairs {
		ids[k] = s.Tasks[e.to].ID
	}
	for k := 0; k < len(pairs); {
		i, n := pairs[k].from, 0
		for k+n < len(pairs) && pairs[k+n].from == i {
			n++
		}
		s.Tasks[i].WaitsOn.Tasks = ids[k : k+n : k+n]
		k += n
	}
	byTo := slices.Clone(pairs)
	slices.SortStableFunc(byTo, func(a, b edge) int { return cmp.Compare(a.to, b.to) })
	ids = make([]uint64, len(byTo))
	for k, e := range byTo {
		ids[k] = s.Tasks[e.from].ID
	}
	for k := 0; k < len(byTo); {
		j, n := byTo[k].to, 0
		for k+n < len(byTo) && byTo[k+n].to == j {
			n++
		}
		s.Tasks[j].AwaitedBy = ids[k : k+n : k+n]
		k += n
	}
	s.Cycles = findCycles(s, pairs)
}

// edge is "task from waits on task to", by their indices in a Snapshot.
type edge struct{ from, to int32 }

// findCycles returns the await cycles of s, whose edges are sorted: a
// depth-first search that reports each edge leading back to a task on the
// current path.
func findCycles(s *Snapshot, edges []edge) [][]uint64 {
	// out[i] are the edges from task i: edges[first[i]:first[i+1]].
	first := make([]int32, len(s.Tasks)+1)
	for _, e := range edges {
		first[e.from+1]++
	}
	for i := range len(s.Tasks) {
		first[i+1] += first[i]
	}
	const (
		unseen = iota
		onPath
		finished
	)
	color := make([]uint8, len(s.Tasks))
	var cycles [][]uint64
	type frame struct{ i, next int32 }
	var path []frame
	for start := range int32(len(s.Tasks)) {
		if color[start] != unseen || first[start] == first[start+1] {
			continue
		}
		path = append(path[:0], frame{start, first[start]})
		color[start] = onPath
		for len(path) > 0 {
			top := &path[len(path)-1]
			if top.next == first[top.i+1] {
				color[top.i] = finished
				path = path[:len(path)-1]
				continue
			}
			j := edges[top.next].to
			top.next++
			switch color[j] {
			case unseen:
				color[j] = onPath
				path = append(path, frame{j, first[j]})
			case onPath:
				var c []uint64
				for k := len(path) - 1; k >= 0; k-- {
					c = append(c, s.Tasks[path[k].i].ID)
					if path[k].i == j {
						break
					}
				}
				slices.Reverse(c)
				cycles = append(cycles, c)
			}
		}
	}
	return cycles
}

// resolver turns recorded stacks into frames, once per distinct stack:
// tasks suspended at the same place share the result.
type resolver struct {
	cache map[string]resolved
}

type resolved struct {
	where Frame
	call  string
	stack []Frame
}

func (r *resolver) resolve(pcs []uintptr) (Frame, string, []Frame) {
	if len(pcs) == 0 {
		return Frame{}, "", nil
	}
	key := unsafe.String((*byte)(unsafe.Pointer(&pcs[0])), len(pcs)*int(unsafe.Sizeof(pcs[0])))
	if v, ok := r.cache[key]; ok {
		return v.where, v.call, v.stack
	}
	var frames []runtime.Frame
	fs := runtime.CallersFrames(pcs)
	for {
		f, more := fs.Next()
		frames = append(frames, f)
		if !more {
			break
		}
	}
	where, call, stack := bodyFrames(frames, "")
	r.cache[strings.Clone(key)] = resolved{where, call, stack}
	return where, call, stack
}

// bodyFrames picks a task body's frames out of a stack, innermost first:
// those after the frame of the function after (if not empty), up to the
// coroutine's serve, outside aio's packages. call is the outermost of the
// aio frames above the first frame kept: the aio function the body
// called.
func bodyFrames(frames []runtime.Frame, after string) (where Frame, call string, stack []Frame) {
	if after != "" {
		i := slices.IndexFunc(frames, func(f runtime.Frame) bool { return f.Function == after })
		if i < 0 {
			return Frame{}, "", nil
		}
		frames = frames[i+1:]
	}
	for _, f := range frames {
		if f.Function == taskBodyFrame {
			break
		}
		if isAio(f.Function) {
			if len(stack) == 0 {
				call = strings.TrimPrefix(f.Function, aioPrefix)
			}
			continue
		}
		stack = append(stack, Frame{Function: f.Function, File: f.File, Line: f.Line})
	}
	if len(stack) > 0 {
		where = stack[0]
	}
	return where, call, stack
}

// isAio reports whether the function name is of one of aio's library
// packages: not of an example, a command or a test.
func isAio(name string) bool {
	rest, ok := strings.CutPrefix(name, aioPrefix)
	if !ok {
		return false
	}
	pkg := rest
	if i := strings.LastIndexByte(rest, '/'); i >= 0 {
		if j := strings.IndexByte(rest[i:], '.'); j >= 0 {
			pkg = rest[:i+j]
		}
	} else if j := strings.IndexByte(rest, '.'); j >= 0 {
		pkg = rest[:j]
	}
	return !strings.HasPrefix(pkg, "examples/") && !strings.HasPrefix(pkg, "cmd/") &&
		!strings.HasPrefix(pkg, "bench/") && !strings.HasSuffix(pkg, "_test")
}

// taskID is the ID of t in snapshots.
func taskID(t *task) uint64 { return uint64(uintptr(unsafe.Pointer(t))) }

// addrOf returns the address an interface value points to.
func addrOf(v any) uint64 {
	return uint64(uintptr((*[2]unsafe.Pointer)(unsafe.Pointer(&v))[1]))
}

// shortFile is path's last directory and file name.
func shortFile(path string) string {
	i := strings.LastIndexByte(path, '/')
	if i < 0 {
		return path
	}
	if j := strings.LastIndexByte(path[:i], '/'); j >= 0 {
		return path[j+1:]
	}
	return path
}
