package eval

import (
	"cmp"
	"math"
	"math/rand/v2"
	"slices"
)

// Interval is a two-sided confidence interval, [low, high]; voxward eval
// writes it as a JSON array of the two.
type Interval [2]float64

// Confidence intervals are speaker bootstraps: the trials of a list are
// not independent (every trial of two speakers shares their two voices, and
// a list of ten speakers holds only 45 pairs of them), so a false-accept
// rate over 4,500 such trials is far less certain than one over 4,500
// independent trials, and an interval that counted trials would be far
// too narrow.
// Each of bootstrapRounds rounds draws as many speakers as the list has,
// with replacement, and weighs every trial by how often its speakers were
// drawn: a same-speaker trial by its speaker's count, a trial of two
// speakers by the product of theirs (the subsets bootstrap of Bolle, Ratha
// and Pankanti, "Error analysis of pattern recognition systems", Pattern
// Recognition Letters 24, 2003, with speakers as the subsets). The
// interval holds the middle ciLevel of the rounds' figures. Rounds are
// seeded, so a run repeats, and two systems scored on the same list see
// the same rounds. A list of more than maxTrialRounds/bootstrapRounds
// trials gets fewer rounds (maxTrialRounds in all, minRounds at least):
// each round sweeps every trial, and a million trials would otherwise
// take half a minute.
const (
	bootstrapRounds = 1000
	maxTrialRounds  = 200_000_000
	minRounds       = 100
	ciLevel         = 0.90
	// minCISpeakers is the fewest speakers a list needs for an
	// interval: with fewer, resampling them says little.
	minCISpeakers = 5
)

// SpeakerBootstrap resamples the speakers of a set of scored pairs
// (Rounds).
type SpeakerBootstrap struct {
	a, b     []int
	speakers int
	rounds   int
}

// NewSpeakerBootstrap makes the bootstrap of pairs whose i-th is of
// speakers a[i] and b[i] (equal for a same-speaker pair), indexes below
// speakers, in bootstrapRounds rounds.
func NewSpeakerBootstrap(a, b []int, speakers int) *SpeakerBootstrap {
	return &SpeakerBootstrap{a: a, b: b, speakers: speakers, rounds: bootstrapRounds}
}

// trialBootstrap is the bootstrap of a trial list's speakers (SpeakerOf
// of the first enrolment file and of the test file).
func trialBootstrap(trials []Trial) *SpeakerBootstrap {
	enrol, test := make([]int, len(trials)), make([]int, len(trials))
	index := map[string]int{}
	id := func(path string) int {
		s := SpeakerOf(path)
		k, ok := index[s]
		if !ok {
			k = len(index)
			index[s] = k
		}
		return k
	}
	for i, t := range trials {
		if len(t.Enroll) > 0 {
			enrol[i] = id(t.Enroll[0])
		}
		test[i] = id(t.Test)
	}
	b := NewSpeakerBootstrap(enrol, test, len(index))
	b.rounds = roundsFor(len(trials))
	return b
}

// roundsFor is how many rounds a list of n trials gets.
func roundsFor(n int) int {
	return max(minRounds, min(bootstrapRounds, maxTrialRounds/max(n, 1)))
}

// Rounds calls f once per round, in seeded rounds, with
// every pair's weight in that round: its speaker's draws for a
// same-speaker pair, the product of its two speakers' otherwise. The
// slice is reused between calls.
func (b *SpeakerBootstrap) Rounds(f func(w []float64)) {
	r := rand.New(rand.NewPCG(0x5bea, 0x4e25))
	count := make([]float64, b.speakers)
	w := make([]float64, len(b.a))
	for range b.rounds {
		clear(count)
		for range b.speakers {
			count[r.IntN(b.speakers)]++
		}
		for i, e := range b.a {
			w[i] = count[e]
			if t := b.b[i]; t != e {
				w[i] *= count[t]
			}
		}
		f(w)
	}
}

// interval returns the middle ciLevel of xs (reordered), NaNs left out;
// ok is false when none is left.
func interval(xs []float64) (iv Interval, ok bool) {
	xs = slices.DeleteFunc(xs, math.IsNaN)
	if len(xs) == 0 {
		return Interval{}, false
	}
	slices.Sort(xs)
	at := func(q float64) float64 { return xs[int(math.Round(q*float64(len(xs)-1)))] }
	return Interval{at((1 - ciLevel) / 2), at((1 + ciLevel) / 2)}, true
}

// eerInterval is the bootstrap interval of the EER of a result's trials.
func (b *SpeakerBootstrap) eerInterval(targets []bool, scores []float64) (Interval, bool) {
	eerOf := weightedEER(targets, scores)
	var eers []float64
	b.Rounds(func(w []float64) {
		if e, ok := eerOf(w); ok {
			eers = append(eers, e)
		}
	})
	return interval(eers)
}

