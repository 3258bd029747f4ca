package eval_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/voxward/voxward/dsp/voiceprint"
	"github.com/voxward/voxward/dsp/voiceprint/eval"
)

// pairList is a trial list of n speakers (folders s0…), each with 10
// recordings: every recording of a speaker against every other of the
// same speaker (targets) and, for every pair of speakers, perPair
// different-speaker trials. score gives each trial's score from its
// speakers (equal for targets) and its number within the pair.
func pairList(n, perPair int, score func(a, b, k int) float64) ([]eval.Trial, []float64) {
	var trials []eval.Trial
	var scores []float64
	path := func(s, k int) string { return fmt.Sprintf("s%d/%d.wav", s, k%10) }
	for a := range n {
		for k := range 9 {
			trials = append(trials, eval.Trial{Target: true, Enroll: []string{path(a, 0)}, Test: path(a, k+1)})
			scores = append(scores, score(a, a, k))
		}
		for b := a + 1; b < n; b++ {
			for k := range perPair {
				trials = append(trials, eval.Trial{Enroll: []string{path(a, k)}, Test: path(b, k+1)})
				scores = append(scores, score(a, b, k))
			}
		}
	}
	return trials, scores
}

// When every pair of speakers has the same share of false accepts and
// every speaker the same share of misses, no resampling of the speakers
// changes the rates: the interval is the point. When the false accepts are
// all one pair's, as on a dev list where two similar voices make most of
// them, the interval spans from none to several times the rate.
func TestSpeakerBootstrapIntervals(t *testing.T) {
	thr := voiceprint.Thresholds{Any: 0, BandLimited: 0}
	even := func(a, b, k int) float64 {
		if a == b {
			return map[bool]float64{true: -1, false: 1}[k == 0] // one miss in 9
		}
		return map[bool]float64{true: 1, false: -1}[k < 2] // 2 of 100 accepted
	}
	trials, scores := pairList(10, 100, even)
	r, err := eval.NewResult(trials, scores, time.Now())
	require.NoError(t, err)
	r.AtThresholds(thr, nil)
	assert.Equal(t, 10, r.Speakers)
	require.NotNil(t, r.FARAtThresholdCI90)
	require.NotNil(t, r.FRRAtThresholdCI90)
	require.NotNil(t, r.EERCI90)
	assert.InDelta(t, 0.02, *r.FARAtThreshold, 1e-12)
	assert.InDelta(t, 0.02, r.FARAtThresholdCI90[0], 1e-12)
	assert.InDelta(t, 0.02, r.FARAtThresholdCI90[1], 1e-12)
	assert.InDelta(t, 1.0/9, r.FRRAtThresholdCI90[0], 1e-12)
	assert.InDelta(t, 1.0/9, r.FRRAtThresholdCI90[1], 1e-12)

	oneBadPair := func(a, b, k int) float64 {
		switch {
		case a == b:
			return 1
		case a == 3 && b == 7 && k < 90:
			return 1 // 90 of 4,500 = 2 %
		}
		return -1
	}
	trials, scores = pairList(10, 100, oneBadPair)
	r, err = eval.NewResult(trials, scores, time.Now())
	require.NoError(t, err)
	r.AtThresholds(thr, nil)
	require.NotNil(t, r.FARAtThresholdCI90)
	ci := *r.FARAtThresholdCI90
	t.Logf("FAR %.4f, 90 %% interval %.4f–%.4f", *r.FARAtThreshold, ci[0], ci[1])
	assert.InDelta(t, 0.02, *r.FARAtThreshold, 1e-12)
	assert.Equal(t, 0.0, ci[0], "most rounds draw at most one of the two voices")
	assert.Greater(t, ci[1], 0.04, "a round that draws both twice counts their trials four times")

	// The rounds are seeded: the same list gives the same interval.
	again, err := eval.NewResult(trials, scores, time.Now())
	require.NoError(t, err)
	again.AtThresholds(thr, nil)
	assert.Equal(t, ci, *again.FARAtThresholdCI90)
	assert.Equal(t, *r.EERCI90, *again.EERCI90)
}

