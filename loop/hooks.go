package loop

import "github.com/aio-go/aio/internal/hooks"

// The loop's side of the plumbing with package future (hooks.Loop): what a
// future asks of its loop beyond future.Scheduler.
func init() {
	hooks.Loop.TrackError = func(s any, err error, what string) hooks.ErrorTracker {
		l, ok := s.(*Loop)
		if !ok {
			return nil
		}
		return l.trackError(err, what)
	}
}
