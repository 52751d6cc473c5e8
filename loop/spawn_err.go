package loop

// Go is Spawn for a body that returns only an error: asyncio's create_task
// of a coroutine that returns None, spelled as errgroup's Go takes its
// func. It schedules body to run as a task on l and returns the task, whose
// result is struct{}: the task fails with body's error, or ends cancelled
// when that error matches future.ErrCancelled; a panic in body completes it
// with a *PanicError.
//
//	t := loop.Go(l, func(co *loop.Coro) error {
//		return loop.Sleep(co, time.Second)
//	})
//	_, err := t.Await(co)
//
// Go panics if body is nil, and, as Spawn does, with an error matching
// ErrClosed if the loop is closed.
//
// Must be called on the loop goroutine.
func Go(l *Loop, body func(co *Coro) error) *Task[struct{}] {
	if body == nil {
		panic("loop: Go: nil body")
	}
	return spawn[struct{}](l, "", body)
}

// GoNamed is Go with a name for the task, as SpawnNamed is Spawn with one;
// an empty name means "Task-N".
//
// Must be called on the loop goroutine.
func GoNamed(l *Loop, name string, body func(co *Coro) error) *Task[struct{}] {
	if body == nil {
		panic("loop: GoNamed: nil body")
	}
	return spawn[struct{}](l, name, body)
}
