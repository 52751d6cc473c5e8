// Command echo is an echo server on stream's protocol API (asyncio's
// create_server with a Protocol) or its streams API (start_server): everything a client sends comes back,
// and a client's EOF closes its connection once the echo is written. It
// shows flow control too: while a client does not read, the server stops
// reading from it (PauseWriting pauses reading), so memory stays bounded.
//
// It serves until SIGINT or SIGTERM. The first stops accepting and shuts
// the loop down gracefully: the open connections may finish, and it exits
// 0; any still open after 5 seconds are aborted, and it exits 1. A second
// signal exits at once, with status 1.
//
// Try it:
//
//	go run ./examples/echo                 # prints: listening on 127.0.0.1:PORT
//	nc 127.0.0.1 PORT                      # in another terminal; type, and it echoes
//
// -listen ADDR sets the address (127.0.0.1:0, any free port, by default);
// -api streams selects the streams API (a task with a Reader and a Writer
// per connection) instead of the protocol API.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"syscall"
	"time"

	"github.com/aio-go/aio/loop"
	"github.com/aio-go/aio/stream"
)

// grace bounds the graceful shutdown: the connections still open then are
// aborted.
const grace = 5 * time.Second

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "the TCP address to listen on")
	api := flag.String("api", "protocol", "the stream API that serves: protocol or streams")
	flag.Parse()
	log.SetFlags(0)
	log.SetPrefix("echo: ")

	var serve func(*loop.Loop, string) (*stream.Server, error)
	switch *api {
	case "protocol":
		serve = serveProtocol
	case "streams":
		serve = serveStreams
	default:
		log.Fatalf("-api %q: want protocol or streams", *api)
	}
	if err := run(serve, *listen); err != nil {
		log.Fatal(err)
	}
}

// run serves on a new loop until the first signal, then shuts the loop
// down.
func run(serve func(*loop.Loop, string) (*stream.Server, error), addr string) error {
	l := loop.New()
	defer l.Close()
	srv, err := serve(l, addr) // before RunForever: this goroutine is the loop's
	if err != nil {
		return err
	}
	fmt.Println("listening on", srv.Addr())

	stopping := false
	onSignal := func() {
		if stopping {
			log.Print("second signal: exiting now")
			os.Exit(1)
		}
		stopping = true
		srv.Close() // stop accepting
		fmt.Println("shutting down (a second signal exits now)")
		l.Stop()
	}
	for _, sig := range []os.Signal{os.Interrupt, syscall.SIGTERM} {
		if err := l.AddSignalHandler(sig, onSignal); err != nil {
			return err
		}
	}
	if err := l.RunForever(); err != nil {
		return err
	}
	// Shutdown runs the loop again until the connections have ended; the
	// signal handlers still work meanwhile.
	ctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	return l.Shutdown(ctx)
}

// serveProtocol listens on addr with an echo protocol per connection.
func serveProtocol(l *loop.Loop, addr string) (*stream.Server, error) {
	return stream.Listen(l, "tcp", addr, func() stream.Protocol { return &echo{} })
}

// serveStreams serves with the streams API (asyncio's start_server): each
// connection's handler is a task that reads what arrives (up to 100 KiB at
// a time, without a copy) and writes it back, waiting in Drain
// while the client does not read. When it returns, its Writer is closed.
func serveStreams(l *loop.Loop, addr string) (*stream.Server, error) {
	return stream.StartServer(l, "tcp", addr, func(co *loop.Coro, r *stream.Reader, w *stream.Writer) error {
		for {
			b, err := r.Next(co, 100<<10) // valid until the next read: Write copies what it keeps
			if errors.Is(err, io.EOF) || peerGone(err) {
				return nil
			}
			if err != nil {
				return err
			}
			if err := w.Write(b); err != nil {
				return err
			}
			if err := w.Drain(co); err != nil && !peerGone(err) {
				return err
			}
		}
	})
}

// peerGone reports whether err says that the client went away without a
// goodbye (a reset, or a write to a connection it closed): the end of a
// connection for an echo server, not a failure to report.
func peerGone(err error) bool {
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// echo writes back what it receives. It is a stream.WritePauser: while its
// write buffer is past the high-water mark it does not read, so a client
// that sends without reading is held to the buffer's limit.
type echo struct{ t *stream.Transport }

func (e *echo) ConnectionMade(t *stream.Transport) { e.t = t }

// DataReceived's Write cannot fail: a closing transport delivers no data.
func (e *echo) DataReceived(b []byte) { e.t.Write(b) }

// EOFReceived returns false: the transport closes once the echo is written.
func (e *echo) EOFReceived() bool { return false }

func (e *echo) ConnectionLost(err error) {
	if err != nil && !peerGone(err) {
		log.Printf("%v: %v", e.t.RemoteAddr(), err)
	}
}

func (e *echo) PauseWriting()  { e.t.PauseReading() }
func (e *echo) ResumeWriting() { e.t.ResumeReading() }
