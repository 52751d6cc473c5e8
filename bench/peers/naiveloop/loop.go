package main

import (
	"container/heap"
	"sync"
	"time"
)

// A loop is the event loop a Go programmer writes in an afternoon: a
// mutex-guarded slice of ready funcs, a channel to wake the loop when it
// sleeps, and a binary heap of timers.
//
// callSoon is safe for concurrent use by multiple goroutines; everything
// else must be called on the loop goroutine.
type loop struct {
	mu    sync.Mutex
	ready []func() // guarded by mu
	// wake holds a token when a func may have been added since the loop
	// last looked.
	wake chan struct{}

	timers  timerHeap
	spare   []func() // the previous batch, emptied, reused as the next ready
	stopped bool
}

func newLoop() *loop { return &loop{wake: make(chan struct{}, 1)} }

// callSoon schedules f to run on the loop, after every func scheduled
// before it. A func scheduled while the loop runs a batch runs in a later
// batch. Safe for concurrent use by multiple goroutines.
func (l *loop) callSoon(f func()) {
	l.mu.Lock()
	l.ready = append(l.ready, f)
	l.mu.Unlock()
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// callLater schedules f to run on the loop once d has passed. Must be
// called on the loop goroutine.
func (l *loop) callLater(d time.Duration, f func()) *timer {
	t := &timer{when: time.Now().Add(d), f: f}
	heap.Push(&l.timers, t)
	return t
}

// stop makes run return once the current batch has run. Must be called on
// the loop goroutine.
func (l *loop) stop() { l.stopped = true }

// run runs batches until stop is called. One iteration: take the ready
// funcs, add the timers that are due, run them all; with nothing to run,
// sleep until a callSoon or the earliest timer.
func (l *loop) run() {
	idle := time.NewTimer(time.Hour)
	defer idle.Stop()
	for !l.stopped {
		l.mu.Lock()
		batch := l.ready
		l.ready = l.spare
		l.mu.Unlock()

		now := time.Now()
		for len(l.timers) > 0 && !l.timers[0].when.After(now) {
			if t := heap.Pop(&l.timers).(*timer); !t.cancelled {
				batch = append(batch, t.f)
			}
		}

		if len(batch) == 0 {
			l.spare = batch
			l.sleep(idle)
			continue
		}
		for i, f := range batch {
			f()
			batch[i] = nil
		}
		l.spare = batch[:0]
	}
}

// sleep waits for a wake-up or for the earliest timer to be due.
func (l *loop) sleep(idle *time.Timer) {
	if len(l.timers) == 0 {
		<-l.wake
		return
	}
	idle.Reset(time.Until(l.timers[0].when))
	select {
	case <-l.wake:
		idle.Stop()
	case <-idle.C:
	}
}

// A timer is a func that callLater scheduled.
type timer struct {
	when      time.Time
	f         func()
	cancelled bool
}

// cancel keeps the timer's func from running, if it has not run yet. Must
// be called on the loop goroutine.
func (t *timer) cancel() { t.cancelled = true }

// timerHeap orders timers by when; a cancelled timer stays in it until it
// is due, and is then dropped.
type timerHeap []*timer

func (h timerHeap) Len() int           { return len(h) }
func (h timerHeap) Less(i, j int) bool { return h[i].when.Before(h[j].when) }
func (h timerHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *timerHeap) Push(x any)        { *h = append(*h, x.(*timer)) }

func (h *timerHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return t
}
