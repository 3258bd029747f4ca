package eval

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
)

// ErrNoTrials means a detection metric was asked for without both target
// and non-target scores.
var ErrNoTrials = errors.New("eval: need at least one target and one non-target score")

// DETPoint is one operating point of a detector: accepting every score at
// or above Threshold misses PMiss of the targets and accepts PFA of the
// non-targets.
type DETPoint struct {
	Threshold float64
	PMiss     float64
	PFA       float64
}

// DetectionCurve returns every operating point of a detector scored on
// targets and nontargets, from the lowest threshold (nothing missed, every
// non-target accepted) to above the highest score (everything missed).
// Ties are kept together, so each point is reachable by one threshold. It
// returns ErrNoTrials if either list is empty.
func DetectionCurve(targets, nontargets []float64) ([]DETPoint, error) {
	if len(targets) == 0 || len(nontargets) == 0 {
		return nil, ErrNoTrials
	}
	pts := make([]DETPoint, 0, len(targets)+len(nontargets)+1)
	sweep(sortTrials(targets, nontargets), nil, func(p DETPoint) { pts = append(pts, p) })
	return pts, nil
}

// sortedTrial is one trial's score, whether it is a target's, and its
// index in the lists sortTrials was given (targets first).
type sortedTrial struct {
	s   float64
	tgt bool
	i   int
}

// sortTrials returns the trials of targets and nontargets in order of
// score; index i counts the targets first, then the nontargets.
func sortTrials(targets, nontargets []float64) []sortedTrial {
	all := make([]sortedTrial, 0, len(targets)+len(nontargets))
	for i, s := range targets {
		all = append(all, sortedTrial{s, true, i})
	}
	for i, s := range nontargets {
		all = append(all, sortedTrial{s, false, len(targets) + i})
	}
	sortByScore(all)
	return all
}

// sortByScore sorts trials in order of score.
func sortByScore(all []sortedTrial) {
	slices.SortFunc(all, func(a, b sortedTrial) int { return cmp.Compare(a.s, b.s) })
}

// sweep calls visit with each operating point of the sorted trials, as
// DetectionCurve lists them, each trial counting w[i] (w nil: one each).
// It calls nothing when the targets' or the non-targets' weights sum to
// zero.
func sweep(all []sortedTrial, w []float64, visit func(DETPoint)) {
	weight := func(t sortedTrial) float64 {
		if w == nil {
			return 1
		}
		return w[t.i]
	}
	var nt, nn float64
	for _, t := range all {
		if t.tgt {
			nt += weight(t)
		} else {
			nn += weight(t)
		}
	}
	if nt == 0 || nn == 0 {
		return
	}
	miss, fa := 0.0, nn // at threshold all[0].s: nothing missed, all non-targets accepted
	for i := 0; i < len(all); {
		thr := all[i].s
		visit(DETPoint{Threshold: thr, PMiss: miss / nt, PFA: fa / nn})
		for i < len(all) && all[i].s == thr {
			if all[i].tgt {
				miss += weight(all[i])
			} else {
				fa -= weight(all[i])
			}
			i++
		}
	}
	top := all[len(all)-1].s
	visit(DETPoint{Threshold: math.Nextafter(top, math.Inf(1)), PMiss: 1, PFA: 0})
}

// eerPoint keeps the operating point closest to the equal error rate.
type eerPoint struct {
	gap, eer, threshold float64
}

func newEERPoint() eerPoint { return eerPoint{gap: math.Inf(1)} }

func (e *eerPoint) visit(p DETPoint) {
	if d := math.Abs(p.PMiss - p.PFA); d < e.gap {
		e.gap, e.eer, e.threshold = d, (p.PMiss+p.PFA)/2, p.Threshold
	}
}

// EER returns the equal error rate of a detector — the operating point
// where the miss and false-accept rates are closest, as their mean — and
// the threshold there. It returns ErrNoTrials if either list is empty.
func EER(targets, nontargets []float64) (eer, threshold float64, err error) {
	if len(targets) == 0 || len(nontargets) == 0 {
		return 0, 0, ErrNoTrials
	}
	e := newEERPoint()
	sweep(sortTrials(targets, nontargets), nil, e.visit)
	return e.eer, e.threshold, nil
}

// DCFParams are the costs and prior of a detection cost function.
type DCFParams struct {
	PTarget float64 // prior probability of a target trial
	CMiss   float64 // cost of a miss
	CFA     float64 // cost of a false accept
}

// DefaultDCF is the NIST SRE 2008-style operating point voxward reports:
// p_target 0.01, unit costs.
var DefaultDCF = DCFParams{PTarget: 0.01, CMiss: 1, CFA: 1}

// MinDCF returns the minimum over thresholds of the detection cost
// C_miss·P_miss·p + C_fa·P_fa·(1-p), normalised by the cost of the best
// trivial system, min(C_miss·p, C_fa·(1-p)), and the threshold reaching
// it. It returns ErrNoTrials if either list is empty, or an error for
// parameters outside (0,1) and (0,∞).
func MinDCF(targets, nontargets []float64, p DCFParams) (dcf, threshold float64, err error) {
	if !(p.PTarget > 0 && p.PTarget < 1) || !(p.CMiss > 0) || !(p.CFA > 0) {
		return 0, 0, fmt.Errorf("eval: DCF parameters %+v out of range", p)
	}
	pts, err := DetectionCurve(targets, nontargets)
	if err != nil {
		return 0, 0, err
	}
	norm := math.Min(p.CMiss*p.PTarget, p.CFA*(1-p.PTarget))
	dcf = math.Inf(1)
	for _, q := range pts {
		c := (p.CMiss*q.PMiss*p.PTarget + p.CFA*q.PFA*(1-p.PTarget)) / norm
		if c < dcf {
			dcf, threshold = c, q.Threshold
		}
	}
	return dcf, threshold, nil
}

// ThresholdForFAR returns the lowest threshold at which at most far of
// the nontargets are accepted (score ≥ threshold), so that a detector
// calibrated on those scores has a false-accept rate of at most far. It
// returns ErrNoTrials if nontargets is empty.
func ThresholdForFAR(nontargets []float64, far float64) (float64, error) {
	if len(nontargets) == 0 {
		return 0, ErrNoTrials
	}
	return weightedThresholdForFAR(nontargets, descending(nontargets), nil, float64(len(nontargets)), far), nil
}

// RatesAt returns the fractions of nontargets accepted (score ≥ thr) and of
// targets rejected (score < thr); NaN for an empty side.
func RatesAt(targets, nontargets []float64, thr float64) (far, frr float64) {
	count := func(xs []float64, accept bool) float64 {
		if len(xs) == 0 {
			return math.NaN()
		}
		n := 0
		for _, x := range xs {
			if (x >= thr) == accept {
				n++
			}
		}
		return float64(n) / float64(len(xs))
	}
	return count(nontargets, true), count(targets, false)
}
