package train

import "math"

// contentOverlap is the dot product of two content parts
// (voiceprint.Content): their Bhattacharyya coefficient.
func contentOverlap(a, b []float32) float64 {
	var s float64
	for i, x := range a {
		s += float64(x) * float64(b[i])
	}
	return s
}

// fitContent returns the content matching weight and centre
// (voiceprint.ModelConfig.ContentWeight, ContentCentre) from non-target
// pairs: scores (NaN: no pair), their content overlaps ov and their
// calibration sets (below 0: not fitted). The weight is the slope of
// score on overlap within the sets (the pooled within-set least-squares
// slope, so that sets whose channel moves both the overlap and the
// scores do not bias it), and 0 if that is not positive; the centre is
// the mean overlap of the fitted pairs, so that the adjusted scores keep
// their mean.
func fitContent(scores, ov []float64, set []int) (weight, centre float64) {
	type acc struct{ n, sx, sy float64 }
	var per []acc
	for k, s := range scores {
		if math.IsNaN(s) || set[k] < 0 {
			continue
		}
		for len(per) <= set[k] {
			per = append(per, acc{})
		}
		a := &per[set[k]]
		a.n, a.sx, a.sy = a.n+1, a.sx+ov[k], a.sy+s
	}
	var sxy, sxx, n, sx float64
	for k, s := range scores {
		if math.IsNaN(s) || set[k] < 0 {
			continue
		}
		a := per[set[k]]
		dx, dy := ov[k]-a.sx/a.n, s-a.sy/a.n
		sxy, sxx = sxy+dx*dy, sxx+dx*dx
		n, sx = n+1, sx+ov[k]
	}
	if n == 0 || !(sxx > 0) {
		return 0, 0
	}
	return max(sxy/sxx, 0), sx / n
}
