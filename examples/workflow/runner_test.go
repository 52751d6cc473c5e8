package main

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// These tests run the runners inside testing/synctest bubbles with the
// in-memory backend: poll intervals and timeouts pass in virtual time, so
// a run of many seconds takes a few milliseconds and always interleaves
// the same way.

var styles = []Style{Callbacks, Await}

// execMem runs jobs on a fresh board with be. Call it inside a bubble.
func execMem(ctx context.Context, style Style, cfg Config, jobs int, be *memBackend) (*Board, error) {
	b := NewBoard(jobs)
	err := Execute(ctx, style, cfg, be, b, nil)
	return b, err
}

func TestStylesEndAlike(t *testing.T) {
	cases := []struct {
		name                string
		seed                uint64
		jobs, conc, retries int
		fail, hang          float64
	}{
		{"defaults", defaults.seed, defaults.jobs, defaults.concurrency, defaults.maxRetries, defaults.failRate, defaults.hangRate},
		{"one at a time", 3, 6, 1, 1, 0.3, 0.2},
		{"all at once", 16, 12, 12, 2, 0.3, 0.2},
		{"no retries", 5, 10, 3, 0, 0.3, 0.3},
		{"mostly failing", 8, 10, 4, 3, 0.5, 0.3},
	}
	cfg := Config{Timeout: time.Second, Poll: 100 * time.Millisecond}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := cfg
			cfg.Concurrency, cfg.MaxRetries = tc.conc, tc.retries
			boards := map[Style]*Board{}
			notices := map[Style]map[string]Notice{}
			for _, style := range styles {
				synctest.Test(t, func(t *testing.T) {
					be := newMemBackend(NewService(tc.seed, tc.fail, tc.hang))
					b, err := execMem(t.Context(), style, cfg, tc.jobs, be)
					require.NoError(t, err, style)
					boards[style], notices[style] = b, be.noticed()
				})
			}
			cb, aw := boards[Callbacks], boards[Await]
			want, retries, timeouts := model(NewService(tc.seed, tc.fail, tc.hang), jobIDs(cb), tc.retries)

			for _, style := range styles {
				b := boards[style]
				assert.Equal(t, want, outcomes(b), "%s: job outcomes against the model", style)
				assert.Equal(t, retries, b.Retries, "%s: retries", style)
				assert.Equal(t, timeouts, b.Timeouts, "%s: timeouts", style)
				failed := failedIDs(b)
				assert.Equal(t, len(failed), b.Notified, "%s: notifications", style)
				assert.Equal(t, failed, slices.Sorted(maps.Keys(notices[style])), "%s: notified jobs", style)
				for _, j := range b.Jobs {
					checkHistory(t, style, j)
				}
			}
			for i, j := range cb.Jobs {
				k := aw.Jobs[i]
				assert.Equal(t, j.Message, k.Message, j.ID)
				assert.Equal(t, j.Extra, k.Extra, j.ID)
				assert.Equal(t, moves(j), moves(k), j.ID)
			}
		})
	}
}

func TestDefaultRunExercisesEverything(t *testing.T) {
	o := defaults
	for _, style := range styles {
		t.Run(string(style), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				be := newMemBackend(NewService(o.seed, o.failRate, o.hangRate))
				start := time.Now()
				b, err := execMem(t.Context(), style, o.config(), o.jobs, be)
				took := time.Since(start) // virtual: what the polls and timeouts cost
				require.NoError(t, err)
				assert.Positive(t, b.Retries, "retries")
				assert.Positive(t, b.Timeouts, "timeouts")
				assert.Positive(t, b.Notified, "notifications")
				assert.Len(t, be.noticed(), b.Notified)
				assert.Less(t, took, 15*time.Second, "the default run must stay short")
			})
		})
	}
}

// A status check that never answers holds one executor goroutine until the
// timeout cancels it; the other jobs' calls must not wait behind it (the
// executor grows up to WithWorkers goroutines).
func TestTimeoutAbandonsTheRequestInFlight(t *testing.T) {
	cfg := Config{Concurrency: 2, MaxRetries: 2, Timeout: time.Second, Poll: 100 * time.Millisecond}
	for _, style := range styles {
		t.Run(string(style), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				be := newMemBackend(NewService(1, 0, 0))   // every attempt would succeed...
				be.stuck = map[string]bool{"job-02": true} // ...but job-02's status checks never answer
				b, err := execMem(t.Context(), style, cfg, 4, be)
				require.NoError(t, err)

				stuck := b.Job("job-02")
				assert.Equal(t, Failed, stuck.State)
				assert.Equal(t, 3, stuck.Attempts)
				assert.Equal(t, "timed out after 1s", stuck.Message)
				assert.Equal(t, 3, b.Timeouts)
				assert.Equal(t, 3, be.abandoned, "each timed-out attempt cancels its status request")
				for _, id := range []string{"job-01", "job-03", "job-04"} {
					assert.Equal(t, outcome{Succeeded, 1}, outcomes(b)[id], id)
				}
				assert.Contains(t, be.noticed(), "job-02")
			})
		})
	}
}

