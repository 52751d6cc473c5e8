// Command threeways writes the same three-step flow (fetch a user, fetch the
// user's orders, total them) three ways (scenario 11): chained done-callbacks,
// a task that Awaits each step, and sequential Future.Wait calls on a
// goroutine. The output is the same. Then step 2 fails, and each style shows
// how the error gets out (scenario 13).
//
//	go run ./examples/threeways
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"os"

	"github.com/aio-go/aio/future"
	"github.com/aio-go/aio/loop"
)

func main() {
	if err := run(os.Stdout); err != nil {
		log.Fatal(err)
	}
}

// totalWithCallbacks chains done-callbacks: each step starts the next one
// from its callback. Every level must check the error and forward it to done
// by hand; a level that forgets loses the error, and done is never called.
// A panic in step 3 would show a stack of loop internals and anonymous funcs,
// not the flow that started it.
func totalWithCallbacks(s *shop, id int, done func(Cents, error)) {
	s.FetchUser(id).AddDoneCallback(func(f *future.Future[User]) {
		user, err := f.Result()
		if err != nil {
			done(0, fmt.Errorf("user %d: %w", id, err))
			return
		}
		s.FetchOrders(user).AddDoneCallback(func(f *future.Future[Orders]) {
			orders, err := f.Result()
			if err != nil {
				done(0, fmt.Errorf("orders of %s: %w", user.Name, err))
				return
			}
			s.Total(orders).AddDoneCallback(func(f *future.Future[Cents]) {
				done(f.Result())
			})
		})
	})
}

// totalWithAwait is a task body: it reads top to bottom, and an error is an
// ordinary return value, wrapped once and returned, as in any Go function.
func totalWithAwait(co *loop.Coro, s *shop, id int) (Cents, error) {
	user, err := loop.Await(co, s.FetchUser(id))
	if err != nil {
		return 0, fmt.Errorf("user %d: %w", id, err)
	}
	orders, err := loop.Await(co, s.FetchOrders(user))
	if err != nil {
		return 0, fmt.Errorf("orders of %s: %w", user.Name, err)
	}
	return loop.Await(co, s.Total(orders))
}

// totalWithWait is plain Go on a goroutine other than the loop's: each Wait
// blocks that goroutine, never the loop.
func totalWithWait(ctx context.Context, s *shop, id int) (Cents, error) {
	user, err := s.FetchUser(id).Wait(ctx)
	if err != nil {
		return 0, fmt.Errorf("user %d: %w", id, err)
	}
	orders, err := s.FetchOrders(user).Wait(ctx)
	if err != nil {
		return 0, fmt.Errorf("orders of %s: %w", user.Name, err)
	}
	return s.Total(orders).Wait(ctx)
}

var styles = []string{"callbacks", "await", "wait"}

// runStyle runs the flow in one style on a new loop; the shop traces each
// step to w.
func runStyle(w io.Writer, style string, ordersDown bool) (Cents, error) {
	l := loop.New()
	defer l.Close()
	s := &shop{l: l, w: w, ordersDown: ordersDown}
	switch style {
	case "callbacks":
		var total Cents
		var err error
		totalWithCallbacks(s, 1, func(t Cents, e error) {
			total, err = t, e
			l.Stop()
		})
		if rerr := l.RunForever(); rerr != nil {
			return 0, rerr
		}
		return total, err
	case "await":
		t := loop.Spawn(l, func(co *loop.Coro) (Cents, error) { return totalWithAwait(co, s, 1) })
		return loop.RunUntilComplete(l, t.Future)
	case "wait":
		// One of the loop's executor goroutines runs the sequential code.
		f := loop.RunInExecutor(l, func(ctx context.Context) (Cents, error) { return totalWithWait(ctx, s, 1) })
		return loop.RunUntilComplete(l, f)
	}
	return 0, fmt.Errorf("unknown style %q", style)
}

func run(w io.Writer) error {
	for _, ordersDown := range []bool{false, true} {
		for _, style := range styles {
			fmt.Fprintf(w, "== %s, orders service down: %v ==\n", style, ordersDown)
			total, err := runStyle(w, style, ordersDown)
			switch {
			case errors.Is(err, ErrOrdersUnavailable):
				fmt.Fprintln(w, "error:", err)
			case err != nil:
				return err
			default:
				fmt.Fprintln(w, "total:", total)
			}
		}
	}
	return nil
}
