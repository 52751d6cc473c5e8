package loop

import (
	"sort"

	"github.com/aio-go/aio/internal/hooks"
)

// The loop owns the I/O objects made on it (hooks.Resource: servers,
// transports, subprocesses, signal handlers) as it owns its tasks: a
// Shutdown stops them accepting new work and waits until they are done, and
// Close closes them and joins their goroutines.
//
// A resource whose Daemon method reports true (the signal handlers) never
// holds up a Shutdown: it does not count for quiescence nor appear in the
// reports of what a Shutdown waits for. Close still closes and joins it.
// Daemon must report the same each time.
type daemon interface{ Daemon() bool }

func isDaemon(r hooks.Resource) bool {
	d, ok := r.(daemon)
	return ok && d.Daemon()
}

// track makes l own r until untrack(r) is called. It panics with an error
// matching ErrClosed if the loop is closing or closed.
//
// Must be called on the loop goroutine.
func (l *Loop) track(r hooks.Resource) {
	l.checkGoroutine("track")
	if l.IsClosing() {
		panic(&opError{"track", ErrClosed})
	}
	if l.resources == nil {
		l.resources = make(map[hooks.Resource]struct{})
	}
	if _, ok := l.resources[r]; !ok && isDaemon(r) {
		l.daemons++
	}
	l.resources[r] = struct{}{}
	if l.phase() >= finishing {
		r.StopAccepting()
	}
}

// untrack ends l's ownership of r, if l owns r.
//
// Must be called on the loop goroutine.
func (l *Loop) untrack(r hooks.Resource) {
	if _, ok := l.resources[r]; ok {
		delete(l.resources, r)
		if isDaemon(r) {
			l.daemons--
		}
	}
}

// stopAccepting tells every resource that a Shutdown has begun.
func (l *Loop) stopAccepting() {
	for r := range l.resources {
		r.StopAccepting()
	}
}

// closeResources closes every resource (Close), and joins their goroutines
// if join is set; otherwise they are joined by a later Close.
func (l *Loop) closeResources(join bool) {
	for r := range l.resources {
		r.Close()
		l.unjoined = append(l.unjoined, r)
	}
	clear(l.resources)
	l.daemons = 0
	if join {
		for _, r := range l.unjoined {
			r.Join()
		}
		l.unjoined = nil
	}
}

// describeResources lists the resources a Shutdown waits for, or returns
// "" if there is none.
func (l *Loop) describeResources() string {
	var names []string
	for r := range l.resources {
		if !isDaemon(r) {
			names = append(names, r.String())
		}
	}
	if len(names) == 0 {
		return ""
	}
	sort.Strings(names)
	return counted("I/O resource", len(names), names, ", ")
}
