// Command aiobench runs the event-loop workloads of WORKLOADS.md (W1-W7)
// against aio, each repetition in a fresh process, and prints the medians
// beside the peers' figures measured on the project's machine.
//
//	go run ./cmd/aiobench                      # all workloads, 5 repetitions
//	go run ./cmd/aiobench -w W1,W5 -reps 3     # some of them
//	go run ./cmd/aiobench -json                # one JSON object per workload
//	go run ./cmd/aiobench -w W7,W7-PULL        # W7 beside its bare-coroutine ceiling
//	go run ./cmd/aiobench -peers               # W1-W7 beside asyncio, uvloop, Node.js, run here
//	go run ./cmd/aiobench -net                 # N1-N3 (network echo) on aio and every peer
//
// A child process (-child W1) runs one workload once and prints one JSON
// line; the parent interleaves the children (W1, W2, ..., W1, W2, ...) so
// that every workload sees the same machine load, and takes medians.
//
// -net starts a fresh echo server per cell per round (aio's examples/echo
// in both APIs, and the peers of bench/peers) on one core and measures it
// with a client child (-netclient N1-1K) on the other; -netonly and -cells
// pick rows and columns, -netaddr measures a server already listening
// (such as -netserve, aio's echo with a CPU profile). aio's rows run on the
// loop's poller (Linux's fast path); the rows "(portable)" run the same
// echo with -netserve -portable (stream.WithPortable: a reader and a
// writer goroutine per connection). bench/peers/README.md says more.
package main

import (
	"bytes"
	"cmp"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime/pprof"
	"slices"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"
)

// measurement is one child's output.
type measurement struct {
	Workload  string  `json:"workload"`
	Ops       int     `json:"ops"`
	Seconds   float64 `json:"seconds"`
	OpsPerSec float64 `json:"ops_per_sec"`
	PeakRSS   float64 `json:"peak_rss_mib"`
	Note      string  `json:"note,omitempty"`
}

// summary is the parent's JSON output for one workload.
type summary struct {
	Workload  string  `json:"workload"`
	OpsPerSec float64 `json:"ops_per_sec"`
	PeakRSS   float64 `json:"peak_rss_mib"`
	Reps      int     `json:"reps"`
	Scale     float64 `json:"scale,omitempty"`
	Note      string  `json:"note,omitempty"`
}

