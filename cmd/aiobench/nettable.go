package main

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// netTable is the network benchmark's results: res[server][cell], one
// outcome per round in which the server ran.
type netTable struct {
	header  string
	servers []netServer
	cells   []netCell
	res     [][][]netOutcome
	reps    int
	client  clientConfig
}

// Metrics of a netResult, by cell kind.
var (
	metricOps       = func(r netResult) float64 { return r.OpsPerSec }
	metricMiBps     = func(r netResult) float64 { return r.MiBps }
	metricP50       = func(r netResult) float64 { return r.P50us }
	metricP99       = func(r netResult) float64 { return r.P99us }
	metricN2Delta   = func(r netResult) float64 { return r.PeakRSS - r.BaseRSS }
	metricN2Pause   = func(r netResult) float64 { return r.PausePeak - r.PauseRSS }
	metricPauseRSS  = func(r netResult) float64 { return r.PauseRSS }
	metricPausePeak = func(r netResult) float64 { return r.PausePeak }
	metricBase      = func(r netResult) float64 { return r.BaseRSS }
	metricPeak      = func(r netResult) float64 { return r.PeakRSS }
	metricOpen      = func(r netResult) float64 { return r.OpenRSS }
	metricPerConn   = func(r netResult) float64 { return r.KiBPerConn }
	metricThreads   = func(r netResult) float64 { return float64(r.Threads) }
	metricOpenSec   = func(r netResult) float64 { return r.Seconds }
)

// ok returns the results of the rounds that succeeded.
func okResults(outs []netOutcome) []netResult {
	var rs []netResult
	for _, o := range outs {
		if o.err == nil {
			rs = append(rs, o.r)
		}
	}
	return rs
}

// goNet is the index of the Go net row, -1 if there is none.
func (t *netTable) goNet() int {
	return slices.IndexFunc(t.servers, func(s netServer) bool { return s.key == goNetKey })
}

// ratio is the median over rounds of server si's f over Go net's, in the
// rounds where both succeeded.
func (t *netTable) ratio(si, ci int, f func(netResult) float64) (float64, bool) {
	g := t.goNet()
	if g < 0 || g == si {
		return 0, false
	}
	a, b := t.res[si][ci], t.res[g][ci]
	var rs []float64
	for i := range min(len(a), len(b)) {
		if a[i].err == nil && b[i].err == nil && f(b[i].r) > 0 {
			rs = append(rs, f(a[i].r)/f(b[i].r))
		}
	}
	if len(rs) == 0 {
		return 0, false
	}
	return median(rs, func(r float64) float64 { return r }), true
}

// cell formats server si's median of f on cell ci with format, "—" if it
// did not run, "failed" if no round succeeded, "n/a" if f is 0 in the
// median round (a memory figure of a server whose pid is unknown).
func (t *netTable) cell(si, ci int, f func(netResult) float64, format string) string {
	outs := t.res[si][ci]
	rs := okResults(outs)
	switch {
	case len(outs) == 0:
		return "—"
	case len(rs) == 0:
		return "failed"
	}
	v := median(rs, f)
	if v == 0 {
		return "n/a"
	}
	if format == "" {
		return human(v)
	}
	return fmt.Sprintf(format, v)
}

// pauseCell is N2's growth over the pause, whose 0 is a figure: "n/a"
// only where the server's memory was not measured.
func (t *netTable) pauseCell(si, ci int) string {
	outs := t.res[si][ci]
	rs := okResults(outs)
	switch {
	case len(outs) == 0:
		return "—"
	case len(rs) == 0:
		return "failed"
	}
	rs = slices.DeleteFunc(rs, func(r netResult) bool { return r.PausePeak == 0 })
	if len(rs) == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.2f", median(rs, metricN2Pause))
}

// withRatio appends " (1.05×)", the ratio to Go net, to a figure.
func (t *netTable) withRatio(s string, si, ci int, f func(netResult) float64) string {
	if x, ok := t.ratio(si, ci, f); ok {
		return fmt.Sprintf("%s (%.2f×)", s, x)
	}
	return s
}

func (t *netTable) has(kind int) bool {
	return slices.ContainsFunc(t.cells, func(c netCell) bool { return c.kind == kind })
}

func row(w io.Writer, cols []string) {
	fmt.Fprintf(w, "| %s |\n", strings.Join(cols, " | "))
}

func head(w io.Writer, cols []string) {
	row(w, cols)
	fmt.Fprintf(w, "|%s\n", strings.Repeat("---|", len(cols)))
}

