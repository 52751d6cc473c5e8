package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	if api := os.Getenv(fakeServerEnv); api != "" { // TestServerChild's child
		os.Exit(runFakeServer(api))
	}
	goleak.VerifyTestMain(m)
}

// ok and fail build fake outcomes.
func ok(opsPerSec, rss float64, note string) outcome {
	return outcome{m: measurement{Ops: 1, Seconds: 1 / opsPerSec, OpsPerSec: opsPerSec, PeakRSS: rss, Note: note}}
}

func fail(msg string) outcome { return outcome{err: errors.New(msg)} }

func TestMedianRatio(t *testing.T) {
	tests := []struct {
		name   string
		a, b   []outcome
		want   float64
		wantOK bool
	}{
		{
			name:   "median of per-round ratios, not ratio of medians",
			a:      []outcome{ok(1e6, 0, ""), ok(2e6, 0, ""), ok(3e6, 0, "")},
			b:      []outcome{ok(5e5, 0, ""), ok(1e6, 0, ""), ok(5e5, 0, "")},
			want:   2, // rounds: 2, 2, 6; ratio of medians would be 4
			wantOK: true,
		},
		{
			name:   "even count averages the middle two",
			a:      []outcome{ok(1, 0, ""), ok(2, 0, ""), ok(3, 0, ""), ok(8, 0, "")},
			b:      []outcome{ok(1, 0, ""), ok(1, 0, ""), ok(1, 0, ""), ok(1, 0, "")},
			want:   2.5,
			wantOK: true,
		},
		{
			name:   "a round where either side failed is left out",
			a:      []outcome{ok(9, 0, ""), fail("x"), ok(4, 0, "")},
			b:      []outcome{fail("y"), ok(1, 0, ""), ok(2, 0, "")},
			want:   2,
			wantOK: true,
		},
		{
			name:   "only rounds both ran count",
			a:      []outcome{ok(3, 0, ""), ok(100, 0, "")},
			b:      []outcome{ok(1, 0, "")},
			want:   3,
			wantOK: true,
		},
		{name: "peer missing", a: []outcome{ok(3, 0, "")}, b: nil},
		{name: "no round succeeded on both", a: []outcome{fail("x")}, b: []outcome{ok(1, 0, "")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, gotOK := medianRatio(tt.a, tt.b)
			assert.Equal(t, tt.wantOK, gotOK)
			assert.InDelta(t, tt.want, got, 1e-9)
		})
	}
}

// TestMedianNote checks that a per-run note comes from the median run,
// not the first.
func TestMedianNote(t *testing.T) {
	ms := []measurement{
		{OpsPerSec: 3, Note: "fast"}, {OpsPerSec: 1, Note: "slow"}, {OpsPerSec: 2, Note: "median"},
	}
	assert.Equal(t, "median", medianNote(ms))
	assert.Equal(t, "slow", medianNote(ms[:2]), "the lower of an even count")
	assert.Empty(t, medianNote(nil))
}

// three builds the outcomes of three rounds with these ops/s and RSS.
func three(a, b, c, rss float64) []outcome {
	return []outcome{ok(a, rss, ""), ok(b, rss, ""), ok(c, rss, "")}
}

func TestBestPeer(t *testing.T) {
	ps := []peer{{name: "aio"}, {name: "asyncio"}, {name: "node"}, {name: "bare", reference: true}}
	tests := []struct {
		name   string
		outs   [][]outcome
		want   int
		wantOK bool
	}{
		{
			name:   "highest median, not highest round",
			outs:   [][]outcome{three(9, 9, 9, 0), three(1, 5, 5, 0), three(9, 2, 2, 0), nil},
			want:   1, // medians 5 and 2; node's best round is 9
			wantOK: true,
		},
		{
			name:   "aio and the reference are never the best peer",
			outs:   [][]outcome{three(99, 99, 99, 0), three(1, 1, 1, 0), three(2, 2, 2, 0), three(50, 50, 50, 0)},
			want:   2,
			wantOK: true,
		},
		{
			name:   "failed rounds are left out",
			outs:   [][]outcome{nil, {fail("x"), fail("y")}, {fail("x"), ok(3, 0, "")}, nil},
			want:   2,
			wantOK: true,
		},
		{name: "no peer succeeded", outs: [][]outcome{three(1, 1, 1, 0), {fail("x")}, nil, three(5, 5, 5, 0)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _, gotOK := bestPeer(ps, tt.outs)
			assert.Equal(t, tt.wantOK, gotOK)
			if tt.wantOK {
				assert.Equal(t, ps[tt.want].name, ps[got].name)
			}
		})
	}
}

