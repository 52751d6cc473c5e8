// Command kv is a key-value store with a line protocol, and its client,
// on stream's streams API (asyncio's start_server and open_connection).
//
// The server keeps a map on the loop: every connection's handler is a task
// of the same loop, so the handlers share the map without locks. It
// understands one command per line:
//
//	SET key value   → OK
//	GET key         → VALUE value, or NOT FOUND
//	DEL key         → DELETED, or NOT FOUND
//	KEYS            → KEYS k1 k2 ... (sorted)
//
// and answers anything else with ERR. Run on its own, the program starts
// the server, runs a client session against it, prints the transcript, and
// shuts the loop down:
//
//	go run ./examples/kv
//
// With -serve it only serves, until Ctrl-C: try it with nc.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"slices"
	"strings"

	"github.com/aio-go/aio/loop"
	"github.com/aio-go/aio/stream"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "address to serve on")
	serveOnly := flag.Bool("serve", false, "only serve, until interrupted")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Stdout, *listen, *serveOnly); err != nil {
		log.Fatal(err)
	}
}

// session is what the client sends when the program runs on its own.
var session = []string{
	"SET city Paris",
	"SET river Seine",
	"GET city",
	"GET country",
	"KEYS",
	"DEL river",
	"DEL river",
	"KEYS",
	"FLY me",
}

// run serves on listen and, unless serveOnly, runs the client session
// against the server and returns when it is done.
func run(ctx context.Context, w io.Writer, listen string, serveOnly bool) error {
	_, err := loop.Run(ctx, func(co *loop.Coro) (struct{}, error) {
		srv, err := serve(co.Loop(), listen)
		if err != nil {
			return struct{}{}, err
		}
		fmt.Fprintf(w, "serving on %s\n", srv.Addr())
		if serveOnly {
			return struct{}{}, srv.WaitClosed(co)
		}
		defer srv.Close()
		return struct{}{}, client(co, w, srv.Addr().String())
	})
	if serveOnly && errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// serve starts the store's server.
func serve(l *loop.Loop, addr string) (*stream.Server, error) {
	store := map[string]string{}
	return stream.StartServer(l, "tcp", addr, func(co *loop.Coro, r *stream.Reader, w *stream.Writer) error {
		for {
			line, err := r.ReadLine(co)
			if len(line) == 0 && errors.Is(err, io.EOF) {
				return nil
			}
			if err != nil {
				return err
			}
			if err := w.WriteString(answer(store, strings.TrimSpace(string(line))) + "\n"); err != nil {
				return err
			}
			if err := w.Drain(co); err != nil {
				return err
			}
		}
	})
}

// answer runs one command against store.
func answer(store map[string]string, cmd string) string {
	f := strings.Fields(cmd)
	switch {
	case len(f) == 3 && f[0] == "SET":
		store[f[1]] = f[2]
		return "OK"
	case len(f) == 2 && f[0] == "GET":
		if v, ok := store[f[1]]; ok {
			return "VALUE " + v
		}
		return "NOT FOUND"
	case len(f) == 2 && f[0] == "DEL":
		if _, ok := store[f[1]]; ok {
			delete(store, f[1])
			return "DELETED"
		}
		return "NOT FOUND"
	case len(f) == 1 && f[0] == "KEYS":
		keys := make([]string, 0, len(store))
		for k := range store {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		return strings.TrimSpace("KEYS " + strings.Join(keys, " "))
	}
	return "ERR unknown command"
}

// client sends the session's commands one at a time and prints each
// answer.
func client(co *loop.Coro, w io.Writer, addr string) error {
	r, wr, err := stream.OpenConnection(co, "tcp", addr)
	if err != nil {
		return err
	}
	defer wr.Close()
	for _, cmd := range session {
		if err := wr.WriteString(cmd + "\n"); err != nil {
			return err
		}
		reply, err := r.ReadLine(co)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "> %s\n< %s", cmd, reply)
	}
	return nil
}
