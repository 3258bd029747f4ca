package agent

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	vsync "github.com/voxward/voxward/sync"
	"github.com/voxward/voxward/vault"
)

func deidTemplates(n, dim int, model string) []vault.DeidTemplate {
	out := make([]vault.DeidTemplate, n)
	for i := range out {
		v := make([]float32, dim)
		v[i%dim] = 1
		out[i] = vault.DeidTemplate{ID: vault.NewID(), ModelID: model, Embedding: v, Research: true}
	}
	return out
}

// A group below the minimum waits; a group over the per-batch cap sends
// as many as the cap allows and the rest wait; every record decodes.
func TestTemplateRecordsMinimumAndCap(t *testing.T) {
	recs, used, err := templateRecords(deidTemplates(4, 64, "m1"), 5)
	require.NoError(t, err)
	assert.Empty(t, recs, "4 templates went out with a minimum of 5")
	assert.Empty(t, used)

	const dim = 1 << 16 // the cap allows 64 of them
	tpls := append(deidTemplates(70, dim, "big"), deidTemplates(6, 64, "small")...)
	recs, used, err = templateRecords(tpls, 5)
	require.NoError(t, err)
	assert.Len(t, used, 64, "templates of %d values in one batch", dim)
	assert.Len(t, recs, 64)
	for _, l := range recs {
		r, err := vsync.DecodeRecord(l)
		require.NoError(t, err)
		assert.Equal(t, "big", r.Template.Model)
	}
	// The next batch takes the rest, with the small group.
	rest := tpls[64:]
	recs, used, err = templateRecords(rest, 5)
	require.NoError(t, err)
	assert.Len(t, used, 12)
	assert.Len(t, recs, 12)
}
