package main

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"testing/synctest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var statusLine = regexp.MustCompile(`^ *\d+\.\d\ds \[[#.]{20}\] (\d+)/(\d+) done \| `)

// runWithProgress runs the default jobs in a bubble, showing progress on a
// buffer.
func runWithProgress(t *testing.T, style Style, live bool) (*Board, string) {
	var b *Board
	var out bytes.Buffer
	synctest.Test(t, func(t *testing.T) {
		o := defaults
		be := newMemBackend(NewService(o.seed, o.failRate, o.hangRate))
		b = NewBoard(o.jobs)
		require.NoError(t, Execute(t.Context(), style, o.config(), be, b, NewProgress(&out, live)))
	})
	return b, out.String()
}

func TestProgressPlainLines(t *testing.T) {
	for _, style := range styles {
		t.Run(string(style), func(t *testing.T) {
			b, out := runWithProgress(t, style, false)
			assert.NotContains(t, out, "\r")
			lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
			var status []string
			for _, l := range lines {
				if statusLine.MatchString(l) {
					status = append(status, l)
				}
			}
			require.GreaterOrEqual(t, len(status), 2, "a line at the start and one at the end")
			assert.Equal(t, "0", statusLine.FindStringSubmatch(status[0])[1])
			last := statusLine.FindStringSubmatch(status[len(status)-1])
			assert.Equal(t, last[2], last[1], "the last line shows every job done")
			assert.Equal(t, lines[len(lines)-1], status[len(status)-1])

			assert.Equal(t, b.Retries, strings.Count(out, "; re-queued\n"))
			assert.Equal(t, b.Count(Failed), strings.Count(out, " FAILED after "))
			assert.Equal(t, b.Notified, strings.Count(out, "failure notification sent\n"))
			assert.Equal(t, b.Timeouts, strings.Count(out, ": timed out after "))
		})
	}
}

func TestProgressLiveLine(t *testing.T) {
	b, out := runWithProgress(t, Callbacks, true)
	assert.True(t, strings.HasPrefix(out, "\r\x1b[K"), "the line is redrawn in place")
	assert.True(t, strings.HasSuffix(out, "\n"), "the last line is left on screen")
	// Events are printed on lines of their own, above the redrawn line.
	assert.Equal(t, b.Retries, strings.Count(out, "; re-queued\n"))
	last := out[strings.LastIndex(out, "\r\x1b[K")+len("\r\x1b[K"):]
	assert.Contains(t, last, fmt.Sprintf("%d/%d done", len(b.Jobs), len(b.Jobs)))
}

func TestTableAndSummary(t *testing.T) {
	b, _ := runWithProgress(t, Await, false)
	var out bytes.Buffer
	PrintTable(&out, b)
	PrintSummary(&out, b)
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	require.Len(t, lines, 1+len(b.Jobs)+1)
	assert.Regexp(t, `^JOB +STATE +ATTEMPTS +REMOTE ID +STARTED +DURATION +MESSAGE$`, lines[0])
	for i, j := range b.Jobs {
		f := strings.Fields(lines[1+i])
		require.GreaterOrEqual(t, len(f), 7, lines[1+i])
		assert.Equal(t, []string{j.ID, j.State.String(), fmt.Sprint(j.Attempts), j.RemoteID}, f[:4])
		assert.True(t, strings.HasSuffix(lines[1+i], j.Message), lines[1+i])
	}
	want := fmt.Sprintf("%s: %d succeeded, %d failed | %s, %s, %s sent",
		count(len(b.Jobs), "job"), b.Count(Succeeded), b.Count(Failed),
		count(b.Retries, "retry"), count(b.Timeouts, "timeout"), count(b.Notified, "notification"))
	assert.Equal(t, want, lines[len(lines)-1])
}

func TestCount(t *testing.T) {
	assert.Equal(t, "1 retry", count(1, "retry"))
	assert.Equal(t, "0 retries", count(0, "retry"))
	assert.Equal(t, "2 jobs", count(2, "job"))
}
