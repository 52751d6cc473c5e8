package loop_test

import (
	"context"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aio-go/aio/future"
	"github.com/aio-go/aio/loop"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// nextLine is the line after the caller's: where the wait that follows
// the call is.
func nextLine() int {
	_, _, line, _ := runtime.Caller(1)
	return line + 1
}

// snapshotAfter runs setup's tasks on a new loop in a synctest bubble and
// takes a snapshot in a callback 1ms later, once they all wait.
func snapshotAfter(t *testing.T, setup func(l *loop.Loop), opts ...loop.Option) *loop.Snapshot {
	return snapshotWhen(t, time.Millisecond, setup, opts...)
}

// snapshotWhen is snapshotAfter with the snapshot taken after d, or for a
// zero d, in the third iteration: for tasks that never let the loop idle.
func snapshotWhen(t *testing.T, d time.Duration, setup func(l *loop.Loop), opts ...loop.Option) *loop.Snapshot {
	t.Helper()
	var s *loop.Snapshot
	synctest.Test(t, func(t *testing.T) {
		l := loop.New(opts...)
		setup(l)
		take := func() {
			s = l.Snapshot()
			l.Stop()
		}
		if d == 0 {
			l.CallSoon(func() { l.CallSoon(func() { l.CallSoon(take) }) })
		} else {
			l.CallLater(d, take)
		}
		require.NoError(t, l.RunForever())
		require.NoError(t, l.Close())
	})
	require.NotNil(t, s)
	return s
}

func taskNamed(t *testing.T, s *loop.Snapshot, name string) loop.TaskInfo {
	t.Helper()
	for _, ti := range s.Tasks {
		if ti.Name == name {
			return ti
		}
	}
	require.Failf(t, "no such task", "%q in %v", name, s.Tree())
	return loop.TaskInfo{}
}

// assertAt checks that ti waits at line of this file.
func assertAt(t *testing.T, ti loop.TaskInfo, line int) {
	t.Helper()
	assert.Equal(t, "loop/snapshot_test.go:"+strconv.Itoa(line), ti.Where.String(), "%s: stack %v", ti.Name, ti.Stack)
	assert.Contains(t, ti.Where.Function, "loop_test.")
}

// Each row's task "subject" waits on one kind of thing; the snapshot says
// what, and at which line of the body.
func TestSnapshotWaitKinds(t *testing.T) {
	type row struct {
		name  string
		kind  loop.WaitKind
		state loop.TaskState
		// start spawns subject (and what it needs) and returns the line
		// where subject waits.
		start func(l *loop.Loop) int
	}
	var line int
	rows := []row{
		{"future", loop.WaitFuture, loop.TaskWaiting, func(l *loop.Loop) int {
			f := future.New[int](l)
			loop.SpawnNamed(l, "subject", func(co *loop.Coro) (int, error) {
				line = nextLine()
				return loop.Await(co, f)
			})
			return 0
		}},
		{"task", loop.WaitTask, loop.TaskWaiting, func(l *loop.Loop) int {
			other := loop.SpawnNamed(l, "other", func(co *loop.Coro) (int, error) {
				return 0, loop.Sleep(co, time.Hour)
			})
			loop.SpawnNamed(l, "subject", func(co *loop.Coro) (int, error) {
				line = nextLine()
				return other.Await(co)
			})
			return 0
		}},
		{"Lock", loop.WaitLock, loop.TaskWaiting, func(l *loop.Loop) int {
			var lk loop.Lock
			lk.TryAcquire()
			loop.GoNamed(l, "subject", func(co *loop.Coro) error {
				line = nextLine()
				return lk.Acquire(co)
			})
			return 0
		}},
		{"Event", loop.WaitEvent, loop.TaskWaiting, func(l *loop.Loop) int {
			var ev loop.Event
			loop.GoNamed(l, "subject", func(co *loop.Coro) error {
				line = nextLine()
				return ev.Wait(co)
			})
			return 0
		}},
		{"Semaphore", loop.WaitSemaphore, loop.TaskWaiting, func(l *loop.Loop) int {
			sem := loop.NewSemaphore(0)
			loop.GoNamed(l, "subject", func(co *loop.Coro) error {
				line = nextLine()
				return sem.Acquire(co)
			})
			return 0
		}},
		{"Condition", loop.WaitCondition, loop.TaskWaiting, func(l *loop.Loop) int {
			c := loop.NewCondition(nil)
			loop.GoNamed(l, "subject", func(co *loop.Coro) error {
				if err := c.Acquire(co); err != nil {
					return err
				}
				defer c.Release()
				line = nextLine()
				return c.Wait(co)
			})
			return 0
		}},
		{"Queue", loop.WaitQueue, loop.TaskWaiting, func(l *loop.Loop) int {
			q := loop.NewQueue[int](0)
			loop.SpawnNamed(l, "subject", func(co *loop.Coro) (int, error) {
				line = nextLine()
				return q.Get(co)
			})
			return 0
		}},
		{"Queue.Join", loop.WaitQueue, loop.TaskWaiting, func(l *loop.Loop) int {
			q := loop.NewQueue[int](0)
			q.PutNowait(1)
			loop.GoNamed(l, "subject", func(co *loop.Coro) error {
				line = nextLine()
				return q.Join(co)
			})
			return 0
		}},
		{"sleep", loop.WaitSleep, loop.TaskWaiting, func(l *loop.Loop) int {
			loop.GoNamed(l, "subject", func(co *loop.Coro) error {
				line = nextLine()
				return loop.Sleep(co, time.Hour)
			})
			return 0
		}},
		{"TaskGroup", loop.WaitGroup, loop.TaskWaiting, func(l *loop.Loop) int {
			loop.GoNamed(l, "subject", func(co *loop.Coro) error {
				line = nextLine()
				return loop.Group(co, func(g *loop.TaskGroup) error {
					g.Go(func(co *loop.Coro) error { return loop.Sleep(co, time.Hour) })
					g.Go(func(co *loop.Coro) error { return loop.Sleep(co, time.Hour) })
					return nil
				})
			})
			return 0
		}},
		{"Gather", loop.WaitGather, loop.TaskWaiting, func(l *loop.Loop) int {
			a := loop.Go(l, func(co *loop.Coro) error { return loop.Sleep(co, time.Hour) })
			b := loop.Go(l, func(co *loop.Coro) error { return loop.Sleep(co, time.Hour) })
			loop.SpawnNamed(l, "subject", func(co *loop.Coro) ([]struct{}, error) {
				line = nextLine()
				return loop.Await(co, loop.Gather(l, a, b))
			})
			return 0
		}},
		{"yield", loop.WaitNone, loop.TaskScheduled, func(l *loop.Loop) int {
			loop.GoNamed(l, "subject", func(co *loop.Coro) error {
				for {
					line = nextLine()
					if err := loop.Sleep(co, 0); err != nil {
						return err
					}
				}
			})
			return 0
		}},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			s := snapshotWhen(t, snapDelay(r.kind), func(l *loop.Loop) { r.start(l) })
			ti := taskNamed(t, s, "subject")
			assert.Equal(t, r.state, ti.State)
			assert.Equal(t, r.kind, ti.WaitsOn.Kind)
			assertAt(t, ti, line)
			assert.NotEmpty(t, ti.Call)
			switch r.kind {
			case loop.WaitSleep:
				assert.Equal(t, time.Hour-time.Millisecond, ti.WaitsOn.Until.Sub(s.Time))
			case loop.WaitTask:
				other := taskNamed(t, s, "other")
				assert.Equal(t, []uint64{other.ID}, ti.WaitsOn.Tasks)
				assert.Equal(t, []uint64{ti.ID}, other.AwaitedBy)
				assert.Equal(t, "other", ti.WaitsOn.Name)
			case loop.WaitGroup, loop.WaitGather:
				assert.Len(t, ti.WaitsOn.Tasks, 2)
			case loop.WaitLock, loop.WaitEvent, loop.WaitSemaphore, loop.WaitCondition, loop.WaitQueue:
				assert.NotZero(t, ti.WaitsOn.Object)
			}
			assert.Empty(t, s.Cycles)
		})
	}
}

