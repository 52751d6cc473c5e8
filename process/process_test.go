package process_test

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aio-go/aio/future"
	"github.com/aio-go/aio/loop"
	"github.com/aio-go/aio/process"
)

// These tests run real processes, so they run outside synctest; the
// context deadline only guards against a hang.
const guard = 20 * time.Second

// run runs body as the main task of a new loop.
func run(t *testing.T, body func(co *loop.Coro) error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), guard)
	defer cancel()
	_, err := loop.Run(ctx, func(co *loop.Coro) (struct{}, error) { return struct{}{}, body(co) })
	require.NoError(t, err)
}

func TestWaitReturnsExitCode(t *testing.T) {
	var before, after struct {
		code int
		ok   bool
	}
	var code int
	run(t, func(co *loop.Coro) error {
		p, err := process.Start(co.Loop(), "/bin/sh", []string{"-c", "exit 3"})
		if err != nil {
			return err
		}
		before.code, before.ok = p.ExitCode()
		if code, err = p.Wait(co); err != nil {
			return err
		}
		after.code, after.ok = p.ExitCode()
		return nil
	})
	assert.Equal(t, 3, code)
	assert.False(t, before.ok)
	assert.Equal(t, -1, before.code)
	assert.True(t, after.ok)
	assert.Equal(t, 3, after.code)
}

func TestCommunicate(t *testing.T) {
	tests := []struct {
		name   string
		prog   string
		args   []string
		opts   []process.Option
		input  string
		stdout []byte
		stderr []byte
		code   int
	}{
		{name: "cat echoes input", prog: "cat", input: "hello\nworld\n",
			stdout: []byte("hello\nworld\n"), stderr: nil},
		{name: "stderr piped", prog: "sh", args: []string{"-c", "echo out; echo err >&2; exit 1"},
			opts: []process.Option{process.WithStderr(process.Pipe)}, stdout: []byte("out\n"), stderr: []byte("err\n"), code: 1},
		{name: "no output", prog: "true", opts: []process.Option{process.WithStderr(process.Pipe)},
			stdout: []byte{}, stderr: []byte{}},
		{name: "input not read", prog: "true", input: "ignored\n", stdout: []byte{}},
		{name: "stdout discarded", prog: "cat", input: "x", opts: []process.Option{process.WithStdout(process.Discard)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr []byte
			code, ok := 0, false
			run(t, func(co *loop.Coro) error {
				p, err := process.Start(co.Loop(), tt.prog, tt.args, tt.opts...)
				if err != nil {
					return err
				}
				if stdout, stderr, err = p.Communicate(co, []byte(tt.input)); err != nil {
					return err
				}
				code, ok = p.ExitCode()
				return nil
			})
			assert.Equal(t, tt.stdout, stdout)
			assert.Equal(t, tt.stderr, stderr)
			assert.True(t, ok)
			assert.Equal(t, tt.code, code)
		})
	}
}

// TestCommunicateLarge moves more than the pipes and the Readers' limits
// hold both ways: stdin must be fed while stdout is read.
func TestCommunicateLarge(t *testing.T) {
	input := make([]byte, 4<<20)
	for i := range input {
		input[i] = byte('a' + i%26)
	}
	var stdout []byte
	run(t, func(co *loop.Coro) (err error) {
		p, err := process.Start(co.Loop(), "cat", nil)
		if err != nil {
			return err
		}
		stdout, _, err = p.Communicate(co, input)
		return err
	})
	assert.Equal(t, len(input), len(stdout))
	assert.True(t, string(input) == string(stdout))
}

func TestCommunicateInputWithoutPipe(t *testing.T) {
	var err error
	run(t, func(co *loop.Coro) error {
		p, serr := process.Start(co.Loop(), "true", nil, process.WithStdin(process.Discard))
		if serr != nil {
			return serr
		}
		_, _, err = p.Communicate(co, []byte("x"))
		_, werr := p.Wait(co)
		return werr
	})
	assert.ErrorIs(t, err, process.ErrNotPiped)
}

