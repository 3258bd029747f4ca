package voiceprint_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/voxward/voxward/dsp/voiceprint"
	"github.com/voxward/voxward/dsp/voiceprint/tdnn"
)

// tinyNeuralConfig is a neural branch's header with tinyModel's front end.
func tinyNeuralConfig() voiceprint.ModelConfig {
	return voiceprint.ModelConfig{ID: "tiny-neural", NumCeps: 6, NumMelBins: 23, LowFreq: 20, DeltaOrder: 1, DeltaWindow: 2,
		KeepMeans: true, CohortSize: 5, CohortTop: 3, CompactRows: true, CohortLabels: []string{"s1", "s2", "s3", "s4", "s5"},
		Neural: &tdnn.Config{Input: 12, Width: 8, Dim: 16}}
}

// tinyNeural returns a neural branch with a random network, centre and
// cohort, and the network as given to NewNeuralModel.
func tinyNeural(t testing.TB, seed uint64) (*voiceprint.Model, *tdnn.Net) {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, 2))
	cfg := tinyNeuralConfig()
	net, err := tdnn.New(*cfg.Neural, r)
	require.NoError(t, err)
	ed := cfg.EmbeddingDim()
	center := make([]float32, ed)
	for i := range center {
		center[i] = float32(0.01 * r.NormFloat64())
	}
	m, err := voiceprint.NewNeuralModel(cfg, net, center, unitRows(r, cfg.CohortSize, ed))
	require.NoError(t, err)
	return m, net
}

// tinyFusedNeural is tinyFused with a neural third branch.
func tinyFusedNeural(t testing.TB, seed uint64) *voiceprint.Model {
	t.Helper()
	g := tinyFused(t, seed)
	nb, _ := tinyNeural(t, seed+7)
	m, err := voiceprint.NewFusedModel(voiceprint.ModelConfig{ID: "tiny-fused-neural", Calibration: g.Config.Calibration,
		BranchWeights: []float64{0.3, 0.3, 0.4}}, append(g.Branches, nb))
	require.NoError(t, err)
	return m
}

func TestNeuralModelRoundTrip(t *testing.T) {
	m := tinyFusedNeural(t, 70)
	b, err := m.MarshalBinary()
	require.NoError(t, err)
	m2, err := voiceprint.ParseModel(b)
	require.NoError(t, err)
	require.Len(t, m2.Branches, 3)
	nb, nb2 := m.Branches[2], m2.Branches[2]
	assert.Equal(t, nb.Config, nb2.Config)
	assert.Equal(t, nb.Params(), nb2.Params())
	assert.True(t, tdnn.Equal(nb.Net, nb2.Net), "the network survives the file")
	b2, err := m2.MarshalBinary()
	require.NoError(t, err)
	assert.Equal(t, b, b2)
	assert.Equal(t, 2*96+16, m.EmbeddingDim(), "voiceprint: two 96-value branches and the network's 16")
	for _, cut := range []int{len(b) - 1, len(b) - 200, len(b) - 2000, len(b) - 3000} {
		_, err := voiceprint.ParseModel(b[:cut])
		require.ErrorIs(t, err, voiceprint.ErrInvalidModel, "truncated at %d", cut)
	}
	_, err = voiceprint.ParseModel(append(b[:len(b):len(b)], 0))
	require.ErrorIs(t, err, voiceprint.ErrInvalidModel, "trailing byte")
}

// NewNeuralModel keeps what the file keeps (the network's 8-bit weights,
// the cohort's 4-bit rows) without touching the caller's network, and
// refuses a header that does not fit.
func TestNewNeuralModel(t *testing.T) {
	m, net := tinyNeural(t, 80)
	orig, err := net.MarshalBinary()
	require.NoError(t, err)
	after, err := net.MarshalBinary()
	require.NoError(t, err)
	assert.Equal(t, orig, after, "the caller's network is unchanged")
	rounded, err := tdnn.Unmarshal(orig)
	require.NoError(t, err)
	rounded.Round()
	assert.True(t, tdnn.Equal(rounded, m.Net), "the model holds the rounded network")

	cfg := tinyNeuralConfig()
	center, cohort := m.Center, m.Cohort
	bad := map[string]func(c *voiceprint.ModelConfig){
		"other shape":     func(c *voiceprint.ModelConfig) { c.Neural = &tdnn.Config{Input: 12, Width: 8, Dim: 15} },
		"normalised":      func(c *voiceprint.ModelConfig) { c.KeepMeans = false },
		"warped":          func(c *voiceprint.ModelConfig) { c.FeatureWarp = true },
		"frames too wide": func(c *voiceprint.ModelConfig) { c.DeltaOrder = 2 },
		"a UBM":           func(c *voiceprint.ModelConfig) { c.Components = 8 },
		"NAP":             func(c *voiceprint.ModelConfig) { c.NAPRank = 1 },
		"cohort size":     func(c *voiceprint.ModelConfig) { c.CohortSize = 4 },
	}
	for name, f := range bad {
		c := cfg
		f(&c)
		_, err := voiceprint.NewNeuralModel(c, net, center, cohort)
		assert.ErrorIs(t, err, voiceprint.ErrInvalidModel, name)
	}
	_, err = voiceprint.NewNeuralModel(cfg, net, center[1:], cohort)
	assert.ErrorIs(t, err, voiceprint.ErrInvalidModel, "short centre")
}