// snapDelay is when TestSnapshotWaitKinds takes its snapshot.
func snapDelay(k loop.WaitKind) time.Duration {
	if k == loop.WaitNone {
		return 0
	}
	return time.Millisecond
}

// A task that has not run yet has no place; the call a task waits in is
// named after aio's function.
func TestSnapshotNotStartedAndCall(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := loop.New()
		var ev loop.Event
		loop.GoNamed(l, "waiter", func(co *loop.Coro) error { return ev.Wait(co) })
		_, err := loop.RunUntilComplete(l, loop.Go(l, func(co *loop.Coro) error { return loop.Sleep(co, time.Millisecond) }).Future)
		require.NoError(t, err)
		loop.GoNamed(l, "late", func(co *loop.Coro) error { return nil })

		// The loop is not running: the snapshot is taken here.
		s := l.Snapshot()
		late := taskNamed(t, s, "late")
		assert.Equal(t, loop.TaskNotStarted, late.State)
		assert.Zero(t, late.Where)
		w := taskNamed(t, s, "waiter")
		assert.Equal(t, "loop.(*Event).Wait", w.Call)
		assert.Equal(t, loop.WaitEvent, w.WaitsOn.Kind)
		require.NoError(t, l.Close())
	})
}

// Tasks that await each other are reported as a cycle, in the tree and the
// table; so is a task awaiting itself through a third.
func TestSnapshotCycle(t *testing.T) {
	var lineA, lineB int
	s := snapshotAfter(t, func(l *loop.Loop) {
		var a, b *loop.Task[int]
		a = loop.SpawnNamed(l, "A", func(co *loop.Coro) (int, error) {
			if err := loop.Sleep(co, 0); err != nil {
				return 0, err
			}
			lineA = nextLine()
			return b.Await(co)
		})
		b = loop.SpawnNamed(l, "B", func(co *loop.Coro) (int, error) {
			lineB = nextLine()
			return a.Await(co)
		})
		loop.SpawnNamed(l, "C", func(co *loop.Coro) (int, error) { return a.Await(co) })
	})
	a, b, c := taskNamed(t, s, "A"), taskNamed(t, s, "B"), taskNamed(t, s, "C")
	assertAt(t, a, lineA)
	assertAt(t, b, lineB)
	require.Len(t, s.Cycles, 1)
	assert.ElementsMatch(t, []uint64{a.ID, b.ID}, s.Cycles[0])
	assert.Equal(t, []uint64{b.ID, c.ID}, a.AwaitedBy)

	tree := s.Tree()
	assert.Regexp(t, `(?m)^C waiting on task A at loop/snapshot_test.go:\d+ \(loop_test\.TestSnapshotCycle\.func1\.3\)$`, tree)
	assert.Regexp(t, `(?m)^└── A waiting on task B at loop/snapshot_test.go:`+strconv.Itoa(lineA)+` `, tree)
	assert.Regexp(t, `(?m)^    └── B waiting on task A at loop/snapshot_test.go:`+strconv.Itoa(lineB)+` `, tree)
	assert.Regexp(t, `(?m)^        └── A \(await cycle\)$`, tree)
	assert.Regexp(t, `(?m)^await cycle: (A → B → A|B → A → B)$`, tree)
	assert.Regexp(t, `(?m)^await cycle: (A → B → A|B → A → B)$`, s.Table())
}

