package voiceprint_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/voxward/voxward/dsp/voiceprint"
	"github.com/voxward/voxward/dsp/voiceprint/eval"
	"github.com/voxward/voxward/internal/audiotest"
	"github.com/voxward/voxward/internal/modeltest"
)

// tinyModel builds a small random but valid model (4 parents × 2
// children, 6 MFCCs + Δ) so tests of the machinery run fast without the
// shipped model.
func tinyModel(t testing.TB, seed uint64) *voiceprint.Model {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, 1))
	cfg := voiceprint.ModelConfig{ID: "tiny-test", NumCeps: 6, NumMelBins: 23, LowFreq: 20, DeltaOrder: 1, DeltaWindow: 2,
		Components: 8, Parents: 4, TopParents: 2, TopN: 3, Relevance: 16, NAPRank: 1, CohortSize: 5, CohortTop: 3,
		Calibration: []voiceprint.CalibrationPoint{{FAR: 0.01, Threshold: 2}, {FAR: 0.001, Threshold: 3}}}
	d, ed := cfg.FeatureDim(), cfg.EmbeddingDim()
	gauss := func(n int, s float64) []float32 {
		out := make([]float32, n)
		for i := range out {
			out[i] = float32(s * r.NormFloat64())
		}
		return out
	}
	ones := func(n int, v float32) []float32 {
		out := make([]float32, n)
		for i := range out {
			out[i] = v
		}
		return out
	}
	parentOf := []int32{0, 0, 1, 1, 2, 2, 3, 3}
	nap := gauss(ed, 1)
	var n float64
	for _, v := range nap {
		n += float64(v) * float64(v)
	}
	for i := range nap {
		nap[i] /= float32(math.Sqrt(n))
	}
	cohort := unitRows(r, cfg.CohortSize, ed)
	m, err := voiceprint.NewModel(cfg, voiceprint.ModelParams{
		UBMWeights: ones(8, 0.125), UBMMeans: gauss(8*d, 3), UBMVars: ones(8*d, 4),
		ParentWeights: ones(4, 0.25), ParentMeans: gauss(4*d, 3), ParentVars: ones(4*d, 9),
		ParentOf: parentOf, Center: gauss(ed, 0.01), NAP: nap, Cohort: cohort,
	})
	require.NoError(t, err)
	return m
}

func TestModelRoundTrip(t *testing.T) {
	m := tinyModel(t, 1)
	b, err := m.MarshalBinary()
	require.NoError(t, err)
	m2, err := voiceprint.ParseModel(b)
	require.NoError(t, err)
	assert.Equal(t, m.Config, m2.Config)
	assert.Equal(t, m.Params(), m2.Params())
	b2, err := m2.MarshalBinary()
	require.NoError(t, err)
	assert.Equal(t, b, b2)

	for _, cut := range []int{0, 5, 12, len(b) / 2, len(b) - 1} {
		_, err := voiceprint.ParseModel(b[:cut])
		require.ErrorIs(t, err, voiceprint.ErrInvalidModel, "truncated at %d", cut)
	}
}

