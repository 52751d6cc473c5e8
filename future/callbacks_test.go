package future

import (
	"testing"
	"unsafe"
)

// TestSizes: a future with a word-sized result fills the 48-byte size
// class, its extra the 64-byte one.
func TestSizes(t *testing.T) {
	var f Future[int]
	var x extra
	if s := unsafe.Sizeof(f); s != 48 {
		t.Errorf("Future[int] takes %d bytes, want 48", s)
	}
	if s := unsafe.Sizeof(x); s != 64 {
		t.Errorf("extra takes %d bytes, want 64", s)
	}
}
