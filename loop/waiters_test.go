package loop_test

import (
	"fmt"
	"strings"
	"testing"
	"testing/synctest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aio-go/aio/future"
	"github.com/aio-go/aio/loop"
)

// primitives is one of each primitive, bound to a loop by bind.
type primitives struct {
	lk   loop.Lock
	ev   loop.Event
	cond loop.Condition
	sem  *loop.Semaphore
	bsem *loop.BoundedSemaphore
	q    *loop.Queue[int]
}

// bind makes a task of co's loop wait once on each primitive, which binds
// it to the loop, and leaves every primitive free.
func (p *primitives) bind(co *loop.Coro) error {
	l := co.Loop()
	p.sem, p.bsem, p.q = loop.NewSemaphore(0), loop.NewBoundedSemaphore(1), loop.NewQueue[int](0)
	p.lk.TryAcquire()
	p.bsem.TryAcquire()
	steps := []struct {
		wake func()
		wait func(*loop.Coro) error
	}{
		{p.lk.Release, p.lk.Acquire},
		{p.ev.Set, p.ev.Wait},
		{p.sem.Release, p.sem.Acquire},
		{p.bsem.Release, p.bsem.Acquire},
		{func() { _ = p.q.PutNowait(1) }, func(co *loop.Coro) error { _, err := p.q.Get(co); return err }},
		{func() {
			// The waiting task released the lock.
			p.cond.TryAcquire()
			p.cond.Notify(1)
			p.cond.Release()
		}, func(co *loop.Coro) error {
			if err := p.cond.Acquire(co); err != nil {
				return err
			}
			return p.cond.Wait(co)
		}},
	}
	for _, s := range steps {
		l.CallSoon(s.wake)
		if err := s.wait(co); err != nil {
			return err
		}
	}
	p.lk.Release()
	p.bsem.Release()
	p.cond.Release()
	p.q.TaskDone()
	return nil
}

