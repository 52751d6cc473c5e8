package loop_test

import (
	"cmp"
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aio-go/aio/loop"
)

// qGetter is a task body that gets one item from q and records it (or the
// error) under name. ErrQueueShutDown is recorded, not returned.
func qGetter[T any](q *loop.Queue[T], name string, rec func(string)) func(co *loop.Coro) error {
	return func(co *loop.Coro) error {
		v, err := q.Get(co)
		if err != nil {
			rec(name + " " + syncErr(err))
			return ignoreShutDown(err)
		}
		rec(fmt.Sprintf("%s got %v", name, v))
		return nil
	}
}

// qPutter is a task body that puts v in q and records it (or the error)
// under name. ErrQueueShutDown is recorded, not returned.
func qPutter[T any](q *loop.Queue[T], name string, v T, rec func(string)) func(co *loop.Coro) error {
	return func(co *loop.Coro) error {
		if err := q.Put(co, v); err != nil {
			rec(name + " " + syncErr(err))
			return ignoreShutDown(err)
		}
		rec(fmt.Sprintf("%s put %v", name, v))
		return nil
	}
}

func ignoreShutDown(err error) error {
	if errors.Is(err, loop.ErrQueueShutDown) {
		return nil
	}
	return err
}

// qJoiner is a task body that joins q and records the result.
func qJoiner[T any](q *loop.Queue[T], rec func(string)) func(co *loop.Coro) error {
	return func(co *loop.Coro) error {
		err := q.Join(co)
		rec("joined " + syncErr(err))
		return err
	}
}

// qPutAll puts vs in q without waiting.
func qPutAll[T any](q *loop.Queue[T], vs ...T) error {
	for _, v := range vs {
		if err := q.PutNowait(v); err != nil {
			return err
		}
	}
	return nil
}

// qDrain takes every item left in q without waiting.
func qDrain[T any](q *loop.Queue[T]) []T {
	var out []T
	for {
		v, err := q.GetNowait()
		if err != nil {
			return out
		}
		out = append(out, v)
	}
}

// asyncio, verified: priority [1,2,3]; LIFO of puts 3,1,2 gives 2,1,3.
func TestQueueOrder(t *testing.T) {
	table := []struct {
		name string
		q    func() *loop.Queue[int]
		puts []int
		want []int
	}{
		{"fifo", func() *loop.Queue[int] { return loop.NewQueue[int](0) }, []int{3, 1, 2}, []int{3, 1, 2}},
		{"lifo", func() *loop.Queue[int] { return loop.NewLifoQueue[int](0) }, []int{3, 1, 2}, []int{2, 1, 3}},
		{"priority", func() *loop.Queue[int] { return loop.NewPriorityQueue(0, cmp.Less[int]) }, []int{3, 1, 2}, []int{1, 2, 3}},
		{"priority many", func() *loop.Queue[int] { return loop.NewPriorityQueue(0, cmp.Less[int]) },
			[]int{5, 9, 1, 7, 3, 8, 2, 6, 4, 0, 5}, []int{0, 1, 2, 3, 4, 5, 5, 6, 7, 8, 9}},
		{"priority max first", func() *loop.Queue[int] {
			return loop.NewPriorityQueue(0, func(a, b int) bool { return a > b })
		}, []int{3, 1, 2}, []int{3, 2, 1}},
	}
	for _, tc := range table {
		t.Run(tc.name, func(t *testing.T) {
			q := tc.q()
			for _, v := range tc.puts {
				require.NoError(t, q.PutNowait(v))
			}
			assert.Equal(t, len(tc.puts), q.Len())
			assert.Equal(t, tc.want, qDrain(q))
		})
	}
}

