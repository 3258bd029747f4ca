package eval_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/voxward/voxward/dsp/voiceprint/eval"
	"github.com/voxward/voxward/internal/modeltest"
)

// The research overrides on the fused model: a branch with fewer NAP
// directions or parents than asked (the mean branch: none, one) keeps its
// own; more than any branch has is refused.
func TestOverrideFused(t *testing.T) {
	m := modeltest.Model(t)
	require.NotEmpty(t, m.Branches)
	var mostNAP int
	for _, b := range m.Branches {
		mostNAP = max(mostNAP, b.Config.NAPRank)
	}
	o, err := eval.Override(m, -1, 5, 2)
	require.NoError(t, err)
	require.Len(t, o.Branches, len(m.Branches))
	for i, b := range o.Branches {
		assert.Equal(t, min(5, m.Branches[i].Config.NAPRank), b.Config.NAPRank, "branch %d", i)
		if m.Branches[i].Net != nil {
			assert.Zero(t, b.Config.TopParents, "branch %d, neural: no selector", i)
			continue
		}
		assert.Equal(t, min(2, m.Branches[i].Config.Parents), b.Config.TopParents, "branch %d", i)
	}
	c, err := eval.Override(m, 7, -1, -1)
	require.NoError(t, err)
	for i, b := range c.Branches {
		assert.Equal(t, 7, b.Config.CohortTop, "branch %d", i)
	}
	_, err = eval.Override(m, -1, mostNAP+1, -1)
	require.ErrorIs(t, err, eval.ErrOptions)
	assert.ErrorContains(t, err, "exceeds the model's")
}
