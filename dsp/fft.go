package dsp

import (
	"fmt"
	"math"
)

// RealFFT computes the discrete Fourier transform of real frames of N
// points, N a power of two ≥ 4:
//
//	X[k] = Σ_n x[n]·e^(-2πi·kn/N),  k = 0..N/2
//
// It runs as an N/2-point complex FFT of the even and odd samples
// (Stockham autosort, no bit reversal) followed by the split that separates their
// spectra (radix-4 stages, and a radix-2 one when log2(N/2) is odd). It transforms up to eight frames at once (see TransformBatch);
// a RealFFT owns its scratch space, so it is not safe for concurrent use.
type RealFFT struct {
	n      int
	stages []fftStagePlan
	cr, ci []float32 // (cos, -sin)(2πk/N), k = 0..N/2

	// block scratch: two ping-pong buffers of N/2 complex rows
	ar, ai, br, bi []float32
	in             []float32 // N rows of raw samples
	out            []float32 // N/2+1 rows of magnitudes
}

// fftStagePlan is one Stockham stage. Radix 4: m = n/4 butterflies of
// four points at stride s, twiddles w4 = (w¹, w², w³) as re, im pairs, six
// floats per butterfly. Radix 2: m = n/2, twiddles (wr, wi).
type fftStagePlan struct {
	radix  int
	m, s   int
	wr, wi []float32
	w4     []float32
}

// NewRealFFT returns a transform of n points. It panics unless n is a
// power of two ≥ 4 (a programming error: frame sizes come from validated
// options).
func NewRealFFT(n int) *RealFFT {
	if n < 4 || n&(n-1) != 0 {
		panic(fmt.Sprintf("dsp: RealFFT size %d is not a power of two ≥ 4", n))
	}
	half := n / 2
	f := &RealFFT{n: n}
	// Radix-4 stages while four or more points remain, then one radix-2
	// stage when log2(N/2) is odd.
	s := 1
	for n := half; n >= 2; {
		if n >= 4 {
			st := fftStagePlan{radix: 4, m: n / 4, s: s, w4: make([]float32, 6*(n/4))}
			for p := 0; p < n/4; p++ {
				for k := 1; k <= 3; k++ {
					a := -2 * math.Pi * float64(k*p) / float64(n)
					st.w4[6*p+2*(k-1)] = float32(math.Cos(a))
					st.w4[6*p+2*(k-1)+1] = float32(math.Sin(a))
				}
			}
			f.stages = append(f.stages, st)
			n, s = n/4, s*4
			continue
		}
		f.stages = append(f.stages, fftStagePlan{radix: 2, m: 1, s: s, wr: []float32{1}, wi: []float32{0}})
		n, s = n/2, s*2
	}
	f.cr = make([]float32, half+1)
	f.ci = make([]float32, half+1)
	for k := 0; k <= half; k++ {
		a := 2 * math.Pi * float64(k) / float64(n)
		f.cr[k], f.ci[k] = float32(math.Cos(a)), float32(-math.Sin(a))
	}
	f.ar = make([]float32, lanes*half)
	f.ai = make([]float32, lanes*half)
	f.br = make([]float32, lanes*half)
	f.bi = make([]float32, lanes*half)
	return f
}

// Len is the transform size N.
func (f *RealFFT) Len() int { return f.n }

// complexBlock runs the N/2-point complex FFT on the block (xr, xi) and
// returns the buffers that hold the result: f.ar/f.ai or f.br/f.bi. The
// input may be f.ar/f.ai (it is then overwritten) or any other block (it
// is then left alone).
func (f *RealFFT) complexBlock(xr, xi []float32) (re, im []float32) {
	yr, yi := f.br, f.bi
	for _, st := range f.stages {
		if st.radix == 4 {
			fftStage4(yr, yi, xr, xi, st.w4, st.m, st.s)
		} else {
			fftStage(yr, yi, xr, xi, st.wr, st.wi, st.m, st.s)
		}
		xr, xi = yr, yi
		if &yr[0] == &f.br[0] {
			yr, yi = f.ar, f.ai
		} else {
			yr, yi = f.br, f.bi
		}
	}
	return xr, xi
}

// spectrumBlock computes |X[k]|² (power) or |X[k]| of the block held in
// f.ar, f.ai (even samples in ar, odd in ai) into pow, N/2+1 rows.
func (f *RealFFT) spectrumBlock(pow []float32, power bool) {
	re, im := f.complexBlock(f.ar, f.ai)
	realSpectrum(pow, re, im, f.cr, f.ci, f.n/2, power)
}

// PowerSpectrumBatch computes the power spectrum |X[k]|², k = 0..N/2, of
// up to eight frames: frames[j] (N samples, or fewer, zero padded) gives
// dst[j] (allocated when nil or short). It returns dst.
func (f *RealFFT) PowerSpectrumBatch(dst [][]float32, frames [][]float32) [][]float32 {
	if len(frames) > lanes {
		panic(fmt.Sprintf("dsp: PowerSpectrumBatch of %d frames; at most %d", len(frames), lanes))
	}
	half := f.n / 2
	if f.in == nil {
		f.in = make([]float32, lanes*f.n)
		f.out = make([]float32, lanes*(half+1))
	}
	clear(f.in)
	for l, fr := range frames {
		if len(fr) > f.n {
			panic(fmt.Sprintf("dsp: frame of %d samples for a %d-point FFT", len(fr), f.n))
		}
		for i, v := range fr {
			f.in[8*i+l] = v
		}
	}
	for k := 0; k < half; k++ {
		copy(f.ar[8*k:8*k+8], f.in[16*k:16*k+8])
		copy(f.ai[8*k:8*k+8], f.in[16*k+8:16*k+16])
	}
	f.spectrumBlock(f.out, true)
	if len(dst) < len(frames) {
		dst = append(dst, make([][]float32, len(frames)-len(dst))...)
	}
	dst = dst[:len(frames)]
	for l := range frames {
		dst[l] = grow(dst[l], half+1)
		for k := range dst[l] {
			dst[l][k] = f.out[8*k+l]
		}
	}
	return dst
}

// Transform computes X[k], k = 0..N/2, of one frame (N samples, or fewer,
// zero padded) into dst (allocated when short) and returns it.
func (f *RealFFT) Transform(dst []complex64, frame []float32) []complex64 {
	if len(frame) > f.n {
		panic(fmt.Sprintf("dsp: frame of %d samples for a %d-point FFT", len(frame), f.n))
	}
	half := f.n / 2
	clear(f.ar)
	clear(f.ai)
	for i, v := range frame {
		if i&1 == 0 {
			f.ar[8*(i/2)] = v
		} else {
			f.ai[8*(i/2)] = v
		}
	}
	re, im := f.complexBlock(f.ar, f.ai)
	if cap(dst) < half+1 {
		dst = make([]complex64, half+1)
	}
	dst = dst[:half+1]
	for k := range dst {
		ka, kb := 8*(k%half), 8*((half-k)%half)
		xr, xi := splitBin(re[ka], im[ka], re[kb], im[kb], f.cr[k], f.ci[k])
		dst[k] = complex(xr, xi)
	}
	return dst
}

// PowerSpectrum computes |X[k]|², k = 0..N/2, of one frame into dst
// (allocated when short) and returns it. For many frames,
// PowerSpectrumBatch does eight for the price of one.
func (f *RealFFT) PowerSpectrum(dst, frame []float32) []float32 {
	out := f.PowerSpectrumBatch([][]float32{dst}, [][]float32{frame})
	return out[0]
}
