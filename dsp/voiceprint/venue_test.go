package voiceprint_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/voxward/voxward/dsp/voiceprint"
)

// binomialCount is the largest k with P(X ≤ k) ≤ alpha for X ~ B(n, p)
// (-1 if none), summed from log-gamma terms: the rule WithVenue's
// thresholds follow, computed independently of it.
func binomialCount(n int, p, alpha float64) int {
	lgn, _ := math.Lgamma(float64(n + 1))
	cdf := 0.0
	for k := 0; k <= n; k++ {
		lk, _ := math.Lgamma(float64(k + 1))
		lnk, _ := math.Lgamma(float64(n - k + 1))
		cdf += math.Exp(lgn - lk - lnk + float64(k)*math.Log(p) + float64(n-k)*math.Log1p(-p))
		if cdf > alpha {
			return k - 1
		}
	}
	return n
}

// WithVenue's thresholds are order statistics of the venue's
// different-speaker pair scores, each side normalised against the cohort
// without the pair's two speakers: checked here against those scores
// computed one pair at a time through WithCohort and ScoreWithNorms (to
// float32 rounding: WithVenue reads each voiceprint's parts normalised to
// unit length, ScoreWithNorms scales them).
func TestWithVenueThresholds(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 5))
	// 24 people, two voiceprints each, around centers from center(p).
	people := func(m *voiceprint.Model, center func(p int) []float32) (vps [][]float32, names []string) {
		for p := range 24 {
			c := center(p)
			for range 2 {
				v := make([]float32, m.EmbeddingDim())
				for i := range v {
					v[i] = c[i] + 0.5*float32(r.NormFloat64())/float32(math.Sqrt(float64(len(v))))
				}
				m.Normalize(v)
				vps = append(vps, v)
				names = append(names, fmt.Sprint("p", p))
			}
		}
		return vps, names
	}
	random := func(m *voiceprint.Model) func(int) []float32 {
		return func(int) []float32 {
			v := make([]float32, m.EmbeddingDim())
			for i := range v {
				v[i] = float32(r.NormFloat64())
			}
			m.Normalize(v)
			return v
		}
	}
	t.Run("fused", func(t *testing.T) {
		m := tinyFused(t, 50)
		vps, names := people(m, random(m))
		checkVenue(t, m, vps, names, false)
	})
	// With a foreign cohort part, the pair scores carry the foreign shift
	// of each side that is closest to a foreign entry once the pair's own
	// speakers are left out: every third person is near foreign entry 4.
	t.Run("foreign", func(t *testing.T) {
		plain := tinyModel(t, 11)
		cfg := plain.Config
		cfg.ForeignFrom, cfg.ForeignShift = 3, 1.5
		m, err := voiceprint.NewModel(cfg, plain.Params())
		require.NoError(t, err)
		ed := m.EmbeddingDim()
		rnd := random(m)
		vps, names := people(m, func(p int) []float32 {
			if p%3 == 0 {
				return slices.Clone(m.Cohort[4*ed : 5*ed])
			}
			return rnd(p)
		})
		checkVenue(t, m, vps, names, true)
	})
}

// checkVenue checks m's venue thresholds on vps, of the people names.
func checkVenue(t *testing.T, m *voiceprint.Model, vps [][]float32, names []string, foreign bool) {
	base := voiceprint.NewScorer(m)
	venue, err := base.WithVenue(vps, names)
	require.NoError(t, err)
	require.Equal(t, base.CohortSize()+len(vps), venue.CohortSize(), "the venue's voiceprints join the cohort")

	var pairs []float64
	foreignPairs := 0
	for i := range vps {
		for j := i + 1; j < len(vps); j++ {
			if names[i] == names[j] {
				continue
			}
			var others [][]float32
			for k, v := range vps {
				if names[k] != names[i] && names[k] != names[j] {
					others = append(others, v)
				}
			}
			sc, err := base.WithCohort(others)
			require.NoError(t, err)
			ni, nj := sc.CohortNorm(vps[i]), sc.CohortNorm(vps[j])
			if ni.Foreign || nj.Foreign {
				foreignPairs++
			}
			pairs = append(pairs, sc.ScoreWithNorms(vps[i], vps[j], ni, nj))
		}
	}
	slices.Sort(pairs)
	n := len(pairs)
	require.Equal(t, 24*47-24, n)
	require.Equal(t, n, venue.VenuePairs(), "only pairs of different people count")
	if foreign {
		require.Greater(t, foreignPairs, n/4, "foreign sides")
	} else {
		require.Zero(t, foreignPairs)
	}

	for _, far := range []float64{0.005, 0.01, 0.02, 0.05, 0.2} {
		k := binomialCount(n, far, 0.1)
		require.GreaterOrEqual(t, k, 0)
		thr, err := venue.Threshold(far)
		require.NoError(t, err)
		assert.InDelta(t, pairs[n-1-k], thr, 1e-4, "far %g: the threshold accepts the %d highest of %d pairs", far, k, n)
		accepted := n - slicesIndexAtLeast(pairs, thr+1e-4)
		assert.LessOrEqual(t, float64(accepted), far*float64(n), "far %g", far)
	}
	// Too few pairs for 0.1 % (P(no pair passes) = 0.33 > 0.1): the
	// model's calibration.
	want, err := base.Threshold(0.001)
	require.Greater(t, math.Pow(1-0.001, float64(n)), 0.1)
	require.NoError(t, err)
	got, err := venue.Threshold(0.001)
	require.NoError(t, err)
	assert.Equal(t, want, got)

	// Identification against n voices: the venue threshold for the
	// per-voice rate 1-(1-far)^(1/n), or the model's.
	id, err := venue.IdentifyThreshold(0.05, 3)
	require.NoError(t, err)
	per, err := venue.Threshold(1 - math.Pow(0.95, 1.0/3))
	require.NoError(t, err)
	assert.InDelta(t, per, id, 1e-12)
	assert.Less(t, id, pairs[n-1], "1.7 %% of %d pairs is enough", n)
	id, err = venue.IdentifyThreshold(0.002, 5)
	require.NoError(t, err)
	want, err = base.IdentifyThreshold(0.002, 5)
	require.NoError(t, err)
	assert.Equal(t, want, id)

	// A plain cohort added on top keeps no venue thresholds.
	plain, err := venue.WithCohort(vps[:1])
	require.NoError(t, err)
	assert.Zero(t, plain.VenuePairs())
	want, _ = base.Threshold(0.01)
	got, _ = plain.Threshold(0.01)
	assert.Equal(t, want, got)

	_, err = base.WithVenue(vps, names[1:])
	require.Error(t, err)
	_, err = base.WithVenue([][]float32{make([]float32, 3)}, []string{"x"})
	require.ErrorIs(t, err, voiceprint.ErrDimMismatch)
}

// slicesIndexAtLeast is the index of the first value ≥ x in sorted.
func slicesIndexAtLeast(sorted []float64, x float64) int {
	i, _ := slices.BinarySearch(sorted, x)
	return i
}
