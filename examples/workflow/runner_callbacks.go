package main

import (
	"context"

	"github.com/aio-go/aio/future"
	"github.com/aio-go/aio/loop"
	"github.com/aio-go/aio/timer"
)

// This is the runner as the production pattern writes it: no task anywhere,
// only callbacks on the loop. The status checker polls with CallLater;
// requests to the server run off the loop with RunInExecutor, and their
// futures' done-callbacks bring the answers back to the loop; the outcome
// of an attempt arrives in one of three handlers, named as in the
// original:
//
//	onComplete(jobID, remoteID, success, msg, extra)  the server says it ended
//	onTimeout(jobID)                                  it ran past the timeout
//	onError(jobID, remoteID, msg, extra)              out of retries: fail and notify
//
// Every callback runs on the loop goroutine, one at a time, so the runner's
// state (queue, running attempts, the Board) needs no lock. The price is
// visible below: the flow of one job is spread over six functions, and each
// callback must check whether the attempt it belongs to is still current
// (a timeout may have ended it while a request was in flight).

// attempt is one running attempt of a job, and what must be stopped when it
// ends.
type attempt struct {
	job      *Job
	deadline timer.Handle     // runs onTimeout
	poll     timer.Handle     // the next status check
	call     future.Awaitable // the request in flight, if any
	over     bool             // ended: late callbacks must do nothing
}

// stop ends a: it cancels its timers and its request in flight (whose
// context is then cancelled, aborting the HTTP request).
func (a *attempt) stop() {
	a.over = true
	a.deadline.Cancel()
	a.poll.Cancel()
	if a.call != nil {
		a.call.Cancel()
	}
}

// callbackRunner is the callback-style runner. All its fields are touched
// only on the loop goroutine.
type callbackRunner struct {
	l   *loop.Loop
	cfg Config
	be  Backend
	b   *Board
	p   *Progress

	queue   []*Job                              // QUEUED jobs, in order
	running map[string]*attempt                 // by job id
	notices map[string]*future.Future[struct{}] // notifications in flight, by job id
	done    *future.Future[struct{}]            // completed when the run is over
}

// runCallbacks runs b's jobs with callbacks on a new loop, which it runs on
// the calling goroutine until the run is over.
func runCallbacks(ctx context.Context, cfg Config, be Backend, b *Board, p *Progress) error {
	l := loop.New()
	r := &callbackRunner{
		l: l, cfg: cfg, be: be, b: b, p: p,
		running: make(map[string]*attempt),
		notices: make(map[string]*future.Future[struct{}]),
		done:    future.New[struct{}](l),
	}
	l.CallSoon(r.start)
	// Ctrl-C arrives on another goroutine: hand it to the loop, which alone
	// may touch the jobs.
	stop := context.AfterFunc(ctx, func() { _, _ = l.CallSoonThreadsafe(r.interrupt) })
	_, err := loop.RunUntilComplete(l, r.done)
	stop()
	// Shutdown runs what is still queued (an interruption that raced the end
	// of the run does nothing), waits for the executor's goroutines and
	// closes the loop.
	if serr := l.Shutdown(context.Background()); err == nil {
		err = serr
	}
	return err
}

func (r *callbackRunner) start() {
	r.b.attach(r.l.Now)
	r.p.attach(r.l, r.b)
	r.queue = append(r.queue, r.b.Jobs...)
	r.dispatch()
}

// dispatch starts queued jobs while fewer than Concurrency run.
func (r *callbackRunner) dispatch() {
	for len(r.running) < r.cfg.Concurrency && len(r.queue) > 0 {
		j := r.queue[0]
		r.queue = r.queue[1:]
		r.launch(j)
	}
	r.maybeFinish()
}

