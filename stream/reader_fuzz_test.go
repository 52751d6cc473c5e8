package stream_test

import (
	"bytes"
	"fmt"
	"testing"
	"testing/synctest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aio-go/aio/loop"
	"github.com/aio-go/aio/stream"
)

// The fuzz input, decoded: a byte stream over a small alphabet (so that
// separators occur), the sizes of the chunks it is fed in, how it ends, the
// Reader's limit, and the reads a task performs while it is fed.
type rdFuzzCase struct {
	data  []byte
	cuts  []int
	end   byte // 0: no end (the reader is cancelled), 1: FeedEOF, 2: SetError, 3: both
	limit int
	ops   []rdFuzzOp
}

type rdFuzzOp struct {
	kind byte // 0 Read, 1 ReadExactly, 2 ReadLine, 3 ReadUntil
	n    int
	sep  string
}

var rdFuzzSeps = []string{"\n", "\r\n", "a", "ab", "aba", "bb\n"}

func rdDecode(data, cuts, ops []byte, end, limit byte) rdFuzzCase {
	const alphabet = "ab\r\n"
	c := rdFuzzCase{end: end % 4, limit: 1 + int(limit%16)}
	for _, b := range data {
		c.data = append(c.data, alphabet[b%4])
	}
	rest := len(c.data)
	for _, b := range cuts {
		if rest == 0 {
			break
		}
		n := min(1+int(b%16), rest)
		c.cuts = append(c.cuts, n)
		rest -= n
	}
	if rest > 0 {
		c.cuts = append(c.cuts, rest)
	}
	for _, b := range ops[:min(len(ops), 64)] {
		op := rdFuzzOp{kind: b % 4}
		p := int(b / 4)
		switch op.kind {
		case 0:
			op.n = p%16 - 1
		case 1:
			op.n = p % 16
		case 3:
			op.sep = rdFuzzSeps[p%len(rdFuzzSeps)]
		}
		c.ops = append(c.ops, op)
	}
	return c
}

func (op rdFuzzOp) name() string {
	switch op.kind {
	case 0:
		return fmt.Sprintf("Read(%d)", op.n)
	case 1:
		return fmt.Sprintf("ReadExactly(%d)", op.n)
	case 2:
		return "ReadLine"
	}
	return fmt.Sprintf("ReadUntil(%q)", op.sep)
}

func (op rdFuzzOp) do(co *loop.Coro, r *stream.Reader) ([]byte, error) {
	switch op.kind {
	case 0:
		return r.Read(co, op.n)
	case 1:
		return r.ReadExactly(co, op.n)
	case 2:
		return r.ReadLine(co)
	}
	return r.ReadUntil(co, []byte(op.sep))
}

// rdFuzzSource records the Reader's flow control calls in the trace, and
// that they alternate, starting with a pause.
type rdFuzzSource struct {
	rec    func(string)
	paused bool
	bad    bool
}

func (s *rdFuzzSource) PauseReading() {
	s.bad = s.bad || s.paused
	s.paused = true
	s.rec("pause")
}

func (s *rdFuzzSource) ResumeReading() {
	s.bad = s.bad || !s.paused
	s.paused = false
	s.rec("resume")
}

// rdModel is the Reader's specification over a plain buffer: it replays
// the case in the order the test runs it (the reader task runs to its next
// wait between two feeds) and returns the trace it must produce.
func rdModel(c rdFuzzCase) (trace []string, buffered int, atEOF bool) {
	var (
		buf          []byte
		eof, failed  bool
		paused, wait bool
		next         int
	)
	rec := func(s string) { trace = append(trace, s) }
	take := func(n int) []byte {
		p := buf[:n:n]
		buf = buf[n:]
		return p
	}
	flow := func() {
		switch {
		case !paused && len(buf) > 2*c.limit && !eof && !failed:
			paused = true
			rec("pause")
		case paused && len(buf) <= c.limit:
			paused = false
			rec("resume")
		}
	}
	// until is ReadUntil over the whole buffer each time.
	until := func(sep string) (p []byte, done, ended bool, err string) {
		if len(buf) >= len(sep) {
			if i := bytes.Index(buf, []byte(sep)); i >= 0 {
				if i > c.limit {
					return nil, true, false, fmt.Sprintf("overrun(%d)", i)
				}
				return take(i + len(sep)), true, false, "nil"
			}
			if from := len(buf) + 1 - len(sep); from > c.limit {
				return nil, true, false, fmt.Sprintf("overrun(%d)", from)
			}
		}
		switch {
		case failed:
			return nil, true, false, rdErrReset.Error()
		case eof:
			return take(len(buf)), true, true, "nil"
		}
		return nil, false, false, ""
	}
	// try performs op if it can complete now.
	try := func(op rdFuzzOp) (p []byte, done bool, err string) {
		switch op.kind {
		case 0:
			switch {
			case op.n == 0:
				return nil, true, "nil"
			case op.n > 0 && len(buf) > 0:
				return take(min(op.n, len(buf))), true, "nil"
			case failed:
				return nil, true, rdErrReset.Error()
			case eof && op.n > 0:
				return nil, true, "EOF"
			case eof:
				return take(len(buf)), true, "nil"
			}
		case 1:
			switch {
			case len(buf) >= op.n:
				return take(op.n), true, "nil"
			case failed:
				return nil, true, rdErrReset.Error()
			case eof:
				p := take(len(buf))
				return p, true, fmt.Sprintf("incomplete(%q, %d)", p, op.n)
			}
		case 2:
			p, done, ended, err := until("\n")
			if ended && len(p) == 0 {
				return nil, true, "EOF"
			}
			return p, done, err
		case 3:
			p, done, ended, err := until(op.sep)
			if ended {
				err = fmt.Sprintf("incomplete(%q, -1)", p)
			}
			return p, done, err
		}
		return nil, false, ""
	}
	run := func() {
		for next < len(c.ops) {
			op := c.ops[next]
			p, done, err := try(op)
			if !done {
				if !wait && paused {
					paused = false
					rec("resume")
				}
				wait = true
				return
			}
			wait = false
			if op.kind != 0 || op.n != 0 {
				flow()
			}
			rec(fmt.Sprintf("%s %q %s", op.name(), p, err))
			next++
		}
	}
	off := 0
	for _, n := range c.cuts {
		run()
		buf = append(buf, c.data[off:off+n]...)
		off += n
		if !wait {
			flow()
		}
		rec(fmt.Sprint("feed ", n))
	}
	if c.end != 0 {
		run()
		eof, failed = c.end&1 != 0, c.end&2 != 0
		rec(fmt.Sprint("end ", c.end))
	}
	run()
	if next < len(c.ops) {
		flow()
		rec(c.ops[next].name() + ` "" cancelled`)
	}
	return trace, len(buf), eof && len(buf) == 0
}

