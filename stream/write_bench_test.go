package stream_test

import (
	"bytes"
	"context"
	"io"
	"net"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/aio-go/aio/loop"
	"github.com/aio-go/aio/stream"
)

// BenchmarkSocketWrite measures a transport writing 256 KiB at a time to a
// loopback peer that reads as fast as it can, pausing at PauseWriting as a
// protocol should: the writes the kernel does not take at once are written
// on the poller's writable reports, or by the writer goroutine
// (WithPortable).
func BenchmarkSocketWrite(b *testing.B) {
	for _, sp := range socketPaths {
		b.Run(sp.name, func(b *testing.B) { benchSocketWrite(b, sp.opts) })
	}
}

func benchSocketWrite(b *testing.B, opts []stream.Option) {
	const chunk = 256 << 10
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(b, err)
	defer ln.Close()
	wait := peer(nil, func(net.Conn) {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		io.Copy(io.Discard, c)
		c.Close()
	})
	piece := bytes.Repeat([]byte{'w'}, chunk)
	var resumed loop.Event
	r := &recorder{onResume: func(*recorder) { resumed.Set() }}
	b.SetBytes(chunk)
	_, err = loop.Run(context.Background(), func(co *loop.Coro) (struct{}, error) {
		tr, err := loop.Await(co, stream.Dial(co.Context(), co.Loop(), "tcp", ln.Addr().String(), func() stream.Protocol { return r }, opts...))
		if err != nil {
			return struct{}{}, err
		}
		for b.Loop() {
			if err := tr.Write(piece); err != nil {
				return struct{}{}, err
			}
			for r.pauses > r.resumes {
				resumed.Clear()
				if err := resumed.Wait(co); err != nil {
					return struct{}{}, err
				}
			}
		}
		tr.Close()
		return struct{}{}, r.wait(co, r.isLost)
	})
	require.NoError(b, err)
	wait()
}
