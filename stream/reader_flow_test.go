package stream_test

import (
	"errors"
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aio-go/aio/future"
	"github.com/aio-go/aio/loop"
	"github.com/aio-go/aio/stream"
)

// rdSource is a fake Source recording the Reader's calls.
type rdSource struct {
	name  string
	calls *[]string
}

func (s rdSource) PauseReading()  { *s.calls = append(*s.calls, s.name+" pause") }
func (s rdSource) ResumeReading() { *s.calls = append(*s.calls, s.name+" resume") }

func TestReaderFlowControl(t *testing.T) {
	var got []string
	rec := func(s string) { got = append(got, s) }
	rdRun(t, func(co *loop.Coro) error {
		r := stream.NewReader(co.Loop(), 4)
		r.SetSource(rdSource{"src", &got})
		feed := func(s string) {
			r.Feed([]byte(s))
			rec(fmt.Sprintf("fed %d buffered=%d", len(s), r.Buffered()))
		}
		read := func(op rdOp) error {
			p, err := op.do(co, r)
			rec(fmt.Sprintf("%s buffered=%d", rdResult(op.name, p, err), r.Buffered()))
			return err
		}
		feed("12345678") // 2L: not more than 2L
		feed("9")        // 2L+1: pause
		feed("0")        // already paused: no second call
		for _, op := range []rdOp{rdRead(4), rdRead(1), rdRead(1)} {
			if err := read(op); err != nil { // 6, 5 still over L; then 4: resume
				return err
			}
		}
		feed("abcde") // 9 bytes: pause
		// A read of more than 2L resumes the source as it waits, and the
		// feeds during its wait do not pause it.
		reader := rdReader(co, r, []rdOp{rdExactly(20)}, rec)
		for _, s := range []string{"fghij", "klmno", "pqrst"} {
			if err := rdTick(co); err != nil {
				return err
			}
			feed(s)
		}
		if _, err := reader.Await(co); err != nil {
			return err
		}
		rec(fmt.Sprint("buffered=", r.Buffered()))
		// A cancelled read leaves more than 2L buffered: the source is
		// paused as the read returns.
		feed("123")
		reader = rdReader(co, r, []rdOp{rdExactly(20)}, rec)
		if err := rdTick(co); err != nil {
			return err
		}
		feed("456789")
		reader.Cancel()
		if _, err := reader.Await(co); !errors.Is(err, future.ErrCancelled) {
			return fmt.Errorf("reader: %v", err)
		}
		// A new source is paused at once when the Reader holds the old one
		// paused.
		r.SetSource(rdSource{"new", &got})
		if err := read(rdRead(9)); err != nil { // 4 left: resume the new one
			return err
		}
		return nil
	})
	assert.Equal(t, []string{
		"fed 8 buffered=8",
		"src pause", "fed 1 buffered=9",
		"fed 1 buffered=10",
		`Read(4) "1234" nil buffered=6`,
		`Read(1) "5" nil buffered=5`,
		"src resume", `Read(1) "6" nil buffered=4`,
		"src pause", "fed 5 buffered=9",
		"src resume", // ReadExactly(20) waits for more
		"fed 5 buffered=14", "fed 5 buffered=19", "fed 5 buffered=24",
		`ReadExactly(20) "7890abcdefghijklmnop" nil`,
		"buffered=4",
		"fed 3 buffered=7",
		"fed 6 buffered=13",
		"src pause", `ReadExactly(20) "" cancelled`,
		"new pause",
		"new resume", `Read(9) "qrst12345" nil buffered=4`,
	}, got)
}

func TestReaderFlowControlAtEOF(t *testing.T) {
	var got []string
	rdRun(t, func(co *loop.Coro) error {
		r := stream.NewReader(co.Loop(), 2)
		r.SetSource(rdSource{"src", &got})
		reader := rdReader(co, r, []rdOp{rdRead(-1)}, func(s string) { got = append(got, s) })
		for _, s := range []string{"abc", "def", "ghi"} {
			if err := rdTick(co); err != nil {
				return err
			}
			r.Feed([]byte(s))
		}
		if err := rdTick(co); err != nil {
			return err
		}
		r.FeedEOF()
		_, err := reader.Await(co)
		return err
	})
	// Read(-1) waits for EOF: the source is never paused, and not paused
	// after EOF either.
	assert.Equal(t, []string{`Read(-1) "abcdefghi" nil`}, got)
}

