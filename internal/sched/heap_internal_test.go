package sched

import (
	"math"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Regression: equal-deadline order must survive the 32-bit sequence counter
// running out; timers scheduled before and after the wrap stay FIFO.
func TestHeapSequenceWrapKeepsEqualDeadlinesFIFO(t *testing.T) {
	var h Heap
	h.seq = math.MaxUint32 - 3
	var ran []int
	for i := range 8 {
		h.Push(100, func() { ran = append(ran, i) })
	}
	h.Push(50, func() { ran = append(ran, -1) })
	require.Less(t, h.seq, uint32(100), "the counter was renumbered")
	for {
		s, ok := h.PopDue(100)
		if !ok {
			break
		}
		fn, _ := s.take()
		fn()
	}
	assert.Equal(t, []int{-1, 0, 1, 2, 3, 4, 5, 6, 7}, ran)
}

// A Slot stays 32 bytes: the deadline as given, for the rare timers that
// need it, lives in their origin.
func TestSlotSize(t *testing.T) {
	assert.EqualValues(t, 32, unsafe.Sizeof(Slot{}))
}
