package future

import (
	"testing"
	"unsafe"
)

// TestSizes: a future with a word-sized result, and its extra, each fill
// the 64-byte size class.
func TestSizes(t *testing.T) {
	var f Future[int]
	var x extra[int]
	if s := unsafe.Sizeof(f); s != 64 {
		t.Errorf("Future[int] takes %d bytes, want 64", s)
	}
	if s := unsafe.Sizeof(x); s != 64 {
		t.Errorf("extra[int] takes %d bytes, want 64", s)
	}
}
