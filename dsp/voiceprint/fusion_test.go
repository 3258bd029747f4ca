package voiceprint_test

import (
	"fmt"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/voxward/voxward/dsp/voiceprint"
)

// tinyFused fuses two tiny models (one with CMN, one feature-warped) whose
// cohorts are stored as float16.
func tinyFused(t testing.TB, seed uint64) *voiceprint.Model { return tinyFusedWith(t, seed, 0) }

// tinyFusedWith is tinyFused with the second branch keeping only speech
// frames frameSNR dB above the noise (when > 0: then the branches do not
// share their front end).
func tinyFusedWith(t testing.TB, seed uint64, frameSNR float64) *voiceprint.Model {
	t.Helper()
	var bs []*voiceprint.Model
	for i, warp := range []bool{true, false} {
		b := tinyModel(t, seed+uint64(i))
		cfg, p := b.Config, b.Params()
		cfg.ID = []string{"tiny-warp", "tiny-cmn"}[i]
		cfg.FeatureWarp = warp
		cfg.CohortFloat16 = true
		cfg.CohortLabels = []string{"s1", "s2", "s3", "s4", "s5"}
		if i == 1 {
			cfg.FrameSNRDB = frameSNR
		}
		m, err := voiceprint.NewModel(cfg, p)
		require.NoError(t, err)
		bs = append(bs, m)
	}
	m, err := voiceprint.NewFusedModel(voiceprint.ModelConfig{ID: "tiny-fused", Calibration: []voiceprint.CalibrationPoint{{FAR: 0.01, Threshold: 2}},
		BandLimited: &voiceprint.ConditionCalibration{Calibration: []voiceprint.CalibrationPoint{{FAR: 0.01, Threshold: 3}}},
		LearnedFrom: []string{"x1", "x2"}}, bs)
	require.NoError(t, err)
	return m
}

func TestFusedModelRoundTrip(t *testing.T) {
	m := tinyFused(t, 20)
	b, err := m.MarshalBinary()
	require.NoError(t, err)
	m2, err := voiceprint.ParseModel(b)
	require.NoError(t, err)
	assert.Equal(t, m.Config, m2.Config)
	require.NotNil(t, m2.Config.BandLimited, "the band-limited calibration is kept")
	require.Len(t, m2.Branches, 2)
	for i := range m.Branches {
		assert.Equal(t, m.Branches[i].Config, m2.Branches[i].Config)
		assert.Equal(t, m.Branches[i].Params(), m2.Branches[i].Params())
	}
	b2, err := m2.MarshalBinary()
	require.NoError(t, err)
	assert.Equal(t, b, b2)
	assert.Equal(t, 5, m2.Config.CohortSize)
	assert.Equal(t, []string{"s1", "s2", "s3", "s4", "s5"}, m2.Config.CohortLabels)
	assert.Equal(t, []string{"s1", "s2", "s3", "s4", "s5", "x1", "x2"}, m2.Config.TrainingSpeakers(),
		"the speakers an evaluation leaves out: the cohort's and those the model learned from otherwise")
	for _, cut := range []int{0, 5, 12, 20, len(b) / 3, len(b) / 2, len(b) - 1} {
		_, err := voiceprint.ParseModel(b[:cut])
		require.ErrorIs(t, err, voiceprint.ErrInvalidModel, "truncated at %d", cut)
	}
	_, err = voiceprint.ParseModel(append(b[:len(b):len(b)], 0))
	require.ErrorIs(t, err, voiceprint.ErrInvalidModel, "trailing byte")

	// Branches must share their cohort speakers.
	other := tinyModel(t, 30)
	_, err = voiceprint.NewFusedModel(voiceprint.ModelConfig{ID: "x"}, []*voiceprint.Model{m.Branches[0], other})
	require.ErrorIs(t, err, voiceprint.ErrInvalidModel)
	_, err = voiceprint.NewFusedModel(voiceprint.ModelConfig{ID: "x"}, []*voiceprint.Model{m.Branches[0]})
	require.ErrorIs(t, err, voiceprint.ErrInvalidModel)
	_, err = voiceprint.NewFusedModel(voiceprint.ModelConfig{ID: "x"}, []*voiceprint.Model{m, m})
	require.ErrorIs(t, err, voiceprint.ErrInvalidModel, "nested fusion")
}