func TestStreamingLines(t *testing.T) {
	lines := []string{"one\n", "two\n", "three\n"}
	var got []string
	var eof error
	code := -1
	run(t, func(co *loop.Coro) error {
		p, err := process.Start(co.Loop(), "cat", nil)
		if err != nil {
			return err
		}
		for _, line := range lines {
			if err := p.Stdin.WriteString(line); err != nil {
				return err
			}
			if err := p.Stdin.Drain(co); err != nil {
				return err
			}
			b, err := p.Stdout.ReadLine(co)
			if err != nil {
				return err
			}
			got = append(got, string(b))
		}
		if err := p.Stdin.Close(); err != nil {
			return err
		}
		_, eof = p.Stdout.ReadLine(co)
		code, err = p.Wait(co)
		return err
	})
	assert.Equal(t, lines, got)
	assert.ErrorIs(t, eof, io.EOF)
	assert.Equal(t, 0, code)
}

func TestWriteEOFClosesStdin(t *testing.T) {
	var out []byte
	var canEOF bool
	run(t, func(co *loop.Coro) error {
		p, err := process.Start(co.Loop(), "cat", nil)
		if err != nil {
			return err
		}
		canEOF = p.Stdin.CanWriteEOF()
		if err := p.Stdin.WriteString("half\n"); err != nil {
			return err
		}
		if err := p.Stdin.WriteEOF(); err != nil {
			return err
		}
		if out, err = p.Stdout.Read(co, -1); err != nil {
			return err
		}
		_, err = p.Wait(co)
		return err
	})
	assert.True(t, canEOF)
	assert.Equal(t, "half\n", string(out))
}

// TestEndSignals: a child killed by signal N exits with -N (asyncio's
// returncode), and Wait's error is nil.
func TestEndSignals(t *testing.T) {
	tests := []struct {
		name string
		end  func(p *process.Process) error
		code int
	}{
		{"Kill", (*process.Process).Kill, -int(syscall.SIGKILL)},
		{"Terminate", (*process.Process).Terminate, -int(syscall.SIGTERM)},
		{"Signal SIGTERM", func(p *process.Process) error { return p.Signal(syscall.SIGTERM) }, -int(syscall.SIGTERM)},
		{"Signal SIGINT", func(p *process.Process) error { return p.Signal(os.Interrupt) }, -int(syscall.SIGINT)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var endErr, waitErr, again error
			code, exit := 0, 0
			run(t, func(co *loop.Coro) error {
				p, err := process.Start(co.Loop(), "sleep", []string{"60"})
				if err != nil {
					return err
				}
				endErr = tt.end(p)
				code, waitErr = p.Wait(co)
				exit, _ = p.ExitCode()
				again = p.Kill()
				return nil
			})
			require.NoError(t, endErr)
			assert.NoError(t, waitErr)
			assert.Equal(t, tt.code, code)
			assert.Equal(t, tt.code, exit)
			assert.ErrorIs(t, again, os.ErrProcessDone)
		})
	}
}

// TestCancelWaitLeavesProcessRunning: the child outlives a cancelled
// Wait, and a later Wait sees its end.
func TestCancelWaitLeavesProcessRunning(t *testing.T) {
	var waitErr error
	var running bool
	code := 0
	run(t, func(co *loop.Coro) error {
		p, err := process.Start(co.Loop(), "sleep", []string{"60"})
		if err != nil {
			return err
		}
		w := loop.Go(co.Loop(), func(co *loop.Coro) error {
			_, err := p.Wait(co)
			return err
		})
		if err := loop.Sleep(co, 0); err != nil {
			return err
		}
		w.Cancel()
		_, waitErr = loop.Await(co, w.Future)
		_, ok := p.ExitCode()
		running = !ok && p.Signal(syscall.Signal(0)) == nil
		if err := p.Kill(); err != nil {
			return err
		}
		code, err = p.Wait(co)
		return err
	})
	assert.ErrorIs(t, waitErr, future.ErrCancelled)
	assert.True(t, running)
	assert.Equal(t, -int(syscall.SIGKILL), code)
}

