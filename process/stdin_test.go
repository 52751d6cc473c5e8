package process_test

import (
	"io"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/aio-go/aio/loop"
	"github.com/aio-go/aio/process"
	"github.com/aio-go/aio/stream"
)

// TestStdinWriteAfterEnd: writing to a child's stdin after Close, after
// WriteEOF, and after the child has exited is an error, never a silent
// drop, and cat's output shows that none of it got through.
func TestStdinWriteAfterEnd(t *testing.T) {
	for _, tt := range []struct {
		name string
		end  func(co *loop.Coro, p *process.Process) error
		want error
	}{
		{"Close", func(co *loop.Coro, p *process.Process) error { return p.Stdin.Close() }, stream.ErrClosed},
		{"WriteEOF", func(co *loop.Coro, p *process.Process) error { return p.Stdin.WriteEOF() }, stream.ErrWriteAfterEOF},
		{"exited", func(co *loop.Coro, p *process.Process) error {
			if err := p.Stdin.WriteEOF(); err != nil {
				return err
			}
			_, err := p.Wait(co)
			return err
		}, stream.ErrClosed}, // the exit closes stdin
		{"killed", func(co *loop.Coro, p *process.Process) error {
			if err := p.Kill(); err != nil {
				return err
			}
			_, err := p.Wait(co)
			return err
		}, stream.ErrClosed},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var writeErr, stringErr error
			var out []byte
			run(t, func(co *loop.Coro) error {
				p, err := process.Start(co.Loop(), "cat", nil)
				if err != nil {
					return err
				}
				if err := p.Stdin.WriteString("before\n"); err != nil {
					return err
				}
				if err := p.Stdin.Drain(co); err != nil {
					return err
				}
				if err := tt.end(co, p); err != nil {
					return err
				}
				writeErr = p.Stdin.Write([]byte("after\n"))
				stringErr = p.Stdin.WriteString("after\n")
				if out, err = p.Stdout.Read(co, -1); err != nil && err != io.EOF {
					return err
				}
				_, err = p.Wait(co)
				return err
			})
			assert.ErrorIs(t, writeErr, tt.want)
			assert.ErrorIs(t, stringErr, tt.want)
			assert.NotContains(t, string(out), "after")
		})
	}
}
