package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The network benchmark (-net): N1-N3 of WORKLOADS.md against aio's echo
// servers and every installed peer, one fresh server process per cell per
// round, each measured by the same client (-netclient, a child of this
// program) on the other core.

// A netCell is one column of the network benchmark.
type netCell struct {
	name  string // as -cells names it
	label string // as the table heads it
	kind  int    // 1, 2 or 3: N1, N2, N3
	conns int    // N1: C
	size  int    // N1, N3: the message; N2: the client's write size
}

var netCells = []netCell{
	{"N1-1K", "N1 1 KiB ×10", 1, 10, 1 << 10},
	{"N1-10K", "N1 10 KiB ×10", 1, 10, 10 << 10},
	{"N1-100K", "N1 100 KiB ×10", 1, 10, 100 << 10},
	{"N1-128B", "N1 128 B ×100", 1, 100, 128},
	{"N2", "N2", 2, 1, 64 << 10},
	{"N3", "N3", 3, 0, 100},
}

func pickCells(names string) ([]netCell, error) {
	var cs []netCell
	for name := range strings.SplitSeq(names, ",") {
		name = strings.ToUpper(strings.TrimSpace(name))
		i := slices.IndexFunc(netCells, func(c netCell) bool { return c.name == name })
		if i < 0 {
			return nil, fmt.Errorf("unknown cell %q (want %s)", name, strings.Join(cellNames(), ", "))
		}
		cs = append(cs, netCells[i])
	}
	return cs, nil
}

func cellNames() []string {
	var ns []string
	for _, c := range netCells {
		ns = append(ns, c.name)
	}
	return ns
}

// A netServer is one row: an echo server program, or why it cannot run.
type netServer struct {
	key     string // as -netonly names it
	name    string // as the table names it
	version string
	missing string
	// goRuntime servers run with GOMAXPROCS=1.
	goRuntime bool
	// stats servers print "goroutines N" on SIGUSR1 when argv asks them to
	// (N3).
	stats bool
	// argv returns the command that serves cell c on 127.0.0.1, any port.
	argv func(c netCell) []string
}

// serverKeys are the rows, in order.
var serverKeys = []string{"aio-protocol", "aio-streams", "aio-protocol-portable", "aio-streams-portable", "go-net",
	"asyncio-streams", "asyncio-protocol", "uvloop-streams", "uvloop-protocol", "node"}

// goNetKey is the row the ratios are taken against.
const goNetKey = "go-net"

// findNetServers returns every server of serverKeys, building aio's
// examples/echo (from the repository above peerDir) and the Go net peer
// into tmp; aio's portable rows are exe -netserve -portable.
func findNetServers(exe, peerDir, tmp string) []netServer {
	root := filepath.Join(peerDir, "..", "..")
	echo := filepath.Join(tmp, "echo")
	aioMissing := goBuild(root, echo, "./examples/echo")
	aio := func(api string) netServer {
		return netServer{key: "aio-" + api, name: "aio " + api, version: runtime.Version(),
			missing: aioMissing, goRuntime: true,
			argv: func(netCell) []string { return []string{echo, "-listen", "127.0.0.1:0", "-api", api} }}
	}
	portable := func(api string) netServer {
		return netServer{key: "aio-" + api + "-portable", name: "aio " + api + " (portable)", version: runtime.Version(),
			goRuntime: true,
			argv: func(netCell) []string {
				return []string{exe, "-netserve", api, "-portable", "-listen", "127.0.0.1:0"}
			}}
	}
	goecho := filepath.Join(tmp, "goecho")
	gonet := netServer{key: goNetKey, name: "Go net", version: runtime.Version(),
		missing: goBuild(peerDir, goecho, "./goecho"), goRuntime: true, stats: true,
		argv: func(c netCell) []string {
			if c.kind == 3 {
				return []string{goecho, "-listen", "127.0.0.1:0", "-buf", "4096", "-stats"}
			}
			return []string{goecho, "-listen", "127.0.0.1:0"}
		}}

	script := filepath.Join(peerDir, "asyncio_echo.py")
	python := func(key, name, interp, module string, uv bool) netServer {
		s := netServer{key: key, name: name}
		var out string
		out, s.missing = probe(script, interp, "-c",
			"import sys"+module+"; print(sys.executable); print("+versionExpr(uv)+")")
		exe, version, _ := strings.Cut(out, "\n")
		s.version = strings.TrimSpace(version)
		style := strings.TrimPrefix(strings.TrimPrefix(key, "asyncio-"), "uvloop-")
		s.argv = func(netCell) []string {
			// The interpreter itself, not a pyenv shim: its pid is the server's.
			argv := []string{exe, script, "--style", style, "--listen", "127.0.0.1:0"}
			if uv {
				argv = append(argv, "--uvloop")
			}
			return argv
		}
		return s
	}

	js := filepath.Join(peerDir, "node_echo.js")
	node := netServer{key: "node", name: "node",
		argv: func(netCell) []string { return []string{"node", js, "--listen", "127.0.0.1:0"} }}
	node.version, node.missing = probe(js, "node", "-p", "'node ' + process.version")

	return []netServer{aio("protocol"), aio("streams"), portable("protocol"), portable("streams"), gonet,
		python("asyncio-streams", "asyncio streams", "python3", "", false),
		python("asyncio-protocol", "asyncio protocol", "python3", "", false),
		python("uvloop-streams", "uvloop streams", "/usr/bin/python3", ", uvloop", true),
		python("uvloop-protocol", "uvloop protocol", "/usr/bin/python3", ", uvloop", true),
		node}
}