// launch starts an attempt of j: it arms the timeout and submits the job.
func (r *callbackRunner) launch(j *Job) {
	r.b.start(j)
	a := &attempt{job: j}
	r.running[j.ID] = a
	a.deadline = r.l.CallLater(r.cfg.Timeout, func() { r.onTimeout(j.ID) })

	// The function runs on an executor goroutine: it must not touch j,
	// which belongs to the loop, so it gets copies of what it needs.
	id, n := j.ID, j.Attempts
	f := loop.RunInExecutor(r.l, func(ctx context.Context) (string, error) {
		return r.be.Submit(ctx, id, n)
	})
	a.call = f
	f.AddDoneCallback(func(f *future.Future[string]) {
		remoteID, err := f.Result()
		if a.over {
			return
		}
		a.call = nil
		if err != nil {
			r.onComplete(j.ID, "", false, err.Error(), nil)
			return
		}
		r.b.submitted(j, remoteID)
		a.poll = r.l.CallLater(r.cfg.Poll, func() { r.check(a) })
	})
}

// check is the status checker: one status request for a, after which it
// schedules itself again with CallLater while the server says "running".
func (r *callbackRunner) check(a *attempt) {
	j := a.job
	remoteID := j.RemoteID
	f := loop.RunInExecutor(r.l, func(ctx context.Context) (Status, error) {
		return r.be.Status(ctx, remoteID)
	})
	a.call = f
	f.AddDoneCallback(func(f *future.Future[Status]) {
		st, err := f.Result()
		if a.over {
			return
		}
		a.call = nil
		switch {
		case err != nil:
			r.onComplete(j.ID, remoteID, false, err.Error(), nil)
		case st.State == remoteRunning:
			a.poll = r.l.CallLater(r.cfg.Poll, func() { r.check(a) })
		default:
			r.onComplete(j.ID, remoteID, st.State == remoteSucceeded, st.Message, st.Extra)
		}
	})
}

// onComplete handles an attempt that ended: done on success, otherwise
// re-queued while retries are left, and handed to onError after the last.
func (r *callbackRunner) onComplete(jobID, remoteID string, success bool, msg string, extra map[string]string) {
	j := r.b.Job(jobID)
	r.endAttempt(j)
	switch {
	case success:
		r.b.succeed(j, msg, extra)
	case r.cfg.canRetry(j):
		r.b.requeue(j, msg)
		r.queue = append(r.queue, j)
	default:
		r.onError(jobID, remoteID, msg, extra)
	}
	r.dispatch()
}

// onTimeout handles an attempt that ran past the timeout: the attempt is
// abandoned (its request in flight and its next check cancelled) and
// treated as failed.
func (r *callbackRunner) onTimeout(jobID string) {
	j := r.b.Job(jobID)
	r.b.timedOut(j)
	r.onComplete(jobID, j.RemoteID, false, r.cfg.timeoutMessage(), nil)
}

// onError handles a job out of retries: it fails the job and sends the
// failure notification off the loop.
func (r *callbackRunner) onError(jobID, remoteID string, msg string, extra map[string]string) {
	j := r.b.Job(jobID)
	r.b.fail(j, msg, extra)
	n := newNotice(j)
	f := loop.RunInExecutor(r.l, func(ctx context.Context) (struct{}, error) {
		return struct{}{}, r.be.Notify(ctx, n)
	})
	r.notices[jobID] = f
	f.AddDoneCallback(func(f *future.Future[struct{}]) {
		err := f.Err()
		delete(r.notices, jobID)
		if f.Cancelled() { // interrupted
			return
		}
		r.b.notified(j, err)
		r.maybeFinish()
	})
}

// endAttempt stops j's running attempt and frees its slot.
func (r *callbackRunner) endAttempt(j *Job) {
	if a := r.running[j.ID]; a != nil {
		a.stop()
		delete(r.running, j.ID)
	}
}

// maybeFinish ends the run once every job has finished and every
// notification has been dealt with.
func (r *callbackRunner) maybeFinish() {
	if r.done.Done() || len(r.notices) > 0 || !r.b.Done() {
		return
	}
	r.p.detach()
	r.done.SetResult(struct{}{})
}

// interrupt ends the run early (Ctrl-C): attempts in flight are stopped,
// their requests and the notifications being sent are cancelled, and every
// unfinished job is marked CANCELLED.
func (r *callbackRunner) interrupt() {
	if r.done.Done() {
		return
	}
	for _, j := range r.b.Jobs { // in job order, for a tidy history
		r.endAttempt(j)
		r.b.interrupt(j)
	}
	r.queue = nil
	for _, f := range r.notices {
		f.Cancel()
	}
	r.p.detach()
	r.done.SetError(ErrInterrupted)
}