// The tree nests tasks under those that wait for them; the table has a
// line per task.
func TestSnapshotRenderings(t *testing.T) {
	var lineMain, lineChild int
	s := snapshotAfter(t, func(l *loop.Loop) {
		loop.SpawnNamed(l, "main", func(co *loop.Coro) (struct{}, error) {
			lineMain = nextLine()
			return struct{}{}, loop.Group(co, func(g *loop.TaskGroup) error {
				for range 2 {
					g.Go(func(co *loop.Coro) error {
						lineChild = nextLine()
						return loop.Sleep(co, time.Second)
					})
				}
				return nil
			})
		})
		loop.GoNamed(l, "lone", func(co *loop.Coro) error { return loop.Sleep(co, time.Minute) })
	})
	tree := s.Tree()
	lines := strings.Split(strings.TrimSuffix(tree, "\n"), "\n")
	require.Len(t, lines, 4, tree)
	at := func(line int) string { return regexp.QuoteMeta("loop/snapshot_test.go:" + strconv.Itoa(line)) }
	assert.Regexp(t, `^main waiting on TaskGroup of 2 at `+at(lineMain)+` \(loop_test\.`, lines[0])
	assert.Regexp(t, `^├── Task-\d+ waiting on sleep until \+999ms at `+at(lineChild)+` \(loop_test\.`, lines[1])
	assert.Regexp(t, `^└── Task-\d+ waiting on sleep until \+999ms at `+at(lineChild), lines[2])
	assert.Regexp(t, `^lone waiting on sleep until \+59\.999s at `, lines[3])

	table := s.Table()
	rows := strings.Split(strings.TrimSuffix(table, "\n"), "\n")
	require.Len(t, rows, 5, table)
	assert.Regexp(t, `^ID\s+NAME\s+STATE\s+WAITS ON\s+WHERE\s+CALL\s+AWAITED BY$`, rows[0])
	assert.Regexp(t, `^0x[0-9a-f]+\s+main\s+waiting\s+TaskGroup of 2\s+`+at(lineMain)+`\s+loop\.Group\s+-$`, rows[1])
	assert.Regexp(t, `^0x[0-9a-f]+\s+lone\s+waiting\s+sleep until \+59\.999s\s+`, rows[2])
	assert.Regexp(t, `^0x[0-9a-f]+\s+Task-\d+\s+waiting\s+sleep until \+999ms\s+`+at(lineChild)+`\s+loop\.Sleep\s+main$`, rows[3])
}

