package loop

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// WriteTree writes s as a tree, asyncio's "pstree": each task with the
// tasks it waits on nested under it (a task that several tasks wait on
// appears under each, in full the first time), then the await cycles. A
// line shows the task's name, state, what it waits on and the line of its
// body where it waits:
//
//	└── Task-2 waiting on Event at stuck/main.go:41 (main.run.func2)
func (s *Snapshot) WriteTree(w io.Writer) error {
	bw := bufio.NewWriter(w)
	byID := s.byID()
	shown := make([]bool, len(s.Tasks))
	onPath := make([]bool, len(s.Tasks))
	var walk func(i int, prefix string, last, root bool)
	walk = func(i int, prefix string, last, root bool) {
		t := &s.Tasks[i]
		branch, next := "", ""
		if !root {
			branch, next = "├── ", "│   "
			if last {
				branch, next = "└── ", "    "
			}
		}
		bw.WriteString(prefix + branch)
		switch {
		case onPath[i]:
			fmt.Fprintf(bw, "%s (await cycle)\n", t.Name)
			return
		case shown[i]:
			fmt.Fprintf(bw, "%s (see above)\n", t.Name)
			return
		}
		shown[i] = true
		bw.WriteString(t.summary(s))
		bw.WriteByte('\n')
		onPath[i] = true
		for k, id := range t.WaitsOn.Tasks {
			if j, ok := byID[id]; ok {
				walk(j, prefix+next, k == len(t.WaitsOn.Tasks)-1, false)
			}
		}
		onPath[i] = false
	}
	for i := range s.Tasks {
		if len(s.Tasks[i].AwaitedBy) == 0 {
			walk(i, "", true, true)
		}
	}
	// What is left waits on, or is awaited only from, a cycle.
	for i := range s.Tasks {
		if !shown[i] {
			walk(i, "", true, true)
		}
	}
	s.writeCycles(bw, byID)
	return bw.Flush()
}

// WriteTable writes s as a table, asyncio's "ps": one line per task, in the
// order spawned, with its ID, name, state, what it waits on, where, and
// the tasks that wait for it; with WithTaskCounters, its counters. The
// await cycles follow.
func (s *Snapshot) WriteTable(w io.Writer) error {
	counters := false
	for i := range s.Tasks {
		counters = counters || s.Tasks[i].Counters.Steps > 0
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	io.WriteString(tw, "ID\tNAME\tSTATE\tWAITS ON\tWHERE\tCALL\tAWAITED BY")
	if counters {
		io.WriteString(tw, "\tSTEPS\tRUNNING\tSCHEDULED\tWAITING")
	}
	io.WriteString(tw, "\n")
	byID := s.byID()
	names := func(ids []uint64) string {
		var b strings.Builder
		for k, id := range ids {
			if k > 0 {
				b.WriteString(", ")
			}
			b.WriteString(s.Tasks[byID[id]].Name)
		}
		if b.Len() == 0 {
			return "-"
		}
		return b.String()
	}
	for i := range s.Tasks {
		t := &s.Tasks[i]
		fmt.Fprintf(tw, "%#x\t%s\t%s\t%s\t%s\t%s\t%s", t.ID, t.Name, t.State,
			dash(t.waitsOn(s, byID)), dash(t.Where.String()), dash(t.Call), names(t.AwaitedBy))
		if counters {
			c := t.Counters
			fmt.Fprintf(tw, "\t%d\t%v\t%v\t%v", c.Steps, c.Running, c.Scheduled, c.Waiting)
		}
		io.WriteString(tw, "\n")
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	bw := bufio.NewWriter(w)
	s.writeCycles(bw, byID)
	return bw.Flush()
}

// writeCycles writes a line per await cycle.
func (s *Snapshot) writeCycles(w *bufio.Writer, byID map[uint64]int) {
	for _, c := range s.Cycles {
		w.WriteString("await cycle: ")
		for _, id := range c {
			w.WriteString(s.Tasks[byID[id]].Name)
			w.WriteString(" → ")
		}
		w.WriteString(s.Tasks[byID[c[0]]].Name)
		w.WriteByte('\n')
	}
}

// Tree returns WriteTree's text.
func (s *Snapshot) Tree() string {
	var b strings.Builder
	s.WriteTree(&b)
	return b.String()
}

// Table returns WriteTable's text.
func (s *Snapshot) Table() string {
	var b strings.Builder
	s.WriteTable(&b)
	return b.String()
}

func (s *Snapshot) byID() map[uint64]int {
	m := make(map[uint64]int, len(s.Tasks))
	for i := range s.Tasks {
		m[s.Tasks[i].ID] = i
	}
	return m
}

// summary is a task's line in the tree, after its name.
func (t *TaskInfo) summary(s *Snapshot) string {
	var b strings.Builder
	b.WriteString(t.Name)
	b.WriteByte(' ')
	b.WriteString(string(t.State))
	if on := t.waitsOn(s, nil); on != "" {
		b.WriteString(" on ")
		b.WriteString(on)
	}
	if t.Where.File != "" {
		b.WriteString(" at ")
		b.WriteString(t.Where.String())
		b.WriteString(" (")
		b.WriteString(shortFunc(t.Where.Function))
		b.WriteByte(')')
	}
	return b.String()
}

// waitsOn describes what t waits on; with s, tasks are named.
func (t *TaskInfo) waitsOn(s *Snapshot, byID map[uint64]int) string {
	w := &t.WaitsOn
	switch w.Kind {
	case WaitNone:
		return ""
	case WaitSleep:
		return fmt.Sprintf("sleep until +%v", w.Until.Sub(s.timeOr(w.Until)).Round(time.Millisecond))
	case WaitTask:
		return "task " + w.Name
	case WaitFuture:
		if w.Name != "" {
			return "future " + w.Name
		}
		return fmt.Sprintf("future %#x", w.Object)
	case WaitGroup, WaitGather:
		if s != nil {
			return fmt.Sprintf("%s of %d", w.Kind, len(w.Tasks))
		}
		return string(w.Kind)
	}
	return fmt.Sprintf("%s %#x", w.Kind, w.Object)
}

// timeOr is s's time, or else t.
func (s *Snapshot) timeOr(t time.Time) time.Time {
	if s == nil {
		return t
	}
	return s.Time
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// shortFunc is a function name without its package path: "main.worker".
func shortFunc(name string) string {
	if i := strings.LastIndexByte(name, '/'); i >= 0 {
		return name[i+1:]
	}
	return name
}
