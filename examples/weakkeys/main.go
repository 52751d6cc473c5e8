// Command weakkeys attaches data to objects without keeping them alive
// (scenario 17): Python's WeakKeyDictionary, here weakref.KeyMap. A tracer
// labels *http.Request values it does not own; a request's label goes
// away with the request.
package main

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"weak"

	"github.com/aio-go/aio/weakref"
)

// Tracer gives each request it sees a trace id, keyed by the request
// itself. The id must not point back to the request: a value that holds
// its key keeps the key alive (Go has no ephemerons; Python neither).
//
// Go's idiom for per-request data is to carry it in the request's
// context.Context, which is explicit and ends with the request by
// construction; a KeyMap is for objects whose creation you do not control
// and so cannot give a context or a field.
type Tracer struct {
	ids  weakref.KeyMap[http.Request, string]
	next int
}

// Trace returns r's trace id, making one the first time r is seen.
func (t *Tracer) Trace(r *http.Request) string {
	if id, ok := t.ids.Get(r); ok {
		return id
	}
	t.next++
	id := fmt.Sprintf("trace-%d", t.next)
	t.ids.Put(r, id)
	return id
}

func main() {
	if err := run(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run(w io.Writer) error {
	var tracer Tracer
	home := httptest.NewRequest("GET", "/", nil)
	upload := httptest.NewRequest("POST", "/upload", nil)

	for _, r := range []*http.Request{home, upload, home} {
		fmt.Fprintf(w, "%s %s -> %s\n", r.Method, r.URL.Path, tracer.Trace(r))
	}
	fmt.Fprintf(w, "labelled requests: %d\n", tracer.ids.Len())

	probe := weak.Make(upload)
	upload = nil // the upload is finished and forgotten
	if !collect(probe) {
		return errors.New("weakkeys: request still alive after 100 collections")
	}
	fmt.Fprintf(w, "upload collected; labelled requests: %d\n", tracer.ids.Len())
	for r, id := range tracer.ids.All() {
		fmt.Fprintf(w, "still labelled: %s %s -> %s\n", r.Method, r.URL.Path, id)
	}
	runtime.KeepAlive(home)
	return nil
}

// collect runs garbage collections until ref's object is gone, at most 100,
// and reports whether it is.
func collect[T any](ref weak.Pointer[T]) bool {
	for i := 0; i < 100 && ref.Value() != nil; i++ {
		runtime.GC()
	}
	return ref.Value() == nil
}
