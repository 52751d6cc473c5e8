package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// The client side of N1-N3 (WORKLOADS.md): one program for every server,
// run as a child (-netclient CELL) pinned to its own core. It prints one
// netResult as JSON.

// netResult is one client run of one cell against one server. The server's
// memory figures are there when the client knows its pid.
type netResult struct {
	Cell    string  `json:"cell"`
	Ops     int64   `json:"ops"` // N1: timed round trips; N2: bytes echoed; N3: connections
	Seconds float64 `json:"seconds"`

	OpsPerSec float64 `json:"ops_per_sec,omitempty"` // N1: round trips/s, all connections
	P50us     float64 `json:"p50_us,omitempty"`      // N1: round-trip latency
	P99us     float64 `json:"p99_us,omitempty"`
	MiBps     float64 `json:"mib_per_sec,omitempty"` // N2: MiB echoed / (seconds − the pause)

	BaseRSS    float64 `json:"base_rss_mib,omitempty"`       // server VmRSS before the first connection
	PeakRSS    float64 `json:"peak_rss_mib,omitempty"`       // N2: server VmHWM at the end
	PauseRSS   float64 `json:"pause_rss_mib,omitempty"`      // N2: server VmRSS as the client stops reading
	PausePeak  float64 `json:"pause_peak_rss_mib,omitempty"` // N2: server VmHWM over the pause
	OpenRSS    float64 `json:"open_rss_mib,omitempty"`       // N3: server VmRSS with K open, settled
	KiBPerConn float64 `json:"kib_per_conn,omitempty"`       // N3: (OpenRSS − BaseRSS) / K
	Threads    int     `json:"threads,omitempty"`            // N3: server threads with K open
	Threads0   int     `json:"threads_before,omitempty"`
	// Goroutines and Goroutines0 (N3, with K open and before) come from a
	// server that prints "goroutines N" on SIGUSR1 (goecho -stats): the
	// parent reads them from its stdout; -1 when unknown.
	Goroutines  int    `json:"goroutines"`
	Goroutines0 int    `json:"goroutines_before"`
	Note        string `json:"note,omitempty"`
}

// clientConfig is what a client run needs besides the cell.
type clientConfig struct {
	addr      string
	pid       int           // the server's, 0 if unknown: no memory figures
	usr1      bool          // N3: send the server SIGUSR1 before and with K open
	warm, dur time.Duration // N1
	n2Bytes   int64         // N2: bytes to echo, a multiple of 64 KiB
	n2Pause   time.Duration // N2: how long the reader stops halfway
	n3Conns   int           // N3: K
}

// ioTimeout bounds every wait for the server: a server that stops echoing
// fails the cell instead of hanging it.
const ioTimeout = 30 * time.Second

// runClient runs cell c against the server at cfg.addr.
func runClient(c netCell, cfg clientConfig) (netResult, error) {
	var r netResult
	var err error
	switch c.kind {
	case 1:
		r, err = runN1(cfg.addr, c.conns, c.size, cfg.warm, cfg.dur)
	case 2:
		r, err = runN2(cfg, c.size)
	case 3:
		r, err = runN3(cfg, c.size)
	default:
		err = fmt.Errorf("cell %s: unknown kind %d", c.name, c.kind)
	}
	r.Cell = c.name
	if err != nil {
		return r, fmt.Errorf("%s: %w", c.name, err)
	}
	return r, nil
}

// message is WORKLOADS.md's message: size-1 bytes of 'x', then '\n'.
func message(size int) []byte {
	b := bytes.Repeat([]byte{'x'}, size)
	b[size-1] = '\n'
	return b
}

// checkEcho checks that got is what the stream of back-to-back copies of
// pattern holds from offset off on: every byte is compared.
func checkEcho(got []byte, off int64, pattern []byte) error {
	for done := 0; done < len(got); {
		at := int((off + int64(done)) % int64(len(pattern)))
		n := min(len(got)-done, len(pattern)-at)
		if !bytes.Equal(got[done:done+n], pattern[at:at+n]) {
			for i := range n {
				if got[done+i] != pattern[at+i] {
					return fmt.Errorf("echo mismatch at byte %d: got %q, want %q",
						off+int64(done+i), got[done+i], pattern[at+i])
				}
			}
		}
		done += n
	}
	return nil
}