// versionExpr is the Python expression that names the interpreter (and
// uvloop).
func versionExpr(uv bool) string {
	if uv {
		return "'uvloop', uvloop.__version__, 'on Python', sys.version.split()[0]"
	}
	return "'Python', sys.version.split()[0]"
}

// goBuild builds pkg of the module in dir into out, and returns why it
// failed, or "".
func goBuild(dir, out, pkg string) string {
	abs, err := filepath.Abs(out)
	if err != nil {
		return err.Error()
	}
	var errb bytes.Buffer
	cmd := exec.Command("go", "build", "-C", dir, "-o", abs, pkg)
	cmd.Stderr = &errb
	if err := cmd.Run(); err != nil {
		return fmt.Sprintf("go build %s in %s: %v: %s", pkg, dir, err, lastLine(errb.String()))
	}
	return ""
}

// netOptions are -net's flags.
type netOptions struct {
	peerDir string
	reps    int
	cells   []netCell
	only    []string // server keys; nil: all
	addr    string   // measure the server already listening there
	pid     int      // addr's server, for memory figures; 0: unknown
	client  clientConfig
	asJSON  bool
}

// A netOutcome is one cell of one round on one server.
type netOutcome struct {
	r   netResult
	err error
	// warns are things that did not spoil the measurement but must be
	// seen: a server that did not exit 0, or wrote to stderr.
	warns []string
}

// pinning says how servers and clients are put on cores.
type pinning struct{ server, client []string }

func findPinning() (pinning, string) {
	if _, err := exec.LookPath("taskset"); err != nil {
		return pinning{}, "unpinned (no taskset)"
	}
	if runtime.NumCPU() < 2 {
		return pinning{}, "unpinned (fewer than 2 cores)"
	}
	return pinning{server: []string{"taskset", "-c", "1"}, client: []string{"taskset", "-c", "0"}},
		"server taskset -c 1 (Go servers GOMAXPROCS=1), client taskset -c 0"
}

// runNet runs the network benchmark and prints its tables (or JSON) to w.
// It returns the exit status: 1 if any cell failed or any server did not
// exit cleanly.
func runNet(w io.Writer, o netOptions) int {
	if _, err := raiseNofile(); err != nil {
		fmt.Fprintln(os.Stderr, "aiobench: RLIMIT_NOFILE:", err)
	}
	exe, err := os.Executable()
	if err != nil {
		fmt.Fprintln(os.Stderr, "aiobench:", err)
		return 1
	}
	tmp, err := os.MkdirTemp("", "aiobench-net-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "aiobench:", err)
		return 1
	}
	defer os.RemoveAll(tmp)

	var servers []netServer
	if o.addr != "" {
		servers = []netServer{{key: "external", name: o.addr}}
	} else {
		for _, s := range findNetServers(exe, o.peerDir, tmp) {
			if o.only == nil || slices.Contains(o.only, s.key) {
				servers = append(servers, s)
			}
		}
	}
	pin, pinNote := findPinning()

	res := make([][][]netOutcome, len(servers))
	for i := range res {
		res[i] = make([][]netOutcome, len(o.cells))
	}
	status := 0
	for r := range o.reps {
		for ci, c := range o.cells {
			for si, s := range servers {
				if s.missing != "" {
					continue
				}
				out := runNetCell(exe, s, c, o, pin)
				res[si][ci] = append(res[si][ci], out)
				fmt.Fprintf(os.Stderr, "net: round %d/%d %s %s: %s\n", r+1, o.reps, c.name, s.name, progress(c, out))
				if out.err != nil || len(out.warns) > 0 {
					status = 1
				}
			}
		}
	}

	t := netTable{header: netHeader(servers, pinNote), servers: servers, cells: o.cells, res: res, reps: o.reps, client: o.client}
	if o.asJSON {
		t.writeJSON(w)
	} else {
		t.write(w)
	}
	return status
}

// progress is one line of stderr progress for an outcome.
func progress(c netCell, o netOutcome) string {
	var s string
	switch {
	case o.err != nil:
		s = "FAILED: " + o.err.Error()
	case c.kind == 1:
		s = fmt.Sprintf("%s rt/s, p50 %.0fµs, p99 %.0fµs", human(o.r.OpsPerSec), o.r.P50us, o.r.P99us)
	case c.kind == 2:
		s = fmt.Sprintf("%.0f MiB/s, RSS %.1f → %.1f MiB", o.r.MiBps, o.r.BaseRSS, o.r.PeakRSS)
	default:
		s = fmt.Sprintf("%.2f KiB/conn, RSS %.1f → %.1f MiB, threads %d → %d",
			o.r.KiBPerConn, o.r.BaseRSS, o.r.OpenRSS, o.r.Threads0, o.r.Threads)
	}
	for _, w := range o.warns {
		s += "; WARNING: " + w
	}
	return s
}

