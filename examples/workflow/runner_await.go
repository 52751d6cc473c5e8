package main

import (
	"context"
	"errors"

	"github.com/aio-go/aio/future"
	"github.com/aio-go/aio/loop"
)

// This is the same runner with one task per job. A job's whole life, with
// its retries, is one loop in runJob; the status checker is a for loop
// around loop.Sleep; the blocking calls go through loop.ToThread, which
// runs them off the loop and suspends only the task. What the callback
// style spreads over handlers and "is this attempt still current?" checks
// is here the shape of the code: the attempt runs under loop.WithTimeout
// (asyncio.timeout), which cancels it at the deadline, and cancellation
// unwinds it like an error.
//
// Concurrency is a loop.Semaphore with Concurrency units: a job holds one
// while an attempt runs and gives it back before it retries, so a retry
// queues behind the jobs already waiting, as the callback style's re-queue
// does.
//
// Only loop.Run cancels the job tasks, when the run is interrupted: so in a
// job task, an error matching future.ErrCancelled means "interrupted".

// awaitRunner is what the job tasks share. It is touched only on the loop
// goroutine (task bodies run there, one at a time).
type awaitRunner struct {
	cfg   Config
	be    Backend
	b     *Board
	slots *loop.Semaphore
}

// runAwait runs b's jobs as tasks, under loop.Run: when ctx ends, the main
// task is cancelled, which cancels the job tasks through Gather.
func runAwait(ctx context.Context, cfg Config, be Backend, b *Board, p *Progress) error {
	_, err := loop.Run(ctx, func(co *loop.Coro) (struct{}, error) {
		l := co.Loop()
		b.attach(l.Now)
		p.attach(l, b)
		defer p.detach()

		r := &awaitRunner{cfg: cfg, be: be, b: b, slots: loop.NewSemaphore(cfg.Concurrency)}
		jobs := make([]*loop.Task[struct{}], len(b.Jobs))
		for i, j := range b.Jobs {
			jobs[i] = loop.GoNamed(l, j.ID, func(co *loop.Coro) error { return r.runJob(co, j) })
		}
		_, err := loop.Await(co, loop.GatherSettled(l, jobs...))
		return struct{}{}, err
	})
	if err != nil && ctx.Err() != nil {
		return ErrInterrupted
	}
	return err
}

// runJob is one job, from QUEUED to SUCCEEDED or FAILED, retries included.
// If the task is cancelled (the run is interrupted), the job ends CANCELLED
// and runJob returns the cancellation.
func (r *awaitRunner) runJob(co *loop.Coro, j *Job) error {
	for {
		if err := r.slots.Acquire(co); err != nil {
			r.b.interrupt(j)
			return err
		}
		r.b.start(j)
		st, err := r.attempt(co, j)
		r.slots.Release()

		var msg string
		var extra map[string]string
		switch {
		case errors.Is(err, future.ErrCancelled):
			r.b.interrupt(j)
			return err
		case errors.Is(err, loop.ErrTimeout):
			r.b.timedOut(j)
			msg = r.cfg.timeoutMessage()
		case err != nil:
			msg = err.Error()
		case st.State == remoteSucceeded:
			r.b.succeed(j, st.Message, st.Extra)
			return nil
		default:
			msg, extra = st.Message, st.Extra
		}
		if !r.cfg.canRetry(j) {
			r.b.fail(j, msg, extra)
			return r.notify(co, j)
		}
		r.b.requeue(j, msg)
	}
}

// attempt runs one attempt of j: submit, then check the status every Poll
// until the server says it ended. After Timeout it gives up, with
// loop.ErrTimeout; the request in flight then is cancelled with it.
func (r *awaitRunner) attempt(co *loop.Coro, j *Job) (st Status, err error) {
	// The functions given to ToThread run on executor goroutines: they must
	// not touch j, which belongs to the loop, so they get copies.
	id, n := j.ID, j.Attempts
	err = loop.WithTimeout(co, r.cfg.Timeout, func(*loop.Timeout) error {
		remoteID, err := loop.ToThread(co, func(ctx context.Context) (string, error) {
			return r.be.Submit(ctx, id, n)
		})
		if err != nil {
			return err
		}
		r.b.submitted(j, remoteID)
		for {
			if err := loop.Sleep(co, r.cfg.Poll); err != nil {
				return err
			}
			st, err = loop.ToThread(co, func(ctx context.Context) (Status, error) {
				return r.be.Status(ctx, remoteID)
			})
			if err != nil || st.State != remoteRunning {
				return err
			}
		}
	})
	return st, err
}

// notify sends j's failure notification off the loop and waits for it.
func (r *awaitRunner) notify(co *loop.Coro, j *Job) error {
	n := newNotice(j)
	_, err := loop.ToThread(co, func(ctx context.Context) (struct{}, error) {
		return struct{}{}, r.be.Notify(ctx, n)
	})
	if errors.Is(err, future.ErrCancelled) {
		return err // interrupted: the job stays FAILED, the notice unsent
	}
	r.b.notified(j, err)
	return nil
}
