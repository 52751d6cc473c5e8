package main

import (
	"fmt"
	"io"
	"time"
)

func runSoak(w io.Writer, d, every time.Duration) int {
	fmt.Fprintln(w, "soak: not built yet")
	return 1
}
func runPeers(w io.Writer, ws []workload, reps int, scale float64, dir string) int {
	fmt.Fprintln(w, "peers: not built yet")
	return 1
}
