package loop

// taskSet is the set of unfinished tasks of a loop.
type taskSet struct {
	n int
}

func (ts *taskSet) stopAll(l *Loop) {}

func (l *Loop) cancelTasks() {}