// weightedEER returns a function giving the EER of the trials (whether
// each is a target, and its score) with trial i counted w[i] times; false
// when the targets' or the non-targets' weights sum to zero. The trials
// are sorted once.
func weightedEER(targets []bool, scores []float64) func(w []float64) (float64, bool) {
	all := make([]sortedTrial, len(scores))
	for i, s := range scores {
		all[i] = sortedTrial{s, targets[i], i}
	}
	sortByScore(all)
	return func(w []float64) (float64, bool) {
		e := newEERPoint()
		sweep(all, w, e.visit)
		return e.eer, !math.IsInf(e.gap, 1)
	}
}

// rateIntervals are the bootstrap intervals of the fraction of
// non-targets accepted and of targets rejected, given whether each trial
// was accepted.
func (b *SpeakerBootstrap) rateIntervals(targets, accepted []bool) (far, frr Interval, ok bool) {
	var fars, frrs []float64
	b.Rounds(func(w []float64) {
		var fa, nn, miss, nt float64
		for i, tgt := range targets {
			switch {
			case tgt:
				nt += w[i]
				if !accepted[i] {
					miss += w[i]
				}
			default:
				nn += w[i]
				if accepted[i] {
					fa += w[i]
				}
			}
		}
		if nt > 0 && nn > 0 {
			fars, frrs = append(fars, fa/nn), append(frrs, miss/nt)
		}
	})
	far, okA := interval(fars)
	frr, okB := interval(frrs)
	return far, frr, okA && okB
}

// PairScores are the scores of different-speaker pairs and each pair's
// two speakers.
type PairScores struct {
	Scores []float64
	A, B   []int
}

// ThresholdBounds returns, for each rate of fars, the threshold that
// accepts at most that rate of every set's pairs with confidence conf
// over the speakers: the conf quantile, over the bootstrap rounds of the
// speakers (indexes below speakers, one index space for all the sets), of
// the strictest set's threshold in the round, each set's threshold that of
// ThresholdForFAR with every pair counted its round's weight. A set none
// of whose speakers a round drew does not bound that round. It returns
// ErrNoTrials if a set is empty.
func ThresholdBounds(sets []PairScores, speakers int, fars []float64, conf float64) ([]float64, error) {
	var a, b []int
	orders := make([][]int, len(sets)) // each set's pairs from the highest score down
	offsets := make([]int, len(sets))  // where each set's pairs start in a and b
	for k, s := range sets {
		if len(s.Scores) == 0 {
			return nil, ErrNoTrials
		}
		orders[k], offsets[k] = descending(s.Scores), len(a)
		a, b = append(a, s.A...), append(b, s.B...)
	}
	rounds := make([][]float64, len(fars))
	ws, totals := make([][]float64, len(sets)), make([]float64, len(sets))
	NewSpeakerBootstrap(a, b, speakers).Rounds(func(w []float64) {
		for k, s := range sets { // each set's weights and their sum, once a round
			ws[k] = w[offsets[k] : offsets[k]+len(s.Scores)]
			totals[k] = weightSum(ws[k], len(s.Scores))
		}
		for f, far := range fars {
			thr, bound := math.Inf(-1), false
			for k, s := range sets {
				if totals[k] > 0 {
					thr, bound = max(thr, weightedThresholdForFAR(s.Scores, orders[k], ws[k], totals[k], far)), true
				}
			}
			if bound {
				rounds[f] = append(rounds[f], thr)
			}
		}
	})
	out := make([]float64, len(fars))
	for f, xs := range rounds {
		if len(xs) == 0 {
			return nil, ErrNoTrials
		}
		slices.Sort(xs)
		out[f] = xs[int(math.Round(conf*float64(len(xs)-1)))]
	}
	return out, nil
}

// descending returns the indexes of xs from the highest value down.
func descending(xs []float64) []int {
	order := make([]int, len(xs))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(i, j int) int { return cmp.Compare(xs[j], xs[i]) })
	return order
}

// weightSum is the sum of n weights w (w nil: n, one each).
func weightSum(w []float64, n int) float64 {
	if w == nil {
		return float64(n)
	}
	total := 0.0
	for _, x := range w {
		total += x
	}
	return total
}

// weightedThresholdForFAR is ThresholdForFAR with nontargets[i] counted
// w[i] times (w nil: once each), order listing them from the highest
// down, and total the weights' sum (weightSum), above 0: the lowest
// threshold at which at most far of their total weight is accepted. The
// weights are whole counts, so "at most far·total" is ThresholdForFAR's
// floor(far·n) with unit weights.
func weightedThresholdForFAR(nontargets []float64, order []int, w []float64, total, far float64) float64 {
	allowed, accepted := far*total, 0.0
	for _, i := range order {
		if w == nil {
			accepted++
		} else {
			accepted += w[i]
		}
		if accepted > allowed {
			return math.Nextafter(nontargets[i], math.Inf(1))
		}
	}
	return nontargets[order[len(order)-1]]
}
