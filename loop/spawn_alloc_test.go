package loop_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/aio-go/aio/loop"
)

func idleBody(*loop.Coro) error { return nil }

// TestSpawnAllocations: a task takes two allocations on a loop that is not
// running (whose tasks take their coroutine at the first step): the task
// with its future inside, and the future's owner fields. The queue and the
// task set grow in amortized steps.
func TestSpawnAllocations(t *testing.T) {
	l := loop.New()
	var last *loop.Task[struct{}]
	allocs := testing.AllocsPerRun(1000, func() { last = loop.Go(l, idleBody) })
	assert.LessOrEqual(t, allocs, 2.0, "allocations per Spawn")
	_, err := loop.RunUntilComplete(l, last.Future)
	assert.NoError(t, err)
	assert.NoError(t, l.Close())
}