// A float16 cohort keeps every value to half precision (relative error ≤
// 2⁻¹¹ for normal values) and halves the cohort's bytes.
func TestCohortFloat16(t *testing.T) {
	m := tinyModel(t, 40)
	cfg, p := m.Config, m.Params()
	vals := []float32{1, -2.5, 0.1, 65504, 1e-6, -3e-5, 0, 0.0078125, 7.3e-3}
	copy(p.Cohort, vals)
	full, err := voiceprint.NewModel(cfg, p)
	require.NoError(t, err)
	cfg.CohortFloat16 = true
	half, err := voiceprint.NewModel(cfg, p)
	require.NoError(t, err)
	for i, v := range full.Cohort {
		h := half.Cohort[i]
		if math.Abs(float64(v)) >= 6.2e-5 {
			assert.InDelta(t, v, h, math.Abs(float64(v))/2048, "value %d (%g)", i, v)
		} else {
			assert.InDelta(t, v, h, 3e-8, "subnormal value %d (%g)", i, v)
		}
	}
	assert.Equal(t, float32(1), half.Cohort[0])
	assert.Equal(t, float32(-2.5), half.Cohort[1])
	assert.Equal(t, float32(65504), half.Cohort[3])
	bf, err := full.MarshalBinary()
	require.NoError(t, err)
	bh, err := half.MarshalBinary()
	require.NoError(t, err)
	hdr := len(`,"cohort_float16":true`)
	assert.Equal(t, len(bf)-2*len(p.Cohort)+hdr, len(bh))
	back, err := voiceprint.ParseModel(bh)
	require.NoError(t, err)
	assert.Equal(t, half.Cohort, back.Cohort)
}

func TestFusedVoiceprintAndScore(t *testing.T) {
	// Branches sharing their front end up to normalisation, and not.
	for _, frameSNR := range []float64{0, 6} {
		t.Run(fmt.Sprintf("frame-snr-%g", frameSNR), func(t *testing.T) { testFusedVoiceprintAndScore(t, frameSNR) })
	}
}

func testFusedVoiceprintAndScore(t *testing.T, frameSNR float64) {
	m := tinyFusedWith(t, 50, frameSNR)
	ex, err := voiceprint.NewExtractor(m)
	require.NoError(t, err)
	x, y := synthVoice(3*16000, 51), synthVoice(3*16000, 52)
	a, an := ex.Embed(nil, x)
	b, _ := ex.Embed(nil, y)
	require.Len(t, a, m.EmbeddingDim())
	assert.InDelta(t, 1.0, voiceprint.Cosine(a, a), 1e-5)
	assert.Greater(t, an.SpeechSeconds, 1.0)
	a2, _ := ex.Embed(nil, x)
	require.Equal(t, a, a2, "deterministic")

	// The fused voiceprint is the branch voiceprints, each scaled by 1/√2,
	// and the fused score the mean of the branch scores.
	sc := voiceprint.NewScorer(m)
	var want float64
	off := 0
	for _, br := range m.Branches {
		bex, err := voiceprint.NewExtractor(br)
		require.NoError(t, err)
		ba, _ := bex.Embed(nil, x)
		bb, _ := bex.Embed(nil, y)
		n := len(ba)
		for i := range ba {
			require.InDelta(t, ba[i]/math.Sqrt2, a[off+i], 1e-6)
		}
		want += voiceprint.NewScorer(br).Score(ba, bb) / 2
		off += n
	}
	assert.Equal(t, len(a), off)
	assert.InDelta(t, want, sc.Score(a, b), 1e-4)
	assert.InDelta(t, sc.Score(a, b), sc.Score(b, a), 1e-9)
	na := sc.CohortNorm(a)
	require.Len(t, na.Branches, 2)
	thr, err := sc.Threshold(0.01)
	require.NoError(t, err)
	assert.Equal(t, 2.0, thr)
	nb := sc.CohortNorm(b)
	got := sc.Identify(a, []voiceprint.Candidate{{ID: "x", Emb: a, Norm: na}, {ID: "y", Emb: b, Norm: nb}}, thr)
	sx, sy := sc.ScoreWithNorms(a, a, na, na), sc.ScoreWithNorms(b, a, nb, na)
	best := map[bool]string{true: "x", false: "y"}[sx >= sy]
	assert.Equal(t, best, got.ID)
	assert.Equal(t, max(sx, sy), got.Score)
	assert.Equal(t, got.Score >= thr, got.Known)

	// Normalize restores each branch part to length 1/√2.
	v := make([]float32, len(a))
	for i := range v {
		v[i] = 3*a[i] + b[i]
	}
	m.Normalize(v)
	off = 0
	for _, br := range m.Branches {
		n := br.Config.EmbeddingDim()
		assert.InDelta(t, 0.5, voiceprint.Cosine(v[off:off+n], v[off:off+n]), 1e-5)
		off += n
	}
}

