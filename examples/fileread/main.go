// Command fileread reads a real file off the loop and hands its contents to a
// callback on the loop (scenario 8), as Node's fs.readFile(path, callback)
// does. With no -file flag it reads a sample file it writes to a temporary
// directory.
//
//	go run ./examples/fileread [-file path]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log"
	"os"
	"path/filepath"

	"github.com/aio-go/aio/future"
	"github.com/aio-go/aio/loop"
)

func main() {
	path := flag.String("file", "", "file to read (default: a sample file in a temporary directory)")
	flag.Parse()
	if err := run(os.Stdout, *path); err != nil {
		log.Fatal(err)
	}
}

// readFile reads path on one of the loop's executor goroutines and calls
// callback on the loop with the contents or the error. It returns at once.
// It must be called on the loop goroutine.
func readFile(l *loop.Loop, path string, callback func(data []byte, err error)) {
	f := loop.RunInExecutor(l, func(context.Context) ([]byte, error) {
		return os.ReadFile(path)
	})
	f.AddDoneCallback(func(f *future.Future[[]byte]) { callback(f.Result()) })
}

func run(w io.Writer, path string) error {
	if path == "" {
		dir, err := os.MkdirTemp("", "fileread")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		path = filepath.Join(dir, "notes.txt")
		if err := os.WriteFile(path, []byte("callbacks run on the loop\nfiles are read off it\n"), 0o600); err != nil {
			return err
		}
	}

	l := loop.New()
	defer l.Close()

	// The second read starts from the first one's callback, so the output
	// comes in a fixed order; the last callback stops the loop.
	readFile(l, path, func(data []byte, err error) {
		if err != nil {
			fmt.Fprintln(w, "read failed:", err)
		} else {
			fmt.Fprintf(w, "read %s: %d bytes, on loop: %v\n%s", filepath.Base(path), len(data), l.OnLoop(), data)
		}
		missing := filepath.Join(filepath.Dir(path), "missing.txt")
		readFile(l, missing, func(_ []byte, err error) {
			fmt.Fprintln(w, "read missing.txt:", errorKind(err))
			l.Stop()
		})
	})
	fmt.Fprintln(w, "reading; the loop is free meanwhile")
	return l.RunForever()
}

// errorKind names the errors the program expects.
func errorKind(err error) string {
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, fs.ErrNotExist):
		return "file does not exist"
	}
	return err.Error()
}