// TestQueueFIFOInterleaved checks the FIFO buffer across many puts and
// gets, as the slice is reused and compacted.
func TestQueueFIFOInterleaved(t *testing.T) {
	q := loop.NewQueue[int](0)
	var got, want []int
	next := 0
	for round := range 50 {
		for range round%7 + 1 {
			require.NoError(t, q.PutNowait(next))
			want = append(want, next)
			next++
		}
		for range round%5 + 1 {
			if v, err := q.GetNowait(); err == nil {
				got = append(got, v)
			}
		}
	}
	got = append(got, qDrain(q)...)
	assert.Equal(t, want, got)
}

func TestQueueNowait(t *testing.T) {
	q := loop.NewQueue[string](2)
	assert.Equal(t, 2, q.Maxsize())
	assert.True(t, q.Empty())
	_, err := q.GetNowait()
	assert.ErrorIs(t, err, loop.ErrQueueEmpty)
	assert.EqualError(t, err, "loop: queue empty")
	require.NoError(t, q.PutNowait("a"))
	require.NoError(t, q.PutNowait("b"))
	assert.True(t, q.Full())
	err = q.PutNowait("c")
	assert.ErrorIs(t, err, loop.ErrQueueFull)
	assert.EqualError(t, err, "loop: queue full")
	assert.Equal(t, []string{"a", "b"}, qDrain(q))

	for _, maxsize := range []int{0, -1} {
		u := loop.NewQueue[int](maxsize)
		for i := range 100 {
			require.NoError(t, u.PutNowait(i))
		}
		assert.False(t, u.Full(), "maxsize %d", maxsize)
		assert.Equal(t, 100, u.Len())
	}
	assert.Equal(t, "loop: NewPriorityQueue: nil less func", syncPanic(func() { loop.NewPriorityQueue[int](0, nil) }))
}

func TestQueueZeroValue(t *testing.T) {
	var got []string
	syncRun(t, func(co *loop.Coro) error {
		var q loop.Queue[int]
		for i := range 3 {
			if err := q.Put(co, i); err != nil {
				return err
			}
		}
		got = append(got, fmt.Sprint(q.Len(), q.Maxsize(), q.Full()))
		for range 3 {
			v, err := q.Get(co)
			if err != nil {
				return err
			}
			q.TaskDone()
			got = append(got, fmt.Sprint(v))
		}
		return q.Join(co)
	})
	assert.Equal(t, []string{"3 0 false", "0", "1", "2"}, got)
}

