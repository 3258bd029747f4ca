package eval_test

import (
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/voxward/voxward/dsp/voiceprint"
	"github.com/voxward/voxward/dsp/voiceprint/eval"
)

func TestEERSeparable(t *testing.T) {
	eer, thr, err := eval.EER([]float64{3, 4, 5}, []float64{0, 1, 2})
	require.NoError(t, err)
	assert.Equal(t, 0.0, eer)
	assert.Greater(t, thr, 2.0)
	assert.LessOrEqual(t, thr, 3.0)
}

func TestEERHandCounted(t *testing.T) {
	// Targets 1..10, non-targets 0.5..9.5 step 1 would overlap heavily;
	// use a small case counted by hand: at threshold 3 one of four targets
	// is missed (1) and one of four non-targets accepted (3.5).
	tg := []float64{1, 4, 5, 6}
	nt := []float64{0, 2, 2.5, 3.5}
	eer, thr, err := eval.EER(tg, nt)
	require.NoError(t, err)
	assert.InDelta(t, 0.25, eer, 1e-12, "EER = %v, want 0.25", eer)
	assert.Contains(t, []float64{2.5, 3.5, 4}, thr)
}

func TestEERGaussian(t *testing.T) {
	// Two unit Gaussians d' = 2 apart: EER = Φ(-1) ≈ 0.1587.
	r := rand.New(rand.NewPCG(1, 2))
	var tg, nt []float64
	for range 20000 {
		tg = append(tg, 2+r.NormFloat64())
		nt = append(nt, r.NormFloat64())
	}
	eer, thr, err := eval.EER(tg, nt)
	require.NoError(t, err)
	want := 0.5 * math.Erfc(1/math.Sqrt2)
	assert.InDelta(t, want, eer, 0.01)
	assert.InDelta(t, 1.0, thr, 0.05)

	dcf, _, err := eval.MinDCF(tg, nt, eval.DefaultDCF)
	require.NoError(t, err)
	assert.Greater(t, dcf, 0.0)
	assert.LessOrEqual(t, dcf, 1.0)
}

func TestMinDCFPerfectAndErrors(t *testing.T) {
	dcf, _, err := eval.MinDCF([]float64{5, 6}, []float64{1, 2}, eval.DefaultDCF)
	require.NoError(t, err)
	assert.Equal(t, 0.0, dcf)
	// Inverted scores: the best is a trivial system, cost 1.
	dcf, _, err = eval.MinDCF([]float64{1, 2}, []float64{5, 6}, eval.DefaultDCF)
	require.NoError(t, err)
	assert.InDelta(t, 1.0, dcf, 1e-12)

	_, _, err = eval.EER(nil, []float64{1})
	require.ErrorIs(t, err, eval.ErrNoTrials)
	_, _, err = eval.MinDCF([]float64{1}, []float64{0}, eval.DCFParams{PTarget: 1, CMiss: 1, CFA: 1})
	require.Error(t, err)
}

func TestDetectionCurveMonotone(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	var tg, nt []float64
	for range 500 {
		tg = append(tg, math.Round(10*(1+r.NormFloat64()))/10) // ties on purpose
		nt = append(nt, math.Round(10*r.NormFloat64())/10)
	}
	pts, err := eval.DetectionCurve(tg, nt)
	require.NoError(t, err)
	require.Equal(t, eval.DETPoint{Threshold: pts[0].Threshold, PMiss: 0, PFA: 1}, pts[0])
	last := pts[len(pts)-1]
	assert.Equal(t, 1.0, last.PMiss)
	assert.Equal(t, 0.0, last.PFA)
	for i := 1; i < len(pts); i++ {
		assert.Greater(t, pts[i].Threshold, pts[i-1].Threshold)
		assert.GreaterOrEqual(t, pts[i].PMiss, pts[i-1].PMiss)
		assert.LessOrEqual(t, pts[i].PFA, pts[i-1].PFA)
	}
	// Each point agrees with a direct count.
	for _, p := range pts[:10] {
		var miss, fa int
		for _, s := range tg {
			if s < p.Threshold {
				miss++
			}
		}
		for _, s := range nt {
			if s >= p.Threshold {
				fa++
			}
		}
		assert.InDelta(t, float64(miss)/500, p.PMiss, 1e-12)
		assert.InDelta(t, float64(fa)/500, p.PFA, 1e-12)
	}
}

