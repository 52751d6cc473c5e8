package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// procStatus is what the harness reads from /proc/PID/status.
type procStatus struct {
	rssKiB  int64 // VmRSS
	hwmKiB  int64 // VmHWM: peak RSS
	threads int   // Threads
}

func (s procStatus) rssMiB() float64 { return float64(s.rssKiB) / 1024 }
func (s procStatus) hwmMiB() float64 { return float64(s.hwmKiB) / 1024 }

func readProcStatus(pid int) (procStatus, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return procStatus{}, err
	}
	return parseProcStatus(string(b))
}

// parseProcStatus parses the text of /proc/PID/status ("VmRSS:\t  1234 kB").
func parseProcStatus(text string) (procStatus, error) {
	var s procStatus
	seen := 0
	for line := range strings.Lines(text) {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		var dst *int64
		switch k {
		case "VmRSS":
			dst = &s.rssKiB
		case "VmHWM":
			dst = &s.hwmKiB
		case "Threads":
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil {
				return s, fmt.Errorf("proc status: Threads: %v", err)
			}
			s.threads = n
			seen++
			continue
		default:
			continue
		}
		num, unit, _ := strings.Cut(strings.TrimSpace(v), " ")
		n, err := strconv.ParseInt(num, 10, 64)
		if err != nil || unit != "kB" {
			return s, fmt.Errorf("proc status: %s: %q", k, strings.TrimSpace(v))
		}
		*dst = n
		seen++
	}
	if seen != 3 {
		return s, errors.New("proc status: want VmRSS, VmHWM and Threads")
	}
	return s, nil
}

// raiseNofile raises RLIMIT_NOFILE's soft limit to the hard limit. Go
// raises it for itself at start-up but gives a child the original soft
// limit back, unless the program set the limit itself, as here: after
// this call, the servers and the client inherit the raised limit.
func raiseNofile() (syscall.Rlimit, error) {
	var r syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r); err != nil {
		return r, err
	}
	r.Cur = r.Max
	return r, syscall.Setrlimit(syscall.RLIMIT_NOFILE, &r)
}

// syncBuffer is a bytes.Buffer safe for one writer and other readers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// serverProc is a running echo server: a child process that printed
// "listening on HOST:PORT" first.
type serverProc struct {
	cmd     *exec.Cmd
	addr    string
	pid     int
	stdout  syncBuffer // after the first line
	stderr  syncBuffer
	drained chan struct{} // closed when stdout reached EOF
}

// startTimeout bounds a server's start-up, until its first line.
const startTimeout = 20 * time.Second

// startServer starts argv with env added to the environment and waits for
// its first stdout line, which must be "listening on HOST:PORT".
func startServer(argv, env []string) (*serverProc, error) {
	s := &serverProc{drained: make(chan struct{})}
	s.cmd = exec.Command(argv[0], argv[1:]...)
	s.cmd.Env = append(os.Environ(), env...)
	s.cmd.Stderr = &s.stderr
	out, err := s.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	s.pid = s.cmd.Process.Pid
	first := make(chan string, 1)
	go func() {
		defer close(s.drained)
		br := bufio.NewReader(out)
		line, _ := br.ReadString('\n')
		first <- line
		_, _ = io.Copy(&s.stdout, br)
	}()
	t := time.NewTimer(startTimeout)
	defer t.Stop()
	var line string
	select {
	case line = <-first:
	case <-t.C:
		line = "(nothing within " + startTimeout.String() + ")"
	}
	addr, ok := strings.CutPrefix(strings.TrimSpace(line), "listening on ")
	if !ok || addr == "" {
		s.kill()
		return nil, fmt.Errorf("first line %q, want \"listening on HOST:PORT\": %s",
			strings.TrimSpace(line), lastLine(s.stderr.String()))
	}
	s.addr = addr
	return s, nil
}

// stopTimeout bounds a server's exit after SIGTERM; then it is killed.
const stopTimeout = 10 * time.Second

// stop sends SIGTERM and waits for the exit; an error says the server did
// not exit 0 on its own.
func (s *serverProc) stop() error {
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		s.kill()
		return fmt.Errorf("SIGTERM: %v", err)
	}
	t := time.NewTimer(stopTimeout)
	defer t.Stop()
	select {
	case <-s.drained:
	case <-t.C:
		s.kill()
		return fmt.Errorf("still running %v after SIGTERM: killed", stopTimeout)
	}
	if err := s.cmd.Wait(); err != nil {
		return fmt.Errorf("after SIGTERM: %v: %s", err, lastLine(s.stderr.String()))
	}
	return nil
}

func (s *serverProc) kill() {
	_ = s.cmd.Process.Kill()
	<-s.drained
	_ = s.cmd.Wait()
}

// goroutineCounts returns the numbers in the "goroutines N" lines the
// server printed after its first line.
func (s *serverProc) goroutineCounts() []int {
	var ns []int
	for line := range strings.Lines(s.stdout.String()) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "goroutines "); ok {
			if n, err := strconv.Atoi(v); err == nil {
				ns = append(ns, n)
			}
		}
	}
	return ns
}

// lastLine is the last non-empty line of s.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}