// runNetCell starts server s (unless -netaddr names one), runs the client
// child on cell c against it, and stops the server.
func runNetCell(exe string, s netServer, c netCell, o netOptions, pin pinning) netOutcome {
	addr, pid := o.addr, o.pid
	var sp *serverProc
	if s.argv != nil {
		var env []string
		if s.goRuntime {
			env = append(env, "GOMAXPROCS=1")
		}
		var err error
		sp, err = startServer(slices.Concat(pin.server, s.argv(c)), env)
		if err != nil {
			return netOutcome{err: fmt.Errorf("server: %w", err)}
		}
		addr, pid = sp.addr, sp.pid
	}

	cfg := o.client
	cfg.addr, cfg.pid, cfg.usr1 = addr, pid, s.stats && c.kind == 3
	r, err := runClientChild(exe, pin.client, c, cfg)
	out := netOutcome{r: r, err: err}
	if sp == nil {
		return out
	}
	if err := sp.stop(); err != nil {
		out.warns = append(out.warns, "server "+err.Error())
	}
	if msg := strings.TrimSpace(sp.stderr.String()); msg != "" {
		n := strings.Count(msg, "\n") + 1
		first, _, _ := strings.Cut(msg, "\n")
		out.warns = append(out.warns, fmt.Sprintf("server stderr, %d lines, first: %s", n, first))
	}
	if gs := sp.goroutineCounts(); len(gs) >= 2 && out.err == nil {
		out.r.Goroutines0, out.r.Goroutines = gs[0], gs[len(gs)-1]
	}
	return out
}

// clientArgs are the flags that make this program a client child.
func clientArgs(c netCell, cfg clientConfig) []string {
	args := []string{"-netclient", c.name, "-netaddr", cfg.addr,
		"-netwarm", cfg.warm.String(), "-netdur", cfg.dur.String(),
		"-n2mib", strconv.FormatInt(cfg.n2Bytes>>20, 10), "-n3conns", strconv.Itoa(cfg.n3Conns)}
	if cfg.pid > 0 {
		args = append(args, "-netpid", strconv.Itoa(cfg.pid))
	}
	if cfg.usr1 {
		args = append(args, "-netusr1")
	}
	return args
}

// runClientChild runs exe -netclient (behind prefix, the pinning) and
// parses its JSON line.
func runClientChild(exe string, prefix []string, c netCell, cfg clientConfig) (netResult, error) {
	ctx, cancel := context.WithTimeout(context.Background(), cfg.warm+cfg.dur+5*time.Minute)
	defer cancel()
	argv := slices.Concat(prefix, []string{exe}, clientArgs(c, cfg))
	var out, errb bytes.Buffer
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return netResult{}, fmt.Errorf("client: %v: %s", err, strings.TrimSpace(errb.String()))
	}
	var r netResult
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		return netResult{}, fmt.Errorf("client: bad output %q: %v", out.String(), err)
	}
	if r.Ops <= 0 {
		return netResult{}, fmt.Errorf("client: bad output %q: no ops", out.String())
	}
	return r, nil
}

// runNetClient is the client child: it runs one cell and prints its
// netResult as one JSON line.
func runNetClient(w io.Writer, cell string, cfg clientConfig) int {
	cs, err := pickCells(cell)
	if err != nil || len(cs) != 1 {
		fmt.Fprintln(os.Stderr, "aiobench: -netclient:", err)
		return 2
	}
	if cfg.addr == "" {
		fmt.Fprintln(os.Stderr, "aiobench: -netclient needs -netaddr")
		return 2
	}
	if _, err := raiseNofile(); err != nil {
		fmt.Fprintln(os.Stderr, "aiobench: RLIMIT_NOFILE:", err)
	}
	r, err := runClient(cs[0], cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "aiobench:", err)
		return 1
	}
	_ = json.NewEncoder(w).Encode(r)
	return 0
}

// netHeader names the date, the machine, every server's version and the
// pinning.
func netHeader(servers []netServer, pinNote string) string {
	ps := []peer{{version: runtime.Version()}} // the client's, at least
	for _, s := range servers {
		ps = append(ps, peer{version: s.version})
	}
	return machine(ps) + "; " + pinNote
}

// parseServerKeys parses -netonly.
func parseServerKeys(list string) ([]string, error) {
	if list == "" {
		return nil, nil
	}
	var keys []string
	for k := range strings.SplitSeq(list, ",") {
		k = strings.ToLower(strings.TrimSpace(k))
		if !slices.Contains(serverKeys, k) {
			return nil, fmt.Errorf("unknown server %q (want %s)", k, strings.Join(serverKeys, ", "))
		}
		keys = append(keys, k)
	}
	return keys, nil
}
