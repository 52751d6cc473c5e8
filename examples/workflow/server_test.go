package main

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPlanDependsOnlyOnSeedJobAndAttempt(t *testing.T) {
	a, b := NewService(42, 0.3, 0.2), NewService(42, 0.3, 0.2)
	other := NewService(43, 0.3, 0.2)
	differs := false
	for i := 1; i <= 50; i++ {
		job := fmt.Sprintf("job-%02d", i)
		for attempt := 1; attempt <= 3; attempt++ {
			p := a.Plan(job, attempt)
			assert.Equal(t, p, a.Plan(job, attempt), "asked twice")
			assert.Equal(t, p, b.Plan(job, attempt), "another service, same seed")
			assert.GreaterOrEqual(t, p.Polls, 1)
			differs = differs || other.Plan(job, attempt).Outcome != p.Outcome
		}
	}
	assert.True(t, differs, "another seed gives other outcomes")
}

func TestPlanFollowsTheRates(t *testing.T) {
	cases := []struct {
		fail, hang float64
		want       Outcome
	}{
		{0, 0, Succeed},
		{1, 0, Fail},
		{0, 1, Hang},
	}
	for _, tc := range cases {
		svc := NewService(7, tc.fail, tc.hang)
		for i := 1; i <= 20; i++ {
			assert.Equal(t, tc.want, svc.Plan(fmt.Sprintf("job-%02d", i), 1).Outcome, "fail %v hang %v", tc.fail, tc.hang)
		}
	}
	// Mixed rates give a mix.
	seen := map[Outcome]int{}
	svc := NewService(7, 0.3, 0.3)
	for i := 1; i <= 200; i++ {
		seen[svc.Plan(fmt.Sprintf("job-%03d", i), 1).Outcome]++
	}
	assert.Len(t, seen, 3)
}

func TestServiceReportsRunningThenTheEnd(t *testing.T) {
	svc := NewService(9, 0.4, 0.3)
	for i := 1; i <= 30; i++ {
		job := fmt.Sprintf("job-%02d", i)
		p := svc.Plan(job, 1)
		id := svc.Submit(job, 1)
		for check := 1; check <= p.Polls; check++ {
			st, ok := svc.Status(id)
			require.True(t, ok)
			assert.Equal(t, remoteRunning, st.State, "%s check %d", job, check)
		}
		st, _ := svc.Status(id)
		switch p.Outcome {
		case Succeed:
			assert.Equal(t, remoteSucceeded, st.State, job)
			assert.Equal(t, p.Message, st.Message, job)
			assert.Contains(t, st.Extra, "rows", job)
		case Fail:
			assert.Equal(t, remoteFailed, st.State, job)
			assert.Equal(t, p.Message, st.Message, job)
			assert.Contains(t, st.Extra, "exit_status", job)
		case Hang:
			for range 10 {
				st, _ = svc.Status(id)
				assert.Equal(t, remoteRunning, st.State, "%s hangs", job)
			}
		}
	}
	_, ok := svc.Status("wf-9999")
	assert.False(t, ok)
}

func TestServerOverHTTP(t *testing.T) {
	svc := NewService(5, 0, 0) // every attempt succeeds
	srv, err := StartServer(svc)
	require.NoError(t, err)
	defer srv.Close()
	be := NewHTTPBackend(srv.URL, Mailer{})
	defer be.Close()

	id, err := be.Submit(t.Context(), "job-01", 2)
	require.NoError(t, err)
	assert.Equal(t, "wf-0001", id)
	p := svc.Plan("job-01", 2)
	var st Status
	for range p.Polls + 1 {
		st, err = be.Status(t.Context(), id)
		require.NoError(t, err)
	}
	assert.Equal(t, Status{ID: id, Job: "job-01", Attempt: 2, State: remoteSucceeded, Message: p.Message, Extra: p.Extra}, st)

	_, err = be.Status(t.Context(), "wf-0404")
	assert.ErrorContains(t, err, "404 Not Found")

	resp, err := http.Post(srv.URL+"/jobs", "application/json", strings.NewReader(`{"job": ""}`))
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	http.DefaultClient.CloseIdleConnections()
}

func TestServerClosedRefusesRequests(t *testing.T) {
	srv, err := StartServer(NewService(1, 0, 0))
	require.NoError(t, err)
	require.NoError(t, srv.Close())
	be := NewHTTPBackend(srv.URL, Mailer{})
	defer be.Close()
	_, err = be.Submit(t.Context(), "job-01", 1)
	assert.Error(t, err)
}
