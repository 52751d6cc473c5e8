// Command observers shows observers held weakly (scenario 18): Python's
// WeakSet of observers, here weakref.Set. The station notifies every
// display still in use; a display the program forgets stops being
// notified and leaves the set by itself, with no Detach call.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"weak"

	"github.com/aio-go/aio/weakref"
)

// Display shows the latest temperature.
type Display struct {
	Name string
	w    io.Writer
}

// Update is what the station calls on each observer.
func (d *Display) Update(celsius float64) {
	fmt.Fprintf(d.w, "  %s shows %.1f°C\n", d.Name, celsius)
}

// Station is the subject. It holds its displays weakly: attaching a
// display does not make it live longer.
//
// Python's classic trap is putting bound methods (display.update) in a
// WeakSet: a bound method is a fresh object that dies at once, so the set
// empties itself. Here the set holds the displays and the station calls
// the method at notification time, so there is no bound method to lose.
// (weakref.Signal does the same through a loop, for receivers of any type.)
type Station struct {
	displays weakref.Set[Display]
}

// Attach adds d to the displays notified by Publish.
func (s *Station) Attach(d *Display) { s.displays.Add(d) }

// Publish notifies every live display, in the order they were attached.
func (s *Station) Publish(w io.Writer, celsius float64) {
	fmt.Fprintf(w, "publish %.1f°C; live displays: %d\n", celsius, s.displays.Len())
	for d := range s.displays.All() {
		d.Update(celsius)
	}
}

func main() {
	if err := run(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run(w io.Writer) error {
	var station Station
	lobby := &Display{Name: "lobby", w: w}
	office := &Display{Name: "office", w: w}
	station.Attach(lobby)
	station.Attach(office)
	station.Publish(w, 21.5)

	probe := weak.Make(office)
	office = nil // the office display is closed; nobody detaches it
	if !collect(probe) {
		return errors.New("observers: office display still alive after 100 collections")
	}
	fmt.Fprintln(w, "office display collected")
	station.Publish(w, 22.0)
	runtime.KeepAlive(lobby)
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