// A snapshot taken in a task body sees that body running at the call, and
// the task that runs the loop while it waits (lend.go) at its own wait,
// from a callback that task runs as well as from a body it resumed.
func TestSnapshotInTaskAndBorrower(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := loop.New()
		var fromBody, fromCallback *loop.Snapshot
		var lineWait, lineTake int
		f := future.New[int](l)
		loop.GoNamed(l, "taker", func(co *loop.Coro) error {
			if err := loop.Sleep(co, time.Millisecond); err != nil {
				return err
			}
			lineTake = nextLine()
			fromBody = l.Snapshot()
			f.SetResult(1)
			return nil
		})
		main := loop.GoNamed(l, "main", func(co *loop.Coro) error {
			l.CallSoon(func() { fromCallback = l.Snapshot() })
			lineWait = nextLine()
			_, err := loop.Await(co, f)
			return err
		})
		_, err := loop.RunUntilComplete(l, main.Future)
		require.NoError(t, err)
		require.NoError(t, l.Close())

		for _, s := range []*loop.Snapshot{fromCallback, fromBody} {
			require.NotNil(t, s)
			m := taskNamed(t, s, "main")
			assert.Equal(t, loop.TaskWaiting, m.State)
			assert.Equal(t, loop.WaitFuture, m.WaitsOn.Kind)
			assertAt(t, m, lineWait)
		}
		taker := taskNamed(t, fromBody, "taker")
		assert.Equal(t, loop.TaskRunning, taker.State)
		assertAt(t, taker, lineTake)
	})
}