func TestWritePeerTable(t *testing.T) {
	ws := []workload{workloads[0], workloads[2], workloads[6]} // W1, W3, W7
	ps := []peer{
		{name: "aio", version: "go1.26"},
		{name: "asyncio", version: "Python 3.11.7"},
		{name: "uvloop", missing: "no module named uvloop"},
		{name: "node", version: "node v20.20.2"},
		{name: "node µtask", version: "node v20.20.2"},
		{name: "naive Go", version: "go1.26"},
		{name: "goja_nodejs", version: "goja_nodejs v0"},
		{name: "bare iter.Pull", version: "go1.26", reference: true},
	}
	res := [][][]outcome{
		{ // W1: naive Go is the best peer
			{ok(1e6, 10, ""), ok(2e6, 12, ""), ok(3e6, 11, "")},
			{ok(5e5, 20, ""), ok(1e6, 21, ""), ok(5e5, 22, "")},
			nil,
			{fail("node: exit status 1: boom"), ok(2.5e6, 48, ""), ok(2.7e6, 50, "")},
			three(900, 800, 700, 46),
			three(4e6, 5e6, 6e6, 6),
			{fail("W1: counter 0"), fail("W1: counter 0"), fail("W1: counter 0")},
			nil,
		},
		{ // W3: node is; goja_nodejs failed and asyncio has no ratio
			{ok(1.8e6, 41, "delay_sum_ms=1.000"), ok(1.6e6, 43, "delay_sum_ms=1.000"), ok(1.7e6, 42, "delay_sum_ms=1.000")},
			{fail("W3: fired 1"), fail("W3: fired 2"), fail("W3: fired 3")},
			nil,
			{ok(1.2e6, 121, "delay_sum_ms=1.000"), ok(1.3e6, 120, "delay_sum_ms=1.000"), ok(1.28e6, 122, "delay_sum_ms=1.000")},
			nil,
			three(1e6, 1.1e6, 1.2e6, 41),
			{fail("goja: boom"), fail("goja: boom"), fail("goja: boom")},
			nil,
		},
		{ // W7: the reference is fastest but is not a peer; node µtask is the best peer
			three(1e6, 1.2e6, 1.1e6, 300),
			three(4e5, 4e5, 4e5, 156),
			nil,
			three(4e5, 4e5, 4e5, 390),
			three(2e6, 2.1e6, 2.2e6, 228),
			three(1.2e6, 1.3e6, 1.25e6, 307),
			three(1e6, 1e6, 1e6, 356),
			three(3e6, 3e6, 2e6, 290),
		},
	}
	var buf bytes.Buffer
	writePeerTable(&buf, "HEADER", ws, ps, res, 3, 0.5)
	lines := strings.Split(buf.String(), "\n")

	require.Greater(t, len(lines), 7)
	assert.Equal(t, "aio vs peers: HEADER", lines[0])
	assert.Equal(t, "| workload | aio | asyncio | uvloop | node | node µtask | naive Go | goja_nodejs | bare iter.Pull | "+
		"aio/asyncio | aio/best peer | "+
		"RSS MiB aio | RSS MiB asyncio | RSS MiB uvloop | RSS MiB node | RSS MiB node µtask | "+
		"RSS MiB naive Go | RSS MiB goja_nodejs | RSS MiB bare iter.Pull |", lines[2])
	assert.Equal(t, "|"+strings.Repeat("---|", 19), lines[3])
	// W1: 2.00M / naive Go's 5.00M; W3: 1.70M / node's 1.28M; W7: 1.10M / node µtask's 2.10M.
	assert.Equal(t, "| W1 cb/s | 2.00M | 500k | — | 2.60M | 800 | 5.00M | failed | — | 2.00x | 0.40x (naive Go) | "+
		"11 | 21 | — | 49 | 46 | 6 | failed | — |", lines[4])
	assert.Equal(t, "| W3 ops/s | 1.70M | failed | — | 1.28M | — | 1.10M | failed | — | — | 1.33x (node) | "+
		"42 | failed | — | 121 | — | 41 | failed | — |", lines[5])
	assert.Equal(t, "| W7 steps/s | 1.10M | 400k | — | 400k | 2.10M | 1.25M | 1.00M | 3.00M | 2.75x | 0.52x (node µtask) | "+
		"300 | 156 | — | 390 | 228 | 307 | 356 | 290 |", lines[6])

	out := buf.String()
	assert.Contains(t, out, "Median of 3 interleaved rounds")
	assert.Contains(t, out, "every N scaled by 0.5")
	assert.Contains(t, out, "aio/best peer is aio's median over the highest median of the other systems")
	// Per-round ratios 0.33, 0.40, 0.55; the ratio of the medians would be 0.37.
	assert.Contains(t, out, "\nW7: aio/bare iter.Pull 0.40x (median of the per-round ratios)\n")
	assert.NotContains(t, out, "W1: aio/bare iter.Pull", "the reference ran only W7")
	assert.Contains(t, out, "— not installed: uvloop (no module named uvloop).")
	assert.Contains(t, out, "W3: aio: delay_sum_ms=1.000; node: delay_sum_ms=1.000\n")
	assert.Contains(t, out, "failed: W1 node round 1: node: exit status 1: boom\n")
	assert.Contains(t, out, "failed: W3 asyncio round 3: W3: fired 3\n")
	assert.Contains(t, out, "failed: W3 goja_nodejs round 2: goja: boom\n")
	assert.NotContains(t, out, "W1: aio:", "W1 has no notes")
}