// write prints the tables and their footnotes as markdown.
func (t *netTable) write(w io.Writer) {
	fmt.Fprintf(w, "aio network benchmark (N1–N3): %s\n\n", t.header)

	// Throughput and memory.
	cols := []string{"server"}
	for _, c := range t.cells {
		switch c.kind {
		case 1:
			cols = append(cols, c.label+" rt/s")
		case 2:
			cols = append(cols, "N2 MiB/s", "N2 RSS peak−base MiB", "N2 RSS pause growth MiB")
		case 3:
			cols = append(cols, "N3 KiB/conn", "N3 threads")
		}
	}
	head(w, cols)
	for si, s := range t.servers {
		r := []string{s.name}
		for ci, c := range t.cells {
			switch c.kind {
			case 1:
				r = append(r, t.withRatio(t.cell(si, ci, metricOps, ""), si, ci, metricOps))
			case 2:
				r = append(r, t.withRatio(t.cell(si, ci, metricMiBps, "%.0f"), si, ci, metricMiBps),
					t.cell(si, ci, metricN2Delta, "%.1f"), t.pauseCell(si, ci))
			case 3:
				r = append(r, t.cell(si, ci, metricPerConn, "%.2f"), t.cell(si, ci, metricThreads, "%.0f"))
			}
		}
		row(w, r)
	}

	// N1 latency.
	if t.has(1) {
		fmt.Fprintln(w)
		cols := []string{"server"}
		for _, c := range t.cells {
			if c.kind == 1 {
				cols = append(cols, c.label+" p50 / p99 µs")
			}
		}
		head(w, cols)
		for si, s := range t.servers {
			r := []string{s.name}
			for ci, c := range t.cells {
				if c.kind == 1 {
					r = append(r, t.cell(si, ci, metricP50, "%.0f")+" / "+t.cell(si, ci, metricP99, "%.0f"))
				}
			}
			row(w, r)
		}
	}

	// Memory details.
	n2 := slices.IndexFunc(t.cells, func(c netCell) bool { return c.kind == 2 })
	n3 := slices.IndexFunc(t.cells, func(c netCell) bool { return c.kind == 3 })
	if n2 >= 0 || n3 >= 0 {
		fmt.Fprintln(w)
		cols := []string{"server"}
		if n2 >= 0 {
			cols = append(cols, "N2 base RSS MiB", "N2 peak RSS MiB")
		}
		if n3 >= 0 {
			cols = append(cols, "N3 base RSS MiB", "N3 RSS open MiB", "N3 threads before→open",
				"N3 goroutines/conn", "N3 open all s")
		}
		head(w, cols)
		for si, s := range t.servers {
			r := []string{s.name}
			if n2 >= 0 {
				r = append(r, t.cell(si, n2, metricBase, "%.1f"), t.cell(si, n2, metricPeak, "%.1f"))
			}
			if n3 >= 0 {
				r = append(r, t.cell(si, n3, metricBase, "%.1f"), t.cell(si, n3, metricOpen, "%.1f"),
					t.threads(si, n3), t.goroutinesPerConn(si, n3), t.cell(si, n3, metricOpenSec, "%.2f"))
			}
			row(w, r)
		}
	}
	t.footnotes(w)
}

// threads is "before→open" of the median round by threads open.
func (t *netTable) threads(si, ci int) string {
	rs := okResults(t.res[si][ci])
	if len(rs) == 0 {
		return t.cell(si, ci, metricThreads, "")
	}
	r := medianBy(rs, metricThreads)
	if r.Threads == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%d→%d", r.Threads0, r.Threads)
}

// goroutinesPerConn is (goroutines open − before) / K of the median round,
// for a server that tells its goroutines.
func (t *netTable) goroutinesPerConn(si, ci int) string {
	rs := okResults(t.res[si][ci])
	if len(rs) == 0 {
		return t.cell(si, ci, metricThreads, "")
	}
	r := medianBy(rs, metricPerConn)
	if r.Goroutines < 0 || r.Goroutines0 < 0 || r.Ops == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.2f", float64(r.Goroutines-r.Goroutines0)/float64(r.Ops))
}

// medianBy is the result with the median f (the lower of an even count).
func medianBy(rs []netResult, f func(netResult) float64) netResult {
	s := slices.Clone(rs)
	slices.SortStableFunc(s, func(a, b netResult) int {
		switch x, y := f(a), f(b); {
		case x < y:
			return -1
		case x > y:
			return 1
		}
		return 0
	})
	return s[(len(s)-1)/2]
}

