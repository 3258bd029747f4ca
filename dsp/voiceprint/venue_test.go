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
		require.Len(t, vps, 48)

		// Five people with ten recordings each: 1,000 pairs of
		// recordings, but ten pairs of people, too few for 1 %.
		var few [][]float32
		var fewNames []string
		for p := range 5 {
			for k := range 10 {
				few = append(few, vps[(10*p+k)%len(vps)])
				fewNames = append(fewNames, fmt.Sprint("q", p))
			}
		}
		venue, err := voiceprint.NewScorer(m).WithVenue(few, fewNames)
		require.NoError(t, err)
		assert.Equal(t, 1000, venue.VenuePairs())
		assert.False(t, venue.VenueCalibrated(0.01, 1))
		assert.False(t, venue.VenueCalibrated(0.2, 1), "ten pairs of people: P(none passes at 20 %) = 0.107")
		assert.True(t, venue.VenueCalibrated(0.3, 1))
		assert.False(t, venue.VenueCalibrated(0.3, 2), "two voices: 16 % each, P(none of ten passes) = 0.17")
	})
	// Enrolments and probes in different conditions: the probes are the
	// same people's voiceprints moved along one "channel" direction, and
	// only enrolment–probe pairs count.
	t.Run("sides", func(t *testing.T) {
		m := tinyFused(t, 60)
		enrol, names := people(m, random(m))
		channel := random(m)(0)
		var probe [][]float32
		for _, v := range enrol {
			w := slices.Clone(v)
			for i := range w {
				w[i] += channel[i]
			}
			m.Normalize(w)
			probe = append(probe, w)
		}
		base := voiceprint.NewScorer(m)
		venue, err := base.WithVenueSides(enrol, probe, names, names)
		require.NoError(t, err)
		require.Equal(t, base.CohortSize()+2*len(enrol), venue.CohortSize(), "both sides join the cohort")
		var idx [][2]int
		for i := range enrol {
			for j := range probe {
				idx = append(idx, [2]int{i, len(enrol) + j})
			}
		}
		checkVenuePairs(t, base, venue, append(slices.Clip(enrol), probe...), append(slices.Clip(names), names...), idx, false)
		require.Equal(t, 48*48-48*2, venue.VenuePairs())
		_, err = base.WithVenueSides(enrol, probe, names, names[1:])
		require.Error(t, err)
	})
	// Voices of known band: the pairs whose both sides are band-limited
	// (here the first twelve people's) set the band-limited threshold, the
	// others the general one, each when it has enough pairs of people.
	t.Run("bands", func(t *testing.T) {
		m := tinyFused(t, 80)
		vps, names := people(m, random(m))
		bl := make([]bool, len(vps))
		for i := range bl {
			bl[i] = i < len(vps)/2
		}
		base := voiceprint.NewScorer(m)
		venue, err := base.WithVenueOf(voiceprint.VenueSide{Voiceprints: vps, Speakers: names, BandLimited: bl}, voiceprint.VenueSide{})
		require.NoError(t, err)
		var byCond [2][]float64 // general, band-limited
		for i := range vps {
			for j := i + 1; j < len(vps); j++ {
				if names[i] == names[j] {
					continue
				}
				c := 0
				if bl[i] && bl[j] {
					c = 1
				}
				score, _, _ := brutePair(t, base, vps, names, i, j)
				byCond[c] = append(byCond[c], score)
			}
		}
		slices.Sort(byCond[0])
		slices.Sort(byCond[1])
		require.Equal(t, len(byCond[0])+len(byCond[1]), venue.VenuePairs())
		at := func(pairs []float64, far float64) float64 {
			k := binomialCount(len(pairs), far, 0.1)
			require.GreaterOrEqual(t, k, 0)
			return pairs[len(pairs)-1-k]
		}
		// 5 %: 210 pairs of people in general, 66 band-limited: both the
		// venue's.
		got, err := venue.Thresholds(0.05)
		require.NoError(t, err)
		assert.InDelta(t, at(byCond[0], 0.05), got.Any, 1e-4)
		assert.InDelta(t, at(byCond[1], 0.05), got.BandLimited, 1e-4)
		assert.True(t, venue.VenueCalibrated(0.05, 1))
		// 2 %: 66 pairs of people are too few (P(none passes) = 0.26):
		// the model's band-limited threshold, never below the venue's
		// general one.
		got, err = venue.Thresholds(0.02)
		require.NoError(t, err)
		model, err := base.Thresholds(0.02)
		require.NoError(t, err)
		assert.InDelta(t, at(byCond[0], 0.02), got.Any, 1e-4)
		assert.Equal(t, max(model.BandLimited, got.Any), got.BandLimited)
		// All band-limited: no general pair, the model's general threshold.
		for i := range bl {
			bl[i] = true
		}
		all, err := base.WithVenueOf(voiceprint.VenueSide{Voiceprints: vps, Speakers: names, BandLimited: bl}, voiceprint.VenueSide{})
		require.NoError(t, err)
		plain, err := base.WithVenue(vps, names)
		require.NoError(t, err)
		got, err = all.Thresholds(0.05)
		require.NoError(t, err)
		model, err = base.Thresholds(0.05)
		require.NoError(t, err)
		want, err := plain.Threshold(0.05)
		require.NoError(t, err)
		assert.Equal(t, voiceprint.Thresholds{Any: model.Any, BandLimited: want}, got, "the band-limited threshold is what the same voices set without bands")
		assert.False(t, all.VenueCalibrated(0.05, 1), "the general threshold is the model's")

		_, err = base.WithVenueOf(voiceprint.VenueSide{Voiceprints: vps, Speakers: names, BandLimited: bl[1:]}, voiceprint.VenueSide{})
		require.Error(t, err)
	})
	// A fused model with a mean branch (KeepMeans): that part stays
	// normalised against the model's cohort, in the venue's pairs as in
	// ScoreWithNorms, while the other part draws on the venue.
	t.Run("mean branch", func(t *testing.T) {
		f := tinyFused(t, 70)
		mc := f.Branches[1].Config
		mc.KeepMeans = true
		mb, err := voiceprint.NewModel(mc, f.Branches[1].Params())
		require.NoError(t, err)
		m, err := voiceprint.NewFusedModel(voiceprint.ModelConfig{ID: "tiny-means", Calibration: f.Config.Calibration,
			BranchWeights: []float64{0.7, 0.3}}, []*voiceprint.Model{f.Branches[0], mb})
		require.NoError(t, err)
		vps, names := people(m, random(m))
		checkVenue(t, m, vps, names, false)

		base := voiceprint.NewScorer(m)
		venue, err := base.WithVenue(vps, names)
		require.NoError(t, err)
		probe := random(m)(0)
		nb, nv := base.CohortNorm(probe), venue.CohortNorm(probe)
		assert.Equal(t, nb.Branches[1], nv.Branches[1], "the mean branch ignores the venue")
		assert.NotEqual(t, nb.Branches[0], nv.Branches[0], "the other branch draws on it")
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
	t.Run("content", func(t *testing.T) {
		// The venue's pairs take content matching's term as
		// ScoreWithNorms does (checkVenuePairs scores them that way).
		m := withContent(t, tinyFused(t, 51), 3, 0.5)
		vps, names := people(m, random(m))
		checkVenue(t, m, vps, names, false)
	})
}

// checkVenue checks m's venue thresholds on vps, of the people names,
// both sides of every pair.
func checkVenue(t *testing.T, m *voiceprint.Model, vps [][]float32, names []string, foreign bool) {
	base := voiceprint.NewScorer(m)
	venue, err := base.WithVenue(vps, names)
	require.NoError(t, err)
	require.Equal(t, base.CohortSize()+len(vps), venue.CohortSize(), "the venue's voiceprints join the cohort")
	var pairs [][2]int
	for i := range vps {
		for j := i + 1; j < len(vps); j++ {
			pairs = append(pairs, [2]int{i, j})
		}
	}
	checkVenuePairs(t, base, venue, vps, names, pairs, foreign)

	_, err = base.WithVenue(vps, names[1:])
	require.Error(t, err)
	_, err = base.WithVenue([][]float32{make([]float32, 3)}, []string{"x"})
	require.ErrorIs(t, err, voiceprint.ErrDimMismatch)
}

// brutePair scores the venue pair of all[i] and all[j] as a venue must:
// each side normalised, through WithCohort, against the model's cohort
// and every voiceprint of all but the pair's speakers' (names), then
// ScoreWithNorms. It returns the score and the two sides' statistics.
func brutePair(t *testing.T, base *voiceprint.Scorer, all [][]float32, names []string, i, j int) (float64, voiceprint.CohortNorm, voiceprint.CohortNorm) {
	t.Helper()
	var others [][]float32
	for k, v := range all {
		if names[k] != names[i] && names[k] != names[j] {
			others = append(others, v)
		}
	}
	sc, err := base.WithCohort(others)
	require.NoError(t, err)
	ni, nj := sc.CohortNorm(all[i]), sc.CohortNorm(all[j])
	return sc.ScoreWithNorms(all[i], all[j], ni, nj), ni, nj
}

// checkVenuePairs checks venue's thresholds against the scores of the
// pairs (indices into all, of the people names) of different people,
// each computed through WithCohort with every voiceprint of all but the
// pair's speakers' and ScoreWithNorms.
func checkVenuePairs(t *testing.T, base, venue *voiceprint.Scorer, all [][]float32, names []string, idx [][2]int, foreign bool) {
	var pairs []float64
	foreignPairs := 0
	for _, p := range idx {
		i, j := p[0], p[1]
		if names[i] == names[j] {
			continue
		}
		score, ni, nj := brutePair(t, base, all, names, i, j)
		if ni.Foreign || nj.Foreign {
			foreignPairs++
		}
		pairs = append(pairs, score)
	}
	slices.Sort(pairs)
	n := len(pairs)
	require.Equal(t, n, venue.VenuePairs(), "only pairs of different people count")
	if foreign {
		require.Greater(t, foreignPairs, n/4, "foreign sides")
	} else {
		require.Zero(t, foreignPairs)
	}

	people := map[[2]string]bool{}
	for _, p := range idx {
		if a, b := names[p[0]], names[p[1]]; a != b {
			people[[2]string{min(a, b), max(a, b)}] = true
		}
	}
	for _, far := range []float64{0.005, 0.01, 0.02, 0.05, 0.2} {
		k := binomialCount(n, far, 0.1)
		require.GreaterOrEqual(t, k, 0)
		thr, err := venue.Threshold(far)
		require.NoError(t, err)
		if binomialCount(len(people), far, 0.1) < 0 {
			// Enough pairs of recordings, too few pairs of people (276
			// for 0.5 %: P(none passes) = 0.25 > 0.1): the model's, or
			// the normal fit's where higher.
			assert.False(t, venue.VenueCalibrated(far, 1))
			want, err := base.Threshold(far)
			require.NoError(t, err)
			assert.InEpsilon(t, fitDecision(pairs, persons(names, idx), far, want), thr, 1e-4, "far %g: %d pairs of people", far, len(people))
			continue
		}
		assert.True(t, venue.VenueCalibrated(far, 1))
		assert.InDelta(t, pairs[n-1-k], thr, 1e-4, "far %g: the threshold accepts the %d highest of %d pairs", far, k, n)
		// Two band-limited sides: the venue's threshold, or the model's
		// band-limited one when higher.
		ths, err := venue.Thresholds(far)
		require.NoError(t, err)
		model, err := base.Thresholds(far)
		require.NoError(t, err)
		wantBL := thr
		if base.Model().Config.BandLimited != nil {
			wantBL = max(thr, model.BandLimited)
		}
		assert.Equal(t, voiceprint.Thresholds{Any: thr, BandLimited: wantBL}, ths, "far %g", far)
		accepted := n - slicesIndexAtLeast(pairs, thr+1e-4)
		assert.LessOrEqual(t, float64(accepted), far*float64(n), "far %g", far)
	}
	// Too few pairs for 0.1 % (P(no pair passes) = 0.33 > 0.1): the
	// model's calibration, or the fit's bound where its point is higher.
	want, err := base.Threshold(0.001)
	require.Greater(t, math.Pow(1-0.001, float64(n)), 0.1)
	require.NoError(t, err)
	got, err := venue.Threshold(0.001)
	require.NoError(t, err)
	assert.InEpsilon(t, fitDecision(pairs, persons(names, idx), 0.001, want), got, 1e-4)

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
	assert.InEpsilon(t, fitDecision(pairs, persons(names, idx), 1-math.Pow(1-0.002, 1.0/5), want), id, 1e-4)

	// A plain cohort added on top keeps no venue thresholds.
	plain, err := venue.WithCohort(all[:1])
	require.NoError(t, err)
	assert.Zero(t, plain.VenuePairs())
	want, _ = base.Threshold(0.01)
	got, _ = plain.Threshold(0.01)
	assert.Equal(t, want, got)

	// Wipe leaves no copy of the venue's voices nor of their scores.
	assert.True(t, base.Wiped(), "a scorer that added no voice holds none")
	require.False(t, venue.Wiped())
	venue.Wipe()
	assert.True(t, venue.Wiped())
	assert.False(t, plain.Wiped(), "the scorers derived from it hold their own copies")
}

// normalFit fits a normal distribution to scores (their mean and sample
// standard deviation) and returns its point for the upper-tail rate far,
// the quantile found by bisection on the tail probability, and the
// bound a venue of persons people takes in its place (the tolerance
// bound: mean plus ToleranceFactor standard deviations).
func normalFit(scores []float64, persons int, far float64) (point, bound float64) {
	var mean, ss float64
	for _, x := range scores {
		mean += x
	}
	mean /= float64(len(scores))
	for _, x := range scores {
		ss += (x - mean) * (x - mean)
	}
	sd := math.Sqrt(ss / float64(len(scores)-1))
	lo, hi := 0.0, 10.0
	for range 200 {
		z := (lo + hi) / 2
		if 0.5*math.Erfc(z/math.Sqrt2) > far {
			lo = z
		} else {
			hi = z
		}
	}
	return mean + lo*sd, mean + voiceprint.ToleranceFactor(persons, far, 0.9)*sd
}

// fitDecision is the threshold a venue too small for its own gives: the
// model's, or the fit's bound where the fit's point lies above it.
func fitDecision(scores []float64, persons int, far, model float64) float64 {
	if point, bound := normalFit(scores, persons, far); point > model {
		return bound
	}
	return model
}

// persons counts the people of names's pairs of different people (idx).
func persons(names []string, idx [][2]int) int {
	in := map[string]bool{}
	for _, p := range idx {
		if a, b := names[p[0]], names[p[1]]; a != b {
			in[a], in[b] = true, true
		}
	}
	return len(in)
}

// slicesIndexAtLeast is the index of the first value ≥ x in sorted.
func slicesIndexAtLeast(sorted []float64, x float64) int {
	i, _ := slices.BinarySearch(sorted, x)
	return i
}

// A venue too small for a threshold of its own (22 people for 1 %) but
// of at least five people (ten pairs) raises the model's threshold to a
// normal fit to its pairs of different people where that is higher, in
// each condition, and never lowers it; ThresholdsFrom says which.
func TestVenueFit(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	tiny := tinyFused(t, 90)
	// withCal is the tiny model with thresholds general and band-limited
	// at every rate.
	withCal := func(general, bandLimited float64) *voiceprint.Model {
		m, err := voiceprint.NewFusedModel(voiceprint.ModelConfig{ID: "tiny-fit",
			Calibration: []voiceprint.CalibrationPoint{{FAR: 0.0001, Threshold: general}},
			BandLimited: &voiceprint.ConditionCalibration{Calibration: []voiceprint.CalibrationPoint{{FAR: 0.0001, Threshold: bandLimited}}}}, tiny.Branches)
		require.NoError(t, err)
		return m
	}
	// people voices, two recordings each, around random centres.
	voices := func(people int) (vps [][]float32, names []string) {
		for p := range people {
			c := make([]float32, tiny.EmbeddingDim())
			for i := range c {
				c[i] = float32(r.NormFloat64())
			}
			tiny.Normalize(c)
			for range 2 {
				v := slices.Clone(c)
				for i := range v {
					v[i] += 0.5 * float32(r.NormFloat64()) / float32(math.Sqrt(float64(len(v))))
				}
				tiny.Normalize(v)
				vps = append(vps, v)
				names = append(names, fmt.Sprint("p", p))
			}
		}
		return vps, names
	}
	// pairScores are the venue's different-speaker pair scores, computed
	// one pair at a time.
	pairScores := func(base *voiceprint.Scorer, vps [][]float32, names []string) []float64 {
		var out []float64
		for i := range vps {
			for j := i + 1; j < len(vps); j++ {
				if names[i] != names[j] {
					s, _, _ := brutePair(t, base, vps, names, i, j)
					out = append(out, s)
				}
			}
		}
		return out
	}
	vps, names := voices(6) // 15 pairs of people
	pairs := pairScores(voiceprint.NewScorer(withCal(0, 1)), vps, names)
	point, bound := normalFit(pairs, 6, 0.01)
	require.Greater(t, point, -100.0)
	require.Less(t, bound, 100.0)
	require.Greater(t, bound, point+0.5, "six people: a bound well above the point")
	idPoint, idBound := normalFit(pairs, 6, 1-math.Pow(0.99, 1.0/3))
	for _, c := range []struct {
		name  string
		model float64
		from  string
		want  float64
	}{
		{"below the fit", -100, voiceprint.FromVenueFit, bound},
		// The venue's pairs do not score above the model's threshold:
		// the model's calibration stands, though the bound is higher.
		{"between the fit's point and its bound", (point + bound) / 2, voiceprint.FromModel, (point + bound) / 2},
		{"above the fit", 100, voiceprint.FromModel, 100},
	} {
		t.Run(c.name, func(t *testing.T) {
			base := voiceprint.NewScorer(withCal(c.model, c.model+1))
			venue, err := base.WithVenue(vps, names)
			require.NoError(t, err)
			require.False(t, venue.VenueCalibrated(0.01, 1), "six people are too few for 1 %")
			got, err := venue.Thresholds(0.01)
			require.NoError(t, err)
			assert.InEpsilon(t, c.want, got.Any, 1e-4)
			assert.InEpsilon(t, max(c.model+1, got.Any), got.BandLimited, 1e-4, "no band-limited pairs: the model's, never below the general one")
			general, bl := venue.ThresholdsFrom(0.01)
			assert.Equal(t, c.from, general)
			if c.model+1 < bound {
				assert.Equal(t, c.from, bl, "the band-limited threshold follows the general one when that is higher")
			}
			// Identification: the fit at the per-voice rate.
			id, err := venue.IdentifyThreshold(0.01, 3)
			require.NoError(t, err)
			want, wantFrom := c.model, voiceprint.FromModel
			if idPoint > c.model {
				want, wantFrom = idBound, voiceprint.FromVenueFit
			}
			assert.InEpsilon(t, want, id, 1e-4)
			general, _ = venue.IdentifyThresholdsFrom(0.01, 3)
			assert.Equal(t, wantFrom, general)
		})
	}
	t.Run("four people", func(t *testing.T) {
		few, fewNames := voices(4) // six pairs of people: no fit
		base := voiceprint.NewScorer(withCal(-100, -99))
		venue, err := base.WithVenue(few, fewNames)
		require.NoError(t, err)
		got, err := venue.Thresholds(0.01)
		require.NoError(t, err)
		assert.Equal(t, voiceprint.Thresholds{Any: -100, BandLimited: -99}, got)
		general, bl := venue.ThresholdsFrom(0.01)
		assert.Equal(t, [2]string{voiceprint.FromModel, voiceprint.FromModel}, [2]string{general, bl})
	})
	t.Run("band-limited voices", func(t *testing.T) {
		// Every voice band-limited: its pairs fit the band-limited
		// threshold, and the general one stays the model's.
		bands := make([]bool, len(vps))
		for i := range bands {
			bands[i] = true
		}
		base := voiceprint.NewScorer(withCal(-100, -99))
		venue, err := base.WithVenueOf(voiceprint.VenueSide{Voiceprints: vps, Speakers: names, BandLimited: bands}, voiceprint.VenueSide{})
		require.NoError(t, err)
		got, err := venue.Thresholds(0.01)
		require.NoError(t, err)
		assert.Equal(t, -100.0, got.Any)
		assert.InEpsilon(t, bound, got.BandLimited, 1e-4)
		general, bl := venue.ThresholdsFrom(0.01)
		assert.Equal(t, [2]string{voiceprint.FromModel, voiceprint.FromVenueFit}, [2]string{general, bl})
	})
}

// The tolerance bound does what it says: for n draws from a normal
// distribution, mean + ToleranceFactor·sd lies above the 99th
// percentile in about 90 % of samples (a little fewer for very small n:
// Natrella's approximation errs low there), and the factor falls
// towards the percentile's own z (2.33) as n grows.
func TestToleranceFactorCoverage(t *testing.T) {
	z99 := math.Sqrt2 * math.Erfinv(0.98)
	r := rand.New(rand.NewPCG(7, 8))
	prev := math.Inf(1)
	for _, n := range []int{5, 10, 20, 100} {
		k := voiceprint.ToleranceFactor(n, 0.01, 0.9)
		assert.Less(t, k, prev, "n %d", n)
		assert.Greater(t, k, z99, "n %d", n)
		prev = k
		const samples = 20000
		above := 0
		x := make([]float64, n)
		for range samples {
			var mean, ss float64
			for i := range x {
				x[i] = r.NormFloat64()
				mean += x[i]
			}
			mean /= float64(n)
			for _, v := range x {
				ss += (v - mean) * (v - mean)
			}
			if mean+k*math.Sqrt(ss/float64(n-1)) >= z99 {
				above++
			}
		}
		cover := float64(above) / samples
		t.Logf("n %3d: k %.3f, above the 99th percentile in %.3f of samples", n, k, cover)
		assert.InDelta(t, 0.9, cover, 0.03, "n %d", n)
	}
	assert.InDelta(t, 4.4, voiceprint.ToleranceFactor(5, 0.01, 0.9), 0.05)
	assert.InDelta(t, 3.4, voiceprint.ToleranceFactor(10, 0.01, 0.9), 0.05)
}
