// Command weakpointer shows a weak reference (scenario 14): weak.Pointer
// yields its object while something holds the object strongly, and nil once
// the object has been collected.
//
// Python's weakref.ref(obj) can only point at objects with a __weakref__
// slot (not int, str, tuple, list or dict) and returns an untyped object.
// Go's weak.Pointer[T] points at any heap object and is typed: Value
// returns a *T, so no cast and no check of what came back. The price of a
// tracing collector: the object goes at the next collection, not at `del`,
// so a program must never depend on when.
package main

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"weak"
)

// Document is what the program holds; it has pointers in it, so it never
// shares a memory block with other small objects (which would keep it
// alive with them).
type Document struct {
	Title string
	Body  []byte
}

func main() {
	if err := run(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run(w io.Writer) error {
	doc := &Document{Title: "report.txt", Body: make([]byte, 4096)}
	ref := weak.Make(doc)

	show(w, "weak reference made", ref)
	runtime.GC()
	show(w, "after a collection, still held strongly", ref)

	// Weak pointers compare equal when made from the same pointer, even
	// after the object is gone: they can be map keys.
	fmt.Fprintln(w, "weak.Make(doc) == ref:", weak.Make(doc) == ref)

	doc = nil // the last strong reference
	if !collect(ref) {
		return fmt.Errorf("weakpointer: document still alive after 100 collections")
	}
	show(w, "strong reference dropped and collected", ref)
	return nil
}

func show(w io.Writer, when string, ref weak.Pointer[Document]) {
	if d := ref.Value(); d != nil {
		fmt.Fprintf(w, "%s: alive (%s, %d bytes)\n", when, d.Title, len(d.Body))
	} else {
		fmt.Fprintf(w, "%s: gone (Value() == nil)\n", when)
	}
}

// collect runs garbage collections until ref's object is gone, at most 100,
// and reports whether it is.
func collect[T any](ref weak.Pointer[T]) bool {
	for i := 0; i < 100 && ref.Value() != nil; i++ {
		runtime.GC()
	}
	return ref.Value() == nil
}
