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

func TestWritePeerTable(t *testing.T) {
	ws := []workload{workloads[0], workloads[2]} // W1, W3
	ps := []peer{
		{name: "aio", version: "go1.26"},
		{name: "asyncio", version: "Python 3.11.7"},
		{name: "uvloop", missing: "no module named uvloop"},
		{name: "node", version: "node v20.20.2"},
		{name: "node µtask", version: "node v20.20.2"},
	}
	res := [][][]outcome{
		{ // W1
			{ok(1e6, 10, ""), ok(2e6, 12, ""), ok(3e6, 11, "")},
			{ok(5e5, 20, ""), ok(1e6, 21, ""), ok(5e5, 22, "")},
			nil,
			{fail("node: exit status 1: boom"), ok(2.5e6, 48, ""), ok(2.7e6, 50, "")},
			{ok(900, 45, ""), ok(800, 46, ""), ok(700, 47, "")},
		},
		{ // W3
			{ok(1.8e6, 41, "delay_sum_ms=1.000"), ok(1.6e6, 43, "delay_sum_ms=1.000"), ok(1.7e6, 42, "delay_sum_ms=1.000")},
			{fail("W3: fired 1"), fail("W3: fired 2"), fail("W3: fired 3")},
			nil,
			{ok(1.2e6, 121, "delay_sum_ms=1.000"), ok(1.3e6, 120, "delay_sum_ms=1.000"), ok(1.28e6, 122, "delay_sum_ms=1.000")},
			nil,
		},
	}
	var buf bytes.Buffer
	writePeerTable(&buf, "HEADER", ws, ps, res, 3, 0.5)
	lines := strings.Split(buf.String(), "\n")

	require.Greater(t, len(lines), 6)
	assert.Equal(t, "aio vs peers: HEADER", lines[0])
	assert.Equal(t, "| workload | aio | asyncio | uvloop | node | node µtask | aio/asyncio | "+
		"RSS MiB aio | RSS MiB asyncio | RSS MiB uvloop | RSS MiB node | RSS MiB node µtask |", lines[2])
	assert.Equal(t, "|---|---|---|---|---|---|---|---|---|---|---|---|", lines[3])
	assert.Equal(t, "| W1 cb/s | 2.00M | 500k | — | 2.60M | 800 | 2.00x | 11 | 21 | — | 49 | 46 |", lines[4])
	assert.Equal(t, "| W3 ops/s | 1.70M | failed | — | 1.28M | — | — | 42 | failed | — | 121 | — |", lines[5])

	out := buf.String()
	assert.Contains(t, out, "Median of 3 interleaved rounds")
	assert.Contains(t, out, "every N scaled by 0.5")
	assert.Contains(t, out, "— not installed: uvloop (no module named uvloop).")
	assert.Contains(t, out, "W3: aio: delay_sum_ms=1.000; node: delay_sum_ms=1.000\n")
	assert.Contains(t, out, "failed: W1 node round 1: node: exit status 1: boom\n")
	assert.Contains(t, out, "failed: W3 asyncio round 3: W3: fired 3\n")
	assert.NotContains(t, out, "W1: ", "W1 has no notes")
}

func TestFindPeersMissingScripts(t *testing.T) {
	ps := findPeers(t.TempDir())
	require.Len(t, ps, 5)
	assert.Equal(t, "aio", ps[0].name)
	assert.Empty(t, ps[0].missing)
	for _, p := range ps[1:] {
		assert.Contains(t, p.missing, "no such file", p.name)
	}
	assert.Nil(t, ps[4].cmd("W3", 1), "node µtask has no W3")
	assert.Equal(t, "W6-micro", ps[4].cmd("W6", 1)[2])
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

// TestPeerScripts runs every peer script that can run here on every workload
// at scale 0.001 and checks its JSON line: the workload it ran, the ops that
// N implies, and the W3 delay sum the Go harness computes for the same N.
func TestPeerScripts(t *testing.T) {
	if testing.Short() {
		t.Skip("starts 30 interpreter processes")
	}
	const scale = 0.001
	wantOps := map[string]int{"W1": 1000, "W2": 1000, "W3": 300, "W4": 1000, "W5": 1000, "W6": 200, "W7": 1000}
	_, sum := w3Delays(scaled(200_000, scale))
	for _, p := range findPeers("../../bench/peers")[1:] {
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
				assert.Equal(t, argv[2], m.Workload)
				assert.Equal(t, wantOps[w.name], m.Ops, w.name)
				assert.Positive(t, m.OpsPerSec, w.name)
				assert.Positive(t, m.PeakRSS, w.name)
				if w.name == "W3" {
					assert.Equal(t, fmt.Sprintf("delay_sum_ms=%.3f", sum), m.Note)
				}
			}
		})
	}
}

func TestPeerScriptRejectsUnknownWorkload(t *testing.T) {
	for _, p := range findPeers("../../bench/peers")[1:4] {
		if p.missing != "" {
			continue
		}
		argv := p.cmd("W9", 1)
		_, err := measure(argv)
		var exit *exec.ExitError
		assert.ErrorAs(t, err, &exit, p.name)
	}
}