func TestQueueBlocking(t *testing.T) {
	runSyncCases(t, loop.NewQueue[string], []syncCase[*loop.Queue[string]]{{
		// asyncio, verified: blocked getters are served in FIFO order.
		name: "getters fifo",
		run: func(co *loop.Coro, q *loop.Queue[string], rec func(string)) error {
			var ts []*loop.Task[struct{}]
			for i := range 3 {
				ts = append(ts, syncGo(co, qGetter(q, fmt.Sprint("g", i), rec)))
			}
			if err := syncYield(co, 1); err != nil {
				return err
			}
			if err := qPutAll(q, "a", "b", "c"); err != nil {
				return err
			}
			return syncJoin(co, ts...)
		},
		want: []string{"g0 got a", "g1 got b", "g2 got c"},
	}, {
		// A full queue blocks Put until a Get frees a slot; an empty one
		// blocks Get until a Put.
		name: "maxsize blocks and unblocks",
		n:    1,
		run: func(co *loop.Coro, q *loop.Queue[string], rec func(string)) error {
			p := syncGo(co, func(co *loop.Coro) error {
				for _, v := range []string{"a", "b", "c"} {
					if err := qPutter(q, "p", v, rec)(co); err != nil {
						return err
					}
				}
				return nil
			})
			if err := syncYield(co, 3); err != nil {
				return err
			}
			rec(fmt.Sprintf("len=%d full=%v", q.Len(), q.Full()))
			for range 3 {
				if err := qGetter(q, "main", rec)(co); err != nil {
					return err
				}
			}
			return syncJoin(co, p)
		},
		want: []string{"p put a", "len=1 full=true", "main got a", "p put b", "main got b", "p put c", "main got c"},
	}, {
		// A wake-up is not a hand-off: the main task takes the item
		// before the woken getter resumes, and the getter waits again.
		name: "woken getter re-checks",
		run: func(co *loop.Coro, q *loop.Queue[string], rec func(string)) error {
			g := syncGo(co, qGetter(q, "g", rec))
			if err := syncYield(co, 1); err != nil {
				return err
			}
			if err := q.PutNowait("x"); err != nil {
				return err
			}
			v, err := q.GetNowait()
			rec(fmt.Sprintf("main got %s %s", v, syncErr(err)))
			if err := syncYield(co, 3); err != nil {
				return err
			}
			rec(fmt.Sprintf("g done=%v", g.Done()))
			if err := q.PutNowait("y"); err != nil {
				return err
			}
			return syncJoin(co, g)
		},
		want: []string{"main got x nil", "g done=false", "g got y"},
	}, {
		name: "woken putter re-checks",
		n:    1,
		run: func(co *loop.Coro, q *loop.Queue[string], rec func(string)) error {
			if err := q.PutNowait("a"); err != nil {
				return err
			}
			p := syncGo(co, qPutter(q, "p", "c", rec))
			if err := syncYield(co, 1); err != nil {
				return err
			}
			if _, err := q.GetNowait(); err != nil {
				return err
			}
			if err := q.PutNowait("b"); err != nil {
				return err
			}
			if err := syncYield(co, 3); err != nil {
				return err
			}
			rec(fmt.Sprintf("p done=%v", p.Done()))
			if err := qGetter(q, "main", rec)(co); err != nil {
				return err
			}
			err := syncJoin(co, p)
			rec(fmt.Sprint(qDrain(q)))
			return err
		},
		want: []string{"p done=false", "main got b", "p put c", "[c]"},
	}})
}

// Cancelling a blocked Get or Put leaves the queue consistent: nothing is
// taken or added, and a wake-up the cancelled task had received passes on.
func TestQueueCancel(t *testing.T) {
	runSyncCases(t, loop.NewQueue[string], []syncCase[*loop.Queue[string]]{{
		name: "cancelled getter leaves the queue of getters",
		run: func(co *loop.Coro, q *loop.Queue[string], rec func(string)) error {
			g0 := syncGo(co, qGetter(q, "g0", rec))
			g1 := syncGo(co, qGetter(q, "g1", rec))
			if err := syncYield(co, 1); err != nil {
				return err
			}
			g0.Cancel()
			if err := syncYield(co, 2); err != nil {
				return err
			}
			if err := q.PutNowait("x"); err != nil {
				return err
			}
			err := syncJoin(co, g0, g1)
			rec(fmt.Sprint("len=", q.Len()))
			return err
		},
		want: []string{"g0 cancelled", "g1 got x", "len=0"},
	}, {
		name: "getter cancelled after its wake-up passes it on",
		run: func(co *loop.Coro, q *loop.Queue[string], rec func(string)) error {
			g0 := syncGo(co, qGetter(q, "g0", rec))
			g1 := syncGo(co, qGetter(q, "g1", rec))
			if err := syncYield(co, 1); err != nil {
				return err
			}
			if err := q.PutNowait("x"); err != nil {
				return err
			}
			g0.Cancel()
			err := syncJoin(co, g0, g1)
			rec(fmt.Sprint("len=", q.Len()))
			return err
		},
		want: []string{"g0 cancelled", "g1 got x", "len=0"},
	}, {
		name: "cancelled getter takes nothing",
		run: func(co *loop.Coro, q *loop.Queue[string], rec func(string)) error {
			g := syncGo(co, qGetter(q, "g", rec))
			if err := syncYield(co, 1); err != nil {
				return err
			}
			g.Cancel()
			if err := q.PutNowait("x"); err != nil {
				return err
			}
			err := syncJoin(co, g)
			rec(fmt.Sprint(qDrain(q)))
			return err
		},
		want: []string{"g cancelled", "[x]"},
	}, {
		name: "cancelled putter adds nothing",
		n:    1,
		run: func(co *loop.Coro, q *loop.Queue[string], rec func(string)) error {
			if err := q.PutNowait("a"); err != nil {
				return err
			}
			p0 := syncGo(co, qPutter(q, "p0", "b", rec))
			p1 := syncGo(co, qPutter(q, "p1", "c", rec))
			if err := syncYield(co, 1); err != nil {
				return err
			}
			p0.Cancel()
			if err := syncYield(co, 2); err != nil {
				return err
			}
			if err := qGetter(q, "main", rec)(co); err != nil {
				return err
			}
			err := syncJoin(co, p0, p1)
			rec(fmt.Sprint(qDrain(q)))
			return err
		},
		want: []string{"p0 cancelled", "main got a", "p1 put c", "[c]"},
	}, {
		name: "putter cancelled after its wake-up passes it on",
		n:    1,
		run: func(co *loop.Coro, q *loop.Queue[string], rec func(string)) error {
			if err := q.PutNowait("a"); err != nil {
				return err
			}
			p0 := syncGo(co, qPutter(q, "p0", "b", rec))
			p1 := syncGo(co, qPutter(q, "p1", "c", rec))
			if err := syncYield(co, 1); err != nil {
				return err
			}
			if _, err := q.GetNowait(); err != nil {
				return err
			}
			p0.Cancel()
			err := syncJoin(co, p0, p1)
			rec(fmt.Sprint(qDrain(q)))
			return err
		},
		want: []string{"p0 cancelled", "p1 put c", "[c]"},
	}})
}

