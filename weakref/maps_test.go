package weakref

import (
	"maps"
	"runtime"
	"testing"
	"weak"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func valueEntries[K comparable, V any](m *ValueMap[K, V]) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.entries)
}

func keyEntries[K, V any](m *KeyMap[K, V]) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.entries)
}

func TestValueMapLiveValues(t *testing.T) {
	var m ValueMap[string, node]
	a, b := newNode("a"), newNode("b")
	m.Put("x", a)
	m.Put("y", b)
	require.True(t, survives(weak.Make(a)))

	got, ok := m.Get("x")
	assert.True(t, ok)
	assert.Same(t, a, got)
	_, ok = m.Get("z")
	assert.False(t, ok)
	assert.Equal(t, 2, m.Len())
	assert.Equal(t, map[string]*node{"x": a, "y": b}, maps.Collect(m.All()))

	m.Put("x", b) // replace
	got, _ = m.Get("x")
	assert.Same(t, b, got)
	m.Put("x", b) // same value again: nothing changes
	assert.Equal(t, 2, m.Len())

	assert.True(t, m.Delete("x"))
	assert.False(t, m.Delete("x"))
	assert.Equal(t, 1, m.Len())
	assert.PanicsWithValue(t, "weakref: ValueMap.Put with a nil value", func() { m.Put("n", nil) })
	runtime.KeepAlive(a)
	runtime.KeepAlive(b)
}

func TestValueMapForgetsCollectedValue(t *testing.T) {
	var m ValueMap[string, node]
	a := newNode("a")
	m.Put("a", a)
	probe := func() weak.Pointer[node] {
		b := newNode("b")
		m.Put("b", b)
		return weak.Make(b)
	}()

	require.True(t, collected(probe), "the map kept its value alive")
	_, ok := m.Get("b")
	assert.False(t, ok)
	assert.Equal(t, 1, m.Len())
	assert.Equal(t, []string{"a"}, keys(m.All()))
	runtime.KeepAlive(a)
}

func TestValueMapCleanupDropsEntry(t *testing.T) {
	drops := watchDrops(t)
	var m ValueMap[string, node]
	probe := func() weak.Pointer[node] {
		b := newNode("b")
		m.Put("b", b)
		return weak.Make(b)
	}()
	require.Equal(t, 1, valueEntries(&m))
	require.True(t, collected(probe))
	waitFor(drops, func() bool { return valueEntries(&m) == 0 })
}

// A collected value's cleanup must not remove the value put under the same
// key after it.
func TestValueMapStaleCleanupKeepsNewValue(t *testing.T) {
	var m ValueMap[string, node]
	old, cur := newNode("old"), newNode("new")
	m.Put("k", cur)
	dropValue(valueRef[string, node]{m.self, "k", weak.Make(old)})
	got, ok := m.Get("k")
	assert.True(t, ok)
	assert.Same(t, cur, got)
	runtime.KeepAlive(old)
}

func keys[K any, V any](seq func(func(K, V) bool)) []K {
	var out []K
	for k := range seq {
		out = append(out, k)
	}
	return out
}

func TestKeyMapLiveKeys(t *testing.T) {
	var m KeyMap[node, string]
	a, b := newNode("a"), newNode("b")
	m.Put(a, "meta-a")
	m.Put(b, "meta-b")
	require.True(t, survives(weak.Make(a)))

	v, ok := m.Get(a)
	assert.True(t, ok)
	assert.Equal(t, "meta-a", v)
	_, ok = m.Get(newNode("a")) // an equal but different object
	assert.False(t, ok)
	_, ok = m.Get(nil)
	assert.False(t, ok)
	assert.Equal(t, map[*node]string{a: "meta-a", b: "meta-b"}, maps.Collect(m.All()))

	m.Put(a, "meta-a2")
	v, _ = m.Get(a)
	assert.Equal(t, "meta-a2", v)
	assert.Equal(t, 2, m.Len())

	assert.True(t, m.Delete(a))
	assert.False(t, m.Delete(a))
	assert.False(t, m.Delete(nil))
	assert.Equal(t, 1, m.Len())
	assert.PanicsWithValue(t, "weakref: KeyMap.Put with a nil key", func() { m.Put(nil, "") })
	runtime.KeepAlive(a)
	runtime.KeepAlive(b)
}

