package process

import (
	"errors"
	"syscall"

	"github.com/aio-go/aio/future"
	"github.com/aio-go/aio/loop"
	"github.com/aio-go/aio/stream"
)

// ErrNotPiped is returned by Communicate given input for a child whose
// stdin is not piped.
var ErrNotPiped = errors.New("process: stdin is not piped")

// Communicate is asyncio's Process.communicate: it writes input to the
// child's stdin and closes it (if stdin is piped; nil input just closes
// it), reads the child's stdout and stderr to their end, and waits for the
// child to exit; the exit code is ExitCode's then. The three streams are
// served concurrently, in tasks of a loop.Group, so a child that writes
// much before it reads all its input does not block. stdout and stderr are
// nil for a stream that is not piped, and an empty (non-nil) slice for one
// that is piped and got nothing.
//
// A child that exits (or closes its stdin) before it reads all of input is
// not an error (asyncio ignores BrokenPipeError there too). Communicate
// returns an error matching ErrNotPiped, doing nothing, if input is not
// empty and stdin is not piped; otherwise the error is a read's or Wait's.
// Call it once, with no other task reading the child's pipes: a Reader
// takes one reader at a time.
//
// Cancellation: if the task is cancelled, Communicate stops writing and
// reading (its tasks are cancelled and have ended when it returns; what
// the pipes had delivered stays in the Readers, stdin stays open if it was
// not closed yet) and returns an error matching future.ErrCancelled; the
// child goes on running. If the loop closes, the error matches
// loop.ErrClosed.
//
// Must be called on the loop goroutine.
func (p *Process) Communicate(co *loop.Coro, input []byte) (stdout, stderr []byte, err error) {
	if len(input) > 0 && p.Stdin == nil {
		return nil, nil, ErrNotPiped
	}
	readAll := func(r *stream.Reader, out *[]byte) func(co *loop.Coro) error {
		return func(co *loop.Coro) error {
			b, err := r.Read(co, -1)
			if err != nil {
				return err
			}
			if b == nil {
				b = []byte{}
			}
			*out = b
			return nil
		}
	}
	var outB, errB []byte
	err = loop.Group(co, func(g *loop.TaskGroup) error {
		if p.Stdin != nil {
			g.Go(p.feed(input))
		}
		if p.Stdout != nil {
			g.Go(readAll(p.Stdout, &outB))
		}
		if p.Stderr != nil {
			g.Go(readAll(p.Stderr, &errB))
		}
		return nil
	})
	if err != nil {
		return outB, errB, err
	}
	if _, err := p.Wait(co); err != nil {
		return outB, errB, err
	}
	return outB, errB, nil
}

// feed is Communicate's stdin task: input, then the end of the input.
func (p *Process) feed(input []byte) func(co *loop.Coro) error {
	return func(co *loop.Coro) error {
		w := p.Stdin
		err := w.Write(input)
		if err == nil {
			err = w.Drain(co)
		}
		if errors.Is(err, future.ErrCancelled) || errors.Is(err, loop.ErrClosed) {
			return err // stopped: stdin is left open
		}
		w.Close()
		if err == nil || errors.Is(err, stream.ErrClosed) || errors.Is(err, syscall.EPIPE) {
			return nil // written, or the child stopped reading
		}
		return err
	}
}
