package main

import (
	"bytes"
	"context"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestSession runs the program's own session over a loopback socket: the
// server's answers, in order, and nothing left behind.
func TestSession(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, run(context.Background(), &out, "127.0.0.1:0", false))
	got := regexp.MustCompile(`serving on 127\.0\.0\.1:\d+\n`).ReplaceAllString(out.String(), "serving on ADDR\n")
	assert.Equal(t, `serving on ADDR
> SET city Paris
< OK
> SET river Seine
< OK
> GET city
< VALUE Paris
> GET country
< NOT FOUND
> KEYS
< KEYS city river
> DEL river
< DELETED
> DEL river
< NOT FOUND
> KEYS
< KEYS city
> FLY me
< ERR unknown command
`, got)
}

func TestAnswer(t *testing.T) {
	store := map[string]string{}
	for _, c := range []struct{ cmd, want string }{
		{"GET a", "NOT FOUND"},
		{"SET a 1", "OK"},
		{"SET a 2", "OK"},
		{"GET a", "VALUE 2"},
		{"KEYS", "KEYS a"},
		{"DEL a", "DELETED"},
		{"KEYS", "KEYS"},
		{"SET a", "ERR unknown command"},
		{"", "ERR unknown command"},
	} {
		assert.Equal(t, c.want, answer(store, c.cmd), c.cmd)
	}
}
