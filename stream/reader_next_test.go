package stream_test

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/aio-go/aio/loop"
	"github.com/aio-go/aio/stream"
)

// numbered returns n bytes that differ from their neighbours, from off on.
func numbered(off, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte((off + i) % 253)
	}
	return b
}

func TestReaderNext(t *testing.T) {
	var first, rest []byte
	var firstAfterFeed []byte
	var endErr error
	rdRun(t, func(co *loop.Coro) error {
		r := stream.NewReader(co.Loop(), 0)
		r.Feed(numbered(0, 4000))
		b, err := r.Next(co, 3990)
		if err != nil {
			return err
		}
		first = bytes.Clone(b)
		// A Feed that would slide the buffer's bytes to the front must not
		// touch those of the last Next.
		r.Feed(numbered(4000, 200))
		firstAfterFeed = bytes.Clone(b)
		rest, err = r.Next(co, 1<<20)
		if err != nil {
			return err
		}
		rest = bytes.Clone(rest)
		r.FeedEOF()
		_, endErr = r.Next(co, 1)
		return nil
	})
	assert.Equal(t, numbered(0, 3990), first)
	assert.Equal(t, first, firstAfterFeed, "the bytes of the last Next stay as they were until the next read")
	assert.Equal(t, numbered(3990, 210), rest)
	assert.ErrorIs(t, endErr, io.EOF)
}

func TestReaderNextWaitsAndFails(t *testing.T) {
	var got []byte
	var failed error
	boom := errors.New("boom")
	rdRun(t, func(co *loop.Coro) error {
		r := stream.NewReader(co.Loop(), 0)
		co.Loop().CallSoon(func() { r.Feed([]byte("late")) })
		b, err := r.Next(co, 2)
		if err != nil {
			return err
		}
		got = append(got, b...)
		b, err = r.Next(co, 10)
		if err != nil {
			return err
		}
		got = append(got, b...)
		co.Loop().CallSoon(func() { r.SetError(boom) })
		_, failed = r.Next(co, 10)
		return nil
	})
	assert.Equal(t, "late", string(got), "Next returns as soon as a byte is buffered, at most n")
	assert.ErrorIs(t, failed, boom)
}

func TestReaderNextBadCount(t *testing.T) {
	rdRun(t, func(co *loop.Coro) error {
		r := stream.NewReader(co.Loop(), 0)
		assert.PanicsWithValue(t, "stream: Reader.Next: count 0, want > 0", func() { r.Next(co, 0) })
		assert.PanicsWithValue(t, "stream: Reader.Next: count -1, want > 0", func() { r.Next(co, -1) })
		return nil
	})
}

// TestReaderPooledBufferStaysIntact: bytes that Read and ReadExactly
// return are the caller's for good, even as the Reader reuses its pooled
// buffer for what arrives next.
func TestReaderPooledBufferStaysIntact(t *testing.T) {
	var reads [][]byte
	rdRun(t, func(co *loop.Coro) error {
		r := stream.NewReader(co.Loop(), 0)
		for i := range 4 {
			r.Feed(numbered(i*1000, 1000))
			b, err := r.Read(co, 1000)
			if err != nil {
				return err
			}
			reads = append(reads, b)
			co.Loop().CallSoon(func() { r.Feed(numbered(9999, 1000)) })
			b, err = r.ReadExactly(co, 1000)
			if err != nil {
				return err
			}
			reads = append(reads, b)
		}
		return nil
	})
	for i := range 4 {
		assert.Equal(t, numbered(i*1000, 1000), reads[2*i])
		assert.Equal(t, numbered(9999, 1000), reads[2*i+1])
	}
}