func main() {
	var (
		names   = flag.String("w", "W1,W2,W3,W4,W5,W6,W7", "comma-separated workloads to run")
		reps    = flag.Int("reps", 5, "repetitions (fresh processes) per workload; -net's default is 3")
		asJSON  = flag.Bool("json", false, "print one JSON object per workload instead of a table")
		scale   = flag.Float64("scale", 1, "multiply every N by this factor")
		child   = flag.String("child", "", "run one workload once in this process (used by the parent)")
		soak    = flag.Duration("soak", 0, "run the mixed soak workload for this long instead")
		every   = flag.Duration("every", 5e9, "with -soak: report interval")
		peers   = flag.Bool("peers", false, "also run the peer implementations in bench/peers that are installed")
		peerDir = flag.String("peerdir", "bench/peers", "with -peers or -net: where the peer programs are")
		profile = flag.String("cpuprofile", "", "with -child or -netserve: write a CPU profile to this file")

		network   = flag.Bool("net", false, "run the network benchmark N1-N3 on aio's echo servers and every installed peer")
		cells     = flag.String("cells", strings.Join(cellNames(), ","), "with -net: comma-separated cells to run")
		only      = flag.String("netonly", "", "with -net: comma-separated servers to run (default all: "+strings.Join(serverKeys, ",")+")")
		netAddr   = flag.String("netaddr", "", "with -net: measure the server already listening at HOST:PORT instead of starting servers")
		netPid    = flag.Int("netpid", 0, "with -netaddr: the pid of that server, for its memory figures")
		netDur    = flag.Duration("netdur", 10*time.Second, "with -net: N1's timed duration per cell")
		netWarm   = flag.Duration("netwarm", 2*time.Second, "with -net: N1's warm-up before it")
		n2MiB     = flag.Int64("n2mib", 1024, "with -net: MiB that N2 echoes")
		n3Conns   = flag.Int("n3conns", 10000, "with -net: N3's connections")
		netClient = flag.String("netclient", "", "run the client of one -net cell once in this process (used by -net)")
		netUSR1   = flag.Bool("netusr1", false, "with -netclient N3: send the server SIGUSR1 before and with all open (used by -net)")
		netServe  = flag.String("netserve", "", "serve aio's echo, protocol or streams, until SIGTERM (with -cpuprofile: profile it)")
		listen    = flag.String("listen", "127.0.0.1:0", "with -netserve: the address to listen on")
		portable  = flag.Bool("portable", false, "with -netserve: keep the connections off the poller (stream.WithPortable)")
	)
	flag.Parse()
	if *child != "" {
		os.Exit(runChild(*child, *scale, *profile))
	}
	if *netServe != "" {
		os.Exit(runNetServe(*netServe, *listen, *profile, *portable))
	}
	cfg := clientConfig{addr: *netAddr, pid: *netPid, usr1: *netUSR1, warm: *netWarm, dur: *netDur,
		n2Bytes: *n2MiB << 20, n2Pause: n2Pause, n3Conns: *n3Conns}
	if *netClient != "" {
		os.Exit(runNetClient(os.Stdout, *netClient, cfg))
	}
	if *network {
		o := netOptions{peerDir: *peerDir, reps: *reps, addr: *netAddr, pid: *netPid, client: cfg, asJSON: *asJSON}
		if !flagSet("reps") {
			o.reps = 3
		}
		var err error
		if o.cells, err = pickCells(*cells); err == nil {
			o.only, err = parseServerKeys(*only)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "aiobench:", err)
			os.Exit(2)
		}
		os.Exit(runNet(os.Stdout, o))
	}
	if *soak > 0 {
		os.Exit(runSoak(os.Stdout, *soak, *every))
	}
	ws, err := pick(*names)
	if err != nil {
		fmt.Fprintln(os.Stderr, "aiobench:", err)
		os.Exit(2)
	}
	if *peers {
		for _, w := range ws {
			if slices.ContainsFunc(baselines, func(b workload) bool { return b.name == w.name }) {
				fmt.Fprintf(os.Stderr, "aiobench: %s is a Go baseline; the peers do not run it\n", w.name)
				os.Exit(2)
			}
		}
		os.Exit(runPeers(os.Stdout, ws, *reps, *scale, *peerDir))
	}
	sums, err := runParent(ws, *reps, *scale)
	if err != nil {
		fmt.Fprintln(os.Stderr, "aiobench:", err)
		os.Exit(1)
	}
	if *asJSON {
		enc := json.NewEncoder(os.Stdout)
		for _, s := range sums {
			_ = enc.Encode(s)
		}
		return
	}
	printTable(os.Stdout, ws, sums, *reps, *scale)
}

// n2Pause is how long N2's client stops reading, halfway.
const n2Pause = 2 * time.Second

// flagSet reports whether the command line set flag name.
func flagSet(name string) bool {
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

func pick(names string) ([]workload, error) {
	var ws []workload
	for _, name := range strings.Split(names, ",") {
		name = strings.ToUpper(strings.TrimSpace(name))
		all := slices.Concat(workloads, baselines)
		i := slices.IndexFunc(all, func(w workload) bool { return w.name == name })
		if i < 0 {
			return nil, fmt.Errorf("unknown workload %q", name)
		}
		ws = append(ws, all[i])
	}
	return ws, nil
}

// runChild runs one workload and prints its measurement as JSON.
func runChild(name string, scale float64, profile string) int {
	ws, err := pick(name)
	if err != nil {
		fmt.Fprintln(os.Stderr, "aiobench:", err)
		return 2
	}
	if profile != "" {
		f, err := os.Create(profile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "aiobench:", err)
			return 1
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(os.Stderr, "aiobench:", err)
			return 1
		}
		defer pprof.StopCPUProfile()
	}
	r, err := ws[0].run(scale)
	if err != nil {
		fmt.Fprintln(os.Stderr, "aiobench:", err)
		return 1
	}
	m := measurement{
		Workload:  name,
		Ops:       r.ops,
		Seconds:   r.elapsed.Seconds(),
		OpsPerSec: float64(r.ops) / r.elapsed.Seconds(),
		PeakRSS:   peakRSS(),
		Note:      r.note,
	}
	_ = json.NewEncoder(os.Stdout).Encode(m)
	return 0
}

// peakRSS is getrusage(RUSAGE_SELF).ru_maxrss in MiB.
func peakRSS() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Maxrss) / 1024 // Linux reports KiB
}

