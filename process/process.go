package process

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"

	"github.com/aio-go/aio/internal/hooks"
	"github.com/aio-go/aio/loop"
	"github.com/aio-go/aio/stream"
)

// Process is asyncio's asyncio.subprocess.Process: a child process started
// by Start, with its piped standard streams as streams of package stream.
//
// Lifecycle: running, then exited once the loop has seen the exit (Wait
// returns, ExitCode reports true). The child is always reaped: a goroutine
// waits for it and hands the exit to the loop.
//
// Its methods must be called on the loop goroutine, except Pid, Kill,
// Terminate and Signal, which are safe for concurrent use by multiple
// goroutines.
type Process struct {
	// Stdin is the child's standard input, if it is piped (WithStdin(Pipe),
	// the default), and nil otherwise. Close it (or WriteEOF) to let the
	// child read the end of its input. It is closed when the child exits.
	Stdin *stream.Writer
	// Stdout is the child's standard output, if it is piped
	// (WithStdout(Pipe), the default), and nil otherwise.
	Stdout *stream.Reader
	// Stderr is the child's standard error, if it is piped
	// (WithStderr(Pipe)), and nil otherwise (the default is Inherit).
	Stderr *stream.Reader

	l      *loop.Loop
	cmd    *exec.Cmd
	name   string        // "sleep[1234]"
	reaped chan struct{} // closed when the reaper goroutine returns

	exit loop.Event // set once the loop has seen the exit
	done bool
	code int   // the exit code, or -N for signal N, once done
	err  error // a failure of the wait itself, once done
}

// Start is asyncio's create_subprocess_exec: it starts the program name
// with the arguments args (not including the program's name) and returns
// the running Process. A name without a path separator is looked up in
// PATH, as exec.Command does.
//
// By default the child's stdin and stdout are piped (Process.Stdin and
// Process.Stdout) and its stderr is inherited from this program, so that
// its diagnostics reach the terminal and an unread stderr cannot fill its
// pipe; WithStdin, WithStdout and WithStderr change that (asyncio inherits
// all three unless told PIPE). WithDir and WithEnv set the working
// directory and the environment.
//
// The error of a program that cannot be started is exec's, as is: a name
// not found in PATH matches exec.ErrNotFound, a path that does not exist
// matches fs.ErrNotExist.
//
// The Process is a resource of the loop: a Shutdown waits for the child to
// exit (until its ctx ends), and Close kills it (SIGKILL), closes its pipes
// and waits for it to be reaped.
//
// Start panics if name is empty ("process: Start: empty name"), and with an
// error matching loop.ErrClosed if the loop is closing or closed.
//
// Must be called on the loop goroutine.
func Start(l *loop.Loop, name string, args []string, opts ...Option) (*Process, error) {
	if name == "" {
		panic("process: Start: empty name")
	}
	if l == nil {
		panic("process: Start: nil loop")
	}
	if hooks.Debugging.Load() != 0 {
		hooks.Loop.Check(l, "process.Start")
	}
	cfg := newConfig(opts)
	cmd := exec.Command(name, args...)
	cmd.Dir, cmd.Env = cfg.dir, cfg.env
	p := &Process{l: l, cmd: cmd, reaped: make(chan struct{})}
	hooks.Loop.Track(l, (*resource)(p))

	var ours [3]*os.File // our ends of the pipes, by fd
	var theirs []*os.File
	closeAll := func(fs []*os.File) {
		for _, f := range fs {
			if f != nil {
				f.Close()
			}
		}
	}
	redirect := func(fd int, r Redirect, std *os.File) (*os.File, error) {
		switch r {
		case Inherit:
			return std, nil
		case Discard:
			return nil, nil // exec connects the null device
		}
		pr, pw, err := os.Pipe()
		if err != nil {
			return nil, err
		}
		child := pw
		ours[fd] = pr
		if fd == 0 {
			child, ours[fd] = pr, pw
		}
		theirs = append(theirs, child)
		return child, nil
	}
	var err error
	var files [3]*os.File
	for fd, r := range []Redirect{cfg.stdin, cfg.stdout, cfg.stderr} {
		if files[fd], err = redirect(fd, r, []*os.File{os.Stdin, os.Stdout, os.Stderr}[fd]); err != nil {
			break
		}
	}
	// An exec.Cmd stream is an interface: leave it nil, not a nil *os.File.
	if files[0] != nil {
		cmd.Stdin = files[0]
	}
	if files[1] != nil {
		cmd.Stdout = files[1]
	}
	if files[2] != nil {
		cmd.Stderr = files[2]
	}
	if err == nil {
		err = cmd.Start()
	}
	closeAll(theirs) // the child has its copies now (or never will)
	if err != nil {
		closeAll(ours[:])
		hooks.Loop.Untrack(p.l, (*resource)(p))
		return nil, err
	}

	p.name = fmt.Sprintf("%s[%d]", filepath.Base(name), cmd.Process.Pid)
	if ours[0] != nil {
		p.Stdin = adoptWriter(l, ours[0], pipeAddr(p.name+":stdin"))
	}
	if ours[1] != nil {
		p.Stdout = adoptReader(l, ours[1], pipeAddr(p.name+":stdout"))
	}
	if ours[2] != nil {
		p.Stderr = adoptReader(l, ours[2], pipeAddr(p.name+":stderr"))
	}
	go p.reap()
	return p, nil
}

