// Package peerbench is what the Go peers of bench/peers share: the command
// line, the W3 delays, and the JSON line every peer prints, so that
// cmd/aiobench -peers reads them like asyncio_bench.py and node_bench.js.
package peerbench

import (
	"encoding/json"
	"flag"
	"fmt"
	"maps"
	"os"
	"path"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"syscall"
	"time"
)

// A Result is what one run of a workload measured.
type Result struct {
	Ops     int
	Elapsed time.Duration
	Note    string
}

// A Workload runs once at the given scale. It returns an error if a count
// or checksum it asserts does not hold.
type Workload func(scale float64) (Result, error)

// line is the JSON line of WORKLOADS.md's peers.
type line struct {
	Workload  string  `json:"workload"`
	Ops       int     `json:"ops"`
	Seconds   float64 `json:"seconds"`
	OpsPerSec float64 `json:"ops_per_sec"`
	PeakRSS   float64 `json:"peak_rss_mib"`
	Note      string  `json:"note"`
}

// Main runs the workload named by the command line once and prints its JSON
// line, then exits: 0 on success, 1 on a failed check, 2 on a bad command
// line.
//
//	prog W1 [--scale S]
//	prog -version
//
// -version prints, on one line, the version of each module in mods that
// the binary was built with, or the Go version if mods is empty.
func Main(prog string, ws map[string]Workload, mods ...string) {
	names := slices.Sorted(maps.Keys(ws))
	usage := fmt.Sprintf("usage: %s {%s} [--scale S] | -version", prog, strings.Join(names, ","))
	if len(os.Args) == 2 && (os.Args[1] == "-version" || os.Args[1] == "--version") {
		fmt.Println(version(mods))
		os.Exit(0)
	}
	if len(os.Args) < 2 || ws[os.Args[1]] == nil {
		fmt.Fprintln(os.Stderr, usage)
		os.Exit(2)
	}
	name := os.Args[1]
	fs := flag.NewFlagSet(prog, flag.ContinueOnError)
	scale := fs.Float64("scale", 1, "multiply every N by this factor")
	if err := fs.Parse(os.Args[2:]); err != nil || fs.NArg() > 0 || !(*scale > 0) {
		fmt.Fprintln(os.Stderr, usage)
		os.Exit(2)
	}
	r, err := ws[name](*scale)
	if err == nil && r.Elapsed <= 0 {
		err = fmt.Errorf("%s: completion was never detected", name)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", prog, err)
		os.Exit(1)
	}
	s := r.Elapsed.Seconds()
	_ = json.NewEncoder(os.Stdout).Encode(line{
		Workload:  name,
		Ops:       r.Ops,
		Seconds:   s,
		OpsPerSec: float64(r.Ops) / s,
		PeakRSS:   peakRSS(),
		Note:      r.Note,
	})
	os.Exit(0)
}

// version is the Go version the binary was built with when mods is empty;
// otherwise the version of each module in mods, as "goja v0.0.0-...".
func version(mods []string) string {
	if len(mods) == 0 {
		return runtime.Version()
	}
	info, ok := debug.ReadBuildInfo()
	var vs []string
	for _, m := range mods {
		found := "(unknown version)"
		if ok {
			for _, d := range info.Deps {
				if d.Path == m {
					found = d.Version
				}
			}
		}
		vs = append(vs, path.Base(m)+" "+found)
	}
	return strings.Join(vs, ", ")
}

// peakRSS is getrusage(RUSAGE_SELF).ru_maxrss in MiB.
func peakRSS() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Maxrss) / 1024 // Linux reports KiB
}

// Scaled is n times scale, at least 1.
func Scaled(n int, scale float64) int { return max(1, int(float64(n)*scale)) }

// W3Delays returns W3's delays, a 32-bit LCG from 12345 with each x/2^32 of
// 50 ms, and their sum in ms, which every peer prints as delay_sum_ms.
func W3Delays(n int) ([]time.Duration, float64) {
	delays := make([]time.Duration, n)
	x := uint32(12345)
	sum := 0.0
	for i := range delays {
		x = 1664525*x + 1013904223
		ms := float64(x) / (1 << 32) * 50
		sum += ms
		delays[i] = time.Duration(ms * float64(time.Millisecond))
	}
	return delays, sum
}

// W3Note is W3's note for delays summing to sum ms.
func W3Note(sum float64) string { return fmt.Sprintf("delay_sum_ms=%.3f", sum) }
