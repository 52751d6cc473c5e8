package loop

// queueKind is the order in which a Queue hands out its items.
type queueKind uint8

const (
	fifo queueKind = iota
	lifo
	priority
)

// Queue is asyncio's Queue, LifoQueue and PriorityQueue: a queue of items
// of type T between tasks of one loop, in first-in-first-out order
// (NewQueue), last-in-first-out order (NewLifoQueue) or lowest first
// (NewPriorityQueue). A queue with a positive maximum size is bounded: Put
// waits while it is full.
//
// Tasks blocked in Get (or Put) are woken in the order they started
// waiting. A wake-up is not a hand-off: the woken task checks the queue
// again when it resumes, and waits again if someone else took the item (or
// the free slot) in between.
//
// Every Put counts an unfinished item; TaskDone marks one finished, and
// Join waits until none is left. Shutdown closes the queue.
//
// The zero value is an unbounded FIFO queue. A Queue binds to a loop the
// first time a task has to wait on it; from then on, a task of another loop
// that has to wait gets an error matching ErrOtherLoop. A Queue must not be
// copied after first use.
//
// Its methods must be called on the loop goroutine.
type Queue[T any] struct {
	_       noCopy
	l       *Loop
	items   []T
	head    int // FIFO: index of the first item
	kind    queueKind
	less    func(a, b T) bool
	maxsize int

	getters    waitQueue
	putters    waitQueue
	unfinished int
	finished   Event // set when unfinished drops to 0
	shutDown   bool
}

// NewQueue returns a first-in-first-out queue holding at most maxsize
// items: asyncio's Queue(maxsize). A maxsize <= 0 means unbounded.
//
// Must be called on the loop goroutine.
func NewQueue[T any](maxsize int) *Queue[T] {
	return &Queue[T]{maxsize: maxsize}
}

// NewLifoQueue returns a last-in-first-out queue (a stack) holding at most
// maxsize items: asyncio's LifoQueue(maxsize). A maxsize <= 0 means
// unbounded.
//
// Must be called on the loop goroutine.
func NewLifoQueue[T any](maxsize int) *Queue[T] {
	return &Queue[T]{maxsize: maxsize, kind: lifo}
}

// NewPriorityQueue returns a queue that hands out its lowest item first, by
// less, holding at most maxsize items: asyncio's PriorityQueue(maxsize). A
// maxsize <= 0 means unbounded. Items that are equal by less come out in no
// particular order (asyncio's heapq is not stable either). It panics if
// less is nil.
//
// Must be called on the loop goroutine.
func NewPriorityQueue[T any](maxsize int, less func(a, b T) bool) *Queue[T] {
	if less == nil {
		panic("loop: NewPriorityQueue: nil less func")
	}
	return &Queue[T]{maxsize: maxsize, kind: priority, less: less}
}

// Put is asyncio's Queue.put: it adds v to the queue, first waiting for a
// free slot while the queue is full. It returns ErrQueueShutDown if the
// queue is shut down, before or while it waits, and an error matching
// ErrOtherLoop, changing nothing, if it would have to wait and the queue is
// bound to another loop.
//
// Cancellation: if the task is cancelled while waiting, Put returns an
// error matching future.ErrCancelled without adding v, and leaves the queue
// of putters. If a Get had already woken it, the wake-up passes to the next
// putter when a slot is still free. If the loop closes, Put returns an
// error matching ErrClosed, with the same clean-up.
//
// Must be called on the loop goroutine.
func (q *Queue[T]) Put(co *Coro, v T) error {
	checkOn(q.l, "Queue.Put")
	for q.full() {
		if q.shutDown {
			return ErrQueueShutDown
		}
		if err := q.park(co, &q.putters, func() bool { return !q.full() }); err != nil {
			return err
		}
		if q.shutDown {
			return ErrQueueShutDown
		}
	}
	return q.putNowait(v)
}

// PutNowait is asyncio's Queue.put_nowait: it adds v to the queue without
// waiting, counts it as unfinished, and wakes the first task waiting in
// Get. It returns ErrQueueShutDown if the queue is shut down and
// ErrQueueFull if it is full.
//
// Must be called on the loop goroutine.
func (q *Queue[T]) PutNowait(v T) error {
	checkOn(q.l, "Queue.PutNowait")
	return q.putNowait(v)
}