func TestShippedModel(t *testing.T) {
	m, err := modeltest.Model(t), error(nil)
	require.NoError(t, err)
	c := m.Config
	assert.NotEmpty(t, c.ID)
	assert.NotEmpty(t, c.Calibration)
	assert.Len(t, c.CohortLabels, c.CohortSize)
	assert.Contains(t, c.Training, "CC BY 4.0")
	// Four branches over the same cohort: feature-warped and plain CMN
	// (compact rows), the mean branch (frames kept as they are, one
	// component, a float16 cohort) and the neural branch (a 256-value
	// embedding, a 4-bit cohort), weighted 0.24, 0.24, 0.12 and 0.4.
	require.Len(t, m.Branches, 4)
	assert.True(t, m.Branches[0].Config.FeatureWarp)
	assert.False(t, m.Branches[1].Config.FeatureWarp || m.Branches[1].Config.KeepMeans)
	mb := m.Branches[2].Config
	assert.True(t, mb.KeepMeans)
	assert.Equal(t, 1, mb.Components)
	assert.Equal(t, 60, mb.EmbeddingDim())
	assert.True(t, mb.CohortFloat16)
	nb := m.Branches[3]
	require.NotNil(t, nb.Net)
	assert.Equal(t, 256, nb.Config.EmbeddingDim())
	assert.True(t, nb.Config.KeepMeans)
	assert.Equal(t, 31036, m.EmbeddingDim())
	assert.InDeltaSlice(t, []float64{0.24, 0.24, 0.12, 0.4}, c.BranchWeights, 1e-12)
	for i, br := range m.Branches {
		assert.Equal(t, c.CohortLabels, br.Config.CohortLabels)
		assert.Equal(t, i != 2, br.Config.CompactRows)
		assert.Equal(t, i < 3, br.Config.ParamsFloat16, "the GMM branches at half precision")
		assert.Contains(t, br.Config.Training, "CC BY 4.0")
	}
	// Calibration tables: a lower false-accept rate needs a higher
	// threshold, and so does a larger session (IdentifyThreshold relies on
	// that when it rounds a session size up).
	for _, p := range c.Calibration {
		for _, q := range c.Calibration {
			if p.FAR < q.FAR {
				assert.Greater(t, p.Threshold, q.Threshold, "verification: FAR %g vs %g", p.FAR, q.FAR)
			}
		}
	}
	require.NotEmpty(t, c.IdentifyCalibration)
	for _, p := range c.IdentifyCalibration {
		for _, q := range c.IdentifyCalibration {
			if p.FAR == q.FAR && p.Enrolled < q.Enrolled {
				assert.LessOrEqual(t, p.Threshold, q.Threshold, "open set at FAR %g: %d vs %d enrolled", p.FAR, p.Enrolled, q.Enrolled)
			}
			if p.Enrolled == q.Enrolled && p.FAR < q.FAR {
				assert.Greater(t, p.Threshold, q.Threshold, "open set with %d enrolled: FAR %g vs %g", p.Enrolled, p.FAR, q.FAR)
			}
		}
	}
	b, err := m.MarshalBinary()
	require.NoError(t, err)
	assert.LessOrEqual(t, len(b), 4<<20, "model larger than 4 MiB")
}

func TestEmbedDeterministicUnit(t *testing.T) {
	m := tinyModel(t, 2)
	ex, err := voiceprint.NewExtractor(m)
	require.NoError(t, err)
	x := synthVoice(3*16000, 3)
	a, an := ex.Embed(nil, x)
	b, _ := ex.Embed(nil, x)
	require.Equal(t, a, b, "Embed is not deterministic")
	require.Len(t, a, m.EmbeddingDim())
	assert.InDelta(t, 1.0, voiceprint.Cosine(a, a), 1e-5)
	assert.InDelta(t, 3.0, an.Seconds, 1e-9)
	assert.Greater(t, an.SpeechSeconds, 1.0)
	// A second extractor agrees bit for bit.
	ex2, err := voiceprint.NewExtractor(m)
	require.NoError(t, err)
	c, _ := ex2.Embed(nil, x)
	require.Equal(t, a, c)
}

func TestEmbedEdgeInputs(t *testing.T) {
	ex, err := voiceprint.NewExtractor(tinyModel(t, 4))
	require.NoError(t, err)
	for _, x := range [][]float32{nil, make([]float32, 100), make([]float32, 16000)} {
		e, a := ex.Embed(nil, x)
		require.Len(t, e, ex.Model().EmbeddingDim())
		for _, v := range e {
			require.False(t, math.IsNaN(float64(v)))
		}
		assert.Zero(t, a.SpeechFrames)
	}
}

func TestEmbedAllocs(t *testing.T) {
	ex, err := voiceprint.NewExtractor(tinyModel(t, 5))
	require.NoError(t, err)
	x := synthVoice(16000, 6)
	emb, _ := ex.Embed(nil, x)
	allocs := testing.AllocsPerRun(5, func() { emb, _ = ex.Embed(emb, x) })
	// dsp.Deltas builds its regression filters on every call (a handful
	// of small allocations); everything else reuses the extractor's
	// scratch, so the count stays small and does not grow with the input.
	assert.LessOrEqual(t, allocs, 8.0, "Embed allocates in steady state")
	long := synthVoice(5*16000, 6)
	emb, _ = ex.Embed(emb, long)
	allocsLong := testing.AllocsPerRun(5, func() { emb, _ = ex.Embed(emb, long) })
	assert.Equal(t, allocs, allocsLong, "allocations grow with the input")
}