// Snapshots taken from another goroutine while tasks run (under -race),
// and SnapshotThreadsafe's errors.
func TestSnapshotThreadsafe(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := loop.New()
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		wg.Add(1)
		var taken []*loop.Snapshot
		go func() {
			defer wg.Done()
			for range 20 {
				s, err := l.SnapshotThreadsafe(ctx)
				if err != nil {
					return
				}
				taken = append(taken, s)
			}
			l.Stop()
		}()
		var lk loop.Lock
		for i := range 50 {
			loop.Go(l, func(co *loop.Coro) error {
				for k := 0; ; k++ {
					if err := lk.Acquire(co); err != nil {
						return err
					}
					err := loop.Sleep(co, time.Duration(i%3)*time.Millisecond)
					lk.Release()
					if err != nil {
						return err
					}
				}
			})
		}
		require.NoError(t, l.RunForever())
		wg.Wait()
		require.Len(t, taken, 20)
		for _, s := range taken {
			assert.Len(t, s.Tasks, 50)
			for _, ti := range s.Tasks {
				assert.Contains(t, []loop.TaskState{loop.TaskWaiting, loop.TaskScheduled, loop.TaskNotStarted}, ti.State)
				if ti.State == loop.TaskWaiting {
					assert.Contains(t, []loop.WaitKind{loop.WaitLock, loop.WaitSleep}, ti.WaitsOn.Kind)
					assert.Contains(t, ti.Where.String(), "loop/snapshot_test.go:")
				}
			}
		}

		// Not running: the request waits for the next run, bounded by ctx.
		short, stop := context.WithTimeout(ctx, time.Second)
		_, err := l.SnapshotThreadsafe(short)
		stop()
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		cancel()
		require.NoError(t, l.Close())
		_, err = l.SnapshotThreadsafe(context.Background())
		assert.ErrorIs(t, err, loop.ErrClosed)

		// In loop code, it would deadlock.
		l2 := loop.New()
		var inLoop error
		l2.CallSoon(func() { _, inLoop = l2.SnapshotThreadsafe(context.Background()); l2.Stop() })
		require.NoError(t, l2.RunForever())
		require.NoError(t, l2.Close())
		assert.ErrorIs(t, inLoop, future.ErrWouldDeadlock)
	})
}

// A task body that the task running the loop while it waits (lend.go) has
// resumed takes its snapshot through that task's goroutine, where the
// waiting task's frames are; with counters as well.
func TestSnapshotInTaskResumedByBorrower(t *testing.T) {
	for _, opts := range [][]loop.Option{nil, {loop.WithTaskCounters(true)}} {
		synctest.Test(t, func(t *testing.T) {
			l := loop.New(opts...)
			var s, again *loop.Snapshot
			var lineWait, lineTake int
			f := future.New[int](l)
			main := loop.GoNamed(l, "main", func(co *loop.Coro) error {
				loop.GoNamed(l, "taker", func(co *loop.Coro) error {
					lineTake = nextLine()
					s = l.Snapshot()
					again = l.Snapshot()
					f.SetResult(1)
					return nil
				})
				lineWait = nextLine()
				_, err := loop.Await(co, f)
				return err
			})
			_, err := loop.RunUntilComplete(l, main.Future)
			require.NoError(t, err)
			require.NoError(t, l.Close())

			for _, s := range []*loop.Snapshot{s, again} {
				require.NotNil(t, s)
				m := taskNamed(t, s, "main")
				assert.Equal(t, loop.TaskWaiting, m.State)
				assertAt(t, m, lineWait)
				taker := taskNamed(t, s, "taker")
				assert.Equal(t, loop.TaskRunning, taker.State)
				assert.Equal(t, "loop/snapshot_test.go", taker.Where.String()[:len("loop/snapshot_test.go")])
			}
			assertAt(t, taskNamed(t, s, "taker"), lineTake)
		})
	}
}