func TestThresholdForFAR(t *testing.T) {
	nt := make([]float64, 1000)
	for i := range nt {
		nt[i] = float64(i)
	}
	for _, far := range []float64{0, 0.001, 0.01, 0.1, 0.5} {
		thr, err := eval.ThresholdForFAR(nt, far)
		require.NoError(t, err)
		acc := 0
		for _, s := range nt {
			if s >= thr {
				acc++
			}
		}
		assert.LessOrEqual(t, float64(acc)/1000, far, "FAR at %v", far)
		assert.Equal(t, int(far*1000), acc, "accepted at far %v", far)
	}
	_, err := eval.ThresholdForFAR(nil, 0.01)
	require.ErrorIs(t, err, eval.ErrNoTrials)
}

func TestParseTrials(t *testing.T) {
	in := "# comment\n\n1 a.wav b.wav\n0 a.wav,c.wav d.wav\n"
	tr, err := eval.ParseTrials(strings.NewReader(in))
	require.NoError(t, err)
	require.Equal(t, []eval.Trial{
		{Target: true, Enroll: []string{"a.wav"}, Test: "b.wav"},
		{Target: false, Enroll: []string{"a.wav", "c.wav"}, Test: "d.wav"},
	}, tr)
	for _, bad := range []string{"", "2 a b\n", "1 a\n", "1 a b c\n", "1 a,,b c\n", "# only\n"} {
		_, err := eval.ParseTrials(strings.NewReader(bad))
		require.ErrorIs(t, err, eval.ErrBadTrials, "input %q", bad)
	}
}

// ReadTrials reads a list from a file, and its errors name the file.
func TestReadTrials(t *testing.T) {
	dir := t.TempDir()
	good, bad := filepath.Join(dir, "good.txt"), filepath.Join(dir, "bad.txt")
	require.NoError(t, os.WriteFile(good, []byte("1 a.wav b.wav\n"), 0o600))
	require.NoError(t, os.WriteFile(bad, []byte("1 a.wav b.wav\n2 a.wav b.wav\n"), 0o600))
	tr, err := eval.ReadTrials(good)
	require.NoError(t, err)
	require.Equal(t, []eval.Trial{{Target: true, Enroll: []string{"a.wav"}, Test: "b.wav"}}, tr)
	_, err = eval.ReadTrials(bad)
	require.ErrorIs(t, err, eval.ErrBadTrials)
	require.ErrorContains(t, err, bad)
	_, err = eval.ReadTrials(filepath.Join(dir, "missing.txt"))
	require.ErrorIs(t, err, os.ErrNotExist)
}

func FuzzParseTrials(f *testing.F) {
	f.Add([]byte("1 a.wav b.wav\n0 a.wav,c.wav d.wav\n"))
	f.Add([]byte("# x\n1 a b\n"))
	f.Add([]byte("1 ,  b\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > 1<<16 {
			return
		}
		tr, err := eval.ParseTrials(strings.NewReader(string(b)))
		if err != nil {
			require.ErrorIs(t, err, eval.ErrBadTrials)
			return
		}
		require.NotEmpty(t, tr)
		for _, x := range tr {
			require.NotEmpty(t, x.Enroll)
			require.NotEmpty(t, x.Test)
		}
	})
}

// The rates at a threshold, counted by hand: a score equal to the
// threshold is accepted, as the scorer's same_speaker decides.
func TestRatesAtHandCounted(t *testing.T) {
	tar := []float64{1, 2, 3, 4}
	non := []float64{-1, 0, 1, 2, 2.5}
	far, frr := eval.RatesAt(tar, non, 2)
	assert.InDelta(t, 2.0/5, far, 1e-12, "2 and 2.5 accepted")
	assert.InDelta(t, 1.0/4, frr, 1e-12, "1 rejected")
	far, frr = eval.RatesAt(tar, nil, 2)
	assert.True(t, math.IsNaN(far))
	assert.InDelta(t, 0.25, frr, 1e-12)

}