// The EER's interval holds the EER, and is wider on a list of fewer
// speakers with the same scores per pair.
func TestSpeakerBootstrapEER(t *testing.T) {
	score := func(a, b, k int) float64 {
		if a == b {
			return float64(k%5) + float64(a%3) // 0…6
		}
		return float64((a*7+b*3+k)%9) - 3 // −3…5, depending on the pair
	}
	width := map[int]float64{}
	for _, n := range []int{6, 30} {
		trials, scores := pairList(n, 20, score)
		r, err := eval.NewResult(trials, scores, time.Now())
		require.NoError(t, err)
		require.NotNil(t, r.EERCI90, "%d speakers", n)
		ci := *r.EERCI90
		t.Logf("%d speakers: EER %.4f, 90 %% interval %.4f–%.4f", n, r.EER, ci[0], ci[1])
		assert.LessOrEqual(t, ci[0], r.EER)
		assert.GreaterOrEqual(t, ci[1], r.EER)
		width[n] = ci[1] - ci[0]
	}
	assert.Greater(t, width[6], width[30])
	assert.Greater(t, width[30], 0.0)
}

// With fewer than five speakers there is no interval: resampling two or
// three voices says nothing.
func TestSpeakerBootstrapTooFewSpeakers(t *testing.T) {
	trials, scores := pairList(4, 10, func(a, b, k int) float64 {
		if a == b {
			return 1
		}
		return float64(k%3) - 1
	})
	r, err := eval.NewResult(trials, scores, time.Now())
	require.NoError(t, err)
	r.AtThresholds(voiceprint.Thresholds{}, nil)
	assert.Equal(t, 4, r.Speakers)
	assert.Nil(t, r.EERCI90)
	assert.Nil(t, r.FARAtThresholdCI90)
	assert.Nil(t, r.FRRAtThresholdCI90)
	require.NotNil(t, r.FARAtThreshold, "the rates themselves are still measured")
}

// pairsOf is every pair of n speakers, perPair scores each from score.
func pairsOf(n, perPair int, score func(a, b, k int) float64) eval.PairScores {
	var p eval.PairScores
	for a := range n {
		for b := a + 1; b < n; b++ {
			for k := range perPair {
				p.Scores, p.A, p.B = append(p.Scores, score(a, b, k)), append(p.A, a), append(p.B, b)
			}
		}
	}
	return p
}

// A threshold bound over the speakers: where every pair of speakers
// scores alike, resampling them moves nothing and the bound is the
// threshold itself; where a few pairs of voices hold the highest scores,
// the bound at 90 % confidence sits above the threshold of the sample, by
// what other draws of speakers could show. The strictest set bounds
// every round.
func TestThresholdBounds(t *testing.T) {
	fars := []float64{0.01, 0.05}
	alike := pairsOf(20, 100, func(a, b, k int) float64 { return float64(k) / 10 })
	point, err := eval.ThresholdForFAR(alike.Scores, 0.01)
	require.NoError(t, err)
	got, err := eval.ThresholdBounds([]eval.PairScores{alike}, 20, fars, 0.9)
	require.NoError(t, err)
	assert.Equal(t, point, got[0])

	// Pairs of speakers 0–3 score 3 above the rest: 6 of 190 pairs.
	near := pairsOf(20, 100, func(a, b, k int) float64 {
		x := float64(k) / 10
		if b < 4 {
			x += 3
		}
		return x
	})
	point, err = eval.ThresholdForFAR(near.Scores, 0.01)
	require.NoError(t, err)
	bound, err := eval.ThresholdBounds([]eval.PairScores{near}, 20, fars, 0.9)
	require.NoError(t, err)
	median, err := eval.ThresholdBounds([]eval.PairScores{near}, 20, fars, 0.5)
	require.NoError(t, err)
	t.Logf("1 %%: sample %.3f, median of the rounds %.3f, 90 %% bound %.3f", point, median[0], bound[0])
	assert.Greater(t, bound[0], point)
	assert.GreaterOrEqual(t, bound[0], median[0])
	assert.Greater(t, bound[0], bound[1], "a lower rate, a higher threshold")

	// With both sets, every round is bounded by the stricter.
	both, err := eval.ThresholdBounds([]eval.PairScores{alike, near}, 20, fars, 0.9)
	require.NoError(t, err)
	assert.Equal(t, bound, both)

	_, err = eval.ThresholdBounds([]eval.PairScores{alike, {}}, 20, fars, 0.9)
	assert.ErrorIs(t, err, eval.ErrNoTrials)
}
