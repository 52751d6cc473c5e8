// Package sched is the mechanism under an aio loop's scheduling: the FIFO
// Queue of callbacks ready to run, the Heap of timers, and the Handle that
// points into either. Package timer wraps Handle for users; package loop
// owns a Queue for its ready callbacks, one for the callbacks handed in by
// other goroutines, and a Heap.
//
// # Handles
//
// A Handle is a small value: a pointer to the callback's chunk or timer
// slot, and the generation the chunk had when the callback was scheduled.
// Chunks of a Queue are reused once they have run, so that scheduling
// allocates nothing in the steady state; a Handle whose chunk has been
// reused cancels nothing. A chunk that held a cancelled callback is never
// reused, so Cancelled stays true for as long as anyone holds the Handle.
//
// # Concurrency
//
// Nothing in this package is safe for concurrent use: the loop owns its
// Queues and Heap, and a Handle's methods must be called on the loop
// goroutine (When excepted: it reads values that never change).
//
// This package imports nothing of the module's public packages, so that
// timer can wrap its Handle without an import cycle.
package sched