// firstError keeps the first of several goroutines' errors and runs
// onFail once, when it arrives.
type firstError struct {
	mu     sync.Mutex
	first  error
	onFail func()
}

func (f *firstError) set(err error) {
	f.mu.Lock()
	first := f.first == nil
	if first {
		f.first = err
	}
	f.mu.Unlock()
	if first && f.onFail != nil {
		f.onFail()
	}
}

func (f *firstError) err() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.first
}

// dial connects to addr with TCP_NODELAY (Go's default).
func dial(addr string) (net.Conn, error) {
	return net.DialTimeout("tcp", addr, ioTimeout)
}

func closeAll(cs []net.Conn) {
	for _, c := range cs {
		if c != nil {
			c.Close()
		}
	}
}

// Phases of runN1's connections.
const (
	phaseWarm int32 = iota
	phaseTimed
	phaseStop
)

// runN1 is N1, echo ping-pong: conns connections, each a goroutine that
// writes one message of size bytes and reads until the whole echo is back,
// then repeats; round trips that start and end inside the timed window
// (after warm, for dur) are counted and their latencies recorded.
func runN1(addr string, conns, size int, warm, dur time.Duration) (netResult, error) {
	msg := message(size)
	cs := make([]net.Conn, 0, conns)
	defer func() { closeAll(cs) }()
	for range conns {
		c, err := dial(addr)
		if err != nil {
			return netResult{}, err
		}
		cs = append(cs, c)
	}

	var phase atomic.Int32
	fail := &firstError{onFail: func() { phase.Store(phaseStop) }}
	hists := make([]histogram, conns)
	counts := make([]int64, conns)
	var wg sync.WaitGroup
	for i, c := range cs {
		wg.Go(func() {
			buf := make([]byte, size)
			for {
				p := phase.Load()
				if p == phaseStop {
					return
				}
				t0 := time.Now()
				if _, err := c.Write(msg); err != nil {
					fail.set(fmt.Errorf("conn %d: write: %w", i, err))
					return
				}
				if _, err := io.ReadFull(c, buf); err != nil {
					fail.set(fmt.Errorf("conn %d: read: %w", i, err))
					return
				}
				rtt := time.Since(t0)
				if err := checkEcho(buf, 0, msg); err != nil {
					fail.set(fmt.Errorf("conn %d: %w", i, err))
					return
				}
				if p == phaseTimed && phase.Load() == phaseTimed {
					counts[i]++
					hists[i].record(rtt)
				}
			}
		})
	}
	time.Sleep(warm)
	start := time.Now()
	phase.CompareAndSwap(phaseWarm, phaseTimed)
	time.Sleep(dur)
	phase.Store(phaseStop)
	elapsed := time.Since(start)
	if !waitTimeout(&wg, ioTimeout) {
		fail.set(fmt.Errorf("no echo within %v of the end", ioTimeout))
		closeAll(cs) // unblocks the reads
		wg.Wait()
	}
	if fail.err() != nil {
		return netResult{}, fail.err()
	}

	var all histogram
	var ops int64
	for i := range conns {
		ops += counts[i]
		all.merge(&hists[i])
	}
	if ops == 0 {
		return netResult{}, errors.New("no round trip in the timed window")
	}
	return netResult{
		Ops:       ops,
		Seconds:   elapsed.Seconds(),
		OpsPerSec: float64(ops) / elapsed.Seconds(),
		P50us:     float64(all.quantile(0.50)) / 1e3,
		P99us:     float64(all.quantile(0.99)) / 1e3,
	}, nil
}

// waitTimeout waits for wg for at most d, and reports whether it ended.
func waitTimeout(wg *sync.WaitGroup, d time.Duration) bool {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-done:
		return true
	case <-t.C:
		return false
	}
}