// asyncio, verified: Get alone does not release Join; TaskDone does.
func TestQueueJoin(t *testing.T) {
	var got []string
	var tooMany any
	syncRun(t, func(co *loop.Coro) error {
		rec := func(s string) { got = append(got, s) }
		q := loop.NewQueue[int](0)
		if err := q.Join(co); err != nil {
			return err
		}
		rec("empty join")
		if err := qPutAll(q, 0, 1); err != nil {
			return err
		}
		j := syncGo(co, qJoiner(q, rec))
		qDrain(q)
		if err := syncYield(co, 3); err != nil {
			return err
		}
		rec(fmt.Sprintf("after gets done=%v", j.Done()))
		q.TaskDone()
		if err := syncYield(co, 3); err != nil {
			return err
		}
		rec(fmt.Sprintf("after one done=%v", j.Done()))
		q.TaskDone()
		err := syncJoin(co, j)
		tooMany = syncPanic(q.TaskDone)
		return err
	})
	assert.Equal(t, []string{"empty join", "after gets done=false", "after one done=false", "joined nil"}, got)
	assert.Equal(t, "loop: Queue.TaskDone: called too many times", tooMany)
}

func TestQueueJoinCancelled(t *testing.T) {
	var got []string
	syncRun(t, func(co *loop.Coro) error {
		rec := func(s string) { got = append(got, s) }
		q := loop.NewQueue[int](0)
		if err := q.PutNowait(1); err != nil {
			return err
		}
		j := syncGo(co, qJoiner(q, rec))
		if err := syncYield(co, 1); err != nil {
			return err
		}
		j.Cancel()
		err := syncJoin(co, j)
		qDrain(q)
		q.TaskDone()
		rec(fmt.Sprint("join now: ", syncErr(q.Join(co))))
		return err
	})
	assert.Equal(t, []string{"joined cancelled", "join now: nil"}, got)
}