// TestCancelCommunicateLeavesProcessRunning: Communicate's tasks end with
// it, and the pipes are free for another reader.
func TestCancelCommunicateLeavesProcessRunning(t *testing.T) {
	var commErr error
	var running bool
	var line []byte
	run(t, func(co *loop.Coro) error {
		p, err := process.Start(co.Loop(), "cat", nil)
		if err != nil {
			return err
		}
		c := loop.Go(co.Loop(), func(co *loop.Coro) error {
			_, _, err := p.Communicate(co, nil)
			return err
		})
		// Communicate closes stdin only after its write: let it start,
		// then cancel it while it reads.
		if err := loop.Sleep(co, 0); err != nil {
			return err
		}
		c.Cancel()
		_, commErr = loop.Await(co, c.Future)
		_, ok := p.ExitCode()
		running = !ok
		line, _ = p.Stdout.Read(co, -1) // stdin was closed: cat ends
		_, err = p.Wait(co)
		return err
	})
	assert.ErrorIs(t, commErr, future.ErrCancelled)
	assert.True(t, running)
	assert.Empty(t, line)
}

func TestLoopCloseKillsAndReaps(t *testing.T) {
	l := loop.New()
	start := loop.Spawn(l, func(co *loop.Coro) (int, error) {
		p, err := process.Start(co.Loop(), "sleep", []string{"60"}, process.WithStderr(process.Pipe))
		if err != nil {
			return 0, err
		}
		return p.Pid(), nil
	})
	pid, err := loop.RunUntilComplete(l, start.Future)
	require.NoError(t, err)
	require.NoError(t, syscall.Kill(pid, 0), "the child runs")
	l.Close()
	assert.ErrorIs(t, syscall.Kill(pid, 0), syscall.ESRCH, "killed and reaped: no zombie")
}

// TestShutdownWaitsThenKills: a Shutdown whose ctx has ended names the
// running child and kills it.
func TestShutdownWaitsThenKills(t *testing.T) {
	l := loop.New()
	start := loop.Spawn(l, func(co *loop.Coro) (int, error) {
		p, err := process.Start(co.Loop(), "sleep", []string{"60"})
		if err != nil {
			return 0, err
		}
		return p.Pid(), nil
	})
	pid, err := loop.RunUntilComplete(l, start.Future)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err = l.Shutdown(ctx)
	assert.ErrorIs(t, err, context.Canceled)
	assert.ErrorContains(t, err, "sleep[")
	l.Close()
	assert.ErrorIs(t, syscall.Kill(pid, 0), syscall.ESRCH)
}

func TestShutdownWaitsForExit(t *testing.T) {
	l := loop.New()
	var p *process.Process
	start := loop.Spawn(l, func(co *loop.Coro) (struct{}, error) {
		var err error
		p, err = process.Start(co.Loop(), "sh", []string{"-c", "exec cat >/dev/null"})
		return struct{}{}, err
	})
	_, err := loop.RunUntilComplete(l, start.Future)
	require.NoError(t, err)
	l.CallSoon(func() { p.Stdin.Close() }) // cat exits at the end of its input
	ctx, cancel := context.WithTimeout(context.Background(), guard)
	defer cancel()
	require.NoError(t, l.Shutdown(ctx))
	code, ok := p.ExitCode()
	assert.True(t, ok)
	assert.Equal(t, 0, code)
}

func TestStartErrors(t *testing.T) {
	var notFound, notExist error
	run(t, func(co *loop.Coro) error {
		_, notFound = process.Start(co.Loop(), "aio-no-such-program", nil)
		_, notExist = process.Start(co.Loop(), "/nonexistent/aio-program", nil, process.WithStderr(process.Pipe))
		return nil
	})
	assert.ErrorIs(t, notFound, exec.ErrNotFound)
	var ee *exec.Error
	assert.True(t, errors.As(notFound, &ee))
	assert.ErrorIs(t, notExist, fs.ErrNotExist)
}

func TestStartMisuse(t *testing.T) {
	l := loop.New()
	defer l.Close()
	assert.PanicsWithValue(t, "process: Start: empty name", func() { process.Start(l, "", nil) })
	assert.PanicsWithValue(t, "process: WithStdin: invalid Redirect", func() { process.WithStdin(0) })
}

func TestWithDirAndEnv(t *testing.T) {
	dir := t.TempDir()
	var out []byte
	run(t, func(co *loop.Coro) error {
		p, err := process.Start(co.Loop(), "/bin/sh", []string{"-c", `printf '%s %s' "$PWD" "$AIO_TEST"`},
			process.WithDir(dir), process.WithEnv([]string{"AIO_TEST=yes"}), process.WithStdin(process.Discard))
		if err != nil {
			return err
		}
		out, _, err = p.Communicate(co, nil)
		return err
	})
	assert.Equal(t, dir+" yes", string(out))
}
