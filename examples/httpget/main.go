// Command httpget sends an HTTP GET to a real server on loopback and gets
// the response in a callback on the loop (scenario 7). The request runs on
// one of the loop's executor goroutines (RunInExecutor), so the loop keeps
// running meanwhile: a ticker made of CallLater timers proves it.
//
//	go run ./examples/httpget
package main

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"time"

	"github.com/aio-go/aio/future"
	"github.com/aio-go/aio/loop"
)

func main() {
	if err := run(os.Stdout, 50*time.Millisecond); err != nil {
		log.Fatal(err)
	}
}

// response is what the callback gets.
type response struct {
	status string
	body   string
}

// get is the blocking request; it runs off the loop and gives up when ctx
// is cancelled (the future was cancelled or the loop closed).
func get(ctx context.Context, client *http.Client, url string) (response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return response{}, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return response{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return response{resp.Status, string(body)}, err
}

// run ticks every tick while the request is in flight.
func run(w io.Writer, tick time.Duration) error {
	// The server holds its answer until the loop has ticked three times: if
	// the GET blocked the loop, the ticks could not happen and this program
	// would hang.
	ticked := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		<-ticked
		fmt.Fprint(rw, "hello from the server")
	}))
	defer srv.Close()

	l := loop.New()
	defer l.Close()

	fmt.Fprintln(w, "GET / started")
	resp := loop.RunInExecutor(l, func(ctx context.Context) (response, error) {
		return get(ctx, srv.Client(), srv.URL)
	})
	resp.AddDoneCallback(func(f *future.Future[response]) {
		r, err := f.Result()
		if err != nil {
			fmt.Fprintln(w, "GET failed:", err)
			return
		}
		fmt.Fprintln(w, "status:", r.status)
		fmt.Fprintln(w, "body:", r.body)
	})

	var tickN func(n int)
	tickN = func(n int) {
		fmt.Fprintf(w, "tick %d: the loop runs while the GET is in flight\n", n)
		if n == 3 {
			close(ticked)
			return
		}
		l.CallLater(tick, func() { tickN(n + 1) })
	}
	l.CallLater(tick, func() { tickN(1) })

	_, err := loop.RunUntilComplete(l, resp)
	return err
}
