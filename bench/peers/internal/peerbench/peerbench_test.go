package peerbench

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestW3Delays checks the check value WORKLOADS.md gives for N = 200,000.
func TestW3Delays(t *testing.T) {
	delays, sum := W3Delays(200_000)
	assert.Len(t, delays, 200_000)
	assert.Equal(t, "delay_sum_ms=4995728.540", W3Note(sum))
}

func TestScaled(t *testing.T) {
	assert.Equal(t, 20_000, Scaled(200_000, 0.1))
	assert.Equal(t, 1, Scaled(200_000, 1e-9), "never below 1")
}

func TestVersion(t *testing.T) {
	assert.Regexp(t, `^go1\.`, version(nil))
	assert.Equal(t, "nowhere (unknown version)", version([]string{"example.com/nowhere"}))
}
