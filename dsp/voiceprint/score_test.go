package voiceprint_test

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/voxward/voxward/dsp/voiceprint"
	"github.com/voxward/voxward/internal/modeltest"
	"github.com/voxward/voxward/internal/testenv"
)

func TestScorerSymmetricAndThreshold(t *testing.T) {
	m := tinyModel(t, 11)
	ex, err := voiceprint.NewExtractor(m)
	require.NoError(t, err)
	a, _ := ex.Embed(nil, synthVoice(2*16000, 1))
	b, _ := ex.Embed(nil, synthVoice(2*16000, 2))
	sc := voiceprint.NewScorer(m)
	assert.InDelta(t, sc.Score(a, b), sc.Score(b, a), 1e-9)
	assert.Greater(t, voiceprint.Cosine(a, a), voiceprint.Cosine(a, b))
	n := sc.CohortNorm(a)
	assert.Greater(t, n.Std, 0.0)

	for _, c := range []struct{ far, want float64 }{{0.05, 2}, {0.01, 2}, {0.005, 3}, {0.001, 3}, {0.0001, 3}} {
		thr, err := sc.Threshold(c.far)
		require.NoError(t, err)
		assert.Equal(t, c.want, thr, "Threshold(%v)", c.far)
	}
	thr, err := sc.IdentifyThreshold(0.01, 10)
	require.NoError(t, err)
	assert.Equal(t, 3.0, thr, "per-comparison FAR 0.001")
}

func TestIdentify(t *testing.T) {
	m := tinyModel(t, 12)
	ex, err := voiceprint.NewExtractor(m)
	require.NoError(t, err)
	sc := voiceprint.NewScorer(m)
	var cands []voiceprint.Candidate
	for i, id := range []string{"a", "b", "c"} {
		e, _ := ex.Embed(nil, synthVoice(2*16000, uint64(20+i)))
		cands = append(cands, voiceprint.Candidate{ID: id, Emb: e, Norm: voiceprint.CohortNorm{Mean: 0, Std: 1}})
	}
	// The same audio as b is named b at any sane threshold.
	probe, _ := ex.Embed(nil, synthVoice(2*16000, 21))
	got := sc.Identify(probe, cands, -math.MaxFloat64)
	assert.Equal(t, "b", got.ID)
	assert.True(t, got.Known)
	// An impossible threshold makes it unknown but still reports the closest.
	got = sc.Identify(probe, cands, math.Inf(1))
	assert.False(t, got.Known)
	assert.Equal(t, "b", got.ID)
	got = sc.Identify(probe, nil, 0)
	assert.False(t, got.Known)
	assert.Empty(t, got.ID)
}

func TestIdentifyThresholdCalibrated(t *testing.T) {
	m := tinyModel(t, 13)
	cfg, p := m.Config, m.Params()
	cfg.IdentifyCalibration = []voiceprint.IdentifyCalibrationPoint{
		{Enrolled: 1, FAR: 0.01, Threshold: 1}, {Enrolled: 1, FAR: 0.001, Threshold: 1.5},
		{Enrolled: 5, FAR: 0.01, Threshold: 2}, {Enrolled: 5, FAR: 0.001, Threshold: 2.5},
		{Enrolled: 10, FAR: 0.01, Threshold: 3}, {Enrolled: 10, FAR: 0.001, Threshold: 3.5},
	}
	m, err := voiceprint.NewModel(cfg, p)
	require.NoError(t, err)
	sc := voiceprint.NewScorer(m)
	for _, c := range []struct {
		far  float64
		n    int
		want float64
	}{
		{0.01, 1, 1}, {0.01, 2, 2}, {0.01, 5, 2}, {0.001, 6, 3.5}, {0.01, 10, 3}, {0.05, 10, 3}, {0.0001, 10, 3.5},
		{0.01, 11, 3}, // beyond the table: union bound on the verification calibration (FAR 0.001 → 3)
	} {
		got, err := sc.IdentifyThreshold(c.far, c.n)
		require.NoError(t, err)
		assert.Equal(t, c.want, got, "IdentifyThreshold(%v, %d)", c.far, c.n)
	}
}

