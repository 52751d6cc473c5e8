package weakref

import (
	"bytes"
	"log/slog"
	"runtime"
	"strings"
	"testing"
	"weak"

	"github.com/aio-go/aio/loop"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// node is a weakly held test object. It has pointers in it and is larger
// than 16 bytes, so the tiny allocator never packs it with other objects.
type node struct {
	name string
	got  []string
}

func newNode(name string) *node { return &node{name: name} }

// collected runs garbage collections until wp's object is gone, at most 100,
// and reports whether it is.
func collected[T any](wp weak.Pointer[T]) bool {
	for i := 0; i < 100 && wp.Value() != nil; i++ {
		runtime.GC()
	}
	return wp.Value() == nil
}

// survives runs a few garbage collections and reports whether wp's object
// is still alive. One full collection frees an unreachable object that is
// not packed with others, so a few prove that something holds it.
func survives[T any](wp weak.Pointer[T]) bool {
	for range 3 {
		runtime.GC()
	}
	return wp.Value() != nil
}

// watchDrops returns a channel that receives after each cleanup that removed
// an entry from a container (cap 1: a missed send means one is queued).
func watchDrops(t *testing.T) <-chan struct{} {
	ch := make(chan struct{}, 1)
	h := func() {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
	droppedHook.Store(&h)
	t.Cleanup(func() { droppedHook.Store(nil) })
	return ch
}

// waitFor blocks until cond holds, checking it after each drop. cond must
// become true through a cleanup that drops an entry.
func waitFor(drops <-chan struct{}, cond func() bool) {
	for !cond() {
		<-drops
	}
}

// newLoop returns a loop closed at the end of the test.
func newLoop(t *testing.T, opts ...loop.Option) *loop.Loop {
	l := loop.New(opts...)
	t.Cleanup(func() { require.NoError(t, l.Close()) })
	return l
}

// runOnce runs one iteration of l on the test goroutine: the callbacks
// ready now.
func runOnce(t *testing.T, l *loop.Loop) {
	l.Stop()
	require.NoError(t, l.RunForever())
}

// logBuffer returns a logger writing text lines without times, and the
// buffer it writes to.
func logBuffer() (*slog.Logger, *bytes.Buffer) {
	var buf bytes.Buffer
	h := slog.NewTextHandler(&buf, &slog.HandlerOptions{
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey && len(groups) == 0 {
				return slog.Attr{}
			}
			return a
		},
	})
	return slog.New(h), &buf
}

func lines(buf *bytes.Buffer) []string {
	s := strings.TrimSpace(buf.String())
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}