func TestFindPeersMissingScripts(t *testing.T) {
	dir := t.TempDir()
	ps := findPeers(dir, t.TempDir())
	require.Len(t, ps, 8)
	assert.Equal(t, "aio", ps[0].name)
	assert.Empty(t, ps[0].missing)
	for _, p := range ps[1:5] {
		assert.Contains(t, p.missing, "no such file", p.name)
	}
	for _, p := range ps[5:] {
		assert.Contains(t, p.missing, "go build ./", p.name)
	}
	assert.Nil(t, ps[4].cmd("W3", 1), "node µtask has no W3")
	assert.Equal(t, "W6-micro", ps[4].cmd("W6", 1)[2])
	assert.Equal(t, []string{"naive Go", "goja_nodejs", "bare iter.Pull"}, []string{ps[5].name, ps[6].name, ps[7].name})
	assert.True(t, ps[7].reference)
	assert.Nil(t, ps[7].cmd("W6", 1), "bare iter.Pull runs only W7")
	assert.Equal(t, "W7-PULL", ps[7].cmd("W7", 1)[1])
}

func TestProbeSaysWhyAPeerCannotRun(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("no python3")
	}
	script := "../../bench/peers/asyncio_bench.py"
	version, missing := probe(script, "python3", "-c", "import sys; print('Python', sys.version_info[0])")
	assert.Equal(t, "Python 3", version)
	assert.Empty(t, missing)

	version, missing = probe(script, "python3", "-c", "import no_such_module_here")
	assert.Empty(t, version)
	assert.Equal(t, "python3: ModuleNotFoundError: No module named 'no_such_module_here'", missing)
}

// TestPeerScripts builds the Go peers and runs every peer that can run here
// on every workload at scale 0.001, and checks its JSON line: the workload
// it ran, the ops that N implies, and the W3 delay sum the Go harness
// computes for the same N; and that each rejects an unknown workload.
func TestPeerScripts(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the Go peers and starts about 45 processes")
	}
	const scale = 0.001
	wantOps := map[string]int{"W1": 1000, "W2": 1000, "W3": 300, "W4": 1000, "W5": 1000, "W6": 200, "W7": 1000}
	_, sum := w3Delays(scaled(200_000, scale))
	for _, p := range findPeers("../../bench/peers", t.TempDir())[1:] {
		t.Run(p.name, func(t *testing.T) {
			if p.missing != "" {
				t.Skip(p.missing)
			}
			for _, w := range workloads {
				argv := p.cmd(w.name, scale)
				if argv == nil {
					continue
				}
				m, err := measure(argv)
				require.NoError(t, err, strings.Join(argv, " "))
				assert.Contains(t, argv, m.Workload, "the workload it was asked for")
				assert.Equal(t, wantOps[w.name], m.Ops, w.name)
				assert.Positive(t, m.OpsPerSec, w.name)
				assert.Positive(t, m.PeakRSS, w.name)
				if w.name == "W3" {
					assert.Equal(t, fmt.Sprintf("delay_sum_ms=%.3f", sum), m.Note)
				}
			}
			if argv := p.cmd("W9", 1); argv != nil {
				_, err := measure(argv)
				var exit *exec.ExitError
				assert.ErrorAs(t, err, &exit, "W9")
			}
		})
	}
}

func TestPeerScriptRejectsUnknownWorkload(t *testing.T) {
	for _, p := range scriptPeers("../../bench/peers")[1:4] {
		if p.missing != "" {
			continue
		}
		argv := p.cmd("W9", 1)
		_, err := measure(argv)
		var exit *exec.ExitError
		assert.ErrorAs(t, err, &exit, p.name)
	}
}
