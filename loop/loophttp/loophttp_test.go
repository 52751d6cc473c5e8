package loophttp_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aio-go/aio/loop"
	"github.com/aio-go/aio/loop/loophttp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// get serves one request with h and returns the recorder.
func get(h http.Handler, target string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
	return rec
}

// The pages, as text and JSON, of a loop running on its goroutine, under
// the prefix the handler is mounted at.
func TestHandler(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := loop.New()
		var ev loop.Event
		loop.GoNamed(l, "waiter", func(co *loop.Coro) error { return ev.Wait(co) })
		loop.GoNamed(l, "sleeper", func(co *loop.Coro) error { return loop.Sleep(co, time.Hour) })
		ran := make(chan error)
		go func() { ran <- l.RunForever() }()

		mux := http.NewServeMux()
		mux.Handle("/debug/aio/", loophttp.Handler(l))

		rec := get(mux, "/debug/aio/tree")
		assert.Equal(t, http.StatusOK, rec.Code)
		assert.Equal(t, "text/plain; charset=utf-8", rec.Header().Get("Content-Type"))
		assert.Regexp(t, `(?m)^waiter waiting on Event 0x[0-9a-f]+ at loophttp/loophttp_test.go:\d+ `, rec.Body.String())
		assert.Regexp(t, `(?m)^sleeper waiting on sleep until \+1h0m0s at loophttp/loophttp_test.go:\d+ `, rec.Body.String())

		rec = get(mux, "/debug/aio/table")
		assert.Regexp(t, `^ID\s+NAME\s+STATE`, rec.Body.String())
		assert.Regexp(t, `(?m)^0x[0-9a-f]+\s+waiter\s+waiting\s+Event`, rec.Body.String())

		rec = get(mux, "/debug/aio/stats")
		assert.Regexp(t, `(?m)^tasks\s+2$`, rec.Body.String())

		rec = get(mux, "/debug/aio/tree?format=json")
		assert.Equal(t, "application/json", rec.Header().Get("Content-Type"))
		var s loop.Snapshot
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &s))
		require.Len(t, s.Tasks, 2)
		assert.Equal(t, "waiter", s.Tasks[0].Name)
		assert.Equal(t, loop.WaitEvent, s.Tasks[0].WaitsOn.Kind)
		assert.Contains(t, s.Tasks[0].Where.File, "loophttp_test.go")

		rec = get(mux, "/debug/aio/stats?format=json")
		var st loop.Stats
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &st))
		assert.Equal(t, 2, st.Tasks)

		rec = get(mux, "/debug/aio/")
		assert.Contains(t, rec.Body.String(), `<a href="tree">`)

		rec = httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/debug/aio/tree", nil))
		assert.Equal(t, http.StatusMethodNotAllowed, rec.Code)

		l.Stop()
		require.NoError(t, <-ran)
		require.NoError(t, l.Close())

		// A closed loop cannot answer.
		rec = get(mux, "/debug/aio/tree")
		assert.Equal(t, http.StatusServiceUnavailable, rec.Code)
	})
}

// A loop that does not run makes the request fail after the timeout
// instead of hanging.
func TestHandlerTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := loop.New()
		h := loophttp.HandlerTimeout(l, time.Second)
		start := time.Now()
		rec := get(h, "/tree")
		assert.Equal(t, http.StatusServiceUnavailable, rec.Code)
		assert.Contains(t, rec.Body.String(), "deadline exceeded")
		assert.Equal(t, time.Second, time.Since(start))
		require.NoError(t, l.Close())
	})
}
