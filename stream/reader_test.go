package stream_test

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aio-go/aio/future"
	"github.com/aio-go/aio/loop"
	"github.com/aio-go/aio/stream"
)

// rdRun runs main as the first task of a new loop, in a synctest bubble of
// its own, until main returns, then closes the loop. main's error, and
// anything reported to the exception handler, fail the test. Record values
// in main and the tasks it spawns; assert on them after rdRun.
func rdRun(t *testing.T, main func(co *loop.Coro) error) {
	t.Helper()
	synctest.Test(t, func(t *testing.T) {
		var reports []string
		l := loop.New(loop.WithExceptionHandler(func(c loop.ExceptionContext) {
			reports = append(reports, fmt.Sprintf("%s: %v", c.Message, c.Err))
		}))
		task := loop.Spawn(l, func(co *loop.Coro) (struct{}, error) { return struct{}{}, main(co) })
		_, err := loop.RunUntilComplete(l, task.Future)
		require.NoError(t, l.Close())
		require.NoError(t, err)
		assert.Empty(t, reports)
	})
}

// rdOp is one read, by name.
type rdOp struct {
	name string
	do   func(co *loop.Coro, r *stream.Reader) ([]byte, error)
}

func rdRead(n int) rdOp {
	return rdOp{fmt.Sprintf("Read(%d)", n), func(co *loop.Coro, r *stream.Reader) ([]byte, error) { return r.Read(co, n) }}
}

func rdExactly(n int) rdOp {
	return rdOp{fmt.Sprintf("ReadExactly(%d)", n), func(co *loop.Coro, r *stream.Reader) ([]byte, error) { return r.ReadExactly(co, n) }}
}

func rdLine() rdOp {
	return rdOp{"ReadLine", func(co *loop.Coro, r *stream.Reader) ([]byte, error) { return r.ReadLine(co) }}
}

func rdUntil(sep string) rdOp {
	return rdOp{fmt.Sprintf("ReadUntil(%q)", sep), func(co *loop.Coro, r *stream.Reader) ([]byte, error) { return r.ReadUntil(co, []byte(sep)) }}
}

// rdFeed is one action of the feeding side, by name.
type rdFeed struct {
	name string
	do   func(r *stream.Reader)
}

func rdData(s string) rdFeed {
	return rdFeed{fmt.Sprintf("feed %q", s), func(r *stream.Reader) { r.Feed([]byte(s)) }}
}

func rdDataEOF(s string) rdFeed {
	return rdFeed{fmt.Sprintf("feed %q eof", s), func(r *stream.Reader) { r.Feed([]byte(s)); r.FeedEOF() }}
}

var (
	rdEOFFail  = rdFeed{"eof fail", func(r *stream.Reader) { r.FeedEOF(); r.SetError(rdErrReset) }}
	rdEOF      = rdFeed{"eof", func(r *stream.Reader) { r.FeedEOF() }}
	rdErrReset = errors.New("connection reset")
	rdFail     = rdFeed{"fail", func(r *stream.Reader) { r.SetError(rdErrReset) }}
)

// rdResult names a read's outcome in a trace.
func rdResult(name string, p []byte, err error) string {
	return fmt.Sprintf("%s %q %s", name, p, rdErr(err))
}

func rdErr(err error) string {
	var ie *stream.IncompleteReadError
	var le *stream.LimitOverrunError
	switch {
	case err == nil:
		return "nil"
	case errors.As(err, &ie):
		return fmt.Sprintf("incomplete(%q, %d)", ie.Partial, ie.Expected)
	case errors.As(err, &le):
		return fmt.Sprintf("overrun(%d)", le.Consumed)
	case err == io.EOF:
		return "EOF"
	case errors.Is(err, future.ErrCancelled):
		return "cancelled"
	case errors.Is(err, loop.ErrClosed):
		return "closed"
	}
	return err.Error()
}

// rdReader spawns a task that runs reads on r one after the other,
// recording each result.
func rdReader(co *loop.Coro, r *stream.Reader, reads []rdOp, rec func(string)) *loop.Task[struct{}] {
	return loop.Spawn(co.Loop(), func(co *loop.Coro) (struct{}, error) {
		for _, op := range reads {
			p, err := op.do(co, r)
			rec(rdResult(op.name, p, err))
			if errors.Is(err, future.ErrCancelled) || errors.Is(err, loop.ErrClosed) {
				return struct{}{}, err
			}
		}
		return struct{}{}, nil
	})
}

