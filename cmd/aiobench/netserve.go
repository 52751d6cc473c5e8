package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/aio-go/aio/loop"
	"github.com/aio-go/aio/stream"
)

// runNetServe is -netserve: the echo servers of examples/echo (the same
// few lines, so that the example grows no benchmark flags), with a CPU
// profile of the serving written to profile when SIGINT or SIGTERM stops
// it. Point -net -netaddr at it to profile one cell:
//
//	taskset -c 1 env GOMAXPROCS=1 aiobench -netserve protocol -cpuprofile n1.prof
//	aiobench -net -netaddr 127.0.0.1:PORT -cells N1-1K -reps 1
//
// With portable set, the connections stay off the loop's poller
// (stream.WithPortable): -net's rows "(portable)".
func runNetServe(api, addr, profile string, portable bool) int {
	var opts []stream.Option
	if portable {
		opts = append(opts, stream.WithPortable())
	}
	var serve func(*loop.Loop, string) (*stream.Server, error)
	switch api {
	case "protocol":
		serve = func(l *loop.Loop, addr string) (*stream.Server, error) {
			return stream.Listen(l, "tcp", addr, func() stream.Protocol { return &echoProtocol{} }, opts...)
		}
	case "streams":
		serve = func(l *loop.Loop, addr string) (*stream.Server, error) {
			return stream.StartServer(l, "tcp", addr, echoStreams, opts...)
		}
	default:
		fmt.Fprintf(os.Stderr, "aiobench: -netserve %q: want protocol or streams\n", api)
		return 2
	}
	if err := netServe(serve, addr, profile); err != nil {
		fmt.Fprintln(os.Stderr, "aiobench:", err)
		return 1
	}
	return 0
}

func netServe(serve func(*loop.Loop, string) (*stream.Server, error), addr, profile string) error {
	l := loop.New()
	defer l.Close()
	srv, err := serve(l, addr)
	if err != nil {
		return err
	}
	if profile != "" {
		f, err := os.Create(profile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	fmt.Println("listening on", srv.Addr())
	stop := func() {
		srv.Close()
		l.Stop()
	}
	for _, sig := range []os.Signal{os.Interrupt, syscall.SIGTERM} {
		if err := l.AddSignalHandler(sig, stop); err != nil {
			return err
		}
	}
	if err := l.RunForever(); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return l.Shutdown(ctx)
}

// echoStreams is examples/echo's streams handler.
func echoStreams(co *loop.Coro, r *stream.Reader, w *stream.Writer) error {
	for {
		b, err := r.Next(co, 100<<10)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := w.Write(b); err != nil {
			return err
		}
		if err := w.Drain(co); err != nil {
			return err
		}
	}
}

// echoProtocol is examples/echo's protocol: it writes back what it
// receives, and stops reading while its write buffer is past the
// high-water mark.
type echoProtocol struct{ t *stream.Transport }

func (e *echoProtocol) ConnectionMade(t *stream.Transport) { e.t = t }
func (e *echoProtocol) DataReceived(b []byte)              { e.t.Write(b) }
func (e *echoProtocol) EOFReceived() bool                  { return false }
func (e *echoProtocol) ConnectionLost(error)               {}
func (e *echoProtocol) PauseWriting()                      { e.t.PauseReading() }
func (e *echoProtocol) ResumeWriting()                     { e.t.ResumeReading() }
