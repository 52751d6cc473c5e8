// Package weakref holds listeners, callbacks and cached objects without
// keeping them alive: Python's weakref module (WeakMethod, WeakSet,
// WeakValueDictionary, WeakKeyDictionary) in Go 1.24+ terms, built on
// weak.Pointer and runtime.AddCleanup.
//
// Use DoneCallback when a future's done-callback belongs to a handler object
// that may go away before the future completes; Signal when subscribers to
// a stream of events should be forgotten with their receivers; Set for a
// plain registry of observers; ValueMap for a cache that hands an object
// out while someone uses it; KeyMap to attach data to objects for as long as
// they live. For a single weak reference, use weak.Pointer directly.
//
// # Lifetimes
//
// An object is collected at a garbage collection after its last strong
// reference is gone, not at the moment it goes (Go has no reference
// counting): a program must not rely on when. Until then a weak pointer to
// it still yields it.
//
// A registration holds its receiver weakly only if nothing else in it holds
// the receiver: DoneCallback and Subscribe take a method expression,
// (*Handler).OnDone, and the receiver separately. A method value, h.OnDone,
// is a closure over h and would keep it alive.
//
// Weakly held objects should be heap objects with pointers in them or
// larger than 16 bytes. Smaller pointer-free objects may be packed with
// others into one memory block, which lives as long as any of them does.
//
// Go's collector frees reference cycles, so weak references are not needed
// to break cycles as they are under CPython's reference counting; they are
// needed when a registry or a link must not be the reason an object lives.
//
// # Concurrency
//
// Set, ValueMap and KeyMap are safe for concurrent use by multiple
// goroutines. They must be: the cleanup that removes the entry of a
// collected object runs on a goroutine of the runtime, at a time nobody
// chooses. They guard their entries with a mutex rather than handing the
// removal to a loop with CallSoonThreadsafe, so that they work without a
// loop, and after a loop is closed. Their cleanups hold the container
// weakly: objects that outlive their container do not keep it alive.
//
// DoneCallback and Signal belong to a loop and must be called on its
// goroutine. They register no cleanups: they find out that a receiver was
// collected when they are about to call it, on the loop goroutine.
//
// # Ordering guarantees
//
// Set yields members in the order they were added. Signal schedules its
// calls in subscription order, each with CallSoon, so they run in that
// order after the callbacks already scheduled. DoneCallback's callback runs
// in the future's done-callback order. ValueMap and KeyMap have no order.
//
// Iterating with All works on a snapshot of the live entries taken when the
// iteration starts; the loop body may change the container.
//
// # Errors and panics
//
// A collected receiver is not an error: the call is skipped, and
// DoneCallback and Signal log a warning through a *slog.Logger (WithLogger;
// slog.Default() by default), because it usually means the program dropped a
// handler it still meant to use, or forgot to unsubscribe. Set, ValueMap
// and KeyMap drop collected entries silently. Nil receivers, methods, keys
// and values panic with a "weakref:" message.
//
// # Differences from Python's weakref
//
// Any heap object can be held weakly (Python refuses int, str, tuple and
// objects without __weakref__), and weak references are typed: Value
// returns a *T, nil once collected. There is no callback argument on the
// weak reference itself: runtime.AddCleanup is the weakref callback, and it
// runs on another goroutine, so it reaches a loop only through
// CallSoonThreadsafe. Python calls the WeakMethod callback synchronously;
// Signal schedules each call on the loop, as asyncio schedules
// done-callbacks.
package weakref