// runN2 is N2, bulk echo with flow control: one connection; a goroutine
// writes cfg.n2Bytes in writes of chunk bytes while the reader reads and
// checks the echo, stopping for cfg.n2Pause once it has half of it. The
// server's peak RSS is its VmHWM at the end; its growth over the pause is
// its VmHWM over the pause (reset as the pause begins) − its VmRSS then.
func runN2(cfg clientConfig, chunk int) (netResult, error) {
	total := cfg.n2Bytes
	if total <= 0 || total%int64(chunk) != 0 {
		return netResult{}, fmt.Errorf("N2 size %d: want a positive multiple of %d", total, chunk)
	}
	var r netResult
	if cfg.pid > 0 {
		st, err := readProcStatus(cfg.pid)
		if err != nil {
			return r, err
		}
		r.BaseRSS = st.rssMiB()
	}
	c, err := dial(cfg.addr)
	if err != nil {
		return r, err
	}
	defer c.Close()
	msg := message(chunk)

	start := time.Now()
	fail := &firstError{onFail: func() { c.Close() }}
	var wg sync.WaitGroup
	wg.Go(func() {
		for sent := int64(0); sent < total; sent += int64(chunk) {
			_ = c.SetWriteDeadline(time.Now().Add(ioTimeout))
			if _, err := c.Write(msg); err != nil {
				fail.set(fmt.Errorf("write at byte %d: %w", sent, err))
				return
			}
		}
	})
	buf := make([]byte, 256<<10)
	paused := false
	for got := int64(0); got < total && fail.err() == nil; {
		_ = c.SetReadDeadline(time.Now().Add(ioTimeout))
		n, rerr := c.Read(buf[:min(int64(len(buf)), total-got)])
		if err := checkEcho(buf[:n], got, msg); err != nil {
			fail.set(err)
			break
		}
		got += int64(n)
		if rerr != nil && got < total {
			fail.set(fmt.Errorf("read at byte %d: %w", got, rerr))
			break
		}
		if !paused && got >= total/2 {
			paused = true
			if err := r.pause(cfg); err != nil {
				fail.set(err)
				break
			}
		}
	}
	elapsed := time.Since(start)
	wg.Wait()
	if fail.err() != nil {
		return r, fail.err()
	}
	if cfg.pid > 0 {
		st, err := readProcStatus(cfg.pid)
		if err != nil {
			return r, err
		}
		r.PeakRSS = st.hwmMiB()
	}
	r.Ops = total
	r.Seconds = elapsed.Seconds()
	r.MiBps = float64(total) / (1 << 20) / (elapsed - cfg.n2Pause).Seconds()
	return r, nil
}

// pause stops reading for cfg.n2Pause and measures the server's memory
// over it: with flow control the server stops reading too, and its RSS
// stays where it was.
func (r *netResult) pause(cfg clientConfig) error {
	if cfg.pid <= 0 {
		time.Sleep(cfg.n2Pause)
		return nil
	}
	// Writing 5 to clear_refs resets VmHWM to the current RSS (Linux ≥ 4.0).
	if err := os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", cfg.pid), []byte("5"), 0); err != nil {
		return fmt.Errorf("resetting the server's peak RSS: %w", err)
	}
	st, err := readProcStatus(cfg.pid)
	if err != nil {
		return err
	}
	r.PauseRSS = st.rssMiB()
	time.Sleep(cfg.n2Pause)
	st, err = readProcStatus(cfg.pid)
	if err != nil {
		return err
	}
	r.PausePeak = st.hwmMiB()
	return nil
}

// n3InFlight bounds the connections being opened at once, so that the
// server's accept queue (somaxconn is 4096 here) never drops a SYN.
const n3InFlight = 200

