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
	hooks.Loop.CallSoonInternal = func(s any, fn func()) bool {
		return s.(*Loop).callSoonInternal(fn)
	}
	hooks.Loop.Post = func(s any, c hooks.Posted) bool {
		_, ok := s.(*Loop).pushRemote(nil, runPosted, c, true, true)
		return ok
	}
	hooks.Loop.Track = func(s any, r hooks.Resource) { s.(*Loop).track(r) }
	hooks.Loop.Untrack = func(s any, r hooks.Resource) { s.(*Loop).untrack(r) }
	hooks.Loop.OnStepper = func(s any, fn func(arg any), arg any) {
		s.(*Loop).onStepper(fn, arg)
	}
	hooks.Loop.Check = func(s any, op string) {
		if l, ok := s.(*Loop); ok && l.cfg.debug {
			l.checkGoroutine(op)
		}
	}
}

func runPosted(c any) { c.(hooks.Posted).RunPosted(hooks.Token{}) }

// countDebugging counts l in hooks.Debugging while it runs in debug mode
// (delta +1 as it starts, -1 as it stops), so that futures ask debug loops
// for their checks and no others pay for them.
func (l *Loop) countDebugging(delta int32) {
	if l.cfg.debug {
		hooks.Debugging.Add(delta)
	}
}