// runParent runs every workload reps times, interleaved, each in a fresh
// process, and returns the medians.
func runParent(ws []workload, reps int, scale float64) ([]summary, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	got := make(map[string][]measurement)
	for range reps {
		for _, w := range ws {
			m, err := spawn(exe, w.name, scale)
			if err != nil {
				return nil, err
			}
			got[w.name] = append(got[w.name], m)
		}
	}
	var sums []summary
	for _, w := range ws {
		ms := got[w.name]
		s := summary{Workload: w.name, Reps: len(ms), Note: medianNote(ms)}
		if scale != 1 {
			s.Scale = scale
		}
		s.OpsPerSec = median(ms, func(m measurement) float64 { return m.OpsPerSec })
		s.PeakRSS = median(ms, func(m measurement) float64 { return m.PeakRSS })
		sums = append(sums, s)
	}
	return sums, nil
}

func spawn(exe, name string, scale float64) (measurement, error) {
	var out, errb bytes.Buffer
	cmd := exec.Command(exe, "-child", name, "-scale", fmt.Sprint(scale))
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return measurement{}, fmt.Errorf("%s: %v: %s", name, err, strings.TrimSpace(errb.String()))
	}
	var m measurement
	if err := json.Unmarshal(out.Bytes(), &m); err != nil {
		return measurement{}, fmt.Errorf("%s: bad output %q: %v", name, out.String(), err)
	}
	return m, nil
}

// medianNote is the note of the repetition with the median ops/s (the
// lower one of an even count): a per-run figure such as W6's ns/await.
func medianNote(ms []measurement) string {
	if len(ms) == 0 {
		return ""
	}
	byOps := slices.Clone(ms)
	slices.SortFunc(byOps, func(a, b measurement) int { return cmp.Compare(a.OpsPerSec, b.OpsPerSec) })
	return byOps[(len(byOps)-1)/2].Note
}

// median is the median of f over xs, 0 if xs is empty.
func median[T any](xs []T, f func(T) float64) float64 {
	vs := make([]float64, len(xs))
	for i, x := range xs {
		vs[i] = f(x)
	}
	slices.Sort(vs)
	n := len(vs)
	if n == 0 {
		return 0
	}
	if n%2 == 1 {
		return vs[n/2]
	}
	return (vs[n/2-1] + vs[n/2]) / 2
}

// printTable prints aio's medians beside the anchor figures of WORKLOADS.md.
func printTable(w io.Writer, ws []workload, sums []summary, reps int, scale float64) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "workload\taio\tpeak RSS MiB\tasyncio\tuvloop\tnode\tgoja\tvs asyncio\tvs best peer\t\n")
	for i, s := range sums {
		a := anchors[s.Workload]
		best := slices.Max(a.ops[:])
		fmt.Fprintf(tw, "%s %s\t%s\t%.0f\t%s\t%s\t%s\t%s\t%.1fx\t%.1fx\t\n",
			s.Workload, ws[i].unit, human(s.OpsPerSec), s.PeakRSS,
			human(a.ops[0]), human(a.ops[1]), human(a.ops[2]), human(a.ops[3]),
			s.OpsPerSec/a.ops[0], s.OpsPerSec/best)
	}
	_ = tw.Flush()
	fmt.Fprintf(w, "\nmedian of %d fresh processes per workload", reps)
	if scale != 1 {
		fmt.Fprintf(w, ", every N scaled by %g", scale)
	}
	fmt.Fprintln(w, "; peers: WORKLOADS.md anchors (same machine kind, 2026-11-22).")
	for _, s := range sums {
		if s.Note != "" {
			fmt.Fprintf(w, "%s: %s\n", s.Workload, s.Note)
		}
	}
}

func human(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.2fM", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%.0fk", v/1e3)
	}
	return fmt.Sprintf("%.0f", v)
}

// anchor is a row of WORKLOADS.md's table: asyncio, uvloop, node (best of
// setImmediate/microtask), goja_nodejs.
type anchor struct{ ops [4]float64 }

var anchors = map[string]anchor{
	"W1": {[4]float64{726e3, 814e3, 2.85e6, 4.52e6}},
	"W2": {[4]float64{593e3, 1.59e6, 9.81e6, 5.94e6}},
	"W3": {[4]float64{203e3, 344e3, 1.28e6, 291e3}},
	"W4": {[4]float64{195e3, 809e3, 1.35e6, 10.5e6}},
	"W5": {[4]float64{338e3, 337e3, 2.88e6, 3.10e6}},
	"W6": {[4]float64{198e3, 537e3, 3.22e6, 1.54e6}},
	"W7": {[4]float64{409e3, 503e3, 2.13e6, 1.13e6}},
	// W7-PULL is W7's work: the same peers.
	"W7-PULL": {[4]float64{409e3, 503e3, 2.13e6, 1.13e6}},
}