func TestFusedStatsPoolLikeEnrolment(t *testing.T) {
	m := tinyFused(t, 60)
	ex, err := voiceprint.NewExtractor(m)
	require.NoError(t, err)
	x := synthVoice(4*16000, 61)
	whole := ex.NewStats()
	ex.Accumulate(whole, x)
	parts := ex.NewStats()
	one := ex.NewStats()
	ex.Accumulate(one, x[:2*16000])
	parts.Add(one)
	c := one.Clone()
	one.Reset()
	ex.Accumulate(one, x[2*16000:])
	parts.Add(one)
	require.Len(t, parts.Branches, 2)
	assert.Equal(t, parts.Frames, parts.Branches[0].Frames)
	assert.Greater(t, c.Branches[1].Frames, 0)
	assert.Zero(t, one.Branches[0].Frames-one.Frames)
	v := m.Voiceprint(nil, parts)
	assert.InDelta(t, 1.0, voiceprint.Cosine(v, v), 1e-5)
	w := m.Voiceprint(nil, whole)
	assert.Greater(t, voiceprint.Cosine(v, w), 0.5, "pooled halves resemble the whole")
}

// Compact rows: NAP directions as int8 and cohort voiceprints as 4-bit
// values, each row with a scale; the model round-trips bit for bit
// (NewModel already holds the values storage gives back).
func TestCompactRows(t *testing.T) {
	m := tinyModel(t, 3)
	cfg, p := m.Config, m.Params()
	cfg.CompactRows = true
	q, err := voiceprint.NewModel(cfg, p)
	require.NoError(t, err)
	b, err := q.MarshalBinary()
	require.NoError(t, err)
	full, err := m.MarshalBinary()
	require.NoError(t, err)
	assert.Less(t, len(b), len(full))
	back, err := voiceprint.ParseModel(b)
	require.NoError(t, err)
	assert.Equal(t, q.NAP, back.NAP)
	assert.Equal(t, q.Cohort, back.Cohort)
	again, err := back.MarshalBinary()
	require.NoError(t, err)
	assert.Equal(t, b, again, "marshal, parse, marshal gives the same bytes")
	for i, v := range p.NAP {
		assert.InDelta(t, v, q.NAP[i], 2*float64(maxAbs(p.NAP))/127, "NAP value %d", i)
	}
	for i, v := range p.Cohort {
		assert.InDelta(t, v, q.Cohort[i], 2*float64(maxAbs(p.Cohort))/7, "cohort value %d", i)
	}
	assert.NotEqual(t, p.Cohort, q.Cohort, "the cohort is rounded")
	_, err = voiceprint.ParseModel(b[:len(b)-1])
	require.ErrorIs(t, err, voiceprint.ErrInvalidModel)
	cfg.CohortFloat16 = true
	_, err = voiceprint.NewModel(cfg, p)
	require.ErrorIs(t, err, voiceprint.ErrInvalidModel)
}

func maxAbs(a []float32) float32 {
	var m float32
	for _, v := range a {
		m = max(m, float32(math.Abs(float64(v))))
	}
	return m
}

