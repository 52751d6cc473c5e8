// Command subprocess runs a shell command as a child process with
// process.Start, collects its output with Communicate (asyncio's
// create_subprocess_exec and communicate), and prints its stdout, its
// stderr and its exit code.
//
//	go run ./examples/subprocess
package main

import (
	"context"
	"fmt"
	"io"
	"log"
	"os"

	"github.com/aio-go/aio/loop"
	"github.com/aio-go/aio/process"
)

func main() {
	if err := run(os.Stdout); err != nil {
		log.Fatal(err)
	}
}

func run(w io.Writer) error {
	_, err := loop.Run(context.Background(), func(co *loop.Coro) (struct{}, error) {
		p, err := process.Start(co.Loop(), "sh", []string{"-c", "echo hello; echo oops >&2; exit 2"},
			process.WithStdin(process.Discard), process.WithStderr(process.Pipe))
		if err != nil {
			return struct{}{}, err
		}
		stdout, stderr, err := p.Communicate(co, nil)
		if err != nil {
			return struct{}{}, err
		}
		code, _ := p.ExitCode()
		fmt.Fprintf(w, "stdout: %q\nstderr: %q\nexit code: %d\n", stdout, stderr, code)
		return struct{}{}, nil
	})
	return err
}