// TestPrimitivesDebugWrongGoroutine: in debug mode, the loop-only methods
// of a bound primitive did not check the goroutine (Event.Set from another
// goroutine went through, racing the loop); each panics with
// ErrWrongGoroutine naming the method, before it changes anything.
func TestPrimitivesDebugWrongGoroutine(t *testing.T) {
	var p primitives
	var co *loop.Coro
	calls := []struct {
		op   string
		call func()
	}{
		{"Lock.Acquire", func() { _ = p.lk.Acquire(co) }},
		{"Lock.TryAcquire", func() { p.lk.TryAcquire() }},
		{"Lock.Release", func() { p.lk.Release() }},
		{"Lock.Locked", func() { p.lk.Locked() }},
		{"Event.Wait", func() { _ = p.ev.Wait(co) }},
		{"Event.Set", func() { p.ev.Set() }},
		{"Event.Clear", func() { p.ev.Clear() }},
		{"Event.IsSet", func() { p.ev.IsSet() }},
		{"Condition.Acquire", func() { _ = p.cond.Acquire(co) }},
		{"Condition.TryAcquire", func() { p.cond.TryAcquire() }},
		{"Condition.Release", func() { p.cond.Release() }},
		{"Condition.Locked", func() { p.cond.Locked() }},
		{"Condition.Wait", func() { _ = p.cond.Wait(co) }},
		{"Condition.WaitFor", func() { _ = p.cond.WaitFor(co, func() bool { return true }) }},
		{"Condition.Notify", func() { p.cond.Notify(1) }},
		{"Condition.NotifyAll", func() { p.cond.NotifyAll() }},
		{"Semaphore.Acquire", func() { _ = p.sem.Acquire(co) }},
		{"Semaphore.TryAcquire", func() { p.sem.TryAcquire() }},
		{"Semaphore.Release", func() { p.sem.Release() }},
		{"Semaphore.Locked", func() { p.sem.Locked() }},
		{"Semaphore.Value", func() { p.sem.Value() }},
		{"BoundedSemaphore.Release", func() { p.bsem.Release() }},
		{"Queue.Put", func() { _ = p.q.Put(co, 1) }},
		{"Queue.PutNowait", func() { _ = p.q.PutNowait(1) }},
		{"Queue.Get", func() { _, _ = p.q.Get(co) }},
		{"Queue.GetNowait", func() { _, _ = p.q.GetNowait() }},
		{"Queue.TaskDone", func() { p.q.TaskDone() }},
		{"Queue.Join", func() { _ = p.q.Join(co) }},
		{"Queue.Shutdown", func() { p.q.Shutdown(false) }},
		{"Queue.Len", func() { p.q.Len() }},
		{"Queue.Maxsize", func() { p.q.Maxsize() }},
		{"Queue.Empty", func() { p.q.Empty() }},
		{"Queue.Full", func() { p.q.Full() }},
	}
	synctest.Test(t, func(t *testing.T) {
		l := loop.New(loop.WithDebug(true))
		got := make([]any, len(calls))
		main := loop.Spawn(l, func(c *loop.Coro) (struct{}, error) {
			co = c
			if err := p.bind(co); err != nil {
				return struct{}{}, err
			}
			checked := future.New[struct{}](l)
			l.CallSoon(func() {
				for i, c := range calls {
					res := make(chan any)
					go func() { res <- catch(c.call) }()
					got[i] = <-res
				}
				checked.SetResult(struct{}{})
			})
			return loop.Await(co, checked)
		})
		_, err := loop.RunUntilComplete(l, main.Future)
		require.NoError(t, err)
		require.NoError(t, l.Close())

		for i, c := range calls {
			err, ok := got[i].(error)
			if !assert.Truef(t, ok, "%s: panic value %v (%T) is not an error", c.op, got[i], got[i]) {
				continue
			}
			assert.ErrorIs(t, err, loop.ErrWrongGoroutine, c.op)
			assert.True(t, strings.HasPrefix(err.Error(), "loop: "+c.op+": "), "message %q", err.Error())
		}
		// Nothing changed: every primitive is as bind left it.
		assert.False(t, p.lk.Locked())
		assert.True(t, p.ev.IsSet())
		assert.Equal(t, 0, p.sem.Value())
		assert.Equal(t, 1, p.bsem.Value())
		assert.Equal(t, 0, p.q.Len())
	})
}

// TestWaitersBurstWakeUp: many wake-ups in one iteration (a PutNowait per
// blocked getter, a Release per waiter, Shutdown) serve the waiters in
// order, once each.
func TestWaitersBurstWakeUp(t *testing.T) {
	const n = 200
	var got []string
	syncRun(t, func(co *loop.Coro) error {
		l := co.Loop()
		q := loop.NewQueue[int](0)
		sem := loop.NewSemaphore(0)
		var order []int
		ts := make([]*loop.Task[struct{}], 0, 2*n)
		for i := range n {
			ts = append(ts, loop.Go(l, func(co *loop.Coro) error {
				v, err := q.Get(co)
				order = append(order, v)
				return err
			}), loop.Go(l, func(co *loop.Coro) error {
				if err := sem.Acquire(co); err != nil {
					return err
				}
				order = append(order, -i)
				return nil
			}))
		}
		if err := loop.Sleep(co, 0); err != nil {
			return err
		}
		for i := range n {
			_ = q.PutNowait(i)
			sem.Release()
		}
		if _, err := loop.Await(co, loop.Gather(l, ts...)); err != nil {
			return err
		}
		for i := range n {
			if order[2*i] != i || order[2*i+1] != -i {
				return fmt.Errorf("order %v", order[:2*i+2])
			}
		}
		got = append(got, fmt.Sprint(len(order), q.Len(), sem.Value()))
		return nil
	})
	assert.Equal(t, []string{fmt.Sprint(2*n, 0, 0)}, got)
}