// AtThresholds holds each trial to its condition's threshold: the
// band-limited trials to the higher one.
func TestAtThresholdsPerCondition(t *testing.T) {
	trials := []eval.Trial{
		{Target: true, Enroll: []string{"a/1.wav"}, Test: "a/2.wav"}, // 3.0, band-limited: rejected at 3.5
		{Target: true, Enroll: []string{"a/1.wav"}, Test: "a/3.wav"}, // 2.5: accepted at 2
		{Enroll: []string{"a/1.wav"}, Test: "b/1.wav"},               // 3.0, band-limited: rejected
		{Enroll: []string{"a/1.wav"}, Test: "b/2.wav"},               // 2.2: accepted
		{Enroll: []string{"a/1.wav"}, Test: "b/3.wav"},               // 1.0: rejected
		{Enroll: []string{"a/1.wav"}, Test: "b/4.wav"},               // 3.6, band-limited: accepted
	}
	r, err := eval.NewResult(trials, []float64{3, 2.5, 3, 2.2, 1, 3.6}, time.Now())
	require.NoError(t, err)
	r.AtThresholds(voiceprint.Thresholds{Any: 2, BandLimited: 3.5}, []bool{true, false, true, false, false, true})
	require.NotNil(t, r.FARAtThreshold)
	assert.Equal(t, 2.0, *r.Threshold)
	assert.Equal(t, 3.5, *r.ThresholdBandLimited)
	assert.Equal(t, 3, r.BandLimitedTrials)
	assert.InDelta(t, 2.0/4, *r.FARAtThreshold, 1e-12, "2.2 and 3.6 accepted")
	assert.InDelta(t, 1.0/2, *r.FRRAtThreshold, 1e-12, "the band-limited 3.0 rejected")
	// Without conditions every trial takes Any.
	r.AtThresholds(voiceprint.Thresholds{Any: 2, BandLimited: 3.5}, nil)
	assert.Equal(t, 0, r.BandLimitedTrials)
	assert.InDelta(t, 3.0/4, *r.FARAtThreshold, 1e-12)
	assert.InDelta(t, 0, *r.FRRAtThreshold, 1e-12)
}

// WithoutSpeakers leaves out every trial with a cohort speaker on either
// side, an enrolment set counting when any of its files is.
func TestWithoutSpeakers(t *testing.T) {
	trials := []eval.Trial{
		{Target: true, Enroll: []string{"a/1.wav"}, Test: "a/2.wav"},
		{Enroll: []string{"a/1.wav"}, Test: "c/1.wav"},
		{Enroll: []string{"b/1.wav", "c/2.wav"}, Test: "b/2.wav"},
		{Enroll: []string{"b/1.wav"}, Test: "a/3.wav"},
	}
	kept, dropped := eval.WithoutSpeakers(trials, []string{"x/c/9.wav"})
	assert.Equal(t, 2, dropped)
	assert.Equal(t, []eval.Trial{trials[0], trials[3]}, kept)
	kept, dropped = eval.WithoutSpeakers(trials, nil)
	assert.Equal(t, 0, dropped)
	assert.Len(t, kept, 4)
	assert.Equal(t, "c", eval.SpeakerOf("multilingual/x/c/9.wav"))
	// By name, as a model's cohort labels give them.
	kept, dropped = eval.WithoutSpeakerNames(trials, []string{"a", "zz"})
	assert.Equal(t, 3, dropped)
	assert.Equal(t, []eval.Trial{trials[2]}, kept)
	// A venue's recordings without the model's training speakers, in
	// order, the list given left as it was.
	paths := []string{"x/a/1.wav", "x/b/1.wav", "y/a/2.wav", "c/3.wav"}
	venue, left := eval.PathsWithoutSpeakerNames(paths, []string{"a", "zz"})
	assert.Equal(t, 2, left)
	assert.Equal(t, []string{"x/b/1.wav", "c/3.wav"}, venue)
	assert.Equal(t, []string{"x/a/1.wav", "x/b/1.wav", "y/a/2.wav", "c/3.wav"}, paths)
}
