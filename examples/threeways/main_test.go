package main

import (
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestStylesAgree runs the flow in each style and checks that the three
// print the same trace and return the same outcome, with and without the
// failing step 2.
func TestStylesAgree(t *testing.T) {
	for _, tc := range []struct {
		name       string
		ordersDown bool
		wantTrace  string
		wantTotal  Cents
		wantErr    error
	}{{
		name:      "success",
		wantTrace: "fetchUser(1) -> Ada\nfetchOrders(Ada) -> 3 orders\ntotal(3 orders) -> $42.50\n",
		wantTotal: 4250,
	}, {
		name:       "step 2 fails",
		ordersDown: true,
		wantTrace:  "fetchUser(1) -> Ada\nfetchOrders(Ada) -> error: orders service unavailable\n",
		wantErr:    ErrOrdersUnavailable,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			for _, style := range styles {
				var out strings.Builder
				total, err := runStyle(&out, style, tc.ordersDown)
				assert.Equal(t, tc.wantTrace, out.String(), style)
				assert.Equal(t, tc.wantTotal, total, style)
				if tc.wantErr == nil {
					assert.NoError(t, err, style)
				} else {
					require.ErrorIs(t, err, tc.wantErr, style)
					assert.EqualError(t, err, "orders of Ada: orders service unavailable", style)
				}
			}
		})
	}
}

func Example() {
	if err := run(os.Stdout); err != nil {
		panic(err)
	}
	// Output:
	// == callbacks, orders service down: false ==
	// fetchUser(1) -> Ada
	// fetchOrders(Ada) -> 3 orders
	// total(3 orders) -> $42.50
	// total: $42.50
	// == await, orders service down: false ==
	// fetchUser(1) -> Ada
	// fetchOrders(Ada) -> 3 orders
	// total(3 orders) -> $42.50
	// total: $42.50
	// == wait, orders service down: false ==
	// fetchUser(1) -> Ada
	// fetchOrders(Ada) -> 3 orders
	// total(3 orders) -> $42.50
	// total: $42.50
	// == callbacks, orders service down: true ==
	// fetchUser(1) -> Ada
	// fetchOrders(Ada) -> error: orders service unavailable
	// error: orders of Ada: orders service unavailable
	// == await, orders service down: true ==
	// fetchUser(1) -> Ada
	// fetchOrders(Ada) -> error: orders service unavailable
	// error: orders of Ada: orders service unavailable
	// == wait, orders service down: true ==
	// fetchUser(1) -> Ada
	// fetchOrders(Ada) -> error: orders service unavailable
	// error: orders of Ada: orders service unavailable
}
