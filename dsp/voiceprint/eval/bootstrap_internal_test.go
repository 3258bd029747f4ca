package eval

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
)

// A weighted sweep is the curve of the trials repeated as often as their
// weights say: weight 2 for every trial changes nothing, weight 0 leaves
// a trial out, weight 3 counts it three times.
func TestSweepWeights(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var tar, non []float64
	for range 40 {
		tar = append(tar, float64(r.IntN(20))/4) // ties on purpose
		non = append(non, float64(r.IntN(20))/4-1.5)
	}
	curve := func(tar, non []float64, w []float64) []DETPoint {
		var pts []DETPoint
		sweep(sortTrials(tar, non), w, func(p DETPoint) { pts = append(pts, p) })
		return pts
	}
	plain := curve(tar, non, nil)
	assert.Equal(t, plain, curve(tar, non, slices.Repeat([]float64{2}, len(tar)+len(non))))

	// Trial weights in sortTrials' index order: the targets, then the
	// non-targets.
	w := make([]float64, len(tar)+len(non))
	var tarW, nonW []float64
	for i := range w {
		w[i] = float64(i % 4) // 0 to 3
	}
	for i, x := range tar {
		tarW = append(tarW, slices.Repeat([]float64{x}, int(w[i]))...)
	}
	for i, x := range non {
		nonW = append(nonW, slices.Repeat([]float64{x}, int(w[len(tar)+i]))...)
	}
	weighted := curve(tar, non, w)
	repeated := curve(tarW, nonW, nil)
	// Repetition can only drop thresholds whose trials all had weight 0:
	// compare the points at the thresholds both curves have.
	at := map[float64]DETPoint{}
	for _, p := range repeated {
		at[p.Threshold] = p
	}
	n := 0
	for _, p := range weighted {
		if q, ok := at[p.Threshold]; ok {
			assert.InDelta(t, q.PMiss, p.PMiss, 1e-12, "threshold %g", p.Threshold)
			assert.InDelta(t, q.PFA, p.PFA, 1e-12, "threshold %g", p.Threshold)
			n++
		}
	}
	assert.Greater(t, n, 10)

	// No weight on one side: no points.
	assert.Empty(t, curve(tar, non, append(make([]float64, len(tar)), slices.Repeat([]float64{1}, len(non))...)))
}

// In every round a same-speaker trial weighs its speaker's draws, and a
// trial of two speakers the product of theirs; the draws add up to the
// number of speakers.
func TestSpeakerBootstrapRoundWeights(t *testing.T) {
	spk := []string{"a", "b", "c", "d", "e", "f"}
	var trials []Trial
	for _, s := range spk { // trial k: speaker k's target
		trials = append(trials, Trial{Target: true, Enroll: []string{s + "/1.wav"}, Test: s + "/2.wav"})
	}
	type pair struct{ a, b int }
	var pairs []pair
	for a := range spk {
		for b := range spk {
			if a != b {
				trials = append(trials, Trial{Enroll: []string{spk[a] + "/1.wav"}, Test: spk[b] + "/2.wav"})
				pairs = append(pairs, pair{a, b})
			}
		}
	}
	b := trialBootstrap(trials)
	assert.Equal(t, len(spk), b.speakers)
	rounds, varied := 0, false
	b.Rounds(func(w []float64) {
		rounds++
		sum := 0.0
		for k := range spk {
			sum += w[k]
			varied = varied || w[k] != 1
		}
		assert.Equal(t, float64(len(spk)), sum)
		for i, p := range pairs {
			assert.Equal(t, w[p.a]*w[p.b], w[len(spk)+i])
		}
	})
	assert.Equal(t, bootstrapRounds, rounds)
	assert.True(t, varied)

	// A long list gets fewer rounds, never fewer than minRounds.
	assert.Equal(t, bootstrapRounds, trialBootstrap(trials).rounds)
	assert.Equal(t, bootstrapRounds, roundsFor(0))
	assert.Equal(t, bootstrapRounds, roundsFor(200_000))
	assert.Equal(t, 250, roundsFor(800_000))
	assert.Equal(t, minRounds, roundsFor(maxTrials))
}

// With every weight 1 the weighted threshold is ThresholdForFAR's; a
// weight of 0 drops a score, a weight of 2 counts it twice.
func TestWeightedThresholdForFAR(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	xs := make([]float64, 997)
	for i := range xs {
		xs[i] = float64(r.IntN(300)) / 50 // ties on purpose
	}
	ones := slices.Repeat([]float64{1}, len(xs))
	w := make([]float64, len(xs))
	var repeated []float64
	for i, x := range xs {
		w[i] = float64(i % 3)
		repeated = append(repeated, slices.Repeat([]float64{x}, i%3)...)
	}
	// ThresholdForFAR's own rule: accept the floor(far·n) highest scores.
	byHand := func(xs []float64, far float64) float64 {
		s := slices.Clone(xs)
		slices.Sort(s)
		k := int(math.Floor(far * float64(len(s))))
		if k >= len(s) {
			return s[0]
		}
		return math.Nextafter(s[len(s)-1-k], math.Inf(1))
	}
	for _, far := range []float64{0, 0.001, 0.01, 0.05, 0.07, 0.29, 0.5, 1} {
		want := byHand(xs, far)
		got, err := ThresholdForFAR(xs, far)
		assert.NoError(t, err)
		assert.Equal(t, want, got, "far %g", far)
		got = weightedThresholdForFAR(xs, descending(xs), ones, weightSum(ones, len(xs)), far)
		assert.Equal(t, want, got, "far %g, weights 1", far)
		// 100 scores: far·n is 7.000000000000001 and 28.999999999999996
		// at 0.07 and 0.29; the floor decides.
		got, err = ThresholdForFAR(xs[:100], far)
		assert.NoError(t, err)
		assert.Equal(t, byHand(xs[:100], far), got, "far %g, 100 scores", far)
		want = byHand(repeated, far)
		got = weightedThresholdForFAR(xs, descending(xs), w, weightSum(w, len(xs)), far)
		assert.Equal(t, want, got, "far %g, weights 0–2", far)
	}
	assert.Equal(t, float64(len(repeated)), weightSum(w, len(xs)))
	assert.Equal(t, float64(len(xs)), weightSum(nil, len(xs)))
}