func (t *netTable) footnotes(w io.Writer) {
	c := t.client
	fmt.Fprintf(w, "\nMedian of %d interleaved rounds (round r: each cell on each server, a fresh server process each);"+
		" (×) is the median of the per-round ratios to Go net.\n", t.reps)
	if t.has(1) {
		fmt.Fprintf(w, "N1: C connections (×C), each a ping-pong of one message (size−1 × 'x', then '\\n'), "+
			"%v after a %v warm-up; rt/s = round trips/s over all connections; "+
			"p50/p99 = round-trip latency, from a log-linear histogram (±3%%).\n", c.dur, c.warm)
	}
	if t.has(2) {
		fmt.Fprintf(w, "N2: one connection echoes %d MiB in 64 KiB writes; the client stops reading for %v halfway; "+
			"MiB/s = MiB / (time − %v); RSS peak−base = server VmHWM at the end − its VmRSS before the connection; "+
			"pause growth = server VmHWM over the pause − its VmRSS as the pause begins.\n",
			c.n2Bytes>>20, c.n2Pause, c.n2Pause)
	}
	if t.has(3) {
		fmt.Fprintf(w, "N3: %d connections, each echoes 100 bytes once, then all stay open and idle; "+
			"KiB/conn = (server VmRSS once settled − VmRSS before the first connection) / %d; threads = /proc Threads with all open; "+
			"goroutines only where the server tells them (Go net, on SIGUSR1). Go net reads into 4 KiB per connection in N3.\n",
			c.n3Conns, c.n3Conns)
	}
	if d := (clientConfig{warm: 2 * time.Second, dur: 10 * time.Second, n2Bytes: 1 << 30, n3Conns: 10000}); c.warm != d.warm ||
		c.dur != d.dur || c.n2Bytes != d.n2Bytes || c.n3Conns != d.n3Conns {
		fmt.Fprintln(w, "Shortened run: not WORKLOADS.md's sizes (2 s + 10 s, 1024 MiB, 10000 connections).")
	}
	var missing []string
	for _, s := range t.servers {
		if s.missing != "" {
			missing = append(missing, fmt.Sprintf("%s (%s)", s.name, s.missing))
		}
	}
	if len(missing) > 0 {
		fmt.Fprintf(w, "— not installed: %s. See bench/peers/README.md.\n", strings.Join(missing, "; "))
	}
	for si, s := range t.servers {
		for ci, cl := range t.cells {
			for r, o := range t.res[si][ci] {
				if o.err != nil {
					fmt.Fprintf(w, "failed: %s %s round %d: %v\n", s.name, cl.name, r+1, o.err)
				}
				for _, warn := range o.warns {
					fmt.Fprintf(w, "warning: %s %s round %d: %s\n", s.name, cl.name, r+1, warn)
				}
				if o.r.Note != "" {
					fmt.Fprintf(w, "note: %s %s round %d: %s\n", s.name, cl.name, r+1, o.r.Note)
				}
			}
		}
	}
}

// netSummary is -net -json's object for one server and cell: the medians
// over the rounds that succeeded.
type netSummary struct {
	Server     string   `json:"server"`
	Cell       string   `json:"cell"`
	Rounds     int      `json:"rounds"`
	Failed     int      `json:"failed"`
	OpsPerSec  float64  `json:"ops_per_sec,omitempty"`
	P50us      float64  `json:"p50_us,omitempty"`
	P99us      float64  `json:"p99_us,omitempty"`
	MiBps      float64  `json:"mib_per_sec,omitempty"`
	BaseRSS    float64  `json:"base_rss_mib,omitempty"`
	PeakRSS    float64  `json:"peak_rss_mib,omitempty"`
	PauseRSS   float64  `json:"pause_rss_mib,omitempty"`
	PausePeak  float64  `json:"pause_peak_rss_mib,omitempty"`
	OpenRSS    float64  `json:"open_rss_mib,omitempty"`
	KiBPerConn float64  `json:"kib_per_conn,omitempty"`
	Threads    float64  `json:"threads,omitempty"`
	VsGoNet    *float64 `json:"vs_go_net,omitempty"`
	Header     string   `json:"header"`
}

func (t *netTable) writeJSON(w io.Writer) {
	enc := json.NewEncoder(w)
	for si, s := range t.servers {
		for ci, c := range t.cells {
			outs := t.res[si][ci]
			if len(outs) == 0 {
				continue
			}
			rs := okResults(outs)
			m := func(f func(netResult) float64) float64 { return median(rs, f) }
			sum := netSummary{Server: s.key, Cell: c.name, Rounds: len(outs), Failed: len(outs) - len(rs),
				OpsPerSec: m(metricOps), P50us: m(metricP50), P99us: m(metricP99), MiBps: m(metricMiBps),
				BaseRSS: m(metricBase), PeakRSS: m(metricPeak), PauseRSS: m(metricPauseRSS), PausePeak: m(metricPausePeak), OpenRSS: m(metricOpen),
				KiBPerConn: m(metricPerConn), Threads: m(metricThreads), Header: t.header}
			f := metricOps
			if c.kind == 2 {
				f = metricMiBps
			}
			if c.kind != 3 {
				if x, ok := t.ratio(si, ci, f); ok {
					sum.VsGoNet = &x
				}
			}
			_ = enc.Encode(sum)
		}
	}
}
