// Command returning shows callbacks that return a value (scenario 2) and
// anonymous callbacks (scenario 3): apply an operation passed in to each
// element of a list. A callback scheduled on the loop returns nothing, so the
// last part hands its value back through a future instead.
//
//	go run ./examples/returning
package main

import (
	"fmt"
	"io"
	"log"
	"os"
	"strings"

	"github.com/aio-go/aio/future"
	"github.com/aio-go/aio/loop"
)

func main() {
	if err := run(os.Stdout); err != nil {
		log.Fatal(err)
	}
}

// apply calls op on each element of xs and collects what op returns.
//
// Python's apply(op, xs) takes any callable and returns whatever it returns;
// in Go the type parameters say what op takes and gives, so passing an op of
// the wrong shape is a compile error, not a runtime TypeError.
func apply[T, U any](xs []T, op func(T) U) []U {
	out := make([]U, 0, len(xs))
	for _, x := range xs {
		out = append(out, op(x))
	}
	return out
}

// square is a named callback.
func square(x int) int { return x * x }

func run(w io.Writer) error {
	nums := []int{1, 2, 3, 4}

	fmt.Fprintln(w, "-- a named function as the callback --")
	fmt.Fprintln(w, "square:", apply(nums, square))

	fmt.Fprintln(w, "-- function literals (Python's lambda) --")
	fmt.Fprintln(w, "square:", apply(nums, func(x int) int { return x * x }))
	fmt.Fprintln(w, "plus ten:", apply(nums, func(x int) int { return x + 10 }))
	fmt.Fprintf(w, "bars: %q\n", apply(nums, func(x int) string { return strings.Repeat("#", x) }))

	fmt.Fprintln(w, "-- on the loop: the callback's value comes back through a future --")
	l := loop.New()
	defer l.Close()
	squares := future.New[[]int](l)
	l.CallSoon(func() { squares.SetResult(apply(nums, square)) })
	got, err := loop.RunUntilComplete(l, squares)
	if err != nil {
		return err
	}
	fmt.Fprintln(w, "square on the loop:", got)
	return nil
}
