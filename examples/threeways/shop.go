package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/aio-go/aio/future"
	"github.com/aio-go/aio/loop"
)

// User is the result of step 1.
type User struct {
	ID   int
	Name string
}

func (u User) String() string { return u.Name }

// Order is one order of a user.
type Order struct {
	Item  string
	Price Cents
}

// Orders is the result of step 2.
type Orders []Order

func (o Orders) String() string { return fmt.Sprintf("%d orders", len(o)) }

// Cents is an amount of money, the result of step 3.
type Cents int

func (c Cents) String() string { return fmt.Sprintf("$%d.%02d", c/100, c%100) }

// ErrOrdersUnavailable is the error of step 2 when the orders service is down.
var ErrOrdersUnavailable = errors.New("orders service unavailable")

// shop is an asynchronous API: each call returns a pending future at once,
// and the loop completes it later, as a network client would. Its methods
// are safe for concurrent use by multiple goroutines.
type shop struct {
	l          *loop.Loop
	w          io.Writer // where each completed step is traced (on the loop); nil for none
	ordersDown bool
}

// FetchUser is step 1.
func (s *shop) FetchUser(id int) *future.Future[User] {
	return later(s, fmt.Sprintf("fetchUser(%d)", id), User{id, "Ada"}, nil)
}

// FetchOrders is step 2.
func (s *shop) FetchOrders(u User) *future.Future[Orders] {
	call := fmt.Sprintf("fetchOrders(%v)", u)
	if s.ordersDown {
		return later[Orders](s, call, nil, ErrOrdersUnavailable)
	}
	return later(s, call, Orders{{"book", 1250}, {"pen", 300}, {"lamp", 2700}}, nil)
}

// Total is step 3.
func (s *shop) Total(orders Orders) *future.Future[Cents] {
	var sum Cents
	for _, o := range orders {
		sum += o.Price
	}
	return later(s, fmt.Sprintf("total(%v)", orders), sum, nil)
}

// later returns a future that the loop completes with v or err in a later
// iteration, tracing the call.
func later[T any](s *shop, call string, v T, err error) *future.Future[T] {
	f := future.New[T](s.l)
	_, serr := s.l.CallSoonThreadsafe(func() {
		if err != nil {
			s.tracef("%s -> error: %v\n", call, err)
			f.SetError(err)
			return
		}
		s.tracef("%s -> %v\n", call, v)
		f.SetResult(v)
	})
	if serr != nil {
		panic(serr) // the loop is closed: nothing would ever complete f
	}
	return f
}

func (s *shop) tracef(format string, args ...any) {
	if s.w != nil {
		fmt.Fprintf(s.w, format, args...)
	}
}