// Close while a read waits: the read returns an error matching
// loop.ErrClosed, the buffer is intact, and no goroutine is left.
func TestReaderLoopCloseWhileReading(t *testing.T) {
	for _, op := range []rdOp{rdLine(), rdUntil("!"), rdExactly(5), rdRead(1), rdRead(-1)} {
		t.Run(op.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				l := loop.New()
				r := stream.NewReader(l, 0)
				if op.name != "Read(1)" {
					r.Feed([]byte("ab"))
				}
				var readErr error
				task := loop.Spawn(l, func(co *loop.Coro) (struct{}, error) {
					_, err := op.do(co, r)
					readErr = err
					return struct{}{}, err
				})
				l.CallLater(time.Second, l.Stop)
				require.NoError(t, l.RunForever())
				require.NoError(t, l.Close())
				assert.ErrorIs(t, readErr, loop.ErrClosed)
				assert.ErrorIs(t, task.Err(), loop.ErrClosed)
				if op.name != "Read(1)" {
					assert.Equal(t, 2, r.Buffered())
				}
			})
		})
	}
}

// A task of another loop that has to wait gets Await's error.
func TestReaderOtherLoop(t *testing.T) {
	var err, closeErr error
	rdRun(t, func(co *loop.Coro) error {
		other := loop.New()
		r := stream.NewReader(other, 0)
		_, err = r.ReadLine(co)
		closeErr = other.Close()
		return nil
	})
	assert.ErrorIs(t, err, loop.ErrOtherLoop)
	assert.NoError(t, closeErr)
}

// Returned slices are the caller's: later feeds and reads do not change
// them.
func TestReaderResultsDoNotAlias(t *testing.T) {
	var a, b, c []byte
	rdRun(t, func(co *loop.Coro) error {
		r := stream.NewReader(co.Loop(), 0)
		in := []byte("abcdef")
		r.Feed(in)
		copy(in, "xxxxxx") // Feed copies
		var err error
		if a, err = r.ReadExactly(co, 2); err != nil {
			return err
		}
		if b, err = r.Read(co, 10); err != nil { // the rest: the buffer itself
			return err
		}
		r.Feed([]byte("ghijkl"))
		if c, err = r.ReadExactly(co, 6); err != nil {
			return err
		}
		_ = append(a, "??"...)
		_ = append(b, "??"...)
		return nil
	})
	assert.Equal(t, "ab", string(a))
	assert.Equal(t, "cdef", string(b))
	assert.Equal(t, "ghijkl", string(c))
}

// In debug mode, a Reader method called from another goroutine while the
// loop runs panics with an error matching loop.ErrWrongGoroutine.
func TestReaderDebugChecksGoroutine(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := loop.New(loop.WithDebug(true))
		r := stream.NewReader(l, 0)
		loop.Spawn(l, func(co *loop.Coro) (struct{}, error) {
			return struct{}{}, loop.Sleep(co, time.Second)
		})
		var got any
		done := make(chan struct{})
		go func() {
			defer close(done)
			synctest.Wait() // the loop waits in the task's Sleep
			got = rdPanic(func() { r.Feed([]byte("x")) })
		}()
		l.CallLater(2*time.Second, l.Stop)
		require.NoError(t, l.RunForever())
		<-done
		require.NoError(t, l.Close())
		err, ok := got.(error)
		require.True(t, ok, "panic value %v", got)
		assert.ErrorIs(t, err, loop.ErrWrongGoroutine)
		assert.Contains(t, err.Error(), "stream.Reader.Feed")
		assert.Equal(t, 0, r.Buffered(), "nothing changed")
	})
}

// TestReaderWokenReadStillPauses: a read that Feed has woken waits for no
// more bytes, so the feeds that come before it runs pause the source past
// 2L, as if no read waited.
func TestReaderWokenReadStillPauses(t *testing.T) {
	var calls []string
	var got []byte
	rdRun(t, func(co *loop.Coro) error {
		r := stream.NewReader(co.Loop(), 4)
		r.SetSource(rdSource{"src", &calls})
		co.Loop().CallSoon(func() {
			r.Feed([]byte("1234")) // wakes the Read below
			r.Feed([]byte("5678")) // 2L: not more than 2L
			r.Feed([]byte("9"))    // 2L+1 before the read has run: pause
		})
		b, err := r.Read(co, 100)
		got = b
		return err
	})
	assert.Equal(t, "123456789", string(got))
	assert.Equal(t, []string{"src pause", "src resume"}, calls, "paused past 2L, resumed once the read took the bytes")
}