// Interrupting a run cancels the requests in flight and marks the jobs
// that had not finished; the ones that had keep their state.
func TestInterruptMarksJobsInFlight(t *testing.T) {
	cfg := Config{Concurrency: 3, MaxRetries: 2, Timeout: time.Second, Poll: 100 * time.Millisecond}
	for _, style := range styles {
		t.Run(string(style), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				// job-01 is in flight when the run is interrupted; job-02 ends
				// before (its first attempt succeeds: at most 400ms); the
				// others come and go, failing sometimes, and several are
				// still queued.
				var svc *Service
				for seed := uint64(1); svc == nil || svc.Plan("job-02", 1).Outcome != Succeed; seed++ {
					svc = NewService(seed, 0.3, 0)
				}
				be := newMemBackend(svc)
				be.stuck = map[string]bool{"job-01": true}
				ctx, cancel := context.WithTimeout(t.Context(), 700*time.Millisecond)
				defer cancel()
				b, err := execMem(ctx, style, cfg, 12, be)
				require.ErrorIs(t, err, ErrInterrupted)

				var wasRunning, wasQueued int
				for _, j := range b.Jobs {
					require.True(t, j.State.Terminal(), "%s ended %s", j.ID, j.State)
					checkHistory(t, style, j)
					if j.State != Cancelled {
						continue
					}
					assert.Equal(t, "interrupted", j.Message, j.ID)
					switch j.History[len(j.History)-2].To {
					case Running:
						wasRunning++
					case Queued:
						wasQueued++
					}
				}
				assert.Equal(t, Cancelled, b.Job("job-01").State)
				assert.Equal(t, 1, be.abandoned, "job-01's status request was cancelled")
				assert.Positive(t, wasRunning, "jobs interrupted while running")
				assert.Positive(t, wasQueued, "jobs interrupted while queued")
				assert.Equal(t, Succeeded, b.Job("job-02").State, "a job finished before the interruption keeps its state")
			})
		})
	}
}

func TestFailedNotificationIsCounted(t *testing.T) {
	cfg := Config{Concurrency: 4, MaxRetries: 1, Timeout: time.Second, Poll: 100 * time.Millisecond}
	for _, style := range styles {
		t.Run(string(style), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				be := newMemBackend(NewService(4, 1, 0)) // every attempt fails
				be.notifyErr = errMailDown
				b, err := execMem(t.Context(), style, cfg, 5, be)
				require.NoError(t, err)
				assert.Equal(t, 5, b.Count(Failed))
				assert.Equal(t, 0, b.Notified)
				assert.Equal(t, 5, b.NotifyErrors)
			})
		})
	}
}

func TestExecuteRejectsBadSettings(t *testing.T) {
	be := newMemBackend(NewService(1, 0, 0))
	err := Execute(t.Context(), "threads", Config{Concurrency: 1}, be, NewBoard(1), nil)
	assert.ErrorContains(t, err, `unknown style "threads"`)
	err = Execute(t.Context(), Await, Config{}, be, NewBoard(1), nil)
	assert.ErrorContains(t, err, "concurrency")
}

func TestIllegalMovePanics(t *testing.T) {
	b := NewBoard(1)
	j := b.Jobs[0]
	assert.PanicsWithValue(t, "workflow: job-01 cannot move from QUEUED to SUCCEEDED", func() {
		b.succeed(j, "too soon", nil)
	})
	b.start(j)
	b.fail(j, "broken", nil)
	assert.Panics(t, func() { b.start(j) }, "a FAILED job never runs again")
	b.interrupt(j)
	assert.Equal(t, Failed, j.State, "interrupting a finished job changes nothing")
}

// checkHistory checks that j's history starts QUEUED, ends in j's state,
// and that its times never go back.
func checkHistory(t *testing.T, style Style, j *Job) {
	t.Helper()
	h := j.History
	require.NotEmpty(t, h, "%s %s", style, j.ID)
	assert.Equal(t, Queued, h[0].To, "%s %s", style, j.ID)
	assert.Equal(t, j.State, h[len(h)-1].To, "%s %s", style, j.ID)
	for i := 1; i < len(h); i++ {
		assert.False(t, h[i].At.Before(h[i-1].At), "%s %s: move %d goes back in time", style, j.ID, i)
	}
}

// moves is the sequence of states j went through, with their notes.
func moves(j *Job) []string {
	var out []string
	for _, m := range j.History {
		out = append(out, fmt.Sprintf("%s: %s", m.To, m.Note))
	}
	return out
}

func failedIDs(b *Board) []string {
	var ids []string
	for _, j := range b.Jobs {
		if j.State == Failed {
			ids = append(ids, j.ID)
		}
	}
	return ids
}
