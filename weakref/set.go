package weakref

import (
	"iter"
	"runtime"
	"sync"
	"weak"
)

// Set is Python's weakref.WeakSet: a set of *T that does not keep its
// members alive. A member that is collected disappears from the set by
// itself: All and Len skip it and drop it, and a cleanup registered with
// runtime.AddCleanup removes its entry soon after the collection. Members
// are kept in the order they were added. It is the registry of observers
// that need no explicit unsubscribe.
//
// The zero value is an empty set ready to use. A Set must not be copied
// after first use. Members are *T values compared as pointers, all of one
// type; for observers of several types, use Signal. T should be a heap
// object with pointers in it or larger than 16 bytes (see DoneCallback).
//
// The collection cleanups run on a runtime goroutine, so the set guards
// its entries with a mutex.
//
// Safe for concurrent use by multiple goroutines.
type Set[T any] struct {
	mu      sync.Mutex
	self    weak.Pointer[Set[T]]
	order   []weak.Pointer[T] // members in the order added; zero values are holes
	members map[weak.Pointer[T]]setMember
	holes   int
}

type setMember struct {
	pos     int // index in order
	cleanup runtime.Cleanup
}

// setRef is what a member's cleanup knows: the set and the member, weakly.
type setRef[T any] struct {
	set    weak.Pointer[Set[T]]
	member weak.Pointer[T]
}

// Add is WeakSet.add: it adds p to the set and reports whether p was not
// already a member. Add panics if p is nil.
//
// Safe for concurrent use by multiple goroutines.
func (s *Set[T]) Add(p *T) bool {
	if p == nil {
		panic("weakref: Set.Add(nil)")
	}
	wp := weak.Make(p)
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.members[wp]; ok {
		return false
	}
	if s.members == nil {
		s.members = make(map[weak.Pointer[T]]setMember)
		s.self = weak.Make(s)
	}
	c := runtime.AddCleanup(p, dropSetMember[T], setRef[T]{s.self, wp})
	s.members[wp] = setMember{pos: len(s.order), cleanup: c}
	s.order = append(s.order, wp)
	return true
}

// Remove is WeakSet.discard: it removes p from the set and reports whether
// p was a member.
//
// Safe for concurrent use by multiple goroutines.
func (s *Set[T]) Remove(p *T) bool {
	if p == nil {
		return false
	}
	wp := weak.Make(p)
	s.mu.Lock()
	defer s.mu.Unlock()
	ok := s.removeLocked(wp, true)
	s.compactLocked()
	return ok
}

// Contains is Python's `p in weakset`: it reports whether p is a member.
//
// Safe for concurrent use by multiple goroutines.
func (s *Set[T]) Contains(p *T) bool {
	if p == nil {
		return false
	}
	wp := weak.Make(p)
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.members[wp]
	return ok
}

// Len is len(weakset): the number of members still alive. Members found
// collected are dropped.
//
// Safe for concurrent use by multiple goroutines.
func (s *Set[T]) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	for wp := range s.members {
		if wp.Value() == nil {
			s.removeLocked(wp, false)
		}
	}
	s.compactLocked()
	return len(s.members)
}

// All is iter(weakset): it yields the members alive when the iteration
// starts, in the order they were added, as strong pointers (each stays
// alive at least until the loop body has seen it). Members found collected
// are dropped. The set may be changed during the iteration; members added
// meanwhile are not yielded, members removed meanwhile may still be.
//
// Safe for concurrent use by multiple goroutines.
func (s *Set[T]) All() iter.Seq[*T] {
	return func(yield func(*T) bool) {
		for _, p := range s.snapshot() {
			if !yield(p) {
				return
			}
		}
	}
}

// snapshot returns the live members and drops the collected ones.
func (s *Set[T]) snapshot() []*T {
	s.mu.Lock()
	defer s.mu.Unlock()
	live := make([]*T, 0, len(s.members))
	for _, wp := range s.order {
		if wp == (weak.Pointer[T]{}) {
			continue
		}
		if p := wp.Value(); p != nil {
			live = append(live, p)
		} else {
			s.removeLocked(wp, false)
		}
	}
	s.compactLocked()
	return live
}

// removeLocked removes wp's entry, if there is one, stopping its cleanup
// when stop is set (a collected member's cleanup has nothing left to do).
// It leaves a hole in s.order, so that a caller ranging over s.order can go
// on; the caller calls compactLocked when done. The caller must hold s.mu.
func (s *Set[T]) removeLocked(wp weak.Pointer[T], stop bool) bool {
	m, ok := s.members[wp]
	if !ok {
		return false
	}
	if stop {
		m.cleanup.Stop()
	}
	delete(s.members, wp)
	s.order[m.pos] = weak.Pointer[T]{}
	s.holes++
	return true
}

// compactLocked squeezes the holes out of s.order once they are more than
// half of it. The caller must hold s.mu.
func (s *Set[T]) compactLocked() {
	if s.holes <= len(s.order)/2 {
		return
	}
	k := 0
	for _, wp := range s.order {
		if wp == (weak.Pointer[T]{}) {
			continue
		}
		s.order[k] = wp
		m := s.members[wp]
		m.pos = k
		s.members[wp] = m
		k++
	}
	clear(s.order[k:])
	s.order = s.order[:k]
	s.holes = 0
}

// dropSetMember is the cleanup of a member: it runs on a runtime goroutine
// once the member has been collected.
func dropSetMember[T any](r setRef[T]) {
	s := r.set.Value()
	if s == nil {
		return
	}
	s.mu.Lock()
	removed := s.removeLocked(r.member, false)
	s.compactLocked()
	s.mu.Unlock()
	if removed {
		dropped()
	}
}