// A fused model's score is the weighted mean of its branches' s-normalised
// scores; the weights survive the file, and bad ones are refused.
func TestFusedModelBranchWeights(t *testing.T) {
	eq := tinyFused(t, 30)
	w := []float64{0.7, 0.3}
	cfg := eq.Config
	cfg.BranchWeights = w
	m, err := voiceprint.NewFusedModel(cfg, eq.Branches)
	require.NoError(t, err)
	b, err := m.MarshalBinary()
	require.NoError(t, err)
	m2, err := voiceprint.ParseModel(b)
	require.NoError(t, err)
	assert.Equal(t, w, m2.Config.BranchWeights)

	ex, err := voiceprint.NewExtractor(m)
	require.NoError(t, err)
	a, _ := ex.Embed(nil, synthVoice(3*16000, 1))
	c, _ := ex.Embed(nil, synthVoice(3*16000, 2))
	ed := m.Branches[0].Config.EmbeddingDim()
	part := func(i int) float64 { return 2 * voiceprint.Cosine(a[i*ed:(i+1)*ed], c[i*ed:(i+1)*ed]) } // each part is 1/√2 long
	for _, tc := range []struct {
		m *voiceprint.Model
		w []float64
	}{{m, w}, {m2, w}, {eq, []float64{0.5, 0.5}}} {
		sc := voiceprint.NewScorer(tc.m)
		na, nc := sc.CohortNorm(a), sc.CohortNorm(c)
		var want float64
		for i := range 2 {
			want += tc.w[i] * sc.NormScore(part(i), na.Branches[i], nc.Branches[i])
		}
		assert.InDelta(t, want, sc.Score(a, c), 1e-5, "weights %v", tc.w)
	}
	// The two weightings differ on this pair, so the weights were used.
	assert.NotEqual(t, voiceprint.NewScorer(eq).Score(a, c), voiceprint.NewScorer(m).Score(a, c))

	for _, bad := range [][]float64{{1}, {0.5, 0.6}, {1, 0}, {-0.5, 1.5}, {math.NaN(), 1}, {math.Inf(1), 0}, {0.5, 0.5, 0}} {
		cfg.BranchWeights = bad
		_, err := voiceprint.NewFusedModel(cfg, eq.Branches)
		assert.ErrorIs(t, err, voiceprint.ErrInvalidModel, "weights %v", bad)
	}
	single := m.Branches[0].Config
	single.BranchWeights = []float64{1}
	_, err = voiceprint.NewModel(single, m.Branches[0].Params())
	assert.ErrorIs(t, err, voiceprint.ErrInvalidModel, "a single model has no branch weights")
}

// withContent is m (fused) with content matching of weight w and centre c.
func withContent(t testing.TB, m *voiceprint.Model, w, c float64) *voiceprint.Model {
	t.Helper()
	cfg := m.Config
	cfg.ContentWeight, cfg.ContentCentre = w, c
	out, err := voiceprint.NewFusedModel(cfg, m.Branches)
	require.NoError(t, err)
	return out
}

