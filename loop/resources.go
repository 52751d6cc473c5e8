package loop

import (
	"strings"

	"github.com/aio-go/aio/internal/hooks"
)

// The loop owns the I/O objects made on it (hooks.Resource: servers,
// transports, subprocesses, signal handlers) as it owns its tasks: a
// Shutdown stops them accepting new work and waits until they are done, and
// Close closes them and joins their goroutines.

// track makes l own r until the returned func is called. It panics with
// an error matching ErrClosed if the loop is closing or closed.
//
// Must be called on the loop goroutine.
func (l *Loop) track(r hooks.Resource) (untrack func()) {
	l.checkGoroutine("track")
	if l.IsClosing() {
		panic(&opError{"track", ErrClosed})
	}
	if l.resources == nil {
		l.resources = make(map[hooks.Resource]struct{})
	}
	l.resources[r] = struct{}{}
	if l.phase() >= finishing {
		r.StopAccepting()
	}
	return func() { delete(l.resources, r) }
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
	if len(l.resources) == 0 {
		return ""
	}
	names := make([]string, 0, len(l.resources))
	for r := range l.resources {
		names = append(names, r.String())
	}
	return plural(len(names), "I/O resource") + " (" + strings.Join(names, ", ") + ")"
}
