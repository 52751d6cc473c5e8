package weakref

import (
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"weak"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// setEntries is the number of entries in s, collected or not, without
// dropping any.
func setEntries[T any](s *Set[T]) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.members)
}

func names(seq func(func(*node) bool)) []string {
	var out []string
	for n := range seq {
		out = append(out, n.name)
	}
	return out
}

func TestSetOrder(t *testing.T) {
	tests := []struct {
		name string
		ops  string // "+a" adds a, "-a" removes a
		want []string
	}{
		{"insertion order", "+a +b +c", []string{"a", "b", "c"}},
		{"duplicate add keeps first place", "+a +b +a", []string{"a", "b"}},
		{"remove", "+a +b +c -b", []string{"a", "c"}},
		{"re-add goes last", "+a +b +c -a +a", []string{"b", "c", "a"}},
		{"remove absent", "+a -b", []string{"a"}},
		{"compaction keeps order", "+a +b +c +d +e +f -a -c -d -e +g", []string{"b", "f", "g"}},
		{"remove all", "+a +b -a -b", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			nodes := map[string]*node{}
			get := func(name string) *node {
				if nodes[name] == nil {
					nodes[name] = newNode(name)
				}
				return nodes[name]
			}
			var s Set[node]
			for op := range strings.FieldsSeq(tt.ops) {
				if op[0] == '+' {
					s.Add(get(op[1:]))
				} else {
					s.Remove(get(op[1:]))
				}
			}
			assert.Equal(t, tt.want, names(s.All()))
			assert.Equal(t, len(tt.want), s.Len())
			for name, n := range nodes {
				assert.Equal(t, slices.Contains(tt.want, name), s.Contains(n), name)
			}
		})
	}
}

func TestSetAddRemoveResults(t *testing.T) {
	var s Set[node]
	a := newNode("a")
	assert.True(t, s.Add(a))
	assert.False(t, s.Add(a))
	assert.True(t, s.Remove(a))
	assert.False(t, s.Remove(a))
	assert.False(t, s.Remove(nil))
	assert.False(t, s.Contains(nil))
	assert.PanicsWithValue(t, "weakref: Set.Add(nil)", func() { s.Add(nil) })
}

func TestSetKeepsLiveMember(t *testing.T) {
	var s Set[node]
	a := newNode("a")
	s.Add(a)
	require.True(t, survives(weak.Make(a)))
	assert.Equal(t, []string{"a"}, names(s.All()))
	runtime.KeepAlive(a)
}

func TestSetSkipsAndDropsCollectedMember(t *testing.T) {
	var s Set[node]
	a := newNode("a")
	s.Add(a)
	probe := func() weak.Pointer[node] {
		b := newNode("b")
		s.Add(b)
		return weak.Make(b)
	}()

	require.True(t, collected(probe), "the set kept its member alive")
	assert.Equal(t, []string{"a"}, names(s.All()))
	assert.Equal(t, 1, s.Len())
	assert.Equal(t, 1, setEntries(&s), "All and Len drop collected members")
	runtime.KeepAlive(a)
}

func TestSetCleanupDropsCollectedMember(t *testing.T) {
	drops := watchDrops(t)
	var s Set[node]
	a := newNode("a")
	s.Add(a)
	probe := func() weak.Pointer[node] {
		b := newNode("b")
		s.Add(b)
		return weak.Make(b)
	}()
	require.Equal(t, 2, setEntries(&s))

	require.True(t, collected(probe))
	// Neither All nor Len is called: only the cleanup can drop the entry.
	waitFor(drops, func() bool { return setEntries(&s) == 1 })
	assert.True(t, s.Contains(a))
	runtime.KeepAlive(a)
}

func TestSetAllowsChangesDuringIteration(t *testing.T) {
	var s Set[node]
	a, b, c := newNode("a"), newNode("b"), newNode("c")
	s.Add(a)
	s.Add(b)
	var seen []string
	for n := range s.All() {
		seen = append(seen, n.name)
		s.Add(c)    // added meanwhile: not yielded
		s.Remove(b) // removed meanwhile: may still be yielded
	}
	assert.Equal(t, []string{"a", "b"}, seen)
	assert.Equal(t, []string{"a", "c"}, names(s.All()))

	for range s.All() {
		break
	}
	runtime.KeepAlive(a)
	runtime.KeepAlive(b)
	runtime.KeepAlive(c)
}

func TestSetConcurrentUseWithCleanups(t *testing.T) {
	var s Set[node]
	keep := []*node{newNode("k1"), newNode("k2")}
	for _, n := range keep {
		s.Add(n)
	}
	rounds := 200
	if testing.Short() {
		rounds = 20
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range rounds {
				n := newNode("tmp")
				s.Add(n)
				if (i+g)%2 == 0 {
					s.Remove(n)
				}
				for range s.All() {
				}
				s.Len()
				if i%50 == 0 {
					runtime.GC()
				}
			}
		})
	}
	wg.Wait()
	for _, n := range keep {
		assert.True(t, s.Contains(n))
	}
	assert.GreaterOrEqual(t, s.Len(), len(keep))
}
