// Package aio brings Python asyncio's event-loop scheduling model to Go.
//
// Use aio if you want asyncio's model in a Go program: one goroutine that
// runs callbacks, timers and coroutine tasks in a deterministic order,
// futures with done-callbacks, await-style sequential code, and virtual time
// in tests. Use plain goroutines and channels if your work is parallel
// rather than ordered.
//
// The module's packages:
//
//   - loop: the event loop (CallSoon, CallLater, CallAt, CallSoonThreadsafe,
//     RunForever, Stop, Close, Shutdown), tasks (Spawn, Await, Sleep, Run),
//     combinators (Gather, Wait, WaitFor, timeouts, Shield, AsCompleted,
//     task groups), synchronisation primitives (Lock, Event, Condition,
//     Semaphore, Queue) and the bridge to goroutines (RunInExecutor,
//     ToThread, SpawnThreadsafe, FromChan).
//   - future: Future[T], asyncio's Future, typed.
//   - timer: the Handle that cancels a scheduled callback, and the loop's
//     queue and timer heap.
//   - weakref: callbacks and collections that hold their targets weakly
//     (WeakMethod, WeakSet, WeakValueDictionary in Go terms).
//
// The behaviour mirrors CPython's asyncio, with a few guarantees asyncio
// does not make (equal-deadline timers run in the order they were
// scheduled; Close leaves no goroutine behind); the loop package's
// documentation lists the differences.
package aio
