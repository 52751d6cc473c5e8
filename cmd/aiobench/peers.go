package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"
)

// A peer is one system of the cross-runtime comparison: aio itself, or one
// of the programs in bench/peers run by an installed runtime.
type peer struct {
	name    string
	version string
	// missing says why the system is not run; "" when it is installed.
	missing string
	// cmd returns the command that runs workload w once, or nil when the
	// system has no variant of w.
	cmd func(w string, scale float64) []string
	// reference systems are not event loops but the bare mechanism one is
	// built on: the table shows them, and leaves them out of the best peer.
	reference bool
}

// An outcome is one fresh process's measurement, or why it failed.
type outcome struct {
	m   measurement
	err error
}

// microWorkloads are the workloads node_bench.js also runs with microtask
// hops instead of setImmediate, under the name W1-micro etc.
var microWorkloads = []string{"W1", "W2", "W6", "W7"}

// findPeers returns aio and the peers, in column order, each with its
// version or the reason it is missing. The Go peers are built from dir's
// module into bin.
func findPeers(dir, bin string) []peer {
	return append(scriptPeers(dir), goPeers(dir, bin)...)
}

// scaleArg is scale as the peers' --scale takes it.
func scaleArg(scale float64) string { return fmt.Sprint(scale) }

// scriptPeers returns aio and the peers that an installed runtime runs from
// dir: asyncio, uvloop, node and node µtask.
func scriptPeers(dir string) []peer {
	s := scaleArg
	exe, err := os.Executable()
	aio := peer{name: "aio", version: runtime.Version(), cmd: func(w string, scale float64) []string {
		return []string{exe, "-child", w, "-scale", s(scale)}
	}}
	if err != nil {
		aio.missing = err.Error()
	}

	py := filepath.Join(dir, "asyncio_bench.py")
	asyncio := peer{name: "asyncio", cmd: func(w string, scale float64) []string {
		return []string{"python3", py, w, "--scale", s(scale)}
	}}
	asyncio.version, asyncio.missing = probe(py, "python3", "-c", "import sys; print('Python', sys.version.split()[0])")
	uvloop := peer{name: "uvloop", cmd: func(w string, scale float64) []string {
		return []string{"/usr/bin/python3", py, w, "--scale", s(scale), "--uvloop"}
	}}
	uvloop.version, uvloop.missing = probe(py, "/usr/bin/python3", "-c",
		"import sys, uvloop; print('uvloop', uvloop.__version__, 'on Python', sys.version.split()[0])")

	js := filepath.Join(dir, "node_bench.js")
	node := peer{name: "node", cmd: func(w string, scale float64) []string {
		return []string{"node", js, w, "--scale", s(scale)}
	}}
	node.version, node.missing = probe(js, "node", "-p", "'node ' + process.version")
	micro := node
	micro.name = "node µtask"
	micro.cmd = func(w string, scale float64) []string {
		if !slices.Contains(microWorkloads, w) {
			return nil
		}
		return node.cmd(w+"-micro", scale)
	}
	return []peer{aio, asyncio, uvloop, node, micro}
}

// goPeers builds the Go peers of dir's module into bin and returns them:
// naive Go (naiveloop), goja_nodejs (gojaloop), and the reference column
// bare iter.Pull, which is naiveloop's W7-PULL in the W7 row. A peer that
// does not build is missing, with the build's error.
func goPeers(dir, bin string) []peer {
	build := func(name, pkg string) peer {
		exe := filepath.Join(bin, pkg)
		p := peer{name: name, cmd: func(w string, scale float64) []string {
			return []string{exe, w, "--scale", scaleArg(scale)}
		}}
		if p.missing = goBuild(dir, exe, "./"+pkg); p.missing == "" {
			p.version, p.missing = probe(exe, exe, "-version")
		}
		return p
	}
	naive := build("naive Go", "naiveloop")
	goja := build("goja_nodejs", "gojaloop")
	pull := naive
	pull.name = "bare iter.Pull"
	pull.reference = true
	pull.cmd = func(w string, scale float64) []string {
		if w != "W7" {
			return nil
		}
		return naive.cmd("W7-PULL", scale)
	}
	return []peer{naive, goja, pull}
}

// probe checks that script exists and that argv runs, and returns argv's
// output as the version, or why the system cannot run.
func probe(script string, argv ...string) (version, missing string) {
	if _, err := os.Stat(script); err != nil {
		return "", err.Error()
	}
	out, err := exec.Command(argv[0], argv[1:]...).Output()
	if err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) && len(bytes.TrimSpace(exit.Stderr)) > 0 {
			lines := strings.Split(strings.TrimSpace(string(exit.Stderr)), "\n")
			err = errors.New(lines[len(lines)-1]) // a Python traceback's last line says why
		}
		return "", fmt.Sprintf("%s: %v", argv[0], err)
	}
	return strings.TrimSpace(string(out)), ""
}

