package main

import (
	"bytes"
	"errors"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeServerEnv makes the test binary, run again by a test, serve aio's
// echo (-netserve) with the API it names ("protocol", or "protocol
// portable" for -portable), or print a wrong first line ("badline"); see
// TestMain.
const fakeServerEnv = "AIOBENCH_TEST_NETSERVE"

// runFakeServer is the test binary as a server child.
func runFakeServer(api string) int {
	if api == "badline" {
		os.Stdout.WriteString("hello\n")
		return 0
	}
	api, portable := strings.CutSuffix(api, " portable")
	return runNetServe(api, "127.0.0.1:0", "", portable)
}

func TestMessageAndCheckEcho(t *testing.T) {
	assert.Equal(t, []byte("xxx\n"), message(4))
	msg := message(4)
	stream := []byte("xxx\nxxx\nxxx\n")

	require.NoError(t, checkEcho(stream, 0, msg))
	require.NoError(t, checkEcho(stream[2:9], 2, msg), "a chunk that starts and ends inside messages")
	require.NoError(t, checkEcho(nil, 7, msg))
	require.NoError(t, checkEcho([]byte("\n"), 4<<30+3, msg), "an offset past 4 GiB")

	bad := bytes.Clone(stream)
	bad[6] = 'y'
	assert.EqualError(t, checkEcho(bad, 0, msg), `echo mismatch at byte 6: got 'y', want 'x'`)
	assert.EqualError(t, checkEcho(bad[5:], 5, msg), `echo mismatch at byte 6: got 'y', want 'x'`)
	assert.EqualError(t, checkEcho([]byte("xxxx"), 0, msg), `echo mismatch at byte 3: got 'x', want '\n'`,
		"a missing newline")
}

// TestHistogramBuckets checks that every value falls in its bucket's
// bounds and that a bucket is no wider than 1/32 of its values.
func TestHistogramBuckets(t *testing.T) {
	for _, v := range []uint64{0, 1, 63, 64, 65, 95, 96, 127, 128, 1000, 123_456, 1<<40 + 12345, 1<<63 - 1} {
		i := histIndex(v)
		require.Less(t, i, histBuckets, v)
		lo, hi := histBounds(i)
		assert.LessOrEqual(t, lo, v, v)
		assert.Greater(t, hi, v, v)
		if v >= 64 {
			assert.LessOrEqual(t, (hi-lo)*32, lo, v)
		}
	}
	for i := 1; i < histBuckets-1; i++ {
		_, hi := histBounds(i - 1)
		lo, _ := histBounds(i)
		require.Equal(t, hi, lo, "bucket %d starts where %d ends", i, i-1)
	}
}

func TestHistogramQuantile(t *testing.T) {
	var a, b histogram
	assert.Zero(t, a.quantile(0.5), "empty")
	for v := 1; v <= 1000; v++ { // 1..1000 µs, half in each histogram
		h := &a
		if v%2 == 0 {
			h = &b
		}
		h.record(time.Duration(v) * time.Microsecond)
	}
	a.merge(&b)
	for _, tt := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 500 * time.Microsecond}, {0.99, 990 * time.Microsecond}, {1, 1000 * time.Microsecond}, {0.0001, time.Microsecond}} {
		assert.InEpsilon(t, float64(tt.want), float64(a.quantile(tt.q)), 1.0/32, "q=%v", tt.q)
	}
	var c histogram
	c.record(-time.Second)
	assert.Zero(t, c.quantile(0.5), "a negative duration counts as 0")
}

const sampleStatus = `Name:	goecho
Umask:	0022
State:	S (sleeping)
Pid:	4242
VmPeak:	 1240908 kB
VmSize:	 1240908 kB
VmHWM:	   45120 kB
VmRSS:	   19968 kB
RssAnon:	   15360 kB
Threads:	6
SigQ:	0/7861
`