// runN3 is N3, many idle connections: it opens cfg.n3Conns connections,
// sends one message of size bytes on each and reads its echo, then leaves
// them open; once the server's RSS has settled it reads the server's RSS
// and threads.
func runN3(cfg clientConfig, size int) (netResult, error) {
	r := netResult{Goroutines: -1, Goroutines0: -1}
	k := cfg.n3Conns
	if k <= 0 {
		return r, fmt.Errorf("N3 connections %d: want at least 1", k)
	}
	if cfg.pid > 0 {
		st, err := readProcStatus(cfg.pid)
		if err != nil {
			return r, err
		}
		r.BaseRSS, r.Threads0 = st.rssMiB(), st.threads
		if cfg.usr1 {
			if err := askGoroutines(cfg.pid); err != nil {
				return r, err
			}
		}
	}
	msg := message(size)
	cs := make([]net.Conn, k)
	defer func() { closeAll(cs) }()
	start := time.Now()
	var stop atomic.Bool
	fail := &firstError{onFail: func() { stop.Store(true) }}
	sem := make(chan struct{}, n3InFlight)
	var wg sync.WaitGroup
	for i := 0; i < k && !stop.Load(); i++ {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			c, err := dial(cfg.addr)
			if err != nil {
				fail.set(fmt.Errorf("conn %d: %w", i, err))
				return
			}
			cs[i] = c
			buf := make([]byte, size)
			_ = c.SetDeadline(time.Now().Add(ioTimeout))
			if _, err := c.Write(msg); err != nil {
				fail.set(fmt.Errorf("conn %d: write: %w", i, err))
				return
			}
			if _, err := io.ReadFull(c, buf); err != nil {
				fail.set(fmt.Errorf("conn %d: read: %w", i, err))
				return
			}
			if err := checkEcho(buf, 0, msg); err != nil {
				fail.set(fmt.Errorf("conn %d: %w", i, err))
				return
			}
			_ = c.SetDeadline(time.Time{})
		})
	}
	wg.Wait()
	r.Seconds = time.Since(start).Seconds()
	if fail.err() != nil {
		return r, fail.err()
	}
	r.Ops = int64(k)
	if cfg.pid > 0 {
		st, settled, err := settledStatus(cfg.pid, 500*time.Millisecond, 15*time.Second)
		if err != nil {
			return r, err
		}
		if !settled {
			r.Note = "server RSS did not settle within 15s"
		}
		r.OpenRSS, r.Threads = st.rssMiB(), st.threads
		r.KiBPerConn = (r.OpenRSS - r.BaseRSS) * 1024 / float64(k)
		if cfg.usr1 {
			if err := askGoroutines(cfg.pid); err != nil {
				return r, err
			}
		}
	}
	return r, nil
}

// usr1Grace is how long askGoroutines leaves the server to answer: it
// counts on its own goroutine, and the count must not see connections
// made or closed after the signal.
const usr1Grace = 500 * time.Millisecond

// askGoroutines sends the server SIGUSR1, to which it answers on its
// stdout with its goroutine count, and gives it usr1Grace to do so.
func askGoroutines(pid int) error {
	if err := syscall.Kill(pid, syscall.SIGUSR1); err != nil {
		return fmt.Errorf("SIGUSR1: %w", err)
	}
	time.Sleep(usr1Grace)
	return nil
}

// settledStatus polls pid's status every 100 ms until its VmRSS has moved
// by at most 64 KiB over the last window, or until limit; settled says
// which.
func settledStatus(pid int, window, limit time.Duration) (st procStatus, settled bool, err error) {
	const every = 100 * time.Millisecond
	n := int(window/every) + 1
	var rss []int64
	for deadline := time.Now().Add(limit); ; time.Sleep(every) {
		st, err = readProcStatus(pid)
		if err != nil {
			return st, false, err
		}
		rss = append(rss, st.rssKiB)
		if len(rss) >= n {
			last := rss[len(rss)-n:]
			lo, hi := last[0], last[0]
			for _, v := range last {
				lo, hi = min(lo, v), max(hi, v)
			}
			if hi-lo <= 64 {
				return st, true, nil
			}
		}
		if time.Now().After(deadline) {
			return st, false, nil
		}
	}
}
