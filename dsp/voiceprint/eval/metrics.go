package eval

import (
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
	nt, nn := len(targets), len(nontargets)
	if nt == 0 || nn == 0 {
		return nil, ErrNoTrials
	}
	type sc struct {
		s   float64
		tgt bool
	}
	all := make([]sc, 0, nt+nn)
	for _, s := range targets {
		all = append(all, sc{s, true})
	}
	for _, s := range nontargets {
		all = append(all, sc{s, false})
	}
	slices.SortFunc(all, func(a, b sc) int {
		switch {
		case a.s < b.s:
			return -1
		case a.s > b.s:
			return 1
		}
		return 0
	})
	pts := make([]DETPoint, 0, len(all)+1)
	miss, fa := 0, nn // at threshold all[0].s: nothing missed, all non-targets accepted
	for i := 0; i < len(all); {
		thr := all[i].s
		pts = append(pts, DETPoint{Threshold: thr, PMiss: float64(miss) / float64(nt), PFA: float64(fa) / float64(nn)})
		for i < len(all) && all[i].s == thr {
			if all[i].tgt {
				miss++
			} else {
				fa--
			}
			i++
		}
	}
	top := all[len(all)-1].s
	pts = append(pts, DETPoint{Threshold: math.Nextafter(top, math.Inf(1)), PMiss: 1, PFA: 0})
	return pts, nil
}

// EER returns the equal error rate of a detector — the operating point
// where the miss and false-accept rates are closest, as their mean — and
// the threshold there. It returns ErrNoTrials if either list is empty.
func EER(targets, nontargets []float64) (eer, threshold float64, err error) {
	pts, err := DetectionCurve(targets, nontargets)
	if err != nil {
		return 0, 0, err
	}
	best := math.Inf(1)
	for _, p := range pts {
		if d := math.Abs(p.PMiss - p.PFA); d < best {
			best, eer, threshold = d, (p.PMiss+p.PFA)/2, p.Threshold
		}
	}
	return eer, threshold, nil
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
	s := slices.Clone(nontargets)
	slices.Sort(s)
	allowed := int(math.Floor(far * float64(len(s)))) // accepted non-targets allowed
	if allowed >= len(s) {
		return s[0], nil
	}
	// Accept the top `allowed` scores: the threshold sits just above the
	// next one down.
	return math.Nextafter(s[len(s)-1-allowed], math.Inf(1)), nil
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