func TestParseProcStatus(t *testing.T) {
	st, err := parseProcStatus(sampleStatus)
	require.NoError(t, err)
	assert.Equal(t, procStatus{rssKiB: 19968, hwmKiB: 45120, threads: 6}, st)
	assert.InDelta(t, 19.5, st.rssMiB(), 1e-9)
	assert.InDelta(t, 44.0625, st.hwmMiB(), 1e-9)

	_, err = parseProcStatus(strings.Replace(sampleStatus, "Threads:\t6\n", "", 1))
	assert.ErrorContains(t, err, "want VmRSS, VmHWM and Threads")
	_, err = parseProcStatus(strings.Replace(sampleStatus, "19968 kB", "19968 MB", 1))
	assert.ErrorContains(t, err, `VmRSS: "19968 MB"`)

	own, err := readProcStatus(os.Getpid())
	require.NoError(t, err)
	assert.Positive(t, own.rssKiB)
	assert.GreaterOrEqual(t, own.hwmKiB, own.rssKiB)
	assert.Positive(t, own.threads)
}

func TestSettledStatus(t *testing.T) {
	st, settled, err := settledStatus(os.Getpid(), 0, time.Second)
	require.NoError(t, err)
	assert.True(t, settled, "a window of one sample is settled at once")
	assert.Positive(t, st.rssKiB)
}

// echoServer serves a goroutine-per-connection echo on 127.0.0.1, like
// goecho; corrupt, if set, changes each chunk before it is written back.
// It stops when the test ends.
func echoServer(t *testing.T, corrupt func([]byte)) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer c.Close()
				buf := make([]byte, 32<<10)
				for {
					n, err := c.Read(buf)
					if n > 0 && corrupt != nil {
						corrupt(buf[:n])
					}
					if n > 0 {
						if _, err := c.Write(buf[:n]); err != nil {
							return
						}
					}
					if err != nil {
						return
					}
				}
			})
		}
	})
	t.Cleanup(func() {
		ln.Close()
		wg.Wait() // the clients have closed their connections
	})
	return ln.Addr().String()
}

func TestClientAgainstGoEcho(t *testing.T) {
	addr := echoServer(t, nil)
	t.Run("N1", func(t *testing.T) {
		r, err := runN1(addr, 3, 1<<10, 0, 20*time.Millisecond)
		require.NoError(t, err)
		assert.Positive(t, r.Ops)
		assert.InEpsilon(t, float64(r.Ops)/r.Seconds, r.OpsPerSec, 1e-9)
		assert.Positive(t, r.P50us)
		assert.GreaterOrEqual(t, r.P99us, r.P50us)
	})
	t.Run("N2", func(t *testing.T) {
		r, err := runClient(netCells[4], clientConfig{addr: addr, n2Bytes: 4 << 20, pid: os.Getpid()})
		require.NoError(t, err)
		assert.Equal(t, "N2", r.Cell)
		assert.Equal(t, int64(4<<20), r.Ops)
		assert.Positive(t, r.MiBps)
		assert.Positive(t, r.BaseRSS)
		assert.GreaterOrEqual(t, r.PeakRSS, r.BaseRSS, "VmHWM is at least the VmRSS before")
	})
	t.Run("N2 size must be whole writes", func(t *testing.T) {
		_, err := runClient(netCells[4], clientConfig{addr: addr, n2Bytes: 100})
		assert.ErrorContains(t, err, "want a positive multiple of 65536")
	})
	t.Run("N3", func(t *testing.T) {
		r, err := runClient(netCells[5], clientConfig{addr: addr, n3Conns: 50})
		require.NoError(t, err)
		assert.Equal(t, int64(50), r.Ops)
		assert.Equal(t, -1, r.Goroutines, "unknown")
		assert.Zero(t, r.OpenRSS, "no pid: no memory figures")
	})
}

// TestClientFailsOnBadEcho checks that a server that changes one byte
// fails the cell instead of being measured.
func TestClientFailsOnBadEcho(t *testing.T) {
	var once sync.Once
	addr := echoServer(t, func(b []byte) {
		once.Do(func() { b[len(b)-1] = 'z' })
	})
	_, err := runN1(addr, 2, 128, 0, 20*time.Millisecond)
	assert.ErrorContains(t, err, "echo mismatch at byte 127: got 'z', want '\\n'")
}

