package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/aio-go/aio/loop"
	"github.com/aio-go/aio/timer"
)

// Progress shows a run as it goes: on a terminal, one status line redrawn
// in place ("\r") ten times a second, with noteworthy events (retries,
// timeouts, failures, notifications) printed above it; otherwise plain
// lines, a status line every second and one line per event, which read well
// in a log file or a CI run.
//
// Progress runs on the loop: a CallLater timer redraws the line, and the
// events come from the Board's methods, so it reads the jobs without a
// lock. Writes to the terminal are short and buffered by the OS; a program
// writing to a slow pipe would hand them to a goroutine instead.
//
// A nil *Progress shows nothing. Its methods must be called on the loop
// goroutine.
type Progress struct {
	w     io.Writer
	live  bool
	every time.Duration

	l     *loop.Loop
	b     *Board
	began time.Time
	tick  timer.Handle
}

// NewProgress returns a Progress writing to w; live selects the in-place
// terminal line.
func NewProgress(w io.Writer, live bool) *Progress {
	p := &Progress{w: w, live: live, every: time.Second}
	if live {
		p.every = 100 * time.Millisecond
	}
	return p
}

// IsTerminal reports whether f is a terminal (a character device), where
// the live line can be redrawn in place.
func IsTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// attach starts showing b's progress on l.
func (p *Progress) attach(l *loop.Loop, b *Board) {
	if p == nil {
		return
	}
	p.l, p.b, p.began = l, b, l.Now()
	b.onEvent = p.event
	p.draw()
	p.schedule()
}

// detach stops the redraws and leaves the last status line on screen.
func (p *Progress) detach() {
	if p == nil || p.b == nil {
		return
	}
	p.tick.Cancel()
	p.b.onEvent = nil
	p.draw()
	if p.live {
		fmt.Fprintln(p.w)
	}
	p.b = nil
}

func (p *Progress) schedule() {
	p.tick = p.l.CallLater(p.every, func() {
		p.draw()
		p.schedule()
	})
}

// draw writes the status line: in place on a terminal, as a new line
// otherwise.
func (p *Progress) draw() {
	if p.live {
		fmt.Fprintf(p.w, "\r\x1b[K%s", p.line())
	} else {
		fmt.Fprintln(p.w, p.line())
	}
}

// event prints one event; on a terminal, above the status line.
func (p *Progress) event(msg string) {
	line := fmt.Sprintf("%s  %s", p.elapsed(), msg)
	if p.live {
		fmt.Fprintf(p.w, "\r\x1b[K%s\n%s", line, p.line())
	} else {
		fmt.Fprintln(p.w, line)
	}
}

func (p *Progress) elapsed() string {
	return fmt.Sprintf("%6.2fs", p.l.Now().Sub(p.began).Seconds())
}

// line is the status line: a bar of finished jobs, then the counts.
func (p *Progress) line() string {
	b := p.b
	ok, failed, cancelled := b.Count(Succeeded), b.Count(Failed), b.Count(Cancelled)
	finished, total := ok+failed+cancelled, len(b.Jobs)
	const width = 20
	fill := 0
	if total > 0 {
		fill = finished * width / total
	}
	bar := strings.Repeat("#", fill) + strings.Repeat(".", width-fill)
	s := fmt.Sprintf("%s [%s] %d/%d done | running %d, queued %d | ok %d, failed %d",
		p.elapsed(), bar, finished, total, b.Count(Running), b.Count(Queued), ok, failed)
	if cancelled > 0 {
		s += fmt.Sprintf(", cancelled %d", cancelled)
	}
	return s + fmt.Sprintf(" | retries %d, timeouts %d, mails %d", b.Retries, b.Timeouts, b.Notified)
}

// PrintTable writes the final table of b's jobs.
func PrintTable(w io.Writer, b *Board) {
	began := time.Time{}
	if len(b.Jobs) > 0 && len(b.Jobs[0].History) > 0 {
		began = b.Jobs[0].History[0].At
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "JOB\tSTATE\tATTEMPTS\tREMOTE ID\tSTARTED\tDURATION\tMESSAGE")
	for _, j := range b.Jobs {
		started, remote := "-", j.RemoteID
		if s := j.Started(); !s.IsZero() {
			started = fmt.Sprintf("+%.2fs", s.Sub(began).Seconds())
		}
		if remote == "" {
			remote = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%.2fs\t%s\n",
			j.ID, j.State, j.Attempts, remote, started, j.Duration().Seconds(), j.Message)
	}
	tw.Flush()
}

// PrintSummary writes the one-line summary of b.
func PrintSummary(w io.Writer, b *Board) {
	fmt.Fprintf(w, "%s: %d succeeded, %d failed", count(len(b.Jobs), "job"), b.Count(Succeeded), b.Count(Failed))
	if n := b.Count(Cancelled); n > 0 {
		fmt.Fprintf(w, ", %d cancelled", n)
	}
	fmt.Fprintf(w, " | %s, %s, %s sent", count(b.Retries, "retry"), count(b.Timeouts, "timeout"), count(b.Notified, "notification"))
	if b.NotifyErrors > 0 {
		fmt.Fprintf(w, " (%d not sent)", b.NotifyErrors)
	}
	fmt.Fprintln(w)
}

// count is "1 job", "2 jobs", "3 retries".
func count(n int, noun string) string {
	switch {
	case n == 1:
	case strings.HasSuffix(noun, "y"):
		noun = noun[:len(noun)-1] + "ies"
	default:
		noun += "s"
	}
	return fmt.Sprintf("%d %s", n, noun)
}
