package weakref

import (
	"iter"
	"runtime"
	"sync"
	"weak"
)

// KeyMap is Python's weakref.WeakKeyDictionary: a map keyed by *K that does
// not keep its keys alive. When a key is collected, its entry disappears by
// itself: a cleanup registered with runtime.AddCleanup removes it soon
// after the collection, and Len and All drop it if they see it first. It
// attaches data to objects the program does not own, for as long as they
// live. Keys are compared as pointers.
//
// The value is held strongly, so it must not reference its key, or the key
// is never collected (Go has no ephemerons; neither has Python's
// WeakKeyDictionary). K should be a heap object with pointers in it or
// larger than 16 bytes (see DoneCallback).
//
// The zero value is an empty map ready to use. A KeyMap must not be copied
// after first use.
//
// The collection cleanups run on a runtime goroutine, so the map guards
// its entries with a mutex.
//
// Safe for concurrent use by multiple goroutines.
type KeyMap[K any, V any] struct {
	mu      sync.Mutex
	self    weak.Pointer[KeyMap[K, V]]
	entries map[weak.Pointer[K]]keyEntry[V]
}

type keyEntry[V any] struct {
	value   V
	cleanup runtime.Cleanup
}

// keyRef is what a key's cleanup knows: the map and the key, weakly.
type keyRef[K, V any] struct {
	m   weak.Pointer[KeyMap[K, V]]
	key weak.Pointer[K]
}

// Put is WeakKeyDictionary's d[k] = v: it maps k to v, replacing what k
// mapped to. Put panics if k is nil.
//
// Safe for concurrent use by multiple goroutines.
func (m *KeyMap[K, V]) Put(k *K, v V) {
	if k == nil {
		panic("weakref: KeyMap.Put with a nil key")
	}
	wk := weak.Make(k)
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.entries == nil {
		m.entries = make(map[weak.Pointer[K]]keyEntry[V])
		m.self = weak.Make(m)
	}
	if old, ok := m.entries[wk]; ok {
		m.entries[wk] = keyEntry[V]{v, old.cleanup}
		return
	}
	c := runtime.AddCleanup(k, dropKey[K, V], keyRef[K, V]{m.self, wk})
	m.entries[wk] = keyEntry[V]{v, c}
}

// Get is WeakKeyDictionary.get: the value k maps to and true, or the zero V
// and false.
//
// Safe for concurrent use by multiple goroutines.
func (m *KeyMap[K, V]) Get(k *K) (V, bool) {
	if k == nil {
		var zero V
		return zero, false
	}
	wk := weak.Make(k)
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.entries[wk]
	return e.value, ok
}

// Delete is WeakKeyDictionary's del d[k], without the KeyError: it removes
// k's entry and reports whether there was one.
//
// Safe for concurrent use by multiple goroutines.
func (m *KeyMap[K, V]) Delete(k *K) bool {
	if k == nil {
		return false
	}
	wk := weak.Make(k)
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.entries[wk]
	if ok {
		e.cleanup.Stop()
		delete(m.entries, wk)
	}
	return ok
}

// Len is len(d): the number of entries whose key is alive. Entries found
// collected are dropped.
//
// Safe for concurrent use by multiple goroutines.
func (m *KeyMap[K, V]) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	for wk := range m.entries {
		if wk.Value() == nil {
			delete(m.entries, wk)
		}
	}
	return len(m.entries)
}

// All is WeakKeyDictionary.items: it yields the entries whose keys are alive
// when the iteration starts, in no particular order, with strong pointers
// to the keys. Entries found collected are dropped. The map may be changed
// during the iteration; changes made meanwhile may not be seen.
//
// Safe for concurrent use by multiple goroutines.
func (m *KeyMap[K, V]) All() iter.Seq2[*K, V] {
	return func(yield func(*K, V) bool) {
		type pair struct {
			k *K
			v V
		}
		m.mu.Lock()
		live := make([]pair, 0, len(m.entries))
		for wk, e := range m.entries {
			if k := wk.Value(); k != nil {
				live = append(live, pair{k, e.value})
			} else {
				delete(m.entries, wk)
			}
		}
		m.mu.Unlock()
		for _, p := range live {
			if !yield(p.k, p.v) {
				return
			}
		}
	}
}

// dropKey is the cleanup of a key: it runs on a runtime goroutine once the
// key has been collected.
func dropKey[K, V any](r keyRef[K, V]) {
	m := r.m.Value()
	if m == nil {
		return
	}
	m.mu.Lock()
	_, removed := m.entries[r.key]
	delete(m.entries, r.key)
	m.mu.Unlock()
	if removed {
		dropped()
	}
}
