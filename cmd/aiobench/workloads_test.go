package main

import (
	"testing"
	"testing/synctest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestWorkloadsSmall runs every workload and baseline once at a small
// scale, in a synctest bubble (W3's timers take virtual time): each checks
// its own counts and sums and returns an error if they are wrong.
func TestWorkloadsSmall(t *testing.T) {
	for _, w := range append(workloads[:len(workloads):len(workloads)], baselines...) {
		t.Run(w.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r, err := w.run(0.01)
				require.NoError(t, err)
				assert.Positive(t, r.ops)
			})
		})
	}
}

// TestPickBaseline checks that -w finds baselines as well as workloads,
// and refuses a name it does not know.
func TestPickBaseline(t *testing.T) {
	ws, err := pick("w7, W7-pull")
	require.NoError(t, err)
	require.Len(t, ws, 2)
	assert.Equal(t, "W7", ws[0].name)
	assert.Equal(t, "W7-PULL", ws[1].name)
	_, err = pick("W8")
	assert.ErrorContains(t, err, `unknown workload "W8"`)
}
