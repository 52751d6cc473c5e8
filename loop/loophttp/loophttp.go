// Package loophttp serves a running loop's tasks and counters over HTTP, in
// the spirit of net/http/pprof: the task tree, the task table and the
// loop's Stats, as text or JSON. It starts no server and registers nothing:
// a program mounts Handler on a mux of its own.
//
//	mux := http.NewServeMux()
//	mux.Handle("/debug/aio/", loophttp.Handler(l))
//	go http.ListenAndServe("localhost:6060", mux)
//
// Then:
//
//	curl localhost:6060/debug/aio/tree               # like python -m asyncio pstree
//	curl localhost:6060/debug/aio/table              # like python -m asyncio ps
//	curl localhost:6060/debug/aio/stats
//	curl 'localhost:6060/debug/aio/tree?format=json'
//
// Each request takes a loop.Snapshot through Loop.SnapshotThreadsafe: a loop
// that is idle wakes up for it; a loop whose goroutine is blocked in a
// callback cannot answer, and the request fails with 503 Service
// Unavailable after its timeout (DefaultTimeout, or HandlerTimeout's) rather
// than hang.
package loophttp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"path"
	"time"

	"github.com/aio-go/aio/loop"
)

// DefaultTimeout is how long a request waits for the loop by default.
const DefaultTimeout = 5 * time.Second

// Handler returns the handler of l's debug pages, with DefaultTimeout. It
// serves, under whatever prefix it is mounted at:
//
//   - .../tree: the tasks as a tree (Snapshot.WriteTree);
//   - .../table: the tasks as a table (Snapshot.WriteTable);
//   - .../stats: the loop's Stats;
//   - anything else: an index of the three.
//
// With ?format=json, tree and table serve the Snapshot as JSON (its tasks
// carry the edges from which a client builds the tree), and stats the
// Stats. Only GET and HEAD are allowed.
func Handler(l *loop.Loop) http.Handler {
	return HandlerTimeout(l, DefaultTimeout)
}

// HandlerTimeout is Handler with how long each request waits for the loop
// to take its snapshot; d <= 0 means only as long as the request's own
// context.
func HandlerTimeout(l *loop.Loop, d time.Duration) http.Handler {
	if l == nil {
		panic("loophttp: Handler: nil loop")
	}
	return &handler{l: l, timeout: d}
}

type handler struct {
	l       *loop.Loop
	timeout time.Duration
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "loophttp: method not allowed", http.StatusMethodNotAllowed)
		return
	}
	page := path.Base(r.URL.Path)
	if page != "tree" && page != "table" && page != "stats" {
		h.index(w)
		return
	}
	ctx := r.Context()
	if h.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, h.timeout)
		defer cancel()
	}
	s, err := h.l.SnapshotThreadsafe(ctx)
	if err != nil {
		code := http.StatusServiceUnavailable
		if errors.Is(err, context.Canceled) {
			code = http.StatusRequestTimeout
		}
		http.Error(w, "loophttp: "+err.Error(), code)
		return
	}
	asJSON := r.URL.Query().Get("format") == "json"
	if asJSON {
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		var v any = s
		if page == "stats" {
			v = s.Stats
		}
		enc.Encode(v)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	switch page {
	case "tree":
		s.WriteTree(w)
	case "table":
		s.WriteTable(w)
	case "stats":
		writeStats(w, s)
	}
}

func (h *handler) index(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	fmt.Fprint(w, `<!DOCTYPE html>
<html><head><title>aio loop</title></head><body>
<h1>aio loop</h1>
<ul>
<li><a href="tree">tree</a> (<a href="tree?format=json">json</a>): the tasks, nested under those that await them, and the await cycles</li>
<li><a href="table">table</a> (<a href="table?format=json">json</a>): a line per task</li>
<li><a href="stats">stats</a> (<a href="stats?format=json">json</a>): the loop's counters</li>
</ul>
</body></html>
`)
}

func writeStats(w http.ResponseWriter, s *loop.Snapshot) {
	st := s.Stats
	fmt.Fprintf(w, "iterations        %d\n", st.Iterations)
	fmt.Fprintf(w, "callbacks run     %d\n", st.CallbacksRun)
	fmt.Fprintf(w, "panics            %d\n", st.Panics)
	fmt.Fprintf(w, "exceptions        %d\n", st.Exceptions)
	fmt.Fprintf(w, "slow callbacks    %d\n", st.SlowCallbacks)
	fmt.Fprintf(w, "discarded         %d (timers %d)\n", st.Discarded, st.DiscardedTimers)
	fmt.Fprintf(w, "ready             %d\n", st.Ready)
	fmt.Fprintf(w, "timers            %d (cancelled %d)\n", st.Timers, st.CancelledTimers)
	fmt.Fprintf(w, "tasks             %d\n", st.Tasks)
	fmt.Fprintf(w, "await cycles      %d\n", len(s.Cycles))
}
