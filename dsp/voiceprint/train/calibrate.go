package train

import (
	"math"
	"math/rand/v2"
	"slices"

	"github.com/voxward/voxward/dsp/voiceprint"
	"github.com/voxward/voxward/dsp/voiceprint/eval"
)

// foreignCalibFAR is the false-accept rate at which the foreign shift
// (ModelConfig.ForeignShift) balances the thresholds of pairs with and
// without a foreign side: the one the product decides at.
const foreignCalibFAR = 0.01

// foreignSideRate is the fraction of the English training sides that the
// foreign margin (ModelConfig.ForeignMargin) lets count as foreign.
const foreignSideRate = 0.01

// identifySizes are the session sizes (enrolled voiceprints) open-set
// identification is calibrated for.
var identifySizes = []int{1, 2, 3, 5, 10, 20, 50}

// identifyFARs are the per-probe false-accept rates calibrated.
var identifyFARs = []float64{0.001, 0.005, 0.01, 0.02, 0.05}

// strictestThreshold returns the highest of the thresholds that accept
// the fraction far of each set of non-target scores.
func strictestThreshold(sets [][]float64, far float64) (float64, error) {
	thr := math.Inf(-1)
	for _, s := range sets {
		t, err := eval.ThresholdForFAR(s, far)
		if err != nil {
			return 0, err
		}
		thr = max(thr, t)
	}
	return thr, nil
}

// identifyCalibration simulates open-set sessions on the training
// speakers: for each probe b and session size n, 25 seeded draws of n
// enrolments a of other speakers in the same calibration set (score(a, b)
// is NaN where a and b are not such a pair; setOf gives a probe's set of
// nsets); the best score of each draw is what an unknown voice would
// reach. Thresholds are the quantiles of those maxima, the strictest of
// the sets' and never below a smaller session's.
func identifyCalibration(na, nb, nsets int, setOf func(b int) int, score func(a, b int) float64) ([]voiceprint.IdentifyCalibrationPoint, error) {
	const draws = 25
	r := rand.New(rand.NewPCG(2026, 11))
	var out []voiceprint.IdentifyCalibrationPoint
	pool := make([]int, 0, na)
	var prev []float64 // the last calibrated size's thresholds, one per identifyFARs
	for _, n := range identifySizes {
		maxima := make([][]float64, nsets)
		for b := range nb {
			pool = pool[:0]
			for a := range na {
				if !math.IsNaN(score(a, b)) {
					pool = append(pool, a)
				}
			}
			if len(pool) < n {
				continue
			}
			for range draws {
				best := math.Inf(-1)
				for k := 0; k < n; k++ { // partial Fisher-Yates: n distinct enrolments
					j := k + r.IntN(len(pool)-k)
					pool[k], pool[j] = pool[j], pool[k]
					best = max(best, score(pool[k], b))
				}
				maxima[setOf(b)] = append(maxima[setOf(b)], best)
			}
		}
		// A set with too few speakers for sessions this large (the
		// multilingual corpora) drops out; its smaller sessions' thresholds
		// still bound this size's from below.
		maxima = slices.DeleteFunc(maxima, func(m []float64) bool { return len(m) == 0 })
		if len(maxima) == 0 {
			continue
		}
		for k, far := range identifyFARs {
			thr, err := strictestThreshold(maxima, far)
			if err != nil {
				return nil, err
			}
			if len(prev) == len(identifyFARs) {
				thr = max(thr, prev[k])
			}
			out = append(out, voiceprint.IdentifyCalibrationPoint{Enrolled: n, FAR: far, Threshold: thr})
		}
		prev = prev[:0]
		for _, p := range out[len(out)-len(identifyFARs):] {
			prev = append(prev, p.Threshold)
		}
	}
	return out, nil
}

// foreignCalibration is what calibrateForeign finds.
type foreignCalibration struct {
	margin, shift float64  // ModelConfig.ForeignMargin and ForeignShift
	home, all     float64  // the 1 % thresholds after the shift: the home sets' strictest, and all sets'
	count         [][3]int // per set, the pairs with 0, 1 and 2 foreign sides
}

// calibrateForeign sets a model's foreign margin and shift from the
// calibration's non-target scores (scores[a*len(marginB)+b], NaN where a
// and b are no pair), the sides' margins (CohortNorm.Margin) and each
// probe's set, of nsets; sets below homeSets are the English ones. A side
// is foreign when its margin exceeds the 99th percentile of the home
// sides' (foreignSideRate); each foreign side lowers a pair's score by
// half the shift (its half of the symmetric s-norm is the inflated one).
// The shift is the smallest, in steps of 0.05 up to 8, that brings every
// set's 1 % threshold down to the strictest of the home sets', or failing
// that the one that brings the strictest of all sets lowest. The scores
// are shifted in place.
func calibrateForeign(scores, marginA, marginB []float64, setOf []int, nsets, homeSets int) foreignCalibration {
	nb := len(marginB)
	// The home sides: every probe of a home set, and every enrolment
	// paired with one.
	var home []float64
	for b, m := range marginB {
		if setOf[b] < homeSets {
			home = append(home, m)
		}
	}
	homeA := map[int]bool{}
	for k, s := range scores {
		if !math.IsNaN(s) && setOf[k%nb] < homeSets && !homeA[k/nb] {
			homeA[k/nb] = true
			home = append(home, marginA[k/nb])
		}
	}
	slices.Sort(home)
	fc := foreignCalibration{count: make([][3]int, nsets)}
	fc.margin = home[min(len(home)-1, int(float64(len(home))*(1-foreignSideRate)))]
	sides := func(k int) int {
		n := 0
		if marginA[k/nb] > fc.margin {
			n++
		}
		if marginB[k%nb] > fc.margin {
			n++
		}
		return n
	}
	type pair struct {
		s float64
		n int
	}
	perSet := make([][]pair, nsets)
	for k, s := range scores {
		if !math.IsNaN(s) {
			set, n := setOf[k%nb], sides(k)
			perSet[set] = append(perSet[set], pair{s, n})
			fc.count[set][n]++
		}
	}
	thresholds := func(shift float64) (home, all float64) {
		home, all = math.Inf(-1), math.Inf(-1)
		for set, ps := range perSet {
			xs := make([]float64, len(ps))
			for i, p := range ps {
				xs[i] = p.s - shift*float64(p.n)/2
			}
			t, err := eval.ThresholdForFAR(xs, foreignCalibFAR)
			if err != nil {
				continue
			}
			all = max(all, t)
			if set < homeSets {
				home = max(home, t)
			}
		}
		return home, all
	}
	bestAll := math.Inf(1)
	for step := 0; step <= 160; step++ {
		shift := 0.05 * float64(step)
		home, all := thresholds(shift)
		if all < bestAll-1e-9 {
			fc.shift, bestAll = shift, all
		}
		if all <= home {
			fc.shift = shift
			break
		}
	}
	fc.home, fc.all = thresholds(fc.shift)
	for k, s := range scores {
		if !math.IsNaN(s) {
			scores[k] = s - fc.shift*float64(sides(k))/2
		}
	}
	return fc
}
