package loop_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/aio-go/aio/loop"
)

// semState records a semaphore's value and Locked.
func semState(s *loop.Semaphore) string {
	return fmt.Sprintf("value=%d locked=%v", s.Value(), s.Locked())
}

func TestSemaphoreOrdering(t *testing.T) {
	runSyncCases(t, loop.NewSemaphore, []syncCase[*loop.Semaphore]{{
		// asyncio, verified: Release reserves the unit for the woken
		// waiter, so the value stays 0 and the semaphore stays locked.
		name: "release reserves the unit",
		n:    1,
		run: func(co *loop.Coro, s *loop.Semaphore, rec func(string)) error {
			if err := s.Acquire(co); err != nil {
				return err
			}
			w := syncGo(co, func(co *loop.Coro) error {
				if err := s.Acquire(co); err != nil {
					return err
				}
				rec("w " + semState(s))
				s.Release()
				return nil
			})
			if err := syncYield(co, 1); err != nil {
				return err
			}
			rec(semState(s))
			s.Release()
			rec(fmt.Sprintf("%s try=%v", semState(s), s.TryAcquire()))
			err := syncJoin(co, w)
			rec(semState(s))
			return err
		},
		want: []string{"value=0 locked=true", "value=0 locked=true try=false", "w value=0 locked=true", "value=1 locked=false"},
	}, {
		// asyncio's test_acquire_fifo_order.
		name: "fifo order",
		n:    1,
		run: func(co *loop.Coro, s *loop.Semaphore, rec func(string)) error {
			var ts []*loop.Task[struct{}]
			for _, tag := range []string{"c1", "c2", "c3"} {
				ts = append(ts, syncGo(co, func(co *loop.Coro) error {
					for _, round := range []string{"_1", "_2"} {
						if err := s.Acquire(co); err != nil {
							return err
						}
						rec(tag + round)
						err := loop.Sleep(co, 10*time.Millisecond)
						s.Release()
						if err != nil {
							return err
						}
					}
					return nil
				}))
			}
			return syncJoin(co, ts...)
		},
		want: []string{"c1_1", "c2_1", "c3_1", "c1_2", "c2_2", "c3_2"},
	}, {
		// asyncio's test_acquire_fifo_order_2: c2 releases and acquires
		// again, but c3, already woken, goes first.
		name: "fifo order 2",
		n:    1,
		run: func(co *loop.Coro, s *loop.Semaphore, rec func(string)) error {
			t1 := syncGo(co, syncTaker(s.Acquire, "1", rec))
			t2 := syncGo(co, func(co *loop.Coro) error {
				if err := syncTaker(s.Acquire, "2", rec)(co); err != nil {
					return err
				}
				s.Release()
				return syncTaker(s.Acquire, "4", rec)(co)
			})
			t3 := syncGo(co, syncTaker(s.Acquire, "3", rec))
			if err := syncYield(co, 1); err != nil {
				return err
			}
			s.Release()
			s.Release()
			return syncJoin(co, t1, t2, t3)
		},
		want: []string{"1", "2", "3", "4"},
	}, {
		// asyncio's test_acquire_fifo_order_3: a cancelled waiter gets
		// no unit.
		name: "fifo order 3",
		n:    0,
		run: func(co *loop.Coro, s *loop.Semaphore, rec func(string)) error {
			t1 := syncGo(co, syncTaker(s.Acquire, "1", rec))
			t2 := syncGo(co, syncTaker(s.Acquire, "2", rec))
			t3 := syncGo(co, syncTaker(s.Acquire, "3", rec))
			if err := syncYield(co, 1); err != nil {
				return err
			}
			t1.Cancel()
			if err := syncYield(co, 1); err != nil {
				return err
			}
			s.Release()
			s.Release()
			return syncJoin(co, t1, t2, t3)
		},
		want: []string{"1 cancelled", "2", "3"},
	}, {
		// asyncio's test_acquire_cancel_before_awoken: two waiters are
		// cancelled, then one unit is released: only t3 gets it.
		name: "cancel before awoken",
		n:    0,
		run: func(co *loop.Coro, s *loop.Semaphore, rec func(string)) error {
			var ts []*loop.Task[struct{}]
			for i := range 4 {
				ts = append(ts, syncGo(co, syncTaker(s.Acquire, fmt.Sprint("t", i+1), rec)))
			}
			if err := syncYield(co, 1); err != nil {
				return err
			}
			ts[0].Cancel()
			ts[1].Cancel()
			s.Release()
			if err := syncYield(co, 2); err != nil {
				return err
			}
			rec(fmt.Sprintf("t3=%v t4=%v %s", ts[2].Done(), ts[3].Done(), semState(s)))
			ts[3].Cancel()
			return syncJoin(co, ts...)
		},
		want: []string{"t1 cancelled", "t2 cancelled", "t3", "t3=true t4=false value=0 locked=true", "t4 cancelled"},
	}, {
		// asyncio's test_acquire_hang.
		name: "acquire hang",
		n:    0,
		run: func(co *loop.Coro, s *loop.Semaphore, rec func(string)) error {
			t1 := syncGo(co, syncTaker(s.Acquire, "t1", rec))
			t2 := syncGo(co, syncTaker(s.Acquire, "t2", rec))
			if err := syncYield(co, 1); err != nil {
				return err
			}
			t1.Cancel()
			s.Release()
			if err := syncYield(co, 2); err != nil {
				return err
			}
			rec(fmt.Sprintf("t2=%v %s", t2.Done(), semState(s)))
			return syncJoin(co, t1, t2)
		},
		want: []string{"t1 cancelled", "t2", "t2=true value=0 locked=true"},
	}, {
		// t1 is woken (a unit reserved for it), then cancelled before it
		// resumes: it gives the unit back and it passes to t2.
		name: "cancelled after woken gives the unit back",
		n:    0,
		run: func(co *loop.Coro, s *loop.Semaphore, rec func(string)) error {
			t1 := syncGo(co, syncTaker(s.Acquire, "t1", rec))
			t2 := syncGo(co, syncTaker(s.Acquire, "t2", rec))
			if err := syncYield(co, 1); err != nil {
				return err
			}
			s.Release()
			rec(semState(s))
			t1.Cancel()
			err := syncJoin(co, t1, t2)
			rec(semState(s))
			return err
		},
		want: []string{"value=0 locked=true", "t1 cancelled", "t2", "value=0 locked=true"},
	}, {
		// t2 and t3 queue behind the woken t1 although a unit is free
		// (FIFO); t1, cancelled, gives its unit back and wakes as many of
		// them as there are units.
		name: "given-back units wake newcomers",
		n:    0,
		run: func(co *loop.Coro, s *loop.Semaphore, rec func(string)) error {
			t1 := syncGo(co, syncTaker(s.Acquire, "t1", rec))
			if err := syncYield(co, 1); err != nil {
				return err
			}
			t2 := syncGo(co, syncTaker(s.Acquire, "t2", rec))
			t3 := syncGo(co, syncTaker(s.Acquire, "t3", rec))
			s.Release()
			s.Release()
			t1.Cancel()
			rec(semState(s))
			err := syncJoin(co, t1, t2, t3)
			rec(semState(s))
			return err
		},
		want: []string{"value=1 locked=true", "t1 cancelled", "t2", "t3", "value=0 locked=true"},
	}})
}

