package main

import (
	"fmt"
	"slices"
	"time"
)

// State is where a job is in its life:
//
//	QUEUED → RUNNING → SUCCEEDED
//	           │  ↑
//	           ↓  │ (failed or timed out, retries left: re-queued)
//	         QUEUED
//	           ⋮
//	RUNNING → FAILED (failed or timed out with no retries left)
//
// and, when the run is interrupted (Ctrl-C), QUEUED or RUNNING → CANCELLED.
type State int

// The job states.
const (
	Queued State = iota
	Running
	Succeeded
	Failed
	Cancelled
)

var stateNames = [...]string{"QUEUED", "RUNNING", "SUCCEEDED", "FAILED", "CANCELLED"}

// String returns the state's name in capitals, as the table prints it.
func (s State) String() string {
	if s < 0 || int(s) >= len(stateNames) {
		return fmt.Sprintf("State(%d)", int(s))
	}
	return stateNames[s]
}

// Terminal reports whether a job in this state will never move again.
func (s State) Terminal() bool { return s >= Succeeded }

// allowed lists the legal moves of the state machine.
var allowed = map[State][]State{
	Queued:  {Running, Cancelled},
	Running: {Queued, Succeeded, Failed, Cancelled},
}

// Transition is one move of a job, with the loop's time and why.
type Transition struct {
	At   time.Time
	To   State
	Note string
}

// Job is one unit of work the runner pushes through the workflow server.
// Jobs are only touched on the loop goroutine (by callbacks or task bodies),
// so they need no locks.
type Job struct {
	ID       string
	State    State
	Attempts int               // attempts started, the current one included
	RemoteID string            // the server's id of the latest attempt
	Message  string            // the latest message: the server's, or why it failed
	Extra    map[string]string // extra fields of the final status
	History  []Transition      // every move, the first being the initial QUEUED
}

// moveTo moves j to state s at time at. An illegal move is a bug in a
// runner, so it panics.
func (j *Job) moveTo(at time.Time, s State, note string) {
	if !slices.Contains(allowed[j.State], s) {
		panic(fmt.Sprintf("workflow: %s cannot move from %s to %s", j.ID, j.State, s))
	}
	j.State = s
	j.Message = note
	j.History = append(j.History, Transition{At: at, To: s, Note: note})
}

// Started returns when j first started running, or the zero time.
func (j *Job) Started() time.Time {
	for _, t := range j.History {
		if t.To == Running {
			return t.At
		}
	}
	return time.Time{}
}

// Duration is how long j took from its first start to its end (or to its
// latest move, while it is not done).
func (j *Job) Duration() time.Duration {
	start := j.Started()
	if start.IsZero() {
		return 0
	}
	return j.History[len(j.History)-1].At.Sub(start)
}

// Board is the run's shared bookkeeping: the jobs, and counters of what
// happened to them. Both runner styles move jobs only through the Board's
// methods, so they keep the same books and report the same events; they
// differ only in how they decide when to call them.
//
// A Board is touched only on the loop goroutine.
type Board struct {
	Jobs []*Job

	Retries      int // attempts re-queued after a failure or a timeout
	Timeouts     int // attempts that ran past the job timeout
	Notified     int // failure notifications delivered
	NotifyErrors int // failure notifications that could not be delivered

	clock   func() time.Time
	byID    map[string]*Job
	onEvent func(string) // where noteworthy moves are reported; may be nil
}

// NewBoard returns a board of n queued jobs, named job-01, job-02, ...
func NewBoard(n int) *Board {
	b := &Board{byID: make(map[string]*Job, n), clock: time.Now}
	width := max(2, len(fmt.Sprint(n)))
	for i := 1; i <= n; i++ {
		j := &Job{ID: fmt.Sprintf("job-%0*d", width, i)}
		b.Jobs = append(b.Jobs, j)
		b.byID[j.ID] = j
	}
	return b
}

// attach makes the board read time from the loop's clock and stamps every
// job's initial QUEUED state.
func (b *Board) attach(now func() time.Time) {
	b.clock = now
	for _, j := range b.Jobs {
		if len(j.History) == 0 {
			j.History = append(j.History, Transition{At: now(), To: Queued, Note: "submitted to the runner"})
		}
	}
}

// Job returns the job with the given id, or nil.
func (b *Board) Job(id string) *Job { return b.byID[id] }

// Done reports whether every job is in a terminal state.
func (b *Board) Done() bool {
	for _, j := range b.Jobs {
		if !j.State.Terminal() {
			return false
		}
	}
	return true
}

// Count returns how many jobs are in state s.
func (b *Board) Count(s State) int {
	n := 0
	for _, j := range b.Jobs {
		if j.State == s {
			n++
		}
	}
	return n
}

func (b *Board) event(format string, args ...any) {
	if b.onEvent != nil {
		b.onEvent(fmt.Sprintf(format, args...))
	}
}

// start moves j from QUEUED to RUNNING for a new attempt.
func (b *Board) start(j *Job) {
	j.Attempts++
	j.RemoteID = ""
	j.moveTo(b.clock(), Running, fmt.Sprintf("attempt %d", j.Attempts))
}

// submitted records the server's id of j's running attempt.
func (b *Board) submitted(j *Job, remoteID string) { j.RemoteID = remoteID }

// succeed ends j: the workflow server reported success.
func (b *Board) succeed(j *Job, msg string, extra map[string]string) {
	j.Extra = extra
	j.moveTo(b.clock(), Succeeded, msg)
}

// requeue puts j back in the queue after a failed attempt.
func (b *Board) requeue(j *Job, why string) {
	b.Retries++
	j.moveTo(b.clock(), Queued, why)
	b.event("%s attempt %d%s: %s; re-queued", j.ID, j.Attempts, remoteSuffix(j), why)
}

// fail ends j after its last attempt failed.
func (b *Board) fail(j *Job, why string, extra map[string]string) {
	j.Extra = extra
	j.moveTo(b.clock(), Failed, why)
	b.event("%s FAILED after %s%s: %s", j.ID, count(j.Attempts, "attempt"), remoteSuffix(j), why)
}

// remoteSuffix is " (wf-0042)" for a job whose attempt has a remote id.
func remoteSuffix(j *Job) string {
	if j.RemoteID == "" {
		return ""
	}
	return " (" + j.RemoteID + ")"
}

// timedOut counts an attempt that ran too long.
func (b *Board) timedOut(j *Job) { b.Timeouts++ }

// interrupt ends a job that had not finished when the run was interrupted.
func (b *Board) interrupt(j *Job) {
	if !j.State.Terminal() {
		j.moveTo(b.clock(), Cancelled, "interrupted")
	}
}

// notified records the outcome of j's failure notification.
func (b *Board) notified(j *Job, err error) {
	if err != nil {
		b.NotifyErrors++
		b.event("%s: failure notification not sent: %v", j.ID, err)
		return
	}
	b.Notified++
	b.event("%s: failure notification sent", j.ID)
}
