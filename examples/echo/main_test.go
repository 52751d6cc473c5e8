package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aio-go/aio/loop"
	"github.com/aio-go/aio/stream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// halfPipe is the server's end of a connection made of two net.Pipes, one
// each way, so that the client can end its sending side (close up) and
// still read the echo (from down): what a TCP half-close does, which a
// single net.Pipe cannot.
type halfPipe struct {
	net.Conn          // up's server end: Read, addresses, deadlines
	down     net.Conn // down's server end: Write
}

func (h halfPipe) Write(b []byte) (int, error) { return h.down.Write(b) }

func (h halfPipe) Close() error { return errors.Join(h.Conn.Close(), h.down.Close()) }

// serveOne runs a loop on its own goroutine with an echo protocol on the
// server end of a halfPipe, and returns the client's ends: it writes to up
// and reads from down. stop shuts the loop down, which waits for the
// connection to end.
func serveOne(t *testing.T) (l *loop.Loop, e *echo, up, down net.Conn, stop func()) {
	upC, upS := net.Pipe()
	downC, downS := net.Pipe()
	l = loop.New()
	ran := make(chan error, 1)
	go func() { ran <- l.RunForever() }()
	e = &echo{}
	onLoop(t, l, func() { stream.Adopt(l, halfPipe{upS, downS}, e) })
	stop = func() {
		require.NoError(t, l.Shutdown(context.Background()))
		require.NoError(t, <-ran)
	}
	return l, e, upC, downC, stop
}

// onLoop runs fn on l's goroutine and waits for it to return.
func onLoop(t *testing.T, l *loop.Loop, fn func()) {
	t.Helper()
	done := make(chan struct{})
	_, err := l.CallSoonThreadsafe(func() { fn(); close(done) })
	require.NoError(t, err)
	<-done
}

// The echo comes back as sent, and the client's EOF closes the connection
// after the echo is written: the client reads it all, then EOF.
func TestEchoProtocol(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, _, up, down, stop := serveOne(t)
		defer stop()

		buf := make([]byte, 64)
		for _, msg := range []string{"hello\n", "a", "again, longer this time\n"} {
			_, err := up.Write([]byte(msg))
			require.NoError(t, err)
			n, err := io.ReadFull(down, buf[:len(msg)])
			require.NoError(t, err)
			assert.Equal(t, msg, string(buf[:n]))
		}

		_, err := up.Write([]byte("last words"))
		require.NoError(t, err)
		require.NoError(t, up.Close()) // EOF: the server closes after the echo
		rest, err := io.ReadAll(down)
		require.NoError(t, err)
		assert.Equal(t, "last words", string(rest))
		require.NoError(t, down.Close())
	})
}

// A client that sends without reading fills the server's write buffer past
// its high-water mark: the server then stops reading, so the client's
// writes block and the server holds a bounded amount. Once the client
// reads, the server resumes reading, and every byte comes back in order.
func TestEchoFlowControl(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l, e, up, down, stop := serveOne(t)
		defer stop()

		const total = 1 << 20
		sent := make([]byte, total)
		for i := range sent {
			sent[i] = byte(rand.Uint32())
		}
		var written atomic.Int64
		wrote := make(chan error, 1)
		go func() {
			for b := sent; len(b) > 0; {
				n, err := up.Write(b[:min(len(b), 16<<10)])
				written.Add(int64(n))
				if err != nil {
					wrote <- err
					return
				}
				b = b[n:]
			}
			wrote <- up.Close()
		}()

		synctest.Wait() // the client's writes and the server's are blocked
		var reading bool
		var buffered int
		onLoop(t, l, func() { reading, buffered = e.t.IsReading(), e.t.WriteBufferSize() })
		assert.False(t, reading, "the server reads while its client does not")
		assert.Greater(t, buffered, stream.DefaultHighWater)
		assert.LessOrEqual(t, buffered, 2*stream.DefaultHighWater, "the write buffer: the high-water mark plus one read")
		assert.Less(t, written.Load(), int64(total), "the client's writes should be blocked")

		got, err := io.ReadAll(down) // reading resumes: it ends at the server's close
		require.NoError(t, err)
		require.NoError(t, <-wrote)
		assert.True(t, bytes.Equal(sent, got), "echoed %d bytes of %d, not the same", len(got), len(sent))
		require.NoError(t, down.Close())
	})
}