func TestClientFailsWhenTheServerCloses(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 2 {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	_, err = runN1(ln.Addr().String(), 2, 128, 0, 20*time.Millisecond)
	<-done
	require.Error(t, err)
	assert.Regexp(t, `^conn [01]: (read|write): `, err.Error())
}

// TestServerChild runs the test binary as aio's -netserve echo in a child
// process, the way -net runs a server: the first line gives the address,
// the client measures it, and SIGTERM ends it with status 0.
func TestServerChild(t *testing.T) {
	exe, err := os.Executable()
	require.NoError(t, err)
	for _, api := range []string{"protocol", "streams", "protocol portable", "streams portable"} {
		t.Run(api, func(t *testing.T) {
			sp, err := startServer([]string{exe}, []string{fakeServerEnv + "=" + api, "GOMAXPROCS=1"})
			require.NoError(t, err)
			cfg := clientConfig{addr: sp.addr, pid: sp.pid, dur: 20 * time.Millisecond, n2Bytes: 2 << 20}
			r1, err1 := runClient(netCells[0], cfg)
			r2, err2 := runClient(netCells[4], cfg)
			require.NoError(t, sp.stop())
			require.NoError(t, err1)
			require.NoError(t, err2)
			assert.Positive(t, r1.OpsPerSec)
			assert.Positive(t, r2.BaseRSS)
			assert.GreaterOrEqual(t, r2.PeakRSS, r2.BaseRSS)
			assert.Empty(t, sp.stderr.String())
		})
	}
	t.Run("bad first line", func(t *testing.T) {
		_, err := startServer([]string{exe}, []string{fakeServerEnv + "=badline"})
		assert.ErrorContains(t, err, `first line "hello", want "listening on HOST:PORT"`)
	})
}

func TestPickCellsAndServers(t *testing.T) {
	cs, err := pickCells("n1-1k, N3")
	require.NoError(t, err)
	require.Len(t, cs, 2)
	assert.Equal(t, "N1-1K", cs[0].name)
	assert.Equal(t, 3, cs[1].kind)
	_, err = pickCells("N4")
	assert.ErrorContains(t, err, `unknown cell "N4"`)

	keys, err := parseServerKeys("aio-protocol,Go-Net,aio-streams-portable")
	require.NoError(t, err)
	assert.Equal(t, []string{"aio-protocol", "go-net", "aio-streams-portable"}, keys)
	keys, err = parseServerKeys("")
	require.NoError(t, err)
	assert.Nil(t, keys, "all")
	_, err = parseServerKeys("tokio")
	assert.ErrorContains(t, err, `unknown server "tokio"`)
}

func TestClientArgs(t *testing.T) {
	cfg := clientConfig{addr: "127.0.0.1:9", pid: 42, usr1: true, warm: time.Second, dur: 3 * time.Second,
		n2Bytes: 256 << 20, n3Conns: 500}
	assert.Equal(t, []string{"-netclient", "N3", "-netaddr", "127.0.0.1:9", "-netwarm", "1s", "-netdur", "3s",
		"-n2mib", "256", "-n3conns", "500", "-netpid", "42", "-netusr1"}, clientArgs(netCells[5], cfg))
}

// n1 and friends build fake outcomes for the table.
func n1(ops, p50, p99 float64) netOutcome {
	return netOutcome{r: netResult{Ops: 1, OpsPerSec: ops, P50us: p50, P99us: p99}}
}

func n2(mibps, base, peak, pauseRSS, pausePeak float64) netOutcome {
	return netOutcome{r: netResult{Ops: 1, MiBps: mibps, BaseRSS: base, PeakRSS: peak, PauseRSS: pauseRSS, PausePeak: pausePeak}}
}

func n3(perConn, base, open float64, threads0, threads, g0, g int) netOutcome {
	return netOutcome{r: netResult{Ops: 1000, KiBPerConn: perConn, BaseRSS: base, OpenRSS: open,
		Threads0: threads0, Threads: threads, Goroutines0: g0, Goroutines: g, Seconds: 0.5}}
}

func failed(msg string) netOutcome { return netOutcome{err: errors.New(msg)} }

func TestNetTable(t *testing.T) {
	servers := []netServer{
		{key: "aio-protocol", name: "aio protocol"},
		{key: "go-net", name: "Go net"},
		{key: "node", name: "node", missing: "node: not found"},
	}
	cells := []netCell{netCells[0], netCells[4], netCells[5]}
	tab := netTable{
		header: "HEADER", servers: servers, cells: cells, reps: 3,
		client: clientConfig{warm: 2 * time.Second, dur: 10 * time.Second, n2Bytes: 1 << 30, n2Pause: 2 * time.Second, n3Conns: 10000},
		res: [][][]netOutcome{
			{ // aio protocol
				{n1(40e3, 100, 300), n1(60e3, 90, 250), n1(50e3, 95, 900)},
				{n2(600, 6, 10, 8, 8.25), failed("N2: echo mismatch at byte 7"), n2(700, 6, 11, 9, 9.25)},
				{n3(12, 6, 120, 5, 7, -1, -1), n3(13, 6, 130, 5, 7, -1, -1), n3(11, 6, 110, 5, 6, -1, -1)},
			},
			{ // Go net
				{n1(80e3, 70, 200), n1(60e3, 75, 210), n1(100e3, 72, 220)},
				{n2(650, 4, 4.5, 4.4, 4.4), n2(640, 4, 4.4, 4.3, 4.4), n2(660, 4, 4.6, 4.5, 4.5)},
				{n3(8, 4, 80, 6, 6, 3, 1003), n3(8, 4, 80, 6, 6, 3, 1003), n3(8, 4, 80, 6, 6, 3, 1003)},
			},
			{nil, nil, nil},
		},
	}
	tab.res[0][1][0].warns = []string{"server stderr, 1 lines, first: boom"}
	var buf bytes.Buffer
	tab.write(&buf)
	lines := strings.Split(buf.String(), "\n")
	require.Greater(t, len(lines), 20)

	assert.Equal(t, "aio network benchmark (N1–N3): HEADER", lines[0])
	assert.Equal(t, "| server | N1 1 KiB ×10 rt/s | N2 MiB/s | N2 RSS peak−base MiB | N2 RSS pause growth MiB | N3 KiB/conn | N3 threads |", lines[2])
	assert.Equal(t, "|---|---|---|---|---|---|---|", lines[3])
	// Ratios are per round: 40/80, 60/60, 50/100 → median 0.5 (the
	// ratio of medians would be 0.625); N2's failed round is left out.
	assert.Equal(t, "| aio protocol | 50k (0.50×) | 650 (0.99×) | 4.5 | 0.25 | 12.00 | 7 |", lines[4])
	assert.Equal(t, "| Go net | 80k | 650 | 0.5 | 0.00 | 8.00 | 6 |", lines[5])
	assert.Equal(t, "| node | — | — | — | — | — | — |", lines[6])

	assert.Equal(t, "| server | N1 1 KiB ×10 p50 / p99 µs |", lines[8])
	assert.Equal(t, "| aio protocol | 95 / 300 |", lines[10])

	assert.Equal(t, "| server | N2 base RSS MiB | N2 peak RSS MiB | N3 base RSS MiB | N3 RSS open MiB | "+
		"N3 threads before→open | N3 goroutines/conn | N3 open all s |", lines[14])
	assert.Equal(t, "| aio protocol | 6.0 | 10.5 | 6.0 | 120.0 | 5→7 | n/a | 0.50 |", lines[16])
	assert.Equal(t, "| Go net | 4.0 | 4.5 | 4.0 | 80.0 | 6→6 | 1.00 | 0.50 |", lines[17])

	out := buf.String()
	assert.Contains(t, out, "Median of 3 interleaved rounds")
	assert.NotContains(t, out, "Shortened run")
	assert.Contains(t, out, "— not installed: node (node: not found).")
	assert.Contains(t, out, "failed: aio protocol N2 round 2: N2: echo mismatch at byte 7\n")
	assert.Contains(t, out, "warning: aio protocol N2 round 1: server stderr, 1 lines, first: boom\n")

	tab.client.dur = time.Second
	buf.Reset()
	tab.write(&buf)
	assert.Contains(t, buf.String(), "Shortened run")
}

func TestNetTableJSON(t *testing.T) {
	tab := netTable{
		servers: []netServer{{key: "aio-streams"}, {key: "go-net"}},
		cells:   []netCell{netCells[3]},
		res: [][][]netOutcome{
			{{n1(30, 1, 2), failed("x")}},
			{{n1(60, 1, 2), n1(10, 1, 2)}},
		},
	}
	var buf bytes.Buffer
	tab.writeJSON(&buf)
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	require.Len(t, lines, 2)
	assert.Contains(t, lines[0], `"server":"aio-streams","cell":"N1-128B","rounds":2,"failed":1,"ops_per_sec":30,`)
	assert.Contains(t, lines[0], `"vs_go_net":0.5`)
	assert.NotContains(t, lines[1], "vs_go_net")
}