func (q *Queue[T]) putNowait(v T) error {
	if q.shutDown {
		return ErrQueueShutDown
	}
	if q.full() {
		return ErrQueueFull
	}
	q.push(v)
	q.unfinished++
	q.finished.Clear()
	q.getters.wake(1)
	return nil
}

// Get is asyncio's Queue.get: it removes and returns the next item, first
// waiting while the queue is empty. Once the queue is shut down, Get still
// returns the items left (unless Shutdown was immediate), then
// ErrQueueShutDown. It returns an error matching ErrOtherLoop, changing
// nothing, if it would have to wait and the queue is bound to another loop.
//
// Cancellation: if the task is cancelled while waiting, Get returns an
// error matching future.ErrCancelled without taking an item, and leaves
// the queue of getters. If a Put had already woken it, the wake-up passes
// to the next getter when an item is still there, so the item is not
// stranded. If the loop closes, Get returns an error matching ErrClosed,
// with the same clean-up.
//
// Must be called on the loop goroutine.
func (q *Queue[T]) Get(co *Coro) (T, error) {
	checkOn(q.l, "Queue.Get")
	for q.len() == 0 {
		if q.shutDown {
			var zero T
			return zero, ErrQueueShutDown
		}
		if err := q.park(co, &q.getters, func() bool { return q.len() > 0 }); err != nil {
			var zero T
			return zero, err
		}
	}
	return q.getNowait()
}

// GetNowait is asyncio's Queue.get_nowait: it removes and returns the next
// item without waiting, and wakes the first task waiting in Put. It returns
// ErrQueueEmpty if the queue is empty, or ErrQueueShutDown if it is empty
// and shut down.
//
// Must be called on the loop goroutine.
func (q *Queue[T]) GetNowait() (T, error) {
	checkOn(q.l, "Queue.GetNowait")
	return q.getNowait()
}

func (q *Queue[T]) getNowait() (T, error) {
	if q.len() == 0 {
		var zero T
		if q.shutDown {
			return zero, ErrQueueShutDown
		}
		return zero, ErrQueueEmpty
	}
	v := q.pop()
	q.putters.wake(1)
	return v, nil
}

// TaskDone is asyncio's Queue.task_done: it marks one item taken with Get
// as processed. When every item put in the queue is processed, Join
// returns. TaskDone panics if no item is unfinished (asyncio's ValueError
// "task_done() called too many times"): like a negative sync.WaitGroup
// counter, it is a bug in the caller.
//
// Must be called on the loop goroutine.
func (q *Queue[T]) TaskDone() {
	checkOn(q.l, "Queue.TaskDone")
	if q.unfinished <= 0 {
		panic("loop: Queue.TaskDone: called too many times")
	}
	q.unfinished--
	if q.unfinished == 0 {
		q.finished.Set()
	}
}

// Join is asyncio's Queue.join: it waits until every item put in the queue
// has been marked processed with TaskDone (Get alone is not enough), and
// returns nil. It returns at once if no item is unfinished. It returns an
// error matching ErrOtherLoop if it would have to wait and the queue is
// bound to another loop.
//
// Cancellation: if the task is cancelled while waiting, Join returns an
// error matching future.ErrCancelled; the queue is unchanged. If the loop
// closes, Join returns an error matching ErrClosed.
//
// Must be called on the loop goroutine.
func (q *Queue[T]) Join(co *Coro) error {
	checkOn(q.l, "Queue.Join")
	if q.unfinished <= 0 {
		return nil
	}
	if err := bindLoop(&q.l, co, "Queue"); err != nil {
		return err
	}
	// Event.Wait, noting that the task waits on the queue.
	e := &q.finished
	if e.set {
		return nil
	}
	if err := bindLoop(&e.l, co, "Event"); err != nil {
		return err
	}
	_, err := e.waiters.wait(co, q)
	return err
}