// The program, built and run: it prints its address, echoes, and exits 0
// at the first SIGINT or SIGTERM, once its connections have ended.
func TestProgram(t *testing.T) {
	bin := build(t)
	for _, run := range []struct {
		sig syscall.Signal
		api string
	}{{syscall.SIGTERM, "protocol"}, {syscall.SIGINT, "protocol"}, {syscall.SIGTERM, "streams"}, {syscall.SIGINT, "streams"}} {
		sig := run.sig
		t.Run(sig.String()+"/"+run.api, func(t *testing.T) {
			p := start(t, bin, "-api", run.api)
			c := p.dial(t)
			for _, msg := range []string{"hello\n", "how are you?\n", "bye\n"} {
				echoOnce(t, c, msg)
			}

			big := make([]byte, 1<<20)
			for i := range big {
				big[i] = byte(rand.Uint32())
			}
			wrote := make(chan error, 1)
			go func() {
				_, err := c.Write(big)
				if err == nil {
					err = c.(*net.TCPConn).CloseWrite() // EOF: the server closes after the echo
				}
				wrote <- err
			}()
			got, err := io.ReadAll(c)
			require.NoError(t, err)
			require.NoError(t, <-wrote)
			assert.True(t, bytes.Equal(big, got), "echoed %d bytes of %d, not the same", len(got), len(big))
			require.NoError(t, c.Close())

			require.NoError(t, p.cmd.Process.Signal(sig))
			assert.Equal(t, shuttingDown, p.line(t))
			require.NoError(t, p.cmd.Wait(), "stderr: %s", p.stderr.String())
		})
	}

	// A client that resets its connection is the end of that connection,
	// not an error to log.
	for _, api := range []string{"protocol", "streams"} {
		t.Run("reset/"+api, func(t *testing.T) {
			p := start(t, bin, "-api", api)
			for range 10 {
				c := p.dial(t)
				echoOnce(t, c, "hello\n")
				require.NoError(t, c.(*net.TCPConn).SetLinger(0))
				require.NoError(t, c.Close()) // an RST, not a FIN
			}
			require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
			assert.Equal(t, shuttingDown, p.line(t))
			require.NoError(t, p.cmd.Wait(), "stderr: %s", p.stderr.String())
			assert.Empty(t, p.stderr.String())
		})
	}

	// After the first signal the server accepts no connection, and the
	// open ones are still served.
	t.Run("graceful", func(t *testing.T) {
		p := start(t, bin)
		c := p.dial(t)
		echoOnce(t, c, "before\n") // the server has the connection

		require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
		assert.Equal(t, shuttingDown, p.line(t))
		if c2, err := net.Dial("tcp", p.addr); !assert.Error(t, err, "the server still accepts") {
			c2.Close()
		}
		echoOnce(t, c, "during\n")

		require.NoError(t, c.Close())
		require.NoError(t, p.cmd.Wait(), "stderr: %s", p.stderr.String())
	})

	// A second signal, while a connection keeps the shutdown waiting,
	// exits at once with status 1.
	t.Run("second signal", func(t *testing.T) {
		p := start(t, bin)
		c := p.dial(t)
		defer c.Close()
		echoOnce(t, c, "hold on\n")

		require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
		assert.Equal(t, shuttingDown, p.line(t))
		require.NoError(t, p.cmd.Process.Signal(syscall.SIGINT))
		var exit *exec.ExitError
		require.ErrorAs(t, p.cmd.Wait(), &exit)
		assert.Equal(t, 1, exit.ExitCode())
		assert.Contains(t, p.stderr.String(), "second signal: exiting now", "not the end of a shutdown that timed out")
	})
}

const shuttingDown = "shutting down (a second signal exits now)"

// build builds the program into a temporary directory.
func build(t *testing.T) string {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("the program's tests send it Unix signals")
	}
	if testing.Short() {
		t.Skip("builds and runs the program")
	}
	bin := filepath.Join(t.TempDir(), "echo")
	out, err := exec.CommandContext(t.Context(), "go", "build", "-o", bin, ".").CombinedOutput()
	require.NoError(t, err, "go build: %s", out)
	return bin
}

// program is the program running, with its stdout read line by line.
type program struct {
	cmd    *exec.Cmd
	out    *bufio.Scanner
	stderr lockedBuffer
	addr   string
}

// lockedBuffer is the program's stderr, which exec's goroutine writes
// while a test may read it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// start runs bin on 127.0.0.1:0 and reads the address it prints. A
// deadline, a guard only, kills the program if a test hangs.
func start(t *testing.T, bin string, args ...string) *program {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	t.Cleanup(cancel)
	p := &program{cmd: exec.CommandContext(ctx, bin, append([]string{"-listen", "127.0.0.1:0"}, args...)...)}
	p.cmd.Stderr = &p.stderr
	stdout, err := p.cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, p.cmd.Start())
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil { // a test failed before Wait
			p.cmd.Process.Kill()
			p.cmd.Wait()
		}
	})
	p.out = bufio.NewScanner(stdout)
	first := p.line(t)
	require.Regexp(t, `^listening on 127\.0\.0\.1:\d+$`, first)
	p.addr = first[len("listening on "):]
	return p
}

// line reads the next line of the program's stdout.
func (p *program) line(t *testing.T) string {
	t.Helper()
	require.True(t, p.out.Scan(), "stdout ended (%v); stderr: %s", p.out.Err(), p.stderr.String())
	return p.out.Text()
}

// dial connects to the program, with a deadline as a guard.
func (p *program) dial(t *testing.T) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", p.addr)
	require.NoError(t, err)
	require.NoError(t, c.SetDeadline(time.Now().Add(time.Minute)))
	return c
}

func echoOnce(t *testing.T, c net.Conn, msg string) {
	t.Helper()
	_, err := c.Write([]byte(msg))
	require.NoError(t, err)
	buf := make([]byte, len(msg))
	_, err = io.ReadFull(c, buf)
	require.NoError(t, err)
	assert.Equal(t, msg, string(buf))
}
