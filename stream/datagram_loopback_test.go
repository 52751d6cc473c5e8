package stream_test

import (
	"context"
	"fmt"
	"net"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aio-go/aio/loop"
	"github.com/aio-go/aio/stream"
)

// TestUDPEcho: a client endpoint and an echo endpoint exchange 100
// datagrams, 10 in flight at a time.
func TestUDPEcho(t *testing.T) {
	const total, window = 100, 10
	echoer := &dgRecorder{onData: func(r *dgRecorder, data []byte, addr net.Addr) { _ = r.t.SendTo(data, addr) }}
	client := &dgRecorder{}
	var srvAddr, cliAddr string
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := loop.Run(ctx, func(co *loop.Coro) (struct{}, error) {
		l := co.Loop()
		srv, err := stream.ListenPacket(l, "udp", "127.0.0.1:0", func() stream.DatagramProtocol { return echoer })
		if err != nil {
			return struct{}{}, err
		}
		cli, err := stream.ListenPacket(l, "udp", "127.0.0.1:0", func() stream.DatagramProtocol { return client })
		if err != nil {
			return struct{}{}, err
		}
		srvAddr, cliAddr = srv.LocalAddr().String(), cli.LocalAddr().String()
		sent := 0
		sendNext := func() {
			if sent < total {
				_ = cli.SendTo([]byte(fmt.Sprint(sent)), srv.LocalAddr())
				sent++
			}
		}
		client.onData = func(*dgRecorder, []byte, net.Addr) { sendNext() }
		for range window {
			sendNext()
		}
		if err := client.wait(co, func() bool { return len(client.got) == total }); err != nil {
			return struct{}{}, err
		}
		cli.Close()
		srv.Close()
		if err := client.wait(co, client.isLost); err != nil {
			return struct{}{}, err
		}
		return struct{}{}, echoer.wait(co, echoer.isLost)
	})
	require.NoError(t, err)
	var wantEcho, wantClient []string
	for i := range total {
		wantEcho = append(wantEcho, fmt.Sprintf("%d@%s", i, cliAddr))
		wantClient = append(wantClient, fmt.Sprintf("%d@%s", i, srvAddr))
	}
	// UDP may reorder, even on loopback: compare the sets.
	assert.ElementsMatch(t, wantEcho, echoer.got)
	assert.ElementsMatch(t, wantClient, client.got)
	assert.Empty(t, client.errs)
	assert.Empty(t, echoer.errs)
	assert.NoError(t, client.err)
	assert.NoError(t, echoer.err)
}

// TestUDPConnectedRefused: on Linux, a datagram sent on a connected UDP
// socket to a port nobody listens on comes back as an ICMP port
// unreachable, which the socket reports as ECONNREFUSED: ErrorReceived gets
// it and the endpoint stays open. An unconnected socket gets nothing, and
// other systems differ, so only this case is checked.
func TestUDPConnectedRefused(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("ECONNREFUSED on a connected UDP socket is checked on Linux only")
	}
	gone, err := net.ListenPacket("udp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := gone.LocalAddr().(*net.UDPAddr)
	require.NoError(t, gone.Close())
	conn, err := net.DialUDP("udp", nil, addr)
	require.NoError(t, err)

	r := &dgRecorder{}
	var open bool
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err = loop.Run(ctx, func(co *loop.Coro) (struct{}, error) {
		tr := stream.AdoptPacket(co.Loop(), conn, r)
		if err := tr.SendTo([]byte("anyone?"), nil); err != nil {
			return struct{}{}, err
		}
		if err := r.wait(co, func() bool { return len(r.errs) > 0 }); err != nil {
			return struct{}{}, err
		}
		open = !tr.IsClosing()
		tr.Close()
		return struct{}{}, r.wait(co, r.isLost)
	})
	require.NoError(t, err)
	require.NotEmpty(t, r.errs)
	assert.ErrorIs(t, r.errs[0], syscall.ECONNREFUSED)
	var op *stream.OpError
	assert.ErrorAs(t, r.errs[0], &op)
	assert.True(t, open, "the endpoint stays open after ErrorReceived")
	assert.Equal(t, "lost", r.trace[len(r.trace)-1])
	assert.NoError(t, r.err)
}
