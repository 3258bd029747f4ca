package peers_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/voxward/voxward/dsp/voiceprint/peers"
	"github.com/voxward/voxward/dsp/voiceprint/train"
)

func TestValidUBMRecipe(t *testing.T) {
	assert.True(t, peers.ValidUBMRecipe(peers.DefaultUBMRecipe()))
	for _, c := range []struct {
		components, parents int
		ok                  bool
	}{
		{256, 32, true}, {64, 8, true}, {8, 8, true}, {4096, 64, true},
		{24, 8, false},  // 3 children per parent: not a power of two
		{96, 12, false}, // parents not a power of two
		{8192, 64, false}, {16, 32, false}, {16, 0, false},
	} {
		r := train.UBMRecipe{Components: c.components, Parents: c.parents}
		assert.Equal(t, c.ok, peers.ValidUBMRecipe(r), "ValidUBMRecipe(%d, %d)", c.components, c.parents)
	}
}
