package main

import (
	"errors"
	"fmt"
	"io"
	"time"
)

func runW6(float64) (result, error) { return result{}, errors.New("W6: not built yet") }
func runW7(float64) (result, error) { return result{}, errors.New("W7: not built yet") }
func runSoak(w io.Writer, d, every time.Duration) int {
	fmt.Fprintln(w, "soak: not built yet")
	return 1
}
func runPeers(w io.Writer, ws []workload, reps int, scale float64, dir string) int {
	fmt.Fprintln(w, "peers: not built yet")
	return 1
}
