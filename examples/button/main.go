// Command button shows event-driven callbacks (scenario 5): a button holds an
// ordered list of click handlers, and a click runs all of them on the loop,
// in registration order. Handlers can be added and removed, also during a
// click.
//
//	go run ./examples/button
package main

import (
	"fmt"
	"io"
	"log"
	"os"
	"slices"

	"github.com/aio-go/aio/loop"
)

func main() {
	if err := run(os.Stdout); err != nil {
		log.Fatal(err)
	}
}

// Button is an event source with click handlers. Its methods must be called
// on the loop goroutine.
type Button struct {
	l        *loop.Loop
	clicks   int
	handlers []*handler // in registration order
}

type handler struct {
	fn      func(click int)
	removed bool
}

// NewButton returns a button whose handlers run on l.
func NewButton(l *loop.Loop) *Button { return &Button{l: l} }

// Add registers fn for every later click, after the handlers added before
// it. The returned remove func unregisters fn and reports whether it was
// still registered, like Future.AddDoneCallback's.
//
// Removing a handler during a click takes effect at once: if its turn in
// this click has not come yet, it is skipped (the DOM's removeEventListener
// rule). A handler added during a click runs from the next click on.
//
// Go funcs are not comparable, so there is no Remove(fn) as in Python's
// list.remove(callback): Add returns the remove func instead, as
// context.AfterFunc returns stop.
func (b *Button) Add(fn func(click int)) (remove func() bool) {
	h := &handler{fn: fn}
	b.handlers = append(b.handlers, h)
	return func() bool {
		i := slices.Index(b.handlers, h)
		if i < 0 {
			return false
		}
		b.handlers = slices.Delete(b.handlers, i, i+1)
		h.removed = true
		return true
	}
}

// Click schedules the handlers registered now with CallSoon, in order; they
// run in the loop's next iteration, not inside Click.
func (b *Button) Click() {
	b.clicks++
	n := b.clicks
	for _, h := range b.handlers {
		b.l.CallSoon(func() {
			if !h.removed {
				h.fn(n)
			}
		})
	}
}

func run(w io.Writer) error {
	l := loop.New()
	defer l.Close()
	b := NewButton(l)

	// press clicks the button and runs the loop until the handlers have run.
	press := func() error {
		fmt.Fprintf(w, "-- click %d --\n", b.clicks+1)
		b.Click()
		l.CallSoon(l.Stop)
		return l.RunForever()
	}

	var removeSave func() bool
	b.Add(func(n int) { fmt.Fprintf(w, "log: click #%d\n", n) })
	b.Add(func(n int) {
		fmt.Fprintf(w, "guard: click #%d\n", n)
		if n == 2 {
			fmt.Fprintf(w, "guard: removes save (%v) and adds audit\n", removeSave())
			b.Add(func(n int) { fmt.Fprintf(w, "audit: click #%d\n", n) })
		}
	})
	removeSave = b.Add(func(n int) { fmt.Fprintf(w, "save: saved on click #%d\n", n) })
	removeAnalytics := b.Add(func(n int) { fmt.Fprintf(w, "analytics: click #%d\n", n) })

	if err := press(); err != nil {
		return err
	}
	fmt.Fprintf(w, "remove analytics: %v\n", removeAnalytics())
	fmt.Fprintf(w, "remove analytics again: %v\n", removeAnalytics())
	for range 2 {
		if err := press(); err != nil {
			return err
		}
	}
	return nil
}
