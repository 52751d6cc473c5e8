package stream

import "sync"

// Read buffer sizes: a connection's buffer starts small and doubles each
// time a read fills it, up to maxReadBuffer.
const (
	minReadBuffer = 4 << 10
	maxReadBuffer = 256 << 10 // asyncio's largest read
	readClasses   = 7         // 4, 8, 16, 32, 64, 128 and 256 KiB

	// A Reader's buffer takes up to two limits and a chunk (flow control).
	maxFeedBuffer = 256 << 10
	feedClasses   = 7
)

// readPools hold the read buffers of sockets waiting for data, and the
// buffers of Readers with nothing buffered, one pool per size: an idle
// connection holds no read buffer.
var readPools [feedClasses]sync.Pool

// readBuffer is one reader's buffer, taken from its pool when a read needs
// it and given back (put) when the reader waits for data or ends. Only the
// reader goroutine uses it.
type readBuffer struct {
	b      *[]byte
	class  uint8 // the size: minReadBuffer << class
	filled bool  // the last read filled b: the next read gets a bigger one
}

// get returns the buffer to read into, taking one if the reader has none.
func (r *readBuffer) get() []byte {
	if r.filled && r.class < readClasses-1 {
		r.put()
		r.class++
	}
	r.filled = false
	if r.b == nil {
		if v, ok := readPools[r.class].Get().(*[]byte); ok {
			r.b = v
		} else {
			b := make([]byte, minReadBuffer<<r.class)
			r.b = &b
		}
	}
	return *r.b
}

// take returns the first n bytes read into the buffer, noting whether
// they filled it.
func (r *readBuffer) take(n int) []byte {
	r.filled = n == len(*r.b)
	return (*r.b)[:n]
}

// keep returns the first n bytes read into the buffer for good: the
// buffer is not given back to its pool.
func (r *readBuffer) keep(n int) []byte {
	if r.b == nil {
		return nil
	}
	b := (*r.b)[:n]
	r.b = nil
	return b
}

// put gives the buffer back to its pool; the next get takes one again.
func (r *readBuffer) put() {
	if r.b != nil {
		readPools[r.class].Put(r.b)
		r.b = nil
	}
}
