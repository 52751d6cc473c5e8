package loop

import (
	"context"
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Regression: Close counted the loop's own notifications (reports of
// collected futures, executor results) as discarded callbacks of the
// program's, reporting thousands when the program scheduled nothing.
func TestCloseDoesNotCountInternalCallbacks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		reports := 0
		l := New(WithExceptionHandler(func(ExceptionContext) { reports++ }))
		for range 2000 {
			require.True(t, l.callSoonQuietly(func() {}))
		}
		require.NoError(t, l.Close())
		assert.Zero(t, l.Stats().Discarded)
		assert.Zero(t, reports)
	})
}

// fakeResource records what the loop's lifecycle does to it.
type fakeResource struct {
	calls []string
}

func (r *fakeResource) StopAccepting() { r.calls = append(r.calls, "stop accepting") }
func (r *fakeResource) Close()         { r.calls = append(r.calls, "close") }
func (r *fakeResource) Join()          { r.calls = append(r.calls, "join") }
func (r *fakeResource) String() string { return "fake" }

// A resource the loop owns is stopped and waited for by Shutdown, and
// closed and joined by Close.
func TestResourcesFollowTheLifecycle(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := New()
		r := &fakeResource{}
		l.track(r)
		l.CallLater(time.Second, func() { l.untrack(r) }) // the last connection ends
		require.NoError(t, l.Shutdown(context.Background()))
		assert.Equal(t, []string{"stop accepting"}, r.calls, "Shutdown waits for the resource to finish")
		assert.Equal(t, time.Second, l.Now().Sub(l.epoch).Round(time.Second))

		l = New()
		r = &fakeResource{}
		l.track(r)
		require.NoError(t, l.Close())
		assert.Equal(t, []string{"close", "join"}, r.calls)
		assert.Panics(t, func() { l.track(&fakeResource{}) }, "a closed loop owns nothing new")
	})
}

// daemonResource is a fakeResource that a Shutdown does not wait for.
type daemonResource struct{ fakeResource }

func (*daemonResource) Daemon() bool { return true }

// A daemon resource (the signal handlers) does not keep Shutdown from
// finishing, nor appears in what it waits for; Close still closes and
// joins it.
func TestDaemonResourceDoesNotBlockShutdown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := New()
		d := &daemonResource{}
		l.track(d)
		r := &fakeResource{}
		l.track(r)
		assert.Equal(t, "1 I/O resource (fake)", l.describeResources())
		l.untrack(r)
		assert.Equal(t, 1, l.daemons)
		assert.Empty(t, l.describeResources())
		require.NoError(t, l.Shutdown(context.Background()))
		assert.Equal(t, []string{"stop accepting", "close", "join"}, d.calls)
		assert.Zero(t, l.daemons)

		l = New()
		d = &daemonResource{}
		l.track(d)
		l.untrack(d)
		l.untrack(d) // untracking twice counts once
		assert.Zero(t, l.daemons)
		require.NoError(t, l.Close())
		assert.Empty(t, d.calls)
	})
}

// namedResource is a fakeResource with a name of its own.
type namedResource struct {
	fakeResource
	name string
}

func (r *namedResource) String() string { return r.name }

// A Shutdown waiting for thousands of connections names ten of them, in
// order, and counts the rest: its report stays one readable line.
func TestWaitingReportNamesTenAndCountsTheRest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := New()
		for i := range 12 {
			r := &namedResource{name: fmt.Sprintf("conn%02d", 11-i)}
			l.track(r)
		}
		assert.Equal(t, "12 I/O resources (conn00, conn01, conn02, conn03, conn04, conn05, conn06, conn07, conn08, conn09, and 2 more)",
			l.describeResources())
		assert.Equal(t, "3 tasks (a; b; c)", counted("task", 3, []string{"a", "b", "c"}, "; "))
		assert.Equal(t, "11 executor jobs (j, and 10 more)", counted("executor job", 11, []string{"j"}, ", "))
		require.NoError(t, l.Close())
	})
}
