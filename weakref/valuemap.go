package weakref

import (
	"iter"
	"runtime"
	"sync"
	"weak"
)

// ValueMap is Python's weakref.WeakValueDictionary: a map from K to *V that
// does not keep its values alive. When a value is collected, its entry
// disappears by itself: Get and Len treat it as missing and drop it, and a
// cleanup registered with runtime.AddCleanup removes it soon after the
// collection. It is a cache that hands out the object while someone uses
// it and forgets it once nobody does.
//
// The key is held strongly, by the map and by the value's cleanup, so it
// must not reference the value, or the value is never collected. V should
// be a heap object with pointers in it or larger than 16 bytes (see
// DoneCallback).
//
// The zero value is an empty map ready to use. A ValueMap must not be copied
// after first use.
//
// The collection cleanups run on a runtime goroutine, so the map guards
// its entries with a mutex.
//
// Safe for concurrent use by multiple goroutines.
type ValueMap[K comparable, V any] struct {
	mu      sync.Mutex
	self    weak.Pointer[ValueMap[K, V]]
	entries map[K]valueEntry[V]
}

type valueEntry[V any] struct {
	value   weak.Pointer[V]
	cleanup runtime.Cleanup
}

// valueRef is what a value's cleanup knows: the map and the value weakly,
// and the key.
type valueRef[K comparable, V any] struct {
	m     weak.Pointer[ValueMap[K, V]]
	key   K
	value weak.Pointer[V]
}

// Put is WeakValueDictionary's d[k] = v: it maps k to v, replacing what k
// mapped to. Put panics if v is nil.
//
// Safe for concurrent use by multiple goroutines.
func (m *ValueMap[K, V]) Put(k K, v *V) {
	if v == nil {
		panic("weakref: ValueMap.Put with a nil value")
	}
	wp := weak.Make(v)
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.entries == nil {
		m.entries = make(map[K]valueEntry[V])
		m.self = weak.Make(m)
	}
	if old, ok := m.entries[k]; ok {
		if old.value == wp {
			return
		}
		old.cleanup.Stop()
	}
	c := runtime.AddCleanup(v, dropValue[K, V], valueRef[K, V]{m.self, k, wp})
	m.entries[k] = valueEntry[V]{wp, c}
}

// Get is WeakValueDictionary.get: the value k maps to and true, or nil and
// false if there is none or it was collected (the entry is then dropped).
//
// Safe for concurrent use by multiple goroutines.
func (m *ValueMap[K, V]) Get(k K) (*V, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.entries[k]
	if !ok {
		return nil, false
	}
	v := e.value.Value()
	if v == nil {
		delete(m.entries, k)
		return nil, false
	}
	return v, true
}

// Delete is WeakValueDictionary's del d[k], without the KeyError: it
// removes k's entry and reports whether it had a live value.
//
// Safe for concurrent use by multiple goroutines.
func (m *ValueMap[K, V]) Delete(k K) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.entries[k]
	if !ok {
		return false
	}
	e.cleanup.Stop()
	delete(m.entries, k)
	return e.value.Value() != nil
}

// Len is len(d): the number of entries whose value is alive. Entries found
// collected are dropped.
//
// Safe for concurrent use by multiple goroutines.
func (m *ValueMap[K, V]) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	for k, e := range m.entries {
		if e.value.Value() == nil {
			delete(m.entries, k)
		}
	}
	return len(m.entries)
}

// All is WeakValueDictionary.items: it yields the entries whose values are
// alive when the iteration starts, in no particular order, with strong
// pointers to the values. Entries found collected are dropped. The map may
// be changed during the iteration; changes made meanwhile may not be seen.
//
// Safe for concurrent use by multiple goroutines.
func (m *ValueMap[K, V]) All() iter.Seq2[K, *V] {
	return func(yield func(K, *V) bool) {
		type pair struct {
			k K
			v *V
		}
		m.mu.Lock()
		live := make([]pair, 0, len(m.entries))
		for k, e := range m.entries {
			if v := e.value.Value(); v != nil {
				live = append(live, pair{k, v})
			} else {
				delete(m.entries, k)
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

// dropValue is the cleanup of a value: it runs on a runtime goroutine once
// the value has been collected, and removes the entry if it still holds
// that value.
func dropValue[K comparable, V any](r valueRef[K, V]) {
	m := r.m.Value()
	if m == nil {
		return
	}
	m.mu.Lock()
	e, ok := m.entries[r.key]
	removed := ok && e.value == r.value
	if removed {
		delete(m.entries, r.key)
	}
	m.mu.Unlock()
	if removed {
		dropped()
	}
}
