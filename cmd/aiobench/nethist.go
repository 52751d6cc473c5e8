package main

import (
	"math/bits"
	"time"
)

// histogram counts durations in log-linear buckets: exact below 64 ns,
// then 32 buckets per power of two, so a quantile is within 1/32 (about
// 3%) of the true value. Its zero value is empty; it is not safe for
// concurrent use (N1 keeps one per connection and merges them).
type histogram struct {
	counts [histBuckets]uint64
	n      uint64
}

const (
	histSubBits = 5 // 32 buckets per power of two
	histBuckets = 64 << histSubBits
)

// histIndex is the bucket of v nanoseconds.
func histIndex(v uint64) int {
	if v < 2<<histSubBits {
		return int(v)
	}
	e := bits.Len64(v) - (histSubBits + 1) // v>>e is in [32, 64)
	return e<<histSubBits + int(v>>e)
}

// histBounds returns bucket i's values: [lo, hi).
func histBounds(i int) (lo, hi uint64) {
	if i < 2<<histSubBits {
		return uint64(i), uint64(i) + 1
	}
	e := i>>histSubBits - 1
	m := uint64(i&(1<<histSubBits-1) | 1<<histSubBits)
	return m << e, (m + 1) << e
}

func (h *histogram) record(d time.Duration) {
	h.counts[histIndex(uint64(max(d, 0)))]++
	h.n++
}

func (h *histogram) merge(o *histogram) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
}

// quantile returns the q-quantile (0 < q <= 1): the middle of the bucket
// that holds the ceil(q·n)-th smallest value; 0 if h is empty.
func (h *histogram) quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := uint64(q*float64(h.n) + 0.999999)
	rank = min(max(rank, 1), h.n)
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			lo, hi := histBounds(i)
			return time.Duration(lo + (hi-lo)/2)
		}
	}
	panic("unreachable")
}