// A neural branch's part of a voiceprint is the network's embedding of the
// front end's speech frames, less the centre, at unit length, scaled like
// every branch's.
func TestNeuralVoiceprintIsTheNetwork(t *testing.T) {
	m := tinyFusedNeural(t, 90)
	ex, err := voiceprint.NewExtractor(m)
	require.NoError(t, err)
	x := synthVoice(3*16000, 91)
	v, _ := ex.Embed(nil, x)
	require.Len(t, v, m.EmbeddingDim())

	nb := m.Branches[2]
	fe, err := voiceprint.NewSpeechFeatures(nb.Config)
	require.NoError(t, err)
	frames, _ := fe.Compute(x)
	want, err := nb.Net.Embed(frames)
	require.NoError(t, err)
	var s float64
	for i := range want {
		want[i] -= nb.Center[i]
		s += float64(want[i]) * float64(want[i])
	}
	off := len(v) - nb.Config.EmbeddingDim()
	require.Equal(t, 2*96, off)
	got := v[off:]
	for i := range want {
		assert.InDelta(t, float64(want[i])/math.Sqrt(s)/math.Sqrt(3), float64(got[i]), 1e-5, "value %d", i)
	}

	// Statistics pool across recordings: the voiceprint of two halves'
	// statistics is the network's embedding of their pooled outputs.
	parts := ex.NewStats()
	one := ex.NewStats()
	sum, sq := make([]float64, nb.Net.PoolDim()), make([]float64, nb.Net.PoolDim())
	count := 0
	for _, half := range [][]float32{x[:16000], x[16000:]} {
		one.Reset()
		ex.Accumulate(one, half)
		parts.Add(one)
		f, _ := fe.Compute(half)
		n, err := nb.Net.Accumulate(sum, sq, f)
		require.NoError(t, err)
		count += n
	}
	want = nb.Net.FromStats(nil, sum, sq, count)
	s = 0
	for i := range want {
		want[i] -= nb.Center[i]
		s += float64(want[i]) * float64(want[i])
	}
	pv := m.Voiceprint(nil, parts)
	for i := range want {
		assert.InDelta(t, float64(want[i])/math.Sqrt(s)/math.Sqrt(3), float64(pv[off+i]), 1e-5, "pooled value %d", i)
	}
	assert.InDelta(t, 1.0, voiceprint.Cosine(pv, pv), 1e-5)
	assert.False(t, math.IsNaN(voiceprint.NewScorer(m).Score(v, pv)))
}

// ParamsFloat16 keeps the UBM's and selector's means and variances and the
// centre at half precision, in half the bytes, and round-trips bit for
// bit.
func TestParamsFloat16(t *testing.T) {
	full := tinyModel(t, 100)
	cfg, p := full.Config, full.Params()
	cfg.ParamsFloat16 = true
	m, err := voiceprint.NewModel(cfg, p)
	require.NoError(t, err)
	got := m.Params()
	for name, pair := range map[string][2][]float32{
		"UBM means": {p.UBMMeans, got.UBMMeans}, "UBM variances": {p.UBMVars, got.UBMVars},
		"selector means": {p.ParentMeans, got.ParentMeans}, "selector variances": {p.ParentVars, got.ParentVars},
		"centre": {p.Center, got.Center},
	} {
		for i, v := range pair[0] {
			require.InDelta(t, v, pair[1][i], math.Abs(float64(v))/1024+1e-7, "%s[%d]", name, i)
		}
	}
	require.Equal(t, p.NAP, got.NAP, "NAP is not halved")
	bf, err := full.MarshalBinary()
	require.NoError(t, err)
	bh, err := m.MarshalBinary()
	require.NoError(t, err)
	halved := len(p.UBMMeans) + len(p.UBMVars) + len(p.ParentMeans) + len(p.ParentVars) + len(p.Center)
	require.Equal(t, len(bf)-2*halved+len(`,"params_float16":true`), len(bh))
	m2, err := voiceprint.ParseModel(bh)
	require.NoError(t, err)
	require.Equal(t, got, m2.Params())
	b2, err := m2.MarshalBinary()
	require.NoError(t, err)
	require.Equal(t, bh, b2)
	for _, cut := range []int{len(bh) - 1, len(bh) / 2} {
		_, err := voiceprint.ParseModel(bh[:cut])
		require.ErrorIs(t, err, voiceprint.ErrInvalidModel)
	}
}
