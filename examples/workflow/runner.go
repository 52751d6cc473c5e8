package main

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// The runner pushes every job through the workflow server:
//
//  1. take a job from the queue while fewer than Concurrency jobs run;
//  2. submit it (off the loop) and get the server's id for the attempt;
//  3. check its status every Poll until the server says it ended;
//  4. on success, the job is done; on failure, or if the attempt runs past
//     Timeout, re-queue the job while it has retries left, else mark it
//     failed and send a failure notification (off the loop).
//
// It is written twice over the same loop: runner_callbacks.go as the
// production pattern it comes from (every step a callback: on_complete,
// on_error, on_timeout), runner_await.go with one task per job, where the
// same steps read top to bottom. Both keep their books on the same Board,
// so for the same seed they end with the same job states.

// Config is how the runner treats jobs.
type Config struct {
	Concurrency int           // jobs running at once
	MaxRetries  int           // re-queues after the first attempt
	Timeout     time.Duration // how long one attempt may run
	Poll        time.Duration // between status checks
}

// canRetry reports whether j, whose attempt just failed, may run again.
func (c Config) canRetry(j *Job) bool { return j.Attempts <= c.MaxRetries }

// timeoutMessage is the message of an attempt that ran too long.
func (c Config) timeoutMessage() string { return fmt.Sprintf("timed out after %v", c.Timeout) }

// Style is how the runner is written.
type Style string

// The runner styles.
const (
	Callbacks Style = "callbacks"
	Await     Style = "await"
)

// ErrInterrupted is what a run returns when its context ended before every
// job finished; the unfinished jobs are then CANCELLED.
var ErrInterrupted = errors.New("workflow: interrupted")

// Execute runs the jobs on b in the given style on a loop of its own, and
// returns when every job has finished and every notification has been
// dealt with, or, when ctx ends first, with ErrInterrupted once the jobs in
// flight are marked and their requests are cancelled. p, if not nil, shows
// progress. Execute returns only when no goroutine it started is left.
func Execute(ctx context.Context, style Style, cfg Config, be Backend, b *Board, p *Progress) error {
	if cfg.Concurrency < 1 {
		return errors.New("workflow: concurrency must be at least 1")
	}
	switch style {
	case Callbacks:
		return runCallbacks(ctx, cfg, be, b, p)
	case Await:
		return runAwait(ctx, cfg, be, b, p)
	}
	return fmt.Errorf("workflow: unknown style %q (want %q or %q)", style, Callbacks, Await)
}