// A model with a band-limited calibration gives comparisons of two
// band-limited sides their own thresholds, never below the general ones;
// a model without one, and a venue's threshold, hold every comparison to
// one.
func TestThresholdsBandLimited(t *testing.T) {
	m := tinyModel(t, 13)
	cfg, p := m.Config, m.Params()
	cfg.IdentifyCalibration = []voiceprint.IdentifyCalibrationPoint{
		{Enrolled: 1, FAR: 0.01, Threshold: 1}, {Enrolled: 5, FAR: 0.01, Threshold: 2},
	}
	plain, err := voiceprint.NewModel(cfg, p)
	require.NoError(t, err)
	cfg.BandLimited = &voiceprint.ConditionCalibration{
		Calibration: []voiceprint.CalibrationPoint{{FAR: 0.01, Threshold: 3.5}, {FAR: 0.001, Threshold: 4.5}},
		IdentifyCalibration: []voiceprint.IdentifyCalibrationPoint{
			{Enrolled: 1, FAR: 0.01, Threshold: 4}, {Enrolled: 2, FAR: 0.01, Threshold: 0.5},
		},
	}
	limited, err := voiceprint.NewModel(cfg, p)
	require.NoError(t, err)

	sc := voiceprint.NewScorer(limited)
	thr, err := sc.Thresholds(0.01)
	require.NoError(t, err)
	assert.Equal(t, voiceprint.Thresholds{Any: 2, BandLimited: 3.5}, thr)
	assert.Equal(t, 3.5, thr.For(true, true))
	assert.Equal(t, 2.0, thr.For(true, false), "one wide-band side: the general threshold")
	assert.Equal(t, 2.0, thr.For(false, false))
	any, err := sc.Threshold(0.01)
	require.NoError(t, err)
	assert.Equal(t, 2.0, any, "Threshold is the general one")
	thr, err = sc.Thresholds(0.001)
	require.NoError(t, err)
	assert.Equal(t, voiceprint.Thresholds{Any: 3, BandLimited: 4.5}, thr)

	for _, c := range []struct {
		n    int
		want voiceprint.Thresholds
	}{
		{1, voiceprint.Thresholds{Any: 1, BandLimited: 4}},
		{2, voiceprint.Thresholds{Any: 2, BandLimited: 2}},   // the band-limited table's 0.5 is below the general 2: never below it
		{5, voiceprint.Thresholds{Any: 2, BandLimited: 4.5}}, // beyond the band-limited table: union bound on its verification calibration
		{6, voiceprint.Thresholds{Any: 3, BandLimited: 4.5}}, // beyond both tables: union bound on both
	} {
		got, err := sc.IdentifyThresholds(0.01, c.n)
		require.NoError(t, err)
		assert.Equal(t, c.want, got, "IdentifyThresholds(0.01, %d)", c.n)
		one, err := sc.IdentifyThreshold(0.01, c.n)
		require.NoError(t, err)
		assert.Equal(t, c.want.Any, one)
	}

	thr, err = voiceprint.NewScorer(plain).Thresholds(0.01)
	require.NoError(t, err)
	assert.Equal(t, voiceprint.Thresholds{Any: 2, BandLimited: 2}, thr, "no band-limited calibration: one threshold")
}

// IdentifyIn holds each candidate to its condition's threshold and picks
// the candidate furthest above its own.
func TestIdentifyInPerCondition(t *testing.T) {
	m := tinyModel(t, 12)
	ex, err := voiceprint.NewExtractor(m)
	require.NoError(t, err)
	sc := voiceprint.NewScorer(m)
	unit := voiceprint.CohortNorm{Mean: 0, Std: 1}
	probe, _ := ex.Embed(nil, synthVoice(2*16000, 21))
	same, _ := ex.Embed(nil, synthVoice(2*16000, 21))
	other, _ := ex.Embed(nil, synthVoice(2*16000, 22))
	s := sc.ScoreWithNorms(same, probe, unit, unit)
	so := sc.ScoreWithNorms(other, probe, unit, unit)
	require.Greater(t, s, so)

	// One candidate, its score between the two thresholds: known unless
	// both sides are band-limited.
	c := voiceprint.Candidate{ID: "b", Emb: same, Norm: unit, BandLimited: true}
	thr := voiceprint.Thresholds{Any: s - 1, BandLimited: s + 1}
	got := sc.IdentifyIn(probe, unit, false, []voiceprint.Candidate{c}, thr)
	assert.True(t, got.Known)
	assert.Equal(t, s-1, got.Threshold)
	got = sc.IdentifyIn(probe, unit, true, []voiceprint.Candidate{c}, thr)
	assert.False(t, got.Known, "both band-limited: the higher threshold")
	assert.Equal(t, "b", got.ID, "still the closest")
	assert.Equal(t, s+1, got.Threshold)

	// The better score under a much higher threshold loses to the one
	// further above its own.
	cands := []voiceprint.Candidate{c, {ID: "o", Emb: other, Norm: unit}}
	thr = voiceprint.Thresholds{Any: so - 0.5, BandLimited: s + 0.5}
	got = sc.IdentifyIn(probe, unit, true, cands, thr)
	assert.Equal(t, "o", got.ID)
	assert.True(t, got.Known)
	got = sc.IdentifyIn(probe, unit, false, cands, thr)
	assert.Equal(t, "b", got.ID, "without the condition, the best score")
	// The same through compact copies (NewCandidate): the same match.
	packed := []voiceprint.Candidate{sc.Prepare(voiceprint.Candidate{ID: "b", Emb: same, BandLimited: true}), sc.NewCandidate("o", other)}
	require.True(t, packed[0].BandLimited, "Prepare keeps the band")
	pn := sc.CohortNorm(probe)
	want := sc.IdentifyIn(probe, pn, true, []voiceprint.Candidate{
		{ID: "b", Emb: same, Norm: packed[0].Norm, BandLimited: true}, {ID: "o", Emb: other, Norm: packed[1].Norm}}, thr)
	assert.Equal(t, want, sc.IdentifyIn(probe, pn, true, packed, thr))
	// IdentifyWithNorm is IdentifyIn with one threshold.
	got = sc.IdentifyWithNorm(probe, unit, cands, math.Inf(1))
	assert.Equal(t, "b", got.ID)
	assert.False(t, got.Known)
}

