package loop

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aio-go/aio/future"
	"github.com/aio-go/aio/internal/hooks"
)

// TestNoLendingWithResources checks rule 6 of lend.go: a waiting task
// lends the loop only while the loop owns no I/O object but daemons. A
// callback run while it waits is on the task's goroutine without one, and
// on the loop goroutine with one.
func TestNoLendingWithResources(t *testing.T) {
	for _, tc := range []struct {
		name     string
		resource hooks.Resource
		lends    bool
	}{
		{"none", nil, true},
		{"daemon", &daemonResource{}, true},
		{"transport", &fakeResource{}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := New()
			defer l.Close()
			var body, callback uint64
			f := future.New[int](l)
			task := Spawn(l, func(co *Coro) (int, error) {
				body = goid()
				if tc.resource != nil {
					defer l.track(tc.resource)()
				}
				l.CallSoon(func() {
					callback = goid()
					f.SetResult(1)
				})
				return Await(co, f)
			})
			_, err := RunUntilComplete(l, task.Future)
			require.NoError(t, err)
			assert.Equal(t, tc.lends, body == callback, "callback on the task's goroutine")
		})
	}
}
