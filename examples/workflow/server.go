package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// This file is the workflow server the runner talks to: a stand-in for a
// real one (a batch scheduler, a CI system, a render farm), embedded so the
// example runs with no set-up. It speaks plain JSON over HTTP:
//
//	POST /jobs      {"job": "job-01", "attempt": 1}  →  201 {"id": "wf-0001"}
//	GET  /jobs/{id}                                  →  200 {"state": "running", ...}
//
// How each attempt ends is decided by the seed and the (job, attempt) pair
// alone, never by timing: the attempt succeeds or fails after a few status
// checks, or hangs forever. So a run with a given seed ends the same way
// whichever runner style drives it and however the requests interleave.

// Remote states reported by GET /jobs/{id}.
const (
	remoteRunning   = "running"
	remoteSucceeded = "succeeded"
	remoteFailed    = "failed"
)

// Status is the server's answer to a status check.
type Status struct {
	ID      string            `json:"id"`
	Job     string            `json:"job"`
	Attempt int               `json:"attempt"`
	State   string            `json:"state"` // running, succeeded or failed
	Message string            `json:"message"`
	Extra   map[string]string `json:"extra,omitempty"`
}

// Outcome is how an attempt ends.
type Outcome int

// The outcomes of an attempt.
const (
	Succeed Outcome = iota
	Fail
	Hang
)

// Plan is the fate of one attempt: its outcome, how many status checks
// report "running" before it ends, and its final message and extra fields.
type Plan struct {
	Outcome Outcome
	Polls   int
	Message string
	Extra   map[string]string
}

var failures = []struct {
	status int
	reason string
}{
	{1, "out of memory"},
	{2, "input file not found"},
	{137, "killed by the scheduler"},
	{3, "upstream service unavailable"},
}

// Service is the workflow server's logic, without the HTTP: tests drive it
// directly. It is safe for concurrent use by multiple goroutines.
type Service struct {
	seed     uint64
	failRate float64
	hangRate float64

	mu   sync.Mutex
	next int
	runs map[string]*remoteRun
}

// remoteRun is one submitted attempt and the status checks it has had.
type remoteRun struct {
	job     string
	attempt int
	plan    Plan
	checks  int
}

// NewService returns a service whose attempts fail with probability
// failRate and hang with probability hangRate, drawn from seed.
func NewService(seed uint64, failRate, hangRate float64) *Service {
	return &Service{seed: seed, failRate: failRate, hangRate: hangRate, runs: make(map[string]*remoteRun)}
}

// Plan returns the fate of the given attempt of job: the same for the same
// seed, job and attempt, every time.
func (s *Service) Plan(job string, attempt int) Plan {
	h := fnv.New64a()
	h.Write([]byte(job))
	r := rand.New(rand.NewPCG(s.seed, h.Sum64()+uint64(attempt)*0x9e3779b97f4a7c15))
	x := r.Float64()
	p := Plan{
		Polls: 1 + r.IntN(3),
		Extra: map[string]string{"worker": fmt.Sprintf("node-%d", 1+r.IntN(4))},
	}
	switch {
	case x < s.hangRate:
		p.Outcome = Hang
	case x < s.hangRate+s.failRate:
		p.Outcome = Fail
		f := failures[r.IntN(len(failures))]
		p.Message = fmt.Sprintf("exit status %d: %s", f.status, f.reason)
		p.Extra["exit_status"] = strconv.Itoa(f.status)
	default:
		rows := 1000 + r.IntN(9000)
		p.Message = fmt.Sprintf("done: %d rows written", rows)
		p.Extra["rows"] = strconv.Itoa(rows)
	}
	return p
}

// Submit starts an attempt and returns its remote id.
func (s *Service) Submit(job string, attempt int) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.next++
	id := fmt.Sprintf("wf-%04d", s.next)
	s.runs[id] = &remoteRun{job: job, attempt: attempt, plan: s.Plan(job, attempt)}
	return id
}

// Status is one status check of the attempt id; it reports false if there
// is no such attempt.
func (s *Service) Status(id string) (Status, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	run, ok := s.runs[id]
	if !ok {
		return Status{}, false
	}
	run.checks++
	st := Status{ID: id, Job: run.job, Attempt: run.attempt, State: remoteRunning}
	p := run.plan
	switch {
	case p.Outcome == Hang || run.checks <= p.Polls:
		st.Message = fmt.Sprintf("running on %s (check %d)", p.Extra["worker"], run.checks)
	case p.Outcome == Fail:
		st.State, st.Message, st.Extra = remoteFailed, p.Message, p.Extra
	default:
		st.State, st.Message, st.Extra = remoteSucceeded, p.Message, p.Extra
	}
	return st, true
}

// Server serves a Service over HTTP on a loopback port.
type Server struct {
	URL string // base URL, such as http://127.0.0.1:41234

	svc    *Service
	srv    *http.Server
	served chan error
}

// StartServer serves svc on 127.0.0.1 at a free port until Close.
func StartServer(svc *Service) (*Server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &Server{URL: "http://" + ln.Addr().String(), svc: svc, served: make(chan error, 1)}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /jobs", s.submit)
	mux.HandleFunc("GET /jobs/{id}", s.status)
	s.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { s.served <- s.srv.Serve(ln) }()
	return s, nil
}

// Close stops the server, closing its connections, and waits for it.
func (s *Server) Close() error {
	err := s.srv.Close()
	if serr := <-s.served; !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	return err
}

// submitRequest is the body of POST /jobs.
type submitRequest struct {
	Job     string `json:"job"`
	Attempt int    `json:"attempt"`
}

func (s *Server) submit(w http.ResponseWriter, r *http.Request) {
	var req submitRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Job == "" || req.Attempt < 1 {
		http.Error(w, "want {\"job\": name, \"attempt\": n >= 1}", http.StatusBadRequest)
		return
	}
	id := s.svc.Submit(req.Job, req.Attempt)
	writeJSON(w, http.StatusCreated, map[string]string{"id": id})
}

func (s *Server) status(w http.ResponseWriter, r *http.Request) {
	st, ok := s.svc.Status(r.PathValue("id"))
	if !ok {
		http.Error(w, "no such job", http.StatusNotFound)
		return
	}
	writeJSON(w, http.StatusOK, st)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