func TestAugmentations(t *testing.T) {
	x := synthVoice(16000, 7)
	tel := eval.Telephone(nil, x)
	require.Len(t, tel, len(x))
	// The band above 3.4 kHz is gone: a 6 kHz tone is attenuated > 30 dB.
	hi := make([]float32, 16000)
	for i := range hi {
		hi[i] = float32(10000 * math.Sin(2*math.Pi*6000*float64(i)/16000))
	}
	assert.Less(t, audiotest.RMS(eval.Telephone(nil, hi)[200:15800]), audiotest.RMS(hi)/30)
	n := eval.AddNoise(nil, x, 10, 1)
	var pn float64
	for i := range x {
		d := float64(n[i] - x[i])
		pn += d * d
	}
	snr := 10 * math.Log10(audiotest.RMS(x)*audiotest.RMS(x)*float64(len(x))/pn)
	assert.InDelta(t, 10, snr, 0.1)
	assert.Equal(t, n, eval.AddNoise(nil, x, 10, 1), "noise is seeded")

	// NarrowBand keeps what an 8 kHz recording keeps and nothing above
	// 4 kHz: a 1 kHz tone passes (within 0.1 dB, residue below -60 dB),
	// a 6 kHz tone comes out below -60 dB.
	lo := make([]float32, 16000)
	for i := range lo {
		lo[i] = float32(10000 * math.Sin(2*math.Pi*1000*float64(i)/16000))
	}
	nb := eval.NarrowBand(nil, lo)
	require.Len(t, nb, len(lo))
	fit := audiotest.FitSine(nb[400:15600], 1000, 16000)
	assert.InDelta(t, 10000, fit.Amp(), 10000*0.012, "1 kHz passes")
	assert.Less(t, fit.ResidualRMS, 10.0, "and comes out clean")
	assert.Less(t, audiotest.RMS(eval.NarrowBand(nil, hi)[400:15600]), audiotest.RMS(hi)/1000, "6 kHz is gone")
	assert.Equal(t, nb, eval.NarrowBand(nil, lo), "deterministic")
}

func FuzzParseModel(f *testing.F) {
	m := tinyModel(f, 9)
	b, err := m.MarshalBinary()
	require.NoError(f, err)
	f.Add(b)
	f.Add(b[:40])
	f.Add([]byte("VXVPMDL1\x02\x00\x00\x00{}"))
	fb, err := tinyFused(f, 10).MarshalBinary()
	require.NoError(f, err)
	f.Add(fb)
	f.Add([]byte("VXVPFUS1\x0e\x00\x00\x00{\"branches\":2}"))
	nb, err := tinyFusedNeural(f, 11).MarshalBinary()
	require.NoError(f, err)
	f.Add(nb)
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > 1<<20 {
			return
		}
		m, err := voiceprint.ParseModel(b)
		if err != nil {
			require.ErrorIs(t, err, voiceprint.ErrInvalidModel)
			return
		}
		out, err := m.MarshalBinary()
		require.NoError(t, err)
		m2, err := voiceprint.ParseModel(out)
		require.NoError(t, err)
		require.Equal(t, m.Config, m2.Config)
	})
}

// With (almost) nothing subtracted, the noise-subtracting front end is
// the MFCC front end: its own DCT and lifter agree with dsp.MFCC.
func TestNoiseSubtractionDegeneratesToMFCC(t *testing.T) {
	cfg := voiceprint.ModelConfig{ID: "x", NumCeps: 20, NumMelBins: 40, LowFreq: 20, DeltaOrder: 2, DeltaWindow: 2}
	plain, err := voiceprint.NewSpeechFeatures(cfg)
	require.NoError(t, err)
	cfg.NoiseSubtraction, cfg.NoiseFloor = 1e-12, 1e-12
	ns, err := voiceprint.NewSpeechFeatures(cfg)
	require.NoError(t, err)
	x := synthVoice(2*16000, 8)
	a, _ := plain.Compute(x)
	a = append([]float32(nil), a...)
	b, _ := ns.Compute(x)
	require.Len(t, b, len(a))
	for i := range a {
		require.InDelta(t, a[i], b[i], 2e-3*(1+math.Abs(float64(a[i]))), "value %d", i)
	}
}

func TestReverbKeepsPowerAndIsSeeded(t *testing.T) {
	x := synthVoice(2*16000, 10)
	y := eval.Reverb(nil, x, 0.5, 3)
	require.Len(t, y, len(x))
	assert.InDelta(t, 1.0, audiotest.RMS(y)/audiotest.RMS(x), 0.3)
	assert.Equal(t, y, eval.Reverb(nil, x, 0.5, 3))
	assert.NotEqual(t, y, eval.Reverb(nil, x, 0.5, 4))
}
