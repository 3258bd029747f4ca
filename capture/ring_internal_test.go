package capture

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRingReadUntilStalls: with nothing written, readUntil gives up when
// its timeout fires; with audio waiting, the timeout does not matter.
func TestRingReadUntilStalls(t *testing.T) {
	r := NewRing(16)
	fired := make(chan time.Time, 1)
	fired <- time.Time{}
	n, err := r.readUntil(context.Background(), make([]float32, 4), fired)
	assert.ErrorIs(t, err, errStalled)
	assert.Zero(t, n)

	r.Write([]float32{1, 2})
	fired <- time.Time{}
	dst := make([]float32, 4)
	n, err = r.readUntil(context.Background(), dst, fired)
	require.NoError(t, err)
	assert.Equal(t, []float32{1, 2}, dst[:n])
}