// Wait is asyncio's Process.wait: it suspends the task until the child
// exits and returns its exit code: the code the child exited with (a
// non-zero exit is not an error), or -N if signal N killed it (asyncio's
// returncode: -9 after Kill, -15 after Terminate). It returns at once if
// the child has already exited. The error is non-nil only if waiting for
// the child failed (exec's error, with an exit code of -1).
//
// Wait does not read the child's pipes: a child that fills a piped
// stdout or stderr blocks until they are read (see Communicate).
//
// Cancellation: if the task is cancelled while waiting, Wait returns -1
// and an error matching future.ErrCancelled; the child goes on running and
// another Wait can wait for it. If the loop closes, the error matches
// loop.ErrClosed (and Close kills the child).
//
// Must be called on the loop goroutine.
func (p *Process) Wait(co *loop.Coro) (int, error) {
	if err := p.exit.Wait(co); err != nil {
		return -1, err
	}
	return p.code, p.err
}

// ExitCode is asyncio's Process.returncode: the exit code as Wait returns
// it and true once the loop has seen the child exit, or -1 and false while
// it runs.
//
// Must be called on the loop goroutine.
func (p *Process) ExitCode() (int, bool) {
	if !p.done {
		return -1, false
	}
	return p.code, true
}

// Pid is asyncio's Process.pid: the child's process id.
//
// Safe for concurrent use by multiple goroutines.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Signal is asyncio's Process.send_signal: it sends sig to the child. It
// returns an error matching os.ErrProcessDone once the child has been
// reaped (it may have exited before the loop has seen it: ExitCode can
// still report false then).
//
// Safe for concurrent use by multiple goroutines.
func (p *Process) Signal(sig os.Signal) error { return p.cmd.Process.Signal(sig) }

// Terminate is asyncio's Process.terminate: Signal(SIGTERM).
//
// Safe for concurrent use by multiple goroutines.
func (p *Process) Terminate() error { return p.Signal(syscall.SIGTERM) }

// Kill is asyncio's Process.kill: it sends SIGKILL to the child (see
// Signal for the error).
//
// Safe for concurrent use by multiple goroutines.
func (p *Process) Kill() error { return p.cmd.Process.Kill() }

// String describes the process: its program, pid and state.
func (p *Process) String() string {
	if p.done {
		return fmt.Sprintf("process.Process(%s, exit code %d)", p.name, p.code)
	}
	return fmt.Sprintf("process.Process(%s, running)", p.name)
}

// reap is the reaper goroutine: cmd.Wait reaps the child whatever happens,
// then the exit goes to the loop. After the loop is closed it is dropped;
// Close killed the child and joins this goroutine.
func (p *Process) reap() {
	defer close(p.reaped)
	err := p.cmd.Wait()
	hooks.Loop.CallSoonInternal(p.l, func() { p.exited(err) })
}

// exited records the exit the reaper reported, on the loop goroutine.
func (p *Process) exited(err error) {
	if p.done {
		return
	}
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		p.err = err
	}
	p.done, p.code = true, exitCode(p.cmd.ProcessState)
	hooks.Loop.Untrack(p.l, (*resource)(p))
	if p.l.IsClosing() {
		return // the tasks are stopped, and Close closes the pipes
	}
	if p.Stdin != nil {
		// No one reads the pipe any more (unless the child left a
		// descendant holding it): what is buffered fails or is written,
		// and the pipe closes.
		p.Stdin.Close()
	}
	p.exit.Set()
}

// exitCode is asyncio's returncode of a finished process: its exit code,
// -N if signal N killed it, -1 if there is no state.
func exitCode(st *os.ProcessState) int {
	if st == nil {
		return -1
	}
	if ws, ok := st.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return -int(ws.Signal())
	}
	return st.ExitCode()
}

// resource is a Process as the loop's resource (hooks.Resource).
type resource Process

// StopAccepting does nothing: a Shutdown waits for the child to exit.
func (r *resource) StopAccepting() {}

// Close kills the child; the pipes are transports of their own, which the
// loop closes too.
func (r *resource) Close() {
	if !r.done && r.cmd.Process != nil {
		r.cmd.Process.Kill()
	}
}

// Join waits for the reaper goroutine, which returns once the killed
// child is reaped.
func (r *resource) Join() {
	if r.cmd.Process != nil {
		<-r.reaped
	}
}

func (r *resource) String() string { return (*Process)(r).String() }
