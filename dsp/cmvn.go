package dsp

import (
	"fmt"
	"math"
)

// CMVN normalises the features of one utterance in place, column by
// column: it subtracts each column's mean over all frames and, when
// normVars is set, divides by its standard deviation (columns with zero
// variance are only centred). feats is row-major with dim columns.
func CMVN(feats []float32, dim int, normVars bool) {
	if dim <= 0 || len(feats)%dim != 0 {
		panic(fmt.Sprintf("dsp: CMVN of %d values in rows of %d", len(feats), dim))
	}
	n := len(feats) / dim
	if n == 0 {
		return
	}
	sum := make([]float64, 2*dim)
	sq := sum[dim:]
	sum = sum[:dim]
	for t := 0; t < n; t++ {
		for d, v := range feats[t*dim : (t+1)*dim] {
			sum[d] += float64(v)
			sq[d] += float64(v) * float64(v)
		}
	}
	for d := range sum {
		mean := sum[d] / float64(n)
		scale := 1.0
		if normVars {
			if v := sq[d]/float64(n) - mean*mean; v > 0 {
				scale = 1 / math.Sqrt(v)
			}
		}
		for t := 0; t < n; t++ {
			i := t*dim + d
			feats[i] = float32((float64(feats[i]) - mean) * scale)
		}
	}
}

// SlidingCMVNOptions configures SlidingCMVN; the defaults (from
// DefaultSlidingCMVNOptions) are those of Kaldi's apply-cmvn-sliding and
// torchaudio.functional.sliding_window_cmn.
type SlidingCMVNOptions struct {
	Window    int  // frames in the window; default 600
	MinWindow int  // minimum window at the start when not centred; default 100
	Center    bool // window centred on the frame (else it ends at the frame); default false
	NormVars  bool // also divide by the window's standard deviation; default false
}

// DefaultSlidingCMVNOptions returns Kaldi's defaults.
func DefaultSlidingCMVNOptions() SlidingCMVNOptions {
	return SlidingCMVNOptions{Window: 600, MinWindow: 100}
}

// SlidingCMVN normalises each frame by the mean (and optionally standard
// deviation) of the frames in a window around it, with Kaldi's rules for
// the window at the ends of the utterance, writing to dst (allocated when
// short; it may be feats itself only if it is a different slice than
// feats — in place is not supported) and returning it. Running sums are
// kept in float64.
func SlidingCMVN(dst, feats []float32, dim int, o SlidingCMVNOptions) []float32 {
	if dim <= 0 || len(feats)%dim != 0 {
		panic(fmt.Sprintf("dsp: SlidingCMVN of %d values in rows of %d", len(feats), dim))
	}
	if o.Window < 1 {
		panic(fmt.Sprintf("dsp: SlidingCMVN window of %d frames", o.Window))
	}
	dst = grow(dst, len(feats))
	n := len(feats) / dim
	sum := make([]float64, 2*dim)
	sq := sum[dim:]
	sum = sum[:dim]
	add := func(t int, sign float64) {
		for d, v := range feats[t*dim : (t+1)*dim] {
			sum[d] += sign * float64(v)
			sq[d] += sign * float64(v) * float64(v)
		}
	}
	lastStart, lastEnd := -1, -1
	for t := 0; t < n; t++ {
		var start, end int
		if o.Center {
			start = t - o.Window/2
			end = start + o.Window
		} else {
			start = t - o.Window
			end = t + 1
		}
		if start < 0 {
			end -= start
			start = 0
		}
		if !o.Center && end > t {
			end = max(t+1, o.MinWindow)
		}
		if end > n {
			start -= end - n
			end = n
			if start < 0 {
				start = 0
			}
		}
		if lastStart < 0 {
			for u := start; u < end; u++ {
				add(u, 1)
			}
		} else {
			for u := lastStart; u < start; u++ {
				add(u, -1)
			}
			for u := lastEnd; u < end; u++ {
				add(u, 1)
			}
		}
		lastStart, lastEnd = start, end
		frames := float64(end - start)
		out := dst[t*dim : (t+1)*dim]
		for d, v := range feats[t*dim : (t+1)*dim] {
			mean := sum[d] / frames
			x := float64(v) - mean
			if o.NormVars {
				if frames == 1 {
					x = 0
				} else if variance := sq[d]/frames - mean*mean; variance > 0 {
					x /= math.Sqrt(variance)
				}
			}
			out[d] = float32(x)
		}
	}
	return dst
}