// WithCohort adds voiceprints to the s-norm cohort: a voiceprint close to
// an added member gets a higher cohort mean, so its scores are normalised
// against it; the model and the original scorer are unchanged.
func TestScorerWithCohort(t *testing.T) {
	m := modeltest.Model(t)
	sc := voiceprint.NewScorer(m)
	r := rand.New(rand.NewPCG(7, 7))
	vp := func() []float32 {
		v := make([]float32, m.EmbeddingDim())
		for i := range v {
			v[i] = float32(r.NormFloat64())
		}
		m.Normalize(v)
		return v
	}
	a, b := vp(), vp()
	near := slices.Clone(a)
	for i := range near {
		near[i] += 0.2 * float32(r.NormFloat64()) / float32(math.Sqrt(float64(len(near))))
	}
	m.Normalize(near)
	var extra [][]float32
	for range 150 {
		extra = append(extra, vp())
	}
	sc1, err := sc.WithCohort(extra)
	require.NoError(t, err)
	sc2, err := sc1.WithCohort([][]float32{near})
	require.NoError(t, err)
	require.Equal(t, sc.CohortSize()+151, sc2.CohortSize())
	before, after := sc1.CohortNorm(a), sc2.CohortNorm(a)
	for i := range before.Branches {
		if m.Branches[i].Config.KeepMeans {
			// The mean branch stays normalised against the model's cohort.
			assert.Equal(t, before.Branches[i], after.Branches[i], "branch %d (mean)", i)
			continue
		}
		assert.Greater(t, after.Branches[i].Mean, before.Branches[i].Mean, "a member near a raises its cohort mean (branch %d)", i)
	}
	assert.Less(t, sc2.Score(a, near), sc1.Score(a, near), "so a's scores are normalised against it")
	assert.InDelta(t, sc2.Score(a, b), sc2.Score(b, a), 1e-9)
	assert.Equal(t, before, sc1.CohortNorm(a), "the scorer it was made from is unchanged")
	_, err = sc.WithCohort([][]float32{make([]float32, 3)})
	require.ErrorIs(t, err, voiceprint.ErrDimMismatch)
}