// runPeers runs every workload on aio and on every installed peer, in
// interleaved rounds (round r: for each workload, for each system, one fresh
// process), and prints a markdown table. It returns the exit status: 1 if any
// process failed.
func runPeers(w io.Writer, ws []workload, reps int, scale float64, dir string) int {
	bin, err := os.MkdirTemp("", "aiobench-peers-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "peers:", err)
		return 1
	}
	defer os.RemoveAll(bin)
	ps := findPeers(dir, bin)
	res := make([][][]outcome, len(ws))
	for i := range res {
		res[i] = make([][]outcome, len(ps))
	}
	status := 0
	for r := range reps {
		fmt.Fprintf(os.Stderr, "peers: round %d/%d\n", r+1, reps)
		for wi, wl := range ws {
			for pi, p := range ps {
				argv := p.cmd(wl.name, scale)
				if p.missing != "" || argv == nil {
					continue
				}
				m, err := measure(argv)
				if err != nil {
					fmt.Fprintf(os.Stderr, "peers: %s %s: %v\n", wl.name, p.name, err)
					status = 1
				}
				res[wi][pi] = append(res[wi][pi], outcome{m, err})
			}
		}
	}
	writePeerTable(w, machine(ps), ws, ps, res, reps, scale)
	return status
}

// measure runs argv as one fresh process and parses its JSON line.
func measure(argv []string) (measurement, error) {
	var out, errb bytes.Buffer
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return measurement{}, fmt.Errorf("%w: %s", err, strings.TrimSpace(errb.String()))
	}
	var m measurement
	if err := json.Unmarshal(out.Bytes(), &m); err != nil {
		return measurement{}, fmt.Errorf("bad output %q: %v", out.String(), err)
	}
	if m.Ops <= 0 || m.Seconds <= 0 {
		return measurement{}, fmt.Errorf("bad output %q: no ops or no time", out.String())
	}
	return m, nil
}

// machine describes where and when the comparison ran.
func machine(ps []peer) string {
	arch := runtime.GOARCH
	if out, err := exec.Command("uname", "-m").Output(); err == nil {
		arch = strings.TrimSpace(string(out))
	}
	cpu := "unknown CPU"
	if info, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.Lines(string(info)) {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				cpu = strings.TrimSpace(v)
				break
			}
		}
	}
	var vs []string
	for _, p := range ps {
		if p.version != "" && !slices.Contains(vs, p.version) {
			vs = append(vs, p.version)
		}
	}
	return fmt.Sprintf("%s, %s, %s, %d cores; %s",
		time.Now().UTC().Format("2006-01-02 15:04 UTC"), arch, cpu, runtime.NumCPU(), strings.Join(vs, ", "))
}

// succeeded returns the measurements of the outcomes that did not fail.
func succeeded(outs []outcome) []measurement {
	var ms []measurement
	for _, o := range outs {
		if o.err == nil {
			ms = append(ms, o.m)
		}
	}
	return ms
}

// medianRatio is the median over rounds of a's ops/s divided by b's, taken
// only in rounds where both succeeded; ok is false when there is none.
func medianRatio(a, b []outcome) (ratio float64, ok bool) {
	var rs []float64
	for i := range min(len(a), len(b)) {
		if a[i].err == nil && b[i].err == nil && b[i].m.OpsPerSec > 0 {
			rs = append(rs, a[i].m.OpsPerSec/b[i].m.OpsPerSec)
		}
	}
	if len(rs) == 0 {
		return 0, false
	}
	return median(rs, func(r float64) float64 { return r }), true
}

// bestPeer returns the index of the peer with the highest median ops/s
// in outs (outs[peer], one outcome per round), leaving out aio (index 0)
// and the reference systems; ok is false when no peer succeeded.
func bestPeer(ps []peer, outs [][]outcome) (best int, ops float64, ok bool) {
	for pi := 1; pi < len(ps); pi++ {
		ms := succeeded(outs[pi])
		if ps[pi].reference || len(ms) == 0 {
			continue
		}
		if m := median(ms, func(m measurement) float64 { return m.OpsPerSec }); !ok || m > ops {
			best, ops, ok = pi, m, true
		}
	}
	return best, ops, ok
}

