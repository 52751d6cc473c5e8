// Package process is asyncio's subprocesses (asyncio.subprocess): Start
// runs a program as a child process whose standard streams are streams of
// package stream, and whose exit a task awaits.
//
//	loop.Run(ctx, func(co *loop.Coro) (struct{}, error) {
//		p, err := process.Start(co.Loop(), "sort", nil)
//		if err != nil {
//			return struct{}{}, err // exec's error: exec.ErrNotFound, fs.ErrNotExist, ...
//		}
//		out, _, err := p.Communicate(co, []byte("b\na\n"))
//		code, _ := p.ExitCode()
//		fmt.Printf("%s(exit %d)\n", out, code)
//		return struct{}{}, err
//	})
//
// # What to reach for
//
//   - [Start] with [WithStdin], [WithStdout], [WithStderr] ([Pipe],
//     [Inherit], [Discard]), [WithDir], [WithEnv].
//   - [Process.Communicate] to write the input and collect the output;
//     [Process.Stdin], [Process.Stdout] and [Process.Stderr] (a
//     *stream.Writer and *stream.Reader) to talk to the child as it runs.
//   - [Process.Wait] and [Process.ExitCode] for the exit; [Process.Kill],
//     [Process.Terminate] and [Process.Signal] to end it.
//
// # Concurrency
//
// Start and the methods that touch the loop's state must be called on the
// loop goroutine; Pid, Kill, Terminate and Signal may be called from any
// goroutine. Under each Process one goroutine waits for the child
// (cmd.Wait) and hands the exit to the loop, and each piped stream is a
// transport of package stream over its end of an os.Pipe, with that
// package's goroutines. The loop goroutine never blocks on the child.
//
// # Lifecycle
//
// The loop owns its processes: Shutdown waits for every child to exit,
// until its ctx ends (as it waits for connections), so a program that
// starts a long-lived child must end it (Kill, Terminate, or closing its
// stdin) or give Shutdown a deadline; loop.Run's shutdown has none. Close
// (and a Shutdown whose ctx ended) kills every child with SIGKILL, closes
// the pipes and waits until each child is reaped: no zombie and no
// goroutine is left. Each child is reaped whatever happens, Wait called
// or not. A piped stdin is closed when the child exits; a stdout or stderr
// transport closes at the end of its data.
//
// # Cancellation
//
// Cancelling a task in Wait or Communicate leaves the child running; see
// each method.
//
// # Errors and panics
//
// Start returns exec's errors as they are. A non-zero exit is not an
// error: Wait returns the code, and -N for a child killed by signal N.
// Signal, Kill and Terminate return an error matching os.ErrProcessDone
// once the child is reaped. Misuse panics with a "process:" message (an
// empty name, a nil loop, an invalid Redirect).
//
// # Differences from asyncio
//
//   - By default stdin and stdout are piped and stderr is inherited;
//     asyncio inherits all three unless given PIPE.
//   - There is no create_subprocess_shell: run "sh" with "-c" and the
//     command.
//   - Communicate reports the end of a stream as an empty slice and a
//     stream that is not piped as nil (asyncio: b"" and None).
//   - A piped stdin is closed when the child exits (asyncio sees the pipe
//     close through its selector); a Write after that returns an error
//     matching stream.ErrClosed.
//   - The child's reads and writes go through goroutines of package
//     stream, not a selector: the pipes are ordinary transports.
package process