func TestSemaphoreFastPath(t *testing.T) {
	var got []string
	syncRun(t, func(co *loop.Coro) error {
		s := loop.NewSemaphore(2)
		before := co.Loop().Stats().Iterations
		err1, err2 := s.Acquire(co), s.Acquire(co)
		after := co.Loop().Stats().Iterations
		got = append(got, fmt.Sprintf("%s %s suspended=%v %s try=%v", syncErr(err1), syncErr(err2), after != before, semState(s), s.TryAcquire()))
		s.Release()
		s.Release()
		return nil
	})
	assert.Equal(t, []string{"nil nil suspended=false value=0 locked=true try=false"}, got)
}

func TestSemaphoreZeroValue(t *testing.T) {
	var s loop.Semaphore
	assert.Equal(t, "value=0 locked=true", semState(&s))
	assert.False(t, s.TryAcquire())
	s.Release()
	assert.Equal(t, "value=1 locked=false", semState(&s))
}

// A plain Semaphore may be released above its initial value (asyncio,
// verified); a BoundedSemaphore panics and changes nothing.
func TestSemaphoreOverRelease(t *testing.T) {
	s := loop.NewSemaphore(1)
	s.Release()
	s.Release()
	assert.Equal(t, 3, s.Value())

	var got []string
	var over any
	syncRun(t, func(co *loop.Coro) error {
		b := loop.NewBoundedSemaphore(2)
		over = syncPanic(b.Release)
		got = append(got, fmt.Sprint(b.Value()))
		if err := b.Acquire(co); err != nil {
			return err
		}
		b.Release()
		got = append(got, fmt.Sprint(b.Value(), b.Locked()))
		if err := b.Acquire(co); err != nil {
			return err
		}
		if err := b.Acquire(co); err != nil {
			return err
		}
		got = append(got, fmt.Sprint(b.Value(), b.Locked()))
		b.Release()
		b.Release()
		got = append(got, fmt.Sprintf("%d %v %d", b.Value(), syncPanic(b.Release), b.Value()))
		return nil
	})
	assert.Equal(t, "loop: BoundedSemaphore.Release: released too many times", over)
	assert.Equal(t, []string{"2", "2 false", "0 true", "2 loop: BoundedSemaphore.Release: released too many times 2"}, got)
}

func TestSemaphoreNegativePanics(t *testing.T) {
	assert.Equal(t, "loop: NewSemaphore: negative initial value", syncPanic(func() { loop.NewSemaphore(-1) }))
	assert.Equal(t, "loop: NewBoundedSemaphore: negative initial value", syncPanic(func() { loop.NewBoundedSemaphore(-1) }))
	assert.Nil(t, syncPanic(func() { loop.NewBoundedSemaphore(0) }))
}
