package dsp

import "fmt"

// Deltas appends time derivatives to features as Kaldi's add-deltas does:
// for order 2 and window 2 (its defaults) each output frame is
// [x, Δx, ΔΔx], where Δ is the regression
//
//	Δx_t = Σ_{n=-N..N} n·x_{t+n} / (2·Σ_{n=1..N} n²)
//
// applied once for Δ and twice (as one convolved filter) for ΔΔ; frames
// before the first or after the last repeat the edge frame. dst (allocated
// when short) receives frames × dim·(order+1) values; it is returned.
func Deltas(dst, feats []float32, dim, order, window int) []float32 {
	if dim <= 0 || len(feats)%dim != 0 || order < 0 || window < 1 {
		panic(fmt.Sprintf("dsp: Deltas of %d values in rows of %d, order %d, window %d", len(feats), dim, order, window))
	}
	scales := deltaScales(order, window)
	n := len(feats) / dim
	od := dim * (order + 1)
	dst = grow(dst, n*od)
	clear(dst)
	for t := 0; t < n; t++ {
		for i, sc := range scales {
			out := dst[t*od+i*dim : t*od+(i+1)*dim]
			half := (len(sc) - 1) / 2
			for j := -half; j <= half; j++ {
				w := sc[j+half]
				if w == 0 {
					continue
				}
				u := min(max(t+j, 0), n-1)
				for d, v := range feats[u*dim : (u+1)*dim] {
					out[d] += w * v
				}
			}
		}
	}
	return dst
}

// deltaScales returns Kaldi's regression filters for each order: order 0
// is [1]; order i convolves order i-1 with [-N..N]/Σn².
func deltaScales(order, window int) [][]float32 {
	scales := [][]float32{{1}}
	var norm float32
	for j := -window; j <= window; j++ {
		norm += float32(j * j)
	}
	for i := 1; i <= order; i++ {
		prev := scales[i-1]
		cur := make([]float32, len(prev)+2*window)
		for j := -window; j <= window; j++ {
			for k, p := range prev {
				cur[j+k+window] += float32(j) * p
			}
		}
		for k := range cur {
			cur[k] /= norm
		}
		scales = append(scales, cur)
	}
	return scales
}
