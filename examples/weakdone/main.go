// Command weakdone shows weak done-callbacks (scenario 20): Python's
// add_done_callback(WeakMethod(dialog.on_downloaded)), here
// weakref.DoneCallback. A download's done-callback belongs to a dialog;
// if the user closed the dialog (the program dropped it) before the
// download ends, the callback is skipped with a warning instead of keeping
// the dialog alive for the whole download.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"weak"

	"github.com/aio-go/aio/future"
	"github.com/aio-go/aio/loop"
	"github.com/aio-go/aio/weakref"
)

// Dialog shows the outcome of a download.
type Dialog struct {
	Title string
	w     io.Writer
}

// OnDownloaded is the done-callback.
func (d *Dialog) OnDownloaded(f *future.Future[int]) {
	n, err := f.Result()
	fmt.Fprintf(d.w, "dialog %q: downloaded %d bytes (err: %v)\n", d.Title, n, err)
}

// download stands for a transfer: a future that completes with the size a
// loop iteration later.
func download(l *loop.Loop, name string, size int) *future.Future[int] {
	f := future.New[int](l)
	f.SetName("download " + name)
	l.CallSoon(func() { f.SetResult(size) })
	return f
}

func main() {
	if err := run(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run(w io.Writer) error {
	logger := slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{ReplaceAttr: noTime}))
	_, err := loop.Run(context.Background(), func(co *loop.Coro) (struct{}, error) {
		l := co.Loop()
		report := &Dialog{Title: "report.pdf", w: w}
		video := &Dialog{Title: "video.mp4", w: w}
		a := download(l, "report.pdf", 120_000)
		b := download(l, "video.mp4", 48_000_000)

		// Where Go's idiom beats Python's: Python needs the WeakMethod class
		// because a bound method is a new object holding its receiver.
		// A Go method expression, (*Dialog).OnDownloaded, is a plain func
		// that takes the receiver as an argument, so the receiver can be
		// held weakly on its own. (A method value, video.OnDownloaded,
		// would hold the dialog strongly: don't pass one.)
		weakref.DoneCallback(a, report, (*Dialog).OnDownloaded, weakref.WithLogger(logger))
		weakref.DoneCallback(b, video, (*Dialog).OnDownloaded, weakref.WithLogger(logger))

		probe := weak.Make(video)
		video = nil // the user closes the video dialog mid-download
		if !collect(probe) {
			return struct{}{}, errors.New("weakdone: dialog still alive after 100 collections")
		}
		fmt.Fprintln(w, "video dialog closed and collected; downloads still running")

		_, err := loop.Await(co, loop.Gather(l, a, b))
		runtime.KeepAlive(report)
		return struct{}{}, err
	})
	return err
}

// noTime drops the time from log lines, so that the output is the same on
// every run.
func noTime(groups []string, a slog.Attr) slog.Attr {
	if a.Key == slog.TimeKey && len(groups) == 0 {
		return slog.Attr{}
	}
	return a
}

// collect runs garbage collections until ref's object is gone, at most 100,
// and reports whether it is.
func collect[T any](ref weak.Pointer[T]) bool {
	for i := 0; i < 100 && ref.Value() != nil; i++ {
		runtime.GC()
	}
	return ref.Value() == nil
}