// rdTick lets every task woken so far run to its next wait.
func rdTick(co *loop.Coro) error { return loop.Sleep(co, time.Millisecond) }

type rdCase struct {
	name  string
	limit int
	feeds []rdFeed // fed one at a time, the reader running in between
	reads []rdOp
	want  []string
}

func runRdCases(t *testing.T, table []rdCase) {
	t.Helper()
	for _, tc := range table {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			rec := func(s string) { got = append(got, s) }
			rdRun(t, func(co *loop.Coro) error {
				r := stream.NewReader(co.Loop(), tc.limit)
				reader := rdReader(co, r, tc.reads, rec)
				for _, f := range tc.feeds {
					if err := rdTick(co); err != nil {
						return err
					}
					f.do(r)
					rec(f.name)
				}
				if _, err := reader.Await(co); err != nil {
					return err
				}
				rec(fmt.Sprintf("buffered=%d ateof=%v", r.Buffered(), r.AtEOF()))
				return nil
			})
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestReaderReads(t *testing.T) {
	runRdCases(t, []rdCase{{
		name:  "line split across feeds",
		feeds: []rdFeed{rdData("he"), rdData("llo\nwor"), rdData("ld\n")},
		reads: []rdOp{rdLine(), rdLine()},
		want: []string{
			`feed "he"`, `feed "llo\nwor"`, `ReadLine "hello\n" nil`,
			`feed "ld\n"`, `ReadLine "world\n" nil`, "buffered=0 ateof=false",
		},
	}, {
		name:  "several lines in one feed",
		feeds: []rdFeed{rdData("a\nb\n\nc")},
		reads: []rdOp{rdLine(), rdLine(), rdLine()},
		want: []string{
			`feed "a\nb\n\nc"`, `ReadLine "a\n" nil`, `ReadLine "b\n" nil`, `ReadLine "\n" nil`,
			"buffered=1 ateof=false",
		},
	}, {
		name:  "EOF mid-line gives the partial line then io.EOF",
		feeds: []rdFeed{rdData("ab\ncd"), rdEOF},
		reads: []rdOp{rdLine(), rdLine(), rdLine(), rdLine()},
		want: []string{
			`feed "ab\ncd"`, `ReadLine "ab\n" nil`, "eof", `ReadLine "cd" nil`,
			`ReadLine "" EOF`, `ReadLine "" EOF`, "buffered=0 ateof=true",
		},
	}, {
		name:  "sep split across feeds",
		feeds: []rdFeed{rdData("key\r"), rdData("\nval"), rdData("ue\r"), rdData("\n")},
		reads: []rdOp{rdUntil("\r\n"), rdUntil("\r\n")},
		want: []string{
			`feed "key\r"`, `feed "\nval"`, `ReadUntil("\r\n") "key\r\n" nil`,
			`feed "ue\r"`, `feed "\n"`, `ReadUntil("\r\n") "value\r\n" nil`,
			"buffered=0 ateof=false",
		},
	}, {
		name:  "sep split byte by byte",
		feeds: []rdFeed{rdData("x"), rdData("-"), rdData("-"), rdData("|"), rdData("y")},
		reads: []rdOp{rdUntil("--|")},
		want: []string{
			`feed "x"`, `feed "-"`, `feed "-"`, `feed "|"`, `ReadUntil("--|") "x--|" nil`,
			`feed "y"`, "buffered=1 ateof=false",
		},
	}, {
		name:  "ReadUntil at EOF is incomplete with the rest",
		feeds: []rdFeed{rdData("ab\r"), rdEOF},
		reads: []rdOp{rdUntil("\r\n"), rdUntil("\r\n")},
		want: []string{
			`feed "ab\r"`, "eof", `ReadUntil("\r\n") "ab\r" incomplete("ab\r", -1)`,
			`ReadUntil("\r\n") "" incomplete("", -1)`, "buffered=0 ateof=true",
		},
	}, {
		// asyncio: a chunk of limit bytes plus the separator is accepted.
		name:  "limit: a line of exactly the limit",
		limit: 4,
		feeds: []rdFeed{rdData("abcd\n")},
		reads: []rdOp{rdLine()},
		want:  []string{`feed "abcd\n"`, `ReadLine "abcd\n" nil`, "buffered=0 ateof=false"},
	}, {
		name:  "limit: separator found past the limit, data still readable",
		limit: 4,
		feeds: []rdFeed{rdData("abcde\nf\n")},
		reads: []rdOp{rdLine(), rdLine(), rdExactly(5), rdLine(), rdLine()},
		want: []string{
			`feed "abcde\nf\n"`, `ReadLine "" overrun(5)`, `ReadLine "" overrun(5)`,
			`ReadExactly(5) "abcde" nil`, `ReadLine "\n" nil`, `ReadLine "f\n" nil`,
			"buffered=0 ateof=false",
		},
	}, {
		name:  "limit: no separator in more than the limit",
		limit: 4,
		feeds: []rdFeed{rdData("abcd"), rdData("e"), rdData("\n")},
		reads: []rdOp{rdUntil("\n"), rdRead(10), rdUntil("\n")},
		want: []string{
			`feed "abcd"`, `feed "e"`, `ReadUntil("\n") "" overrun(5)`,
			`Read(10) "abcde" nil`, `feed "\n"`, `ReadUntil("\n") "\n" nil`,
			"buffered=0 ateof=false",
		},
	}, {
		// The last len(sep)-1 bytes may start the separator: they are not
		// counted against the limit.
		name:  "limit: a multi-byte separator's prefix is not counted",
		limit: 4,
		feeds: []rdFeed{rdData("abcd\r"), rdData("\n")},
		reads: []rdOp{rdUntil("\r\n")},
		want:  []string{`feed "abcd\r"`, `feed "\n"`, `ReadUntil("\r\n") "abcd\r\n" nil`, "buffered=0 ateof=false"},
	}, {
		name:  "limit: overrun comes before EOF",
		limit: 2,
		feeds: []rdFeed{rdDataEOF("abc")},
		reads: []rdOp{rdUntil("!"), rdRead(1), rdUntil("!")},
		want: []string{
			`feed "abc" eof`, `ReadUntil("!") "" overrun(3)`,
			`Read(1) "a" nil`, `ReadUntil("!") "bc" incomplete("bc", -1)`, "buffered=0 ateof=true",
		},
	}, {
		name:  "ReadExactly across feeds",
		feeds: []rdFeed{rdData("ab"), rdData("cde"), rdData("f")},
		reads: []rdOp{rdExactly(4), rdExactly(2), rdExactly(0)},
		want: []string{
			`feed "ab"`, `feed "cde"`, `ReadExactly(4) "abcd" nil`, `feed "f"`,
			`ReadExactly(2) "ef" nil`, `ReadExactly(0) "" nil`, "buffered=0 ateof=false",
		},
	}, {
		name:  "ReadExactly partial at EOF",
		feeds: []rdFeed{rdData("abc"), rdEOF},
		reads: []rdOp{rdExactly(5), rdExactly(1), rdExactly(0)},
		want: []string{
			`feed "abc"`, "eof", `ReadExactly(5) "abc" incomplete("abc", 5)`,
			`ReadExactly(1) "" incomplete("", 1)`, `ReadExactly(0) "" nil`, "buffered=0 ateof=true",
		},
	}, {
		name:  "Read returns what is there, then io.EOF",
		feeds: []rdFeed{rdData("abc"), rdData("de"), rdEOF},
		reads: []rdOp{rdRead(2), rdRead(5), rdRead(0), rdRead(5), rdRead(5), rdRead(0)},
		want: []string{
			`feed "abc"`, `Read(2) "ab" nil`, `Read(5) "c" nil`, `Read(0) "" nil`,
			`feed "de"`, `Read(5) "de" nil`, "eof", `Read(5) "" EOF`, `Read(0) "" nil`,
			"buffered=0 ateof=true",
		},
	}, {
		name:  "Read(-1) waits for EOF and returns everything",
		feeds: []rdFeed{rdData("a\n"), rdData("b"), rdEOF},
		reads: []rdOp{rdRead(-1), rdRead(-1), rdRead(1)},
		want: []string{
			`feed "a\n"`, `feed "b"`, "eof", `Read(-1) "a\nb" nil`, `Read(-1) "" nil`,
			`Read(1) "" EOF`, "buffered=0 ateof=true",
		},
	}, {
		name:  "mixed reads over one stream",
		feeds: []rdFeed{rdData("GET /\r\nHost: x\r\n\r\n12"), rdData("345678"), rdEOF},
		reads: []rdOp{rdLine(), rdUntil("\r\n\r\n"), rdExactly(4), rdRead(3), rdRead(-1)},
		want: []string{
			`feed "GET /\r\nHost: x\r\n\r\n12"`, `ReadLine "GET /\r\n" nil`,
			`ReadUntil("\r\n\r\n") "Host: x\r\n\r\n" nil`, `feed "345678"`,
			`ReadExactly(4) "1234" nil`, `Read(3) "567" nil`, "eof", `Read(-1) "8" nil`,
			"buffered=0 ateof=true",
		},
	}})
}

func TestReaderSetError(t *testing.T) {
	runRdCases(t, []rdCase{{
		name:  "wakes a waiting read",
		feeds: []rdFeed{rdData("ab"), rdFail},
		reads: []rdOp{rdLine(), rdLine()},
		want: []string{
			`feed "ab"`, "fail", `ReadLine "" connection reset`, `ReadLine "" connection reset`,
			"buffered=2 ateof=false",
		},
	}, {
		name:  "buffered bytes stay readable, then the error",
		feeds: []rdFeed{rdData("ab\ncd"), rdFail},
		reads: []rdOp{rdExactly(10), rdLine(), rdExactly(10), rdRead(1), rdRead(-1), rdRead(5), rdRead(5)},
		want: []string{
			`feed "ab\ncd"`, "fail", `ReadExactly(10) "" connection reset`, `ReadLine "ab\n" nil`,
			`ReadExactly(10) "" connection reset`, `Read(1) "c" nil`, `Read(-1) "" connection reset`,
			`Read(5) "d" nil`, `Read(5) "" connection reset`, "buffered=0 ateof=false",
		},
	}, {
		name:  "the error takes precedence over EOF",
		feeds: []rdFeed{rdData("x"), rdEOFFail},
		reads: []rdOp{rdExactly(2), rdUntil("x"), rdRead(2), rdRead(2)},
		want: []string{
			`feed "x"`, "eof fail", `ReadExactly(2) "" connection reset`,
			`ReadUntil("x") "x" nil`, `Read(2) "" connection reset`, `Read(2) "" connection reset`,
			"buffered=0 ateof=true",
		},
	}})
}

func TestReaderErrorsMatch(t *testing.T) {
	partial := &stream.IncompleteReadError{Partial: []byte("ab"), Expected: 4}
	assert.ErrorIs(t, partial, io.ErrUnexpectedEOF)
	assert.NotErrorIs(t, partial, io.EOF)
	assert.Equal(t, "stream: incomplete read: 2 of 4 bytes before EOF", partial.Error())

	empty := &stream.IncompleteReadError{Expected: -1}
	assert.ErrorIs(t, empty, io.ErrUnexpectedEOF)
	assert.ErrorIs(t, empty, io.EOF, "nothing read: a clean end")
	assert.Equal(t, "stream: incomplete read: 0 bytes before EOF, separator not found", empty.Error())

	over := &stream.LimitOverrunError{Consumed: 5, Limit: 4}
	assert.Equal(t, "stream: limit overrun: no separator starts in the first 5 bytes (limit 4)", over.Error())

	var gotErr error
	var gotBytes []byte
	rdRun(t, func(co *loop.Coro) error {
		r := stream.NewReader(co.Loop(), 0)
		r.Feed([]byte("abc"))
		r.FeedEOF()
		gotBytes, gotErr = r.ReadExactly(co, 8)
		return nil
	})
	var ie *stream.IncompleteReadError
	require.ErrorAs(t, gotErr, &ie)
	assert.ErrorIs(t, gotErr, io.ErrUnexpectedEOF)
	assert.Equal(t, []byte("abc"), ie.Partial)
	assert.Equal(t, 8, ie.Expected)
	assert.Equal(t, []byte("abc"), gotBytes)
}

// A limit of 0 is DefaultLimit: a line of DefaultLimit bytes and its
// separator is read, one byte more is an overrun.
func TestReaderDefaultLimit(t *testing.T) {
	var results []string
	rdRun(t, func(co *loop.Coro) error {
		r := stream.NewReader(co.Loop(), 0)
		r.Feed([]byte(strings.Repeat("a", stream.DefaultLimit)))
		r.Feed([]byte("\n"))
		p, err := r.ReadLine(co)
		results = append(results, fmt.Sprint(len(p), " ", rdErr(err)))
		r.Feed([]byte(strings.Repeat("a", stream.DefaultLimit+1)))
		p, err = r.ReadLine(co)
		results = append(results, fmt.Sprint(len(p), " ", rdErr(err)))
		return nil
	})
	assert.Equal(t, []string{"65537 nil", "0 overrun(65537)"}, results)
}

// Cancelling a task blocked in a read consumes nothing: another read sees
// every byte, the partial line included.
func TestReaderCancelKeepsBuffer(t *testing.T) {
	for _, op := range []rdOp{rdLine(), rdUntil("\r\n"), rdExactly(10), rdRead(-1)} {
		t.Run(op.name, func(t *testing.T) {
			var got []string
			rec := func(s string) { got = append(got, s) }
			rdRun(t, func(co *loop.Coro) error {
				r := stream.NewReader(co.Loop(), 0)
				reader := rdReader(co, r, []rdOp{op}, rec)
				for _, s := range []string{"ab", "c\r", "d"} {
					if err := rdTick(co); err != nil {
						return err
					}
					r.Feed([]byte(s))
				}
				// The read is woken by the last Feed but has not resumed:
				// the cancellation still wins, and nothing is consumed.
				reader.Cancel()
				_, err := reader.Await(co)
				rec("reader " + rdErr(err))
				rec(fmt.Sprint("buffered=", r.Buffered()))
				r.FeedEOF()
				p, err := r.Read(co, -1)
				rec(rdResult("Read(-1)", p, err))
				return nil
			})
			assert.Equal(t, []string{
				op.name + ` "" cancelled`, "reader cancelled", "buffered=5", `Read(-1) "abc\rd" nil`,
			}, got)
		})
	}
}

func TestReaderCancelWhileParked(t *testing.T) {
	var got []string
	rdRun(t, func(co *loop.Coro) error {
		r := stream.NewReader(co.Loop(), 0)
		r.Feed([]byte("part"))
		reader := rdReader(co, r, []rdOp{rdLine()}, func(s string) { got = append(got, s) })
		if err := rdTick(co); err != nil {
			return err
		}
		reader.Cancel()
		if _, err := reader.Await(co); !errors.Is(err, future.ErrCancelled) {
			return fmt.Errorf("reader: %v", err)
		}
		r.Feed([]byte("ial\n"))
		p, err := r.ReadLine(co)
		got = append(got, rdResult("ReadLine", p, err))
		return nil
	})
	assert.Equal(t, []string{`ReadLine "" cancelled`, `ReadLine "partial\n" nil`}, got)
}

// rdPanic returns what fn panics with, or nil.
func rdPanic(fn func()) (v any) {
	defer func() { v = recover() }()
	fn()
	return nil
}

func TestReaderConcurrentReadPanics(t *testing.T) {
	second := []rdOp{rdRead(1), rdRead(-1), rdExactly(1), rdLine(), rdUntil("x")}
	for _, op := range second {
		t.Run(op.name, func(t *testing.T) {
			var panicked any
			var got []string
			rdRun(t, func(co *loop.Coro) error {
				r := stream.NewReader(co.Loop(), 0)
				first := rdReader(co, r, []rdOp{rdLine()}, func(s string) { got = append(got, s) })
				if err := rdTick(co); err != nil {
					return err
				}
				// Bytes are buffered: the second read panics even though it
				// would not have to wait, since the first one's search depends
				// on the buffer.
				r.Feed([]byte("x"))
				panicked = rdPanic(func() { _, _ = op.do(co, r) })
				r.Feed([]byte("\n"))
				_, err := first.Await(co)
				return err
			})
			name := op.name
			if i := strings.IndexByte(name, '('); i >= 0 {
				name = name[:i]
			}
			assert.Equal(t, "stream: Reader."+name+": another task is already reading", panicked)
			assert.Equal(t, []string{`ReadLine "x\n" nil`}, got, "the first read is unaffected")
		})
	}
}

func TestReaderBadInput(t *testing.T) {
	var got []any
	rdRun(t, func(co *loop.Coro) error {
		r := stream.NewReader(co.Loop(), 0)
		got = append(got,
			rdPanic(func() { _, _ = r.ReadExactly(co, -1) }),
			rdPanic(func() { _, _ = r.ReadUntil(co, nil) }),
			rdPanic(func() { r.SetError(nil) }),
		)
		r.FeedEOF()
		r.FeedEOF()
		got = append(got, rdPanic(func() { r.Feed([]byte("x")) }), rdPanic(func() { r.Feed(nil) }))
		return nil
	})
	assert.Equal(t, []any{
		"stream: Reader.ReadExactly: negative count -1",
		"stream: Reader.ReadUntil: empty separator",
		"stream: Reader.SetError: nil error",
		"stream: Reader.Feed: called after FeedEOF",
		"stream: Reader.Feed: called after FeedEOF",
	}, got)
	assert.Equal(t, "stream: NewReader: nil loop", rdPanic(func() { stream.NewReader(nil, 0) }))
}
