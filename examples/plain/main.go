// Command plain shows a plain callback (scenario 1): a function receives
// another function and calls it when its work is done. Then it hands the same
// work to an event loop with CallSoon, which runs it later, on the loop.
//
//	go run ./examples/plain
package main

import (
	"fmt"
	"io"
	"log"
	"os"

	"github.com/aio-go/aio/loop"
)

func main() {
	if err := run(os.Stdout); err != nil {
		log.Fatal(err)
	}
}

// greet is the callback: it does not know who calls it, or when.
func greet(w io.Writer, name string) {
	fmt.Fprintf(w, "Hello, %s!\n", name)
}

// processUser does its work and then calls callback with the user's name.
func processUser(w io.Writer, name string, callback func(io.Writer, string)) {
	fmt.Fprintf(w, "Processing user %s\n", name)
	callback(w, name)
}

func run(w io.Writer) error {
	fmt.Fprintln(w, "-- called directly: the callback runs before processUser returns --")
	processUser(w, "Alice", greet)
	fmt.Fprintln(w, "processUser returned")

	fmt.Fprintln(w, "-- scheduled on the loop: CallSoon returns at once --")
	l := loop.New()
	defer l.Close()
	l.CallSoon(func() { processUser(w, "Bob", greet) })
	l.CallSoon(l.Stop) // callbacks run in the order they were scheduled: this one last
	fmt.Fprintln(w, "scheduled processUser for Bob; nothing has run yet")
	if err := l.RunForever(); err != nil {
		return err
	}
	fmt.Fprintln(w, "loop stopped")
	return nil
}
