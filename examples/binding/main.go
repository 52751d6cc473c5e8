// Command binding shows callbacks that need extra arguments while the caller
// only accepts a no-argument function (scenario 4): Python's
// functools.partial. Loop.CallSoon takes a func(); Go binds the arguments with
// a closure or a method value.
//
//	go run ./examples/binding
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

// greet needs more than CallSoon will give it.
func greet(w io.Writer, name, punctuation string) {
	fmt.Fprintf(w, "Hello, %s%s\n", name, punctuation)
}

// User has a method whose receiver a method value binds.
type User struct {
	Name string
	w    io.Writer
}

// Greet prints the user's name as it is when Greet runs.
func (u *User) Greet() { fmt.Fprintf(u.w, "%s says hi\n", u.Name) }

func run(w io.Writer) error {
	l := loop.New()
	defer l.Close()

	// A closure is Go's functools.partial: func() { greet(w, "Ada", "!") }
	// binds the arguments, type-checked, with no helper. And since Go 1.22
	// each loop iteration has its own variable, so the closures below see
	// "Grace" and "Linus", not the last name: no partial or default-argument
	// trick is needed against Python's late-binding lambdas.
	l.CallSoon(func() { greet(w, "Ada", "!") })
	for _, name := range []string{"Grace", "Linus"} {
		l.CallSoon(func() { greet(w, name, ".") })
	}

	// A method value binds its receiver when it is evaluated: user.Greet is
	// a func() that CallSoon accepts as it is. The receiver is a pointer, so
	// the fields are read when the callback runs, after both renames below.
	user := &User{Name: "Barbara", w: w}
	l.CallSoon(user.Greet)
	user.Name = "Barbara Liskov"

	// To freeze the current value instead, copy it into the closure.
	snapshot := *user
	l.CallSoon(func() { fmt.Fprintf(w, "snapshot: %s\n", snapshot.Name) })
	user.Name = "B. Liskov"

	l.CallSoon(l.Stop) // a method value too
	fmt.Fprintln(w, "scheduled 6 callbacks")
	return l.RunForever()
}
