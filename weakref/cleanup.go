package weakref

import "sync/atomic"

// The containers (Set, ValueMap, KeyMap) attach a runtime.AddCleanup to each
// weakly held object. When the object is collected, the runtime runs the
// cleanup on a goroutine of its own; the cleanup removes the entry under the
// container's mutex. The cleanup holds the container weakly too, so that
// objects outliving their container do not keep it alive; if the container
// is gone, the cleanup does nothing.

// droppedHook, when set (by tests), is called after a cleanup has removed an
// entry from a container, outside the container's lock.
var droppedHook atomic.Pointer[func()]

func dropped() {
	if h := droppedHook.Load(); h != nil {
		(*h)()
	}
}