// Shutdown is asyncio's Queue.shutdown (Python 3.13): it shuts the queue
// down. Puts fail with ErrQueueShutDown from now on, those waiting
// included; gets return the items left, then fail with ErrQueueShutDown,
// and those waiting on an empty queue fail at once. With immediate, the
// items left are dropped instead, each counting as processed (so Join may
// return), and gets fail at once. Every waiting task is woken. Shutdown
// may be called more than once.
//
// Must be called on the loop goroutine.
func (q *Queue[T]) Shutdown(immediate bool) {
	checkOn(q.l, "Queue.Shutdown")
	q.shutDown = true
	if immediate {
		for q.len() > 0 {
			q.pop()
			if q.unfinished > 0 {
				q.unfinished--
			}
		}
		if q.unfinished == 0 {
			q.finished.Set()
		}
	}
	q.getters.wakeAll()
	q.putters.wakeAll()
}

// Len is asyncio's Queue.qsize: the number of items in the queue.
//
// Must be called on the loop goroutine.
func (q *Queue[T]) Len() int {
	checkOn(q.l, "Queue.Len")
	return q.len()
}

// Maxsize is asyncio's Queue.maxsize: the most items the queue holds; 0 or
// less means unbounded.
//
// Must be called on the loop goroutine.
func (q *Queue[T]) Maxsize() int {
	checkOn(q.l, "Queue.Maxsize")
	return q.maxsize
}

// Empty is asyncio's Queue.empty: it reports whether the queue holds no
// item.
//
// Must be called on the loop goroutine.
func (q *Queue[T]) Empty() bool {
	checkOn(q.l, "Queue.Empty")
	return q.len() == 0
}

// Full is asyncio's Queue.full: it reports whether the queue holds maxsize
// items. An unbounded queue is never full.
//
// Must be called on the loop goroutine.
func (q *Queue[T]) Full() bool {
	checkOn(q.l, "Queue.Full")
	return q.full()
}

func (q *Queue[T]) len() int   { return len(q.items) - q.head }
func (q *Queue[T]) full() bool { return q.maxsize > 0 && q.len() >= q.maxsize }

// park waits in ws until a Put, Get or Shutdown wakes it. On an error
// (cancellation, closing loop), the waiter leaves ws; if it had been woken
// and ready reports the queue could still serve it, the wake-up goes to the
// next waiter (asyncio's Queue._wakeup_next in the except branch).
func (q *Queue[T]) park(co *Coro, ws *waitQueue, ready func() bool) error {
	if err := bindLoop(&q.l, co, "Queue"); err != nil {
		return err
	}
	woken, err := ws.wait(co, q)
	if err != nil && woken && ready() {
		ws.wake(1)
	}
	return err
}

// push adds v in the queue's order.
func (q *Queue[T]) push(v T) {
	if q.kind == fifo && q.head > 0 && len(q.items) == cap(q.items) && 2*q.head >= len(q.items) {
		n := copy(q.items, q.items[q.head:])
		clear(q.items[n:])
		q.items, q.head = q.items[:n], 0
	}
	q.items = append(q.items, v)
	if q.kind == priority {
		q.up(len(q.items) - 1)
	}
}

// pop removes and returns the next item; the queue must not be empty.
func (q *Queue[T]) pop() T {
	var zero T
	switch q.kind {
	case fifo:
		v := q.items[q.head]
		q.items[q.head] = zero
		q.head++
		if q.head == len(q.items) {
			q.items, q.head = q.items[:0], 0
		}
		return v
	case lifo:
		n := len(q.items) - 1
		v := q.items[n]
		q.items[n] = zero
		q.items = q.items[:n]
		return v
	}
	n := len(q.items) - 1
	v := q.items[0]
	q.items[0] = q.items[n]
	q.items[n] = zero
	q.items = q.items[:n]
	q.down(0)
	return v
}

// up and down restore the heap order of a priority queue's items (a binary
// min-heap by less) after the item at i moved.
func (q *Queue[T]) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !q.less(q.items[i], q.items[p]) {
			return
		}
		q.items[i], q.items[p] = q.items[p], q.items[i]
		i = p
	}
}

func (q *Queue[T]) down(i int) {
	n := len(q.items)
	for {
		c := 2*i + 1
		if c >= n {
			return
		}
		if r := c + 1; r < n && q.less(q.items[r], q.items[c]) {
			c = r
		}
		if !q.less(q.items[c], q.items[i]) {
			return
		}
		q.items[i], q.items[c] = q.items[c], q.items[i]
		i = c
	}
}
