package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
)

// Backend is everything the runner does that blocks: the workflow server's
// API and the failure notification. Both runner styles call it only off the
// loop goroutine (through loop.RunInExecutor or loop.ToThread), so a slow
// server never stalls the loop, and each call gets a context that is
// cancelled when its future is (a timed-out or interrupted job).
//
// HTTPBackend is the real one; the tests also use an in-memory one, which
// lets them run inside testing/synctest, where time is virtual but real
// network I/O would keep the bubble from ever going idle.
//
// Implementations must be safe for concurrent use by multiple goroutines.
type Backend interface {
	// Submit starts an attempt of a job on the workflow server and returns
	// the server's id for it.
	Submit(ctx context.Context, job string, attempt int) (remoteID string, err error)
	// Status checks on an attempt.
	Status(ctx context.Context, remoteID string) (Status, error)
	// Notify tells a human that a job failed for good.
	Notify(ctx context.Context, n Notice) error
}

// HTTPBackend talks to the workflow server over HTTP and sends notices by
// e-mail. Safe for concurrent use by multiple goroutines.
type HTTPBackend struct {
	base   string
	mailer Mailer
	// A transport of its own, so that Close can drop its idle keep-alive
	// connections (and their goroutines) when the run is over.
	transport *http.Transport
	client    *http.Client
}

// NewHTTPBackend returns a backend for the workflow server at baseURL that
// mails notices with m.
func NewHTTPBackend(baseURL string, m Mailer) *HTTPBackend {
	t := &http.Transport{MaxIdleConnsPerHost: 16}
	return &HTTPBackend{base: baseURL, mailer: m, transport: t, client: &http.Client{Transport: t}}
}

// Close closes the backend's idle connections.
func (b *HTTPBackend) Close() { b.transport.CloseIdleConnections() }

// Submit is POST /jobs.
func (b *HTTPBackend) Submit(ctx context.Context, job string, attempt int) (string, error) {
	body, _ := json.Marshal(submitRequest{Job: job, Attempt: attempt})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, b.base+"/jobs", bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	var out struct {
		ID string `json:"id"`
	}
	if err := b.do(req, http.StatusCreated, &out); err != nil {
		return "", fmt.Errorf("submit %s: %w", job, err)
	}
	return out.ID, nil
}

// Status is GET /jobs/{id}.
func (b *HTTPBackend) Status(ctx context.Context, remoteID string) (Status, error) {
	var st Status
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, b.base+"/jobs/"+url.PathEscape(remoteID), nil)
	if err != nil {
		return st, err
	}
	if err := b.do(req, http.StatusOK, &st); err != nil {
		return st, fmt.Errorf("status %s: %w", remoteID, err)
	}
	return st, nil
}

// Notify e-mails n.
func (b *HTTPBackend) Notify(ctx context.Context, n Notice) error {
	return b.mailer.Send(ctx, n)
}

// do sends req and decodes a JSON answer with the wanted status code.
func (b *HTTPBackend) do(req *http.Request, want int, out any) error {
	resp, err := b.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != want {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("%s: %s", resp.Status, bytes.TrimSpace(msg))
	}
	return json.NewDecoder(resp.Body).Decode(out)
}
