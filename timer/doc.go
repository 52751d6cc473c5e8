// Package timer holds the scheduling records of an aio event loop: the
// Handle a caller keeps to cancel a callback, the FIFO Queue of callbacks
// ready to run, and the Heap of timers.
//
// Most programs meet this package only through Handle, which the loop's
// CallSoon, CallLater and CallAt return. Queue and Heap are the loop's
// mechanism; they are exported so that the loop package can use them and
// tests can check them against simple models.
//
// # Handles
//
// A Handle is a small value: a pointer to the callback's slot and the
// sequence number the slot had when the callback was scheduled. Slots of the
// ready queue are reused once they have run, so that scheduling allocates
// nothing in the steady state; a Handle whose slot has been reused cancels
// nothing. A slot that was cancelled is never reused, so Cancelled stays
// true for as long as anyone holds the Handle.
//
// # Concurrency
//
// Nothing in this package is safe for concurrent use: the loop owns its
// Queue and Heap, and a Handle's methods must be called on the loop
// goroutine (When excepted: it reads a value that never changes).
package timer