// rdReal runs the case on a Reader and returns its trace.
func rdReal(t *testing.T, c rdFuzzCase) (trace []string, buffered int, atEOF, badFlow bool) {
	rec := func(s string) { trace = append(trace, s) }
	src := &rdFuzzSource{rec: rec}
	synctest.Test(t, func(t *testing.T) {
		l := loop.New()
		main := loop.Spawn(l, func(co *loop.Coro) (struct{}, error) {
			r := stream.NewReader(co.Loop(), c.limit)
			r.SetSource(src)
			reader := loop.Spawn(co.Loop(), func(co *loop.Coro) (struct{}, error) {
				for _, op := range c.ops {
					p, err := op.do(co, r)
					rec(rdResult(op.name(), p, err))
					if err != nil && rdErr(err) == "cancelled" {
						return struct{}{}, err
					}
				}
				return struct{}{}, nil
			})
			off := 0
			for _, n := range c.cuts {
				if err := rdTick(co); err != nil {
					return struct{}{}, err
				}
				r.Feed(c.data[off : off+n])
				off += n
				rec(fmt.Sprint("feed ", n))
			}
			if c.end != 0 {
				if err := rdTick(co); err != nil {
					return struct{}{}, err
				}
				if c.end&1 != 0 {
					r.FeedEOF()
				}
				if c.end&2 != 0 {
					r.SetError(rdErrReset)
				}
				rec(fmt.Sprint("end ", c.end))
			}
			if err := rdTick(co); err != nil {
				return struct{}{}, err
			}
			reader.Cancel()
			_, _ = reader.Await(co)
			buffered, atEOF = r.Buffered(), r.AtEOF()
			return struct{}{}, nil
		})
		_, err := loop.RunUntilComplete(l, main.Future)
		require.NoError(t, l.Close())
		require.NoError(t, err)
	})
	return trace, buffered, atEOF, src.bad
}

func FuzzReader(f *testing.F) {
	// data, cuts, ops, end, limit; data and ops bytes are decoded by
	// rdDecode (data: b%4 of "ab\r\n"; op: b%4 the kind, b/4 its argument).
	f.Add([]byte{0, 1, 3, 0, 0, 1, 3}, []byte{1, 2, 0}, []byte{2, 2, 2}, byte(1), byte(15))
	f.Add([]byte{0, 0, 0, 0, 0, 0, 3, 1, 1}, []byte{3, 3}, []byte{2, 1 + 4*3, 2}, byte(1), byte(3))
	f.Add([]byte{0, 1, 2, 3, 0, 1, 2, 3}, []byte{0, 0, 0, 0, 0}, []byte{3 + 4*1, 3 + 4*1, 3}, byte(2), byte(8))
	f.Add([]byte{0, 1, 0, 1, 0, 1}, []byte{0}, []byte{3 + 4*4, 3 + 4*2, 0 + 4*3}, byte(0), byte(2))
	f.Add(bytes.Repeat([]byte{0}, 40), []byte{15, 15, 15}, []byte{1 + 4*15, 1 + 4*15, 0}, byte(3), byte(1))
	f.Add(bytes.Repeat([]byte{1, 3}, 20), []byte{5, 9, 2}, []byte{0, 0 + 4*5, 1 + 4*2, 2, 3 + 4*5, 0 + 4*0}, byte(1), byte(4))
	f.Add([]byte{}, []byte{}, []byte{0, 1, 2, 3}, byte(1), byte(0))
	f.Fuzz(func(t *testing.T, data, cuts, ops []byte, end, limit byte) {
		c := rdDecode(data, cuts, ops, end, limit)
		want, wantBuffered, wantEOF := rdModel(c)
		got, buffered, atEOF, badFlow := rdReal(t, c)
		assert.Equal(t, want, got)
		assert.Equal(t, wantBuffered, buffered, "buffered")
		assert.Equal(t, wantEOF, atEOF, "AtEOF")
		assert.False(t, badFlow, "pause and resume must alternate, starting with a pause")
	})
}

// The model's own sanity: reading the whole stream line by line gives it
// back.
func TestReaderModelReadsBack(t *testing.T) {
	c := rdDecode([]byte{0, 3, 1, 3, 0}, nil, []byte{2, 2, 2, 2}, 1, 15)
	trace, _, atEOF := rdModel(c)
	assert.Equal(t, []string{
		"feed 5", `ReadLine "a\n" nil`, `ReadLine "b\n" nil`, "end 1", `ReadLine "a" nil`, `ReadLine "" EOF`,
	}, trace)
	assert.True(t, atEOF)
}
