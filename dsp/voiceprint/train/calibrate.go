package train

import (
	"math"
	"math/rand/v2"
	"slices"

	"github.com/voxward/voxward/dsp/voiceprint"
	"github.com/voxward/voxward/dsp/voiceprint/eval"
)

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
// speakers: for each probe b (a 3-second piece) and session size n, 25
// seeded draws of n enrolments a of other speakers in the same channel
// (score(a, b) is NaN where a and b are not such a pair; index %
// calibChannels is the channel); the best score of each draw is what an
// unknown voice would reach. Thresholds are the quantiles of those maxima,
// the strictest of the channels'.
func identifyCalibration(na, nb int, score func(a, b int) float64) ([]voiceprint.IdentifyCalibrationPoint, error) {
	const draws = 25
	r := rand.New(rand.NewPCG(2026, 11))
	var out []voiceprint.IdentifyCalibrationPoint
	pool := make([]int, 0, na)
	for _, n := range identifySizes {
		var maxima [calibChannels][]float64
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
				maxima[b%calibChannels] = append(maxima[b%calibChannels], best)
			}
		}
		if slices.ContainsFunc(maxima[:], func(m []float64) bool { return len(m) == 0 }) {
			continue
		}
		for _, far := range identifyFARs {
			thr, err := strictestThreshold(maxima[:], far)
			if err != nil {
				return nil, err
			}
			out = append(out, voiceprint.IdentifyCalibrationPoint{Enrolled: n, FAR: far, Threshold: thr})
		}
	}
	return out, nil
}