// Python 3.13's Queue.shutdown: blocked puts fail, gets return what is left
// and then fail; immediate drops what is left, each item counting as done.
func TestQueueShutdown(t *testing.T) {
	runSyncCases(t, loop.NewQueue[string], []syncCase[*loop.Queue[string]]{{
		name: "blocked getters fail",
		run: func(co *loop.Coro, q *loop.Queue[string], rec func(string)) error {
			g0 := syncGo(co, qGetter(q, "g0", rec))
			g1 := syncGo(co, qGetter(q, "g1", rec))
			if err := syncYield(co, 1); err != nil {
				return err
			}
			q.Shutdown(false)
			return syncJoin(co, g0, g1)
		},
		want: []string{"g0 loop: queue shut down", "g1 loop: queue shut down"},
	}, {
		name: "gets return the items left, then fail",
		run: func(co *loop.Coro, q *loop.Queue[string], rec func(string)) error {
			if err := qPutAll(q, "a", "b"); err != nil {
				return err
			}
			q.Shutdown(false)
			_ = qGetter(q, "main", rec)(co)
			_ = qGetter(q, "main", rec)(co)
			_ = qGetter(q, "main", rec)(co)
			_, err := q.GetNowait()
			rec("get nowait " + syncErr(err))
			rec("put nowait " + syncErr(q.PutNowait("c")))
			rec("put " + syncErr(q.Put(co, "c")))
			return nil
		},
		want: []string{"main got a", "main got b", "main loop: queue shut down",
			"get nowait loop: queue shut down", "put nowait loop: queue shut down", "put loop: queue shut down"},
	}, {
		name: "blocked putters fail",
		n:    1,
		run: func(co *loop.Coro, q *loop.Queue[string], rec func(string)) error {
			if err := q.PutNowait("a"); err != nil {
				return err
			}
			p0 := syncGo(co, qPutter(q, "p0", "b", rec))
			p1 := syncGo(co, qPutter(q, "p1", "c", rec))
			if err := syncYield(co, 1); err != nil {
				return err
			}
			q.Shutdown(false)
			err := syncJoin(co, p0, p1)
			rec(fmt.Sprint(qDrain(q)))
			return err
		},
		want: []string{"p0 loop: queue shut down", "p1 loop: queue shut down", "[a]"},
	}, {
		// The item already taken still needs its TaskDone; the dropped
		// ones count as done.
		name: "immediate drops the items left",
		run: func(co *loop.Coro, q *loop.Queue[string], rec func(string)) error {
			if err := qPutAll(q, "a", "b", "c"); err != nil {
				return err
			}
			_ = qGetter(q, "main", rec)(co)
			j := syncGo(co, qJoiner(q, rec))
			if err := syncYield(co, 1); err != nil {
				return err
			}
			q.Shutdown(true)
			if err := syncYield(co, 3); err != nil {
				return err
			}
			rec(fmt.Sprintf("len=%d joined=%v", q.Len(), j.Done()))
			q.TaskDone()
			err := syncJoin(co, j)
			_ = qGetter(q, "main", rec)(co)
			return err
		},
		want: []string{"main got a", "len=0 joined=false", "joined nil", "main loop: queue shut down"},
	}, {
		name: "immediate wakes putters and joiners",
		n:    1,
		run: func(co *loop.Coro, q *loop.Queue[string], rec func(string)) error {
			if err := q.PutNowait("a"); err != nil {
				return err
			}
			p := syncGo(co, qPutter(q, "p", "b", rec))
			j := syncGo(co, qJoiner(q, rec))
			if err := syncYield(co, 1); err != nil {
				return err
			}
			q.Shutdown(true)
			err := syncJoin(co, p, j)
			rec(fmt.Sprintf("len=%d", q.Len()))
			return err
		},
		// The drain releases Join before the waiters are woken.
		want: []string{"joined nil", "p loop: queue shut down", "len=0"},
	}, {
		name: "shut down again, immediately",
		run: func(co *loop.Coro, q *loop.Queue[string], rec func(string)) error {
			if err := q.PutNowait("a"); err != nil {
				return err
			}
			q.Shutdown(false)
			rec(fmt.Sprintf("len=%d", q.Len()))
			q.Shutdown(true)
			rec(fmt.Sprintf("len=%d", q.Len()))
			return q.Join(co)
		},
		want: []string{"len=1", "len=0"},
	}})
}