// TestCandidateScoreError measures what the compact copy NewCandidate
// makes (int8 values, one scale per branch part) changes in identification
// scores on real voiceprints: LibriSpeech test-other utterances, each
// scored against every other as an enrolled candidate, in float32 and
// through the compact copy alone (Emb dropped). Thresholds lie near 3 and
// the scores spread over twenty units; the compact scores differ by a few
// hundredths at most, which IdentifyWithNorm's float32 rescoring of the
// candidates within rescoreMargin (0.25) of the best covers six times
// over. With Emb kept, the match is the float32 one exactly.
func TestCandidateScoreError(t *testing.T) {
	skipUnderRace(t)
	data := testenv.SharedData(t)
	ex := shippedExtractor(t)
	m := ex.Model()
	sc := voiceprint.NewScorer(m)
	files := testenv.TestOtherFiles(t, data)
	var vps [][]float32
	for i, f := range files {
		if i%2 == 0 { // 50 of the 100 files, five of each speaker
			e, _ := ex.Embed(nil, testenv.ReadPCM16(t, f))
			vps = append(vps, e)
		}
	}
	var maxDiff, sq, lo, hi float64
	lo, hi = math.Inf(1), math.Inf(-1)
	n := 0
	for i, e := range vps {
		plain := voiceprint.Candidate{ID: "x", Emb: e, Norm: sc.CohortNorm(e)}
		packed := sc.NewCandidate("x", e)
		require.Equal(t, plain.Norm, packed.Norm)
		compact := packed
		compact.Emb = nil
		for j, test := range vps {
			if i == j {
				continue
			}
			tn := sc.CohortNorm(test)
			want := sc.IdentifyWithNorm(test, tn, []voiceprint.Candidate{plain}, 0).Score
			got := sc.IdentifyWithNorm(test, tn, []voiceprint.Candidate{compact}, 0).Score
			require.Equal(t, want, sc.IdentifyWithNorm(test, tn, []voiceprint.Candidate{packed}, 0).Score)
			d := got - want
			maxDiff, sq, n = max(maxDiff, math.Abs(d)), sq+d*d, n+1
			lo, hi = min(lo, want), max(hi, want)
		}
	}
	t.Logf("%d voiceprints, %d pairs: scores %.2f to %.2f; compact − float32: max |Δ| %.4f, rms %.4f", len(vps), n, lo, hi, maxDiff, math.Sqrt(sq/float64(n)))
	assert.Less(t, maxDiff, 0.1, "the compact scores must stay well inside rescoreMargin (0.25)")
}

// A voiceprint closer to a foreign cohort entry (ForeignFrom on) than to
// any other is Foreign (ForeignMargin 0), and each foreign side lowers a
// pair's score by half of ForeignShift against the same model without
// the shift; other pairs are untouched.
func TestForeignShift(t *testing.T) {
	plain := tinyModel(t, 11)
	cfg := plain.Config
	cfg.ForeignFrom, cfg.ForeignShift = 3, 1.5
	m, err := voiceprint.NewModel(cfg, plain.Params())
	require.NoError(t, err)
	b, err := m.MarshalBinary()
	require.NoError(t, err)
	m2, err := voiceprint.ParseModel(b)
	require.NoError(t, err)
	require.Equal(t, m.Config, m2.Config, "the foreign part and shift survive the file")

	ed := m.EmbeddingDim()
	entry := func(k int) []float32 { return slices.Clone(m.Cohort[k*ed : (k+1)*ed]) }
	home, home2, foreign := entry(0), entry(1), entry(4)
	sc, sp := voiceprint.NewScorer(m), voiceprint.NewScorer(plain)
	assert.False(t, sc.CohortNorm(home).Foreign)
	assert.True(t, sc.CohortNorm(foreign).Foreign, "closest to cohort entry 4, a foreign one")
	assert.False(t, sp.CohortNorm(foreign).Foreign, "no foreign part in the plain model")
	assert.Equal(t, sp.Score(home, home2), sc.Score(home, home2))
	assert.InDelta(t, sp.Score(home, foreign)-0.75, sc.Score(home, foreign), 1e-12, "one foreign side: half the shift")
	foreign2 := slices.Clone(foreign)
	for i := range foreign2 {
		foreign2[i] += 0.2 * home2[i]
	}
	require.True(t, sc.CohortNorm(foreign2).Foreign)
	assert.InDelta(t, sp.Score(foreign, foreign2)-1.5, sc.Score(foreign, foreign2), 1e-12)
	assert.InDelta(t, sp.Score(foreign2, foreign)-1.5, sc.Score(foreign2, foreign), 1e-12)

	// A voice added with WithCohort is the venue's own: closest to it is
	// not foreign.
	probe := slices.Clone(foreign)
	for i := range probe {
		probe[i] += 0.3 * home[i]
	}
	require.True(t, sc.CohortNorm(probe).Foreign)
	venue, err := sc.WithCohort([][]float32{probe})
	require.NoError(t, err)
	assert.False(t, venue.CohortNorm(probe).Foreign)

	for name, c := range map[string][2]float64{
		"foreign part past the cohort": {5, 1}, "shift without a foreign part": {0, 1},
		"negative shift": {3, -1}, "infinite shift": {3, math.Inf(1)},
	} {
		bad := plain.Config
		bad.ForeignFrom, bad.ForeignShift = int(c[0]), c[1]
		_, err := voiceprint.NewModel(bad, plain.Params())
		require.ErrorIs(t, err, voiceprint.ErrInvalidModel, name)
	}
}
