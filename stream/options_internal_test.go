package stream

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestFallbackDelayReachesTheDialer(t *testing.T) {
	assert.Zero(t, newConfig(nil).netDialer().FallbackDelay, "net.Dialer's default")
	assert.Equal(t, 50*time.Millisecond, newConfig([]Option{WithFallbackDelay(50 * time.Millisecond)}).netDialer().FallbackDelay)
	assert.Equal(t, -time.Duration(1), newConfig([]Option{WithFallbackDelay(-1)}).netDialer().FallbackDelay, "negative: no fallback")
}
