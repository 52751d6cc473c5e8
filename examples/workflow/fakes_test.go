package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// memBackend is a Backend without a network: it calls the workflow
// Service directly and records notices. Its calls return at once, or, for
// the jobs in stuck, block until their context is cancelled, like a server
// that stopped answering. It lets the runners run inside testing/synctest,
// where real sockets would keep the bubble from ever being idle.
type memBackend struct {
	svc       *Service
	stuck     map[string]bool // jobs whose status checks never answer
	notifyErr error           // what Notify fails with, if not nil

	mu        sync.Mutex
	notices   []Notice
	abandoned int // calls that returned because their context was cancelled
}

func newMemBackend(svc *Service) *memBackend { return &memBackend{svc: svc} }

func (m *memBackend) Submit(ctx context.Context, job string, attempt int) (string, error) {
	return m.svc.Submit(job, attempt), nil
}

func (m *memBackend) Status(ctx context.Context, remoteID string) (Status, error) {
	st, ok := m.svc.Status(remoteID)
	if !ok {
		return Status{}, fmt.Errorf("status %s: 404 Not Found", remoteID)
	}
	if m.stuck[st.Job] {
		<-ctx.Done()
		m.mu.Lock()
		m.abandoned++
		m.mu.Unlock()
		return Status{}, ctx.Err()
	}
	return st, nil
}

func (m *memBackend) Notify(ctx context.Context, n Notice) error {
	if m.notifyErr != nil {
		return m.notifyErr
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.notices = append(m.notices, n)
	return nil
}

// noticed returns the notices sent, by job id.
func (m *memBackend) noticed() map[string]Notice {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[string]Notice)
	for _, n := range m.notices {
		out[n.JobID] = n
	}
	return out
}

var errMailDown = errors.New("mail server down")

// outcome is the part of a job's end that does not depend on timing.
type outcome struct {
	State    State
	Attempts int
}

// model works out from the service's plans alone how every job must end:
// the first attempt that succeeds ends it SUCCEEDED; after MaxRetries+1
// attempts that fail or hang, it is FAILED. It also counts the retries and
// the timeouts (hung attempts) on the way.
func model(svc *Service, jobs []string, maxRetries int) (want map[string]outcome, retries, timeouts int) {
	want = make(map[string]outcome)
	for _, job := range jobs {
		o := outcome{State: Failed}
		for a := 1; a <= maxRetries+1; a++ {
			o.Attempts = a
			p := svc.Plan(job, a)
			if p.Outcome == Succeed {
				o.State = Succeeded
				break
			}
			if p.Outcome == Hang {
				timeouts++
			}
			if a <= maxRetries {
				retries++
			}
		}
		want[job] = o
	}
	return want, retries, timeouts
}

func jobIDs(b *Board) []string {
	ids := make([]string, len(b.Jobs))
	for i, j := range b.Jobs {
		ids[i] = j.ID
	}
	return ids
}

func outcomes(b *Board) map[string]outcome {
	got := make(map[string]outcome)
	for _, j := range b.Jobs {
		got[j.ID] = outcome{State: j.State, Attempts: j.Attempts}
	}
	return got
}