// Content matching (ModelConfig.ContentWeight): the voiceprint ends with
// √(N_c/ΣN) of branch 0's statistics, and a pair's score is the same
// model's without it less the weight times (the two content parts' dot
// product less the centre), in every scoring path; the model file keeps
// both figures.
func TestContentMatching(t *testing.T) {
	plain := tinyFused(t, 60)
	m := withContent(t, plain, 4, 0.6)
	b, err := m.MarshalBinary()
	require.NoError(t, err)
	m2, err := voiceprint.ParseModel(b)
	require.NoError(t, err)
	assert.Equal(t, 4.0, m2.Config.ContentWeight)
	assert.Equal(t, 0.6, m2.Config.ContentCentre)
	comps := plain.Branches[0].Config.Components
	require.Equal(t, plain.EmbeddingDim()+comps, m.EmbeddingDim())

	ex, err := voiceprint.NewExtractor(m)
	require.NoError(t, err)
	ex0, err := voiceprint.NewExtractor(plain)
	require.NoError(t, err)
	x, y := synthVoice(3*16000, 1), synthVoice(3*16000, 2)
	a, _ := ex.Embed(nil, x)
	c, _ := ex.Embed(nil, y)
	a0, _ := ex0.Embed(nil, x)
	c0, _ := ex0.Embed(nil, y)
	require.Equal(t, a0, a[:len(a0)], "the branch parts are the plain model's")
	st := ex.NewStats()
	ex.Accumulate(st, x)
	var sum float64
	for _, n := range st.Branches[0].N {
		sum += n
	}
	require.Positive(t, sum)
	for k, n := range st.Branches[0].N {
		assert.InDelta(t, math.Sqrt(n/sum), a[len(a0)+k], 1e-6, "component %d", k)
	}
	var bc float64
	for k := range comps {
		bc += float64(a[len(a0)+k]) * float64(c[len(c0)+k])
	}
	require.Greater(t, bc, 0.3)

	sc, sc0 := voiceprint.NewScorer(m), voiceprint.NewScorer(plain)
	want := sc0.Score(a0, c0) - 4*(bc-0.6)
	assert.InDelta(t, want, sc.Score(a, c), 1e-5)
	assert.InDelta(t, want, voiceprint.NewScorer(m2).Score(a, c), 1e-5)
	// Identification, through the float32 voiceprint and the compact copy.
	tn := sc.CohortNorm(c)
	for _, cand := range []voiceprint.Candidate{{ID: "a", Emb: a, Norm: sc.CohortNorm(a)}, sc.NewCandidate("a", a)} {
		assert.InDelta(t, want, sc.IdentifyWithNorm(c, tn, []voiceprint.Candidate{cand}, 0).Score, 1e-5)
	}
	compact := sc.NewCandidate("a", a)
	compact.Emb = nil
	assert.InDelta(t, want, sc.IdentifyWithNorm(c, tn, []voiceprint.Candidate{compact}, 0).Score, 0.1)

	// Pooling keeps the content part a unit vector.
	pooled := make([]float32, len(a))
	for i := range pooled {
		pooled[i] = a[i] + c[i]
	}
	m.Normalize(pooled)
	var n2 float64
	for _, v := range pooled[len(a0):] {
		n2 += float64(v) * float64(v)
	}
	assert.InDelta(t, 1, n2, 1e-5)

	for _, bad := range [][2]float64{{-1, 0}, {math.NaN(), 0}, {1, math.Inf(1)}} {
		cfg := plain.Config
		cfg.ContentWeight, cfg.ContentCentre = bad[0], bad[1]
		_, err := voiceprint.NewFusedModel(cfg, plain.Branches)
		assert.ErrorIs(t, err, voiceprint.ErrInvalidModel, "content %v", bad)
	}
	single := plain.Branches[0].Config
	single.ContentWeight = 1
	_, err = voiceprint.NewModel(single, plain.Branches[0].Params())
	assert.ErrorIs(t, err, voiceprint.ErrInvalidModel, "a single model has no content part")
}

// A KeepMeans model scores the frames as the front end makes them, where
// CMN takes out each utterance's mean: the mean the third branch of the
// shipped model compares.
func TestKeepMeansKeepsTheMean(t *testing.T) {
	base := tinyModel(t, 40)
	cfg := base.Config
	cfg.KeepMeans = true
	m, err := voiceprint.NewModel(cfg, base.Params())
	require.NoError(t, err)
	ex, err := voiceprint.NewExtractor(m)
	require.NoError(t, err)
	cmn, err := voiceprint.NewExtractor(base)
	require.NoError(t, err)
	fe, err := voiceprint.NewSpeechFeatures(cfg)
	require.NoError(t, err)
	x := synthVoice(3*16000, 3)
	raw, _ := fe.ComputeRaw(x)
	raw = append([]float32(nil), raw...)
	kept, _ := ex.Features(x)
	assert.Equal(t, raw, kept)
	normed, _ := cmn.Features(x)
	require.Equal(t, len(raw), len(normed))
	d := cfg.FeatureDim()
	colMean := func(f []float32, j int) float64 {
		var s float64
		for i := j; i < len(f); i += d {
			s += float64(f[i])
		}
		return s / float64(len(f)/d)
	}
	assert.InDelta(t, 0, colMean(normed, 1), 1e-3, "CMN removes c1's mean")
	assert.Greater(t, math.Abs(colMean(kept, 1)), 0.1, "KeepMeans keeps it")

	cfg.FeatureWarp = true
	_, err = voiceprint.NewModel(cfg, base.Params())
	assert.ErrorIs(t, err, voiceprint.ErrInvalidModel, "warping and keeping the means")
}
