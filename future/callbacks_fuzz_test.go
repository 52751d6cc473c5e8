package future

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// FuzzDoneCallbacks drives one future's done-callback list (adds of both
// kinds, removes, completion, adds after it) against a model: a slice of
// the callbacks in registration order, each removed or not. Every remove
// must report what the model says, and the callbacks that run must be the
// model's live ones, in order, each in a handle of its own.
func FuzzDoneCallbacks(f *testing.F) {
	f.Add([]byte{0, 1, 2, 0, 130, 128, 3, 0, 1})
	f.Add([]byte{1, 129, 0, 0, 131, 130, 0, 3, 1, 0})
	f.Add([]byte{0, 128, 0, 0, 129, 1, 131, 128, 3})
	f.Fuzz(func(t *testing.T, ops []byte) {
		s := &fakeScheduler{}
		fut := New[int](s)
		type mcb struct {
			removed bool
			remove  func() bool
		}
		var model []*mcb
		var ran, want []int
		done := false
		for _, op := range ops {
			switch {
			case op&128 != 0: // remove the callback at op%len
				if len(model) == 0 {
					continue
				}
				c := model[int(op&127)%len(model)]
				wantOK := !done && !c.removed
				if wantOK {
					c.removed = true
				}
				assert.Equal(t, wantOK, c.remove(), "remove")
			case op%4 == 3: // complete
				if !done {
					fut.SetResult(1)
					done = true
					for i, c := range model {
						if !c.removed {
							want = append(want, i)
						}
					}
				}
			default: // add a callback of either kind
				i := len(model)
				c := &mcb{}
				if op%4 == 1 {
					c.remove = fut.AddDoneFunc(func() { ran = append(ran, i) })
				} else {
					c.remove = fut.AddDoneCallback(func(g *Future[int]) {
						assert.Same(t, fut, g)
						ran = append(ran, i)
					})
				}
				model = append(model, c)
				if done {
					want = append(want, i)
				}
			}
			assert.Empty(t, ran, "ran inline")
		}
		if !done {
			fut.SetResult(1)
			for i, c := range model {
				if !c.removed {
					want = append(want, i)
				}
			}
		}
		handles := len(s.ready)
		s.run()
		assert.Equal(t, want, ran)
		assert.Equal(t, len(want), handles, "one handle per callback")
		assert.Equal(t, 0, fut.len(), "the list is empty once every callback ran")
	})
}