func TestKeyMapForgetsCollectedKey(t *testing.T) {
	var m KeyMap[node, string]
	a := newNode("a")
	m.Put(a, "meta-a")
	probe := func() weak.Pointer[node] {
		b := newNode("b")
		m.Put(b, "meta-b")
		return weak.Make(b)
	}()

	require.True(t, collected(probe), "the map kept its key alive")
	assert.Equal(t, 1, m.Len())
	assert.Equal(t, map[*node]string{a: "meta-a"}, maps.Collect(m.All()))
	runtime.KeepAlive(a)
}

func TestKeyMapCleanupDropsEntry(t *testing.T) {
	drops := watchDrops(t)
	var m KeyMap[node, string]
	probe := func() weak.Pointer[node] {
		b := newNode("b")
		m.Put(b, "meta-b")
		return weak.Make(b)
	}()
	require.Equal(t, 1, keyEntries(&m))
	require.True(t, collected(probe))
	waitFor(drops, func() bool { return keyEntries(&m) == 0 })
}

// A value that references its key keeps the key alive: Go has no
// ephemerons, so KeyMap's doc forbids it.
func TestKeyMapValueReferencingKeyKeepsIt(t *testing.T) {
	var m KeyMap[node, *node]
	probe := func() weak.Pointer[node] {
		k := newNode("k")
		m.Put(k, k)
		return weak.Make(k)
	}()
	assert.True(t, survives(probe))
	assert.Equal(t, 1, m.Len())
}

// The containers' cleanups hold the container weakly: a container whose
// entries outlive it is collected, and the entries' cleanups, when they
// run later, do nothing.
func TestContainerNotKeptAliveByItsEntries(t *testing.T) {
	live := newNode("live")

	t.Run("Set", func(t *testing.T) {
		probe := func() weak.Pointer[Set[node]] {
			s := new(Set[node])
			s.Add(live)
			return weak.Make(s)
		}()
		assert.True(t, collected(probe))
	})
	t.Run("ValueMap", func(t *testing.T) {
		probe := func() weak.Pointer[ValueMap[int, node]] {
			m := new(ValueMap[int, node])
			m.Put(1, live)
			return weak.Make(m)
		}()
		assert.True(t, collected(probe))
	})
	t.Run("KeyMap", func(t *testing.T) {
		probe := func() weak.Pointer[KeyMap[node, int]] {
			m := new(KeyMap[node, int])
			m.Put(live, 1)
			return weak.Make(m)
		}()
		assert.True(t, collected(probe))
	})
	runtime.KeepAlive(live)
}

// A container's cleanup that runs after the container was collected does
// nothing.
func TestCleanupAfterContainerCollected(t *testing.T) {
	n := newNode("n")
	sp, vp, kp := func() (weak.Pointer[Set[node]], weak.Pointer[ValueMap[int, node]], weak.Pointer[KeyMap[node, int]]) {
		s, vm, km := new(Set[node]), new(ValueMap[int, node]), new(KeyMap[node, int])
		s.Add(n)
		vm.Put(1, n)
		km.Put(n, 1)
		return s.self, vm.self, km.self
	}()
	require.True(t, collected(sp))
	require.True(t, collected(vp))
	require.True(t, collected(kp))
	assert.NotPanics(t, func() {
		dropSetMember(setRef[node]{sp, weak.Make(n)})
		dropValue(valueRef[int, node]{vp, 1, weak.Make(n)})
		dropKey(keyRef[node, int]{kp, weak.Make(n)})
	})
	runtime.KeepAlive(n)
}