// writePeerTable prints res (res[workload][peer], one outcome per round) as
// a markdown table: median ops/s per system, the median of the per-round
// aio/asyncio ratios, aio's median over the best peer's, and the median
// peak RSS per system, then footnotes. The first two peers must be aio and
// asyncio.
func writePeerTable(w io.Writer, header string, ws []workload, ps []peer, res [][][]outcome, reps int, scale float64) {
	fmt.Fprintf(w, "aio vs peers: %s\n\n", header)
	cols := []string{"workload"}
	for _, p := range ps {
		cols = append(cols, p.name)
	}
	cols = append(cols, "aio/asyncio", "aio/best peer")
	for _, p := range ps {
		cols = append(cols, "RSS MiB "+p.name)
	}
	fmt.Fprintf(w, "| %s |\n|%s\n", strings.Join(cols, " | "), strings.Repeat("---|", len(cols)))

	var notes, failures, refs []string
	for wi, wl := range ws {
		ops := []string{wl.name + " " + wl.unit}
		var rss, noted []string
		for pi, p := range ps {
			ms := succeeded(res[wi][pi])
			switch {
			case len(ms) > 0:
				ops = append(ops, human(median(ms, func(m measurement) float64 { return m.OpsPerSec })))
				rss = append(rss, fmt.Sprintf("%.0f", median(ms, func(m measurement) float64 { return m.PeakRSS })))
				if note := medianNote(ms); note != "" {
					noted = append(noted, p.name+": "+note)
				}
			case len(res[wi][pi]) > 0:
				ops, rss = append(ops, "failed"), append(rss, "failed")
			default:
				ops, rss = append(ops, "—"), append(rss, "—")
			}
			for r, o := range res[wi][pi] {
				if o.err != nil {
					failures = append(failures, fmt.Sprintf("%s %s round %d: %v", wl.name, p.name, r+1, o.err))
				}
			}
			if !p.reference {
				continue
			}
			if x, ok := medianRatio(res[wi][0], res[wi][pi]); ok {
				refs = append(refs, fmt.Sprintf("%s: aio/%s %.2fx", wl.name, p.name, x))
			}
		}
		ratio := "—"
		if x, ok := medianRatio(res[wi][0], res[wi][1]); ok {
			ratio = fmt.Sprintf("%.2fx", x)
		}
		best := "—"
		aio := succeeded(res[wi][0])
		if bi, bops, ok := bestPeer(ps, res[wi]); ok && len(aio) > 0 {
			x := median(aio, func(m measurement) float64 { return m.OpsPerSec }) / bops
			best = fmt.Sprintf("%.2fx (%s)", x, ps[bi].name)
		}
		row := append(append(ops, ratio, best), rss...)
		fmt.Fprintf(w, "| %s |\n", strings.Join(row, " | "))
		if len(noted) > 0 {
			notes = append(notes, wl.name+": "+strings.Join(noted, "; "))
		}
	}

	fmt.Fprintf(w, "\nMedian of %d interleaved rounds (round r: each workload on each system, one fresh process each)", reps)
	if scale != 1 {
		fmt.Fprintf(w, "; every N scaled by %g", scale)
	}
	fmt.Fprintln(w, ". aio/asyncio is the median of the per-round ratios;"+
		" aio/best peer is aio's median over the highest median of the other systems, named in brackets.")
	fmt.Fprintln(w, "node hops with setImmediate (W4: 4 worker_threads posting messages); node µtask with microtasks (W1, W2, W6, W7 only).")
	fmt.Fprintln(w, "naive Go: a mutex-guarded slice, a channel wake-up, a timer heap, iter.Pull tasks."+
		" goja_nodejs: its eventloop from Go; W5 on goja promises, W6 and W7 as JavaScript async functions.")
	if slices.ContainsFunc(ps, func(p peer) bool { return p.reference }) {
		fmt.Fprintln(w, "bare iter.Pull: W7's steps on iter.Pull coroutines resumed round robin, no loop (W7-PULL); not a peer, so never the best peer.")
	}
	for _, r := range refs {
		fmt.Fprintln(w, r, "(median of the per-round ratios)")
	}
	var missing []string
	for _, p := range ps {
		if p.missing != "" {
			missing = append(missing, fmt.Sprintf("%s (%s)", p.name, p.missing))
		}
	}
	if len(missing) > 0 {
		fmt.Fprintf(w, "— not installed: %s. See bench/peers/README.md.\n", strings.Join(missing, "; "))
	}
	for _, n := range notes {
		fmt.Fprintln(w, n)
	}
	for _, f := range failures {
		fmt.Fprintln(w, "failed:", f)
	}
}
