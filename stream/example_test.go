package stream_test

import (
	"context"
	"fmt"
	"net"
	"strings"

	"github.com/aio-go/aio/loop"
	"github.com/aio-go/aio/stream"
)

// upper answers each chunk in upper case and closes at the peer's EOF.
type upper struct {
	t    *stream.Transport
	lost string
}

func (u *upper) ConnectionMade(t *stream.Transport) { u.t = t }
func (u *upper) DataReceived(b []byte)              { u.t.Write([]byte(strings.ToUpper(string(b)))) }
func (u *upper) EOFReceived() bool                  { return false }
func (u *upper) ConnectionLost(err error)           { u.lost = fmt.Sprint("server: connection lost: ", err) }

// client sends one line, prints what comes back, and closes.
type client struct {
	t    *stream.Transport
	got  strings.Builder
	done loop.Event
}

func (c *client) ConnectionMade(t *stream.Transport) {
	c.t = t
	t.Write([]byte("hello, transport"))
}

func (c *client) DataReceived(b []byte) {
	c.got.Write(b) // b is valid only until DataReceived returns
	if c.got.Len() == len("hello, transport") {
		fmt.Println("client got:", c.got.String())
		c.t.Close()
	}
}

func (c *client) EOFReceived() bool { return false }

func (c *client) ConnectionLost(err error) {
	fmt.Println("client: connection lost:", err)
	c.done.Set()
}

// Example connects a client protocol and a server protocol over net.Pipe,
// in one process.
func Example() {
	a, b := net.Pipe()
	srv := &upper{}
	loop.Run(context.Background(), func(co *loop.Coro) (struct{}, error) {
		stream.Adopt(co.Loop(), a, srv)
		c := &client{}
		stream.Adopt(co.Loop(), b, c)
		return struct{}{}, c.done.Wait(co)
	}) // Run returns once every connection is lost
	fmt.Println(srv.lost)
	// Output:
	// client got: HELLO, TRANSPORT
	// client: connection lost: <nil>
	// server: connection lost: <nil>
}
