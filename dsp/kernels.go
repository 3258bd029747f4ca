package dsp

import "math"

// The front end works on blocks of up to eight frames at once, stored
// "structure of arrays": row i of a block holds sample (or bin) i of each
// of the eight frames, so x[8*i+l] belongs to frame l. Every kernel below
// treats the eight lanes independently and identically, so a frame's
// result does not depend on which lane it ran in or on its neighbours —
// streaming and whole-file processing give bit-identical output.
//
// Each kernel has a portable Go version (the *Go functions here) and, on
// amd64 with AVX2 and FMA, an assembly version; the dispatching wrappers
// pick one. Build with -tags purego to use only the Go versions.

// lanes is the number of frames processed together.
const lanes = 8

// bandMatrix is a sparse matrix whose rows are contiguous runs:
// row r covers columns rows[3r] ... rows[3r]+rows[3r+1]-1 with weights
// weights[rows[3r+2]:]. The mel filterbank and the DCT are both this shape.
type bandMatrix struct {
	rows      []int32
	weights   []float32
	weights64 []float64 // the same weights in float64, for the exact path
}

func (m bandMatrix) numRows() int { return len(m.rows) / 3 }

// transposeIn gathers eight frames into a block: dst[8i+l] = src[l·stride+i]
// for i < n.
func transposeIn(dst, src []float32, stride, n int) {
	_ = src[7*stride+n-1]
	_ = dst[8*n-1]
	if useAVX2 && n >= 8 {
		k := n &^ 7
		transposeInAVX2(&dst[0], &src[0], stride, k)
		if k == n {
			return
		}
		transposeInGo(dst[8*k:], src[k:], stride, n-k)
		return
	}
	transposeInGo(dst, src, stride, n)
}

func transposeInGo(dst, src []float32, stride, n int) {
	for l := 0; l < lanes; l++ {
		row := src[l*stride : l*stride+n]
		for i, v := range row {
			dst[8*i+l] = v
		}
	}
}

// transposeOut scatters rows 0..rows-1 of a block to frames: frame f's
// feature r goes to dst[f·stride+r], for f < frames.
func transposeOut(dst []float32, stride int, src []float32, rows, frames int) {
	_ = src[8*rows-1]
	if frames > 0 {
		_ = dst[(frames-1)*stride+rows-1]
	}
	if useAVX2 && frames == lanes && rows >= 8 {
		k := rows &^ 7
		transposeOutAVX2(&dst[0], stride, &src[0], k)
		if k == rows {
			return
		}
		transposeOutGo(dst[k:], stride, src[8*k:], rows-k, frames)
		return
	}
	transposeOutGo(dst, stride, src, rows, frames)
}

func transposeOutGo(dst []float32, stride int, src []float32, rows, frames int) {
	for f := 0; f < frames; f++ {
		out := dst[f*stride : f*stride+rows]
		for r := range out {
			out[r] = src[8*r+f]
		}
	}
}

// laneSums returns Σ_i x[8i+l] for each lane l.
func laneSums(x []float32) (s [lanes]float32) {
	if useAVX2 {
		laneSumsAVX2(&s, &x[0], len(x)/8)
		return s
	}
	return laneSumsGo(x)
}

func laneSumsGo(x []float32) (s [lanes]float32) {
	for i := 0; i+8 <= len(x); i += 8 {
		for l := range s {
			s[l] += x[i+l]
		}
	}
	return s
}

// laneSumSquares returns Σ_i (x[8i+l] - mean[l])² for each lane l.
func laneSumSquares(x []float32, mean *[lanes]float32) (s [lanes]float32) {
	if useAVX2 {
		laneSumSquaresAVX2(&s, &x[0], len(x)/8, mean)
		return s
	}
	return laneSumSquaresGo(x, mean)
}

func laneSumSquaresGo(x []float32, mean *[lanes]float32) (s [lanes]float32) {
	for i := 0; i+8 <= len(x); i += 8 {
		for l := range s {
			d := x[i+l] - mean[l]
			s[l] += d * d
		}
	}
	return s
}

// laneMinScaled returns min_i x[8i+l]·scale[i] for each lane l (+Inf for
// no rows).
func laneMinScaled(x, scale []float32) (m [lanes]float32) {
	_ = x[8*len(scale)-1]
	if useAVX2 && len(scale) > 0 {
		laneMinScaledAVX2(&m, &x[0], &scale[0], len(scale))
		return m
	}
	return laneMinScaledGo(x, scale)
}

func laneMinScaledGo(x, scale []float32) (m [lanes]float32) {
	for l := range m {
		m[l] = float32(math.Inf(1))
	}
	for i, s := range scale {
		for l := range m {
			m[l] = min(m[l], x[8*i+l]*s)
		}
	}
	return m
}

// preemphWindow turns a block of n raw frame rows x into the FFT input:
// with v_i = x_i - mean and v_{-1} = v_0 (Kaldi's first-sample rule),
// y_i = (v_i - coeff·v_{i-1})·win_i, then zero padding to 2·half rows. The
// real FFT's input is split on the way: even rows go to re, odd rows to im.
func preemphWindow(re, im, x, win []float32, mean *[lanes]float32, coeff float32, n, half int) {
	_ = x[8*n-1]
	_ = win[n-1]
	_ = re[8*half-1]
	_ = im[8*half-1]
	if useAVX2 && n%2 == 0 {
		preemphWindowAVX2(&re[0], &im[0], &x[0], &win[0], mean, coeff, n, half)
		return
	}
	preemphWindowGo(re, im, x, win, mean, coeff, n, half)
}

func preemphWindowGo(re, im, x, win []float32, mean *[lanes]float32, coeff float32, n, half int) {
	for i := 0; i < 2*half; i++ {
		dst := re
		if i&1 == 1 {
			dst = im
		}
		row := dst[8*(i/2) : 8*(i/2)+8]
		if i >= n {
			clear(row)
			continue
		}
		prev := i - 1
		if prev < 0 {
			prev = 0
		}
		for l := range row {
			v := x[8*i+l] - mean[l]
			p := x[8*prev+l] - mean[l]
			row[l] = (v - coeff*p) * win[i]
		}
	}
}

// fftStage is one radix-2 Stockham autosort stage of a complex FFT on
// blocks: for p < m and q < s, with a = x[q+s·p], b = x[q+s·(p+m)],
//
//	y[q+2s·p]     = a + b
//	y[q+s·(2p+1)] = (a - b)·w[p]
//
// where w[p] = e^(-2πi·p/(2m)) is given as (wr[p], wi[p]).
func fftStage(yr, yi, xr, xi, wr, wi []float32, m, s int) {
	_ = xr[8*2*m*s-1]
	_ = xi[8*2*m*s-1]
	_ = yr[8*2*m*s-1]
	_ = yi[8*2*m*s-1]
	_ = wr[m-1]
	_ = wi[m-1]
	if useAVX2 {
		fftStageAVX2(&yr[0], &yi[0], &xr[0], &xi[0], &wr[0], &wi[0], m, s)
		return
	}
	fftStageGo(yr, yi, xr, xi, wr, wi, m, s)
}

func fftStageGo(yr, yi, xr, xi, wr, wi []float32, m, s int) {
	for p := 0; p < m; p++ {
		c, d := wr[p], wi[p]
		for q := 0; q < s; q++ {
			a := 8 * (q + s*p)
			b := 8 * (q + s*(p+m))
			y0 := 8 * (q + 2*s*p)
			y1 := 8 * (q + s*(2*p+1))
			for l := 0; l < lanes; l++ {
				ar, ai := xr[a+l], xi[a+l]
				br, bi := xr[b+l], xi[b+l]
				yr[y0+l] = ar + br
				yi[y0+l] = ai + bi
				tr, ti := ar-br, ai-bi
				yr[y1+l] = tr*c - ti*d
				yi[y1+l] = tr*d + ti*c
			}
		}
	}
}

// fftStage4 is one radix-4 Stockham stage: for p < m and q < s, with
// a, b, c, d = x[q+s·(p+k·m)], k = 0..3, and w = (w¹, w², w³)[p],
//
//	y[q+s·(4p+0)] = (a+c) + (b+d)
//	y[q+s·(4p+1)] = ((a-c) - i(b-d))·w¹
//	y[q+s·(4p+2)] = ((a+c) - (b+d))·w²
//	y[q+s·(4p+3)] = ((a-c) + i(b-d))·w³
//
// where w^k = e^(-2πi·kp/(4m)) is given as w4[6p+2(k-1)], w4[6p+2(k-1)+1].
func fftStage4(yr, yi, xr, xi, w4 []float32, m, s int) {
	_ = xr[8*4*m*s-1]
	_ = xi[8*4*m*s-1]
	_ = yr[8*4*m*s-1]
	_ = yi[8*4*m*s-1]
	_ = w4[6*m-1]
	if useAVX2 {
		fftStage4AVX2(&yr[0], &yi[0], &xr[0], &xi[0], &w4[0], m, s)
		return
	}
	fftStage4Go(yr, yi, xr, xi, w4, m, s)
}

func fftStage4Go(yr, yi, xr, xi, w4 []float32, m, s int) {
	cmul := func(tr, ti, c, d float32) (float32, float32) { return tr*c - ti*d, tr*d + ti*c }
	for p := 0; p < m; p++ {
		w := w4[6*p : 6*p+6]
		for q := 0; q < s; q++ {
			ia, ib, ic, id := 8*(q+s*p), 8*(q+s*(p+m)), 8*(q+s*(p+2*m)), 8*(q+s*(p+3*m))
			o := 8 * (q + s*4*p)
			os := 8 * s
			for l := 0; l < lanes; l++ {
				apcR, apcI := xr[ia+l]+xr[ic+l], xi[ia+l]+xi[ic+l]
				amcR, amcI := xr[ia+l]-xr[ic+l], xi[ia+l]-xi[ic+l]
				bpdR, bpdI := xr[ib+l]+xr[id+l], xi[ib+l]+xi[id+l]
				bmdR, bmdI := xr[ib+l]-xr[id+l], xi[ib+l]-xi[id+l]
				yr[o+l], yi[o+l] = apcR+bpdR, apcI+bpdI
				yr[o+os+l], yi[o+os+l] = cmul(amcR+bmdI, amcI-bmdR, w[0], w[1])
				yr[o+2*os+l], yi[o+2*os+l] = cmul(apcR-bpdR, apcI-bpdI, w[2], w[3])
				yr[o+3*os+l], yi[o+3*os+l] = cmul(amcR-bmdI, amcI+bmdR, w[4], w[5])
			}
		}
	}
}

// realSpectrum turns the complex FFT Z of half = N/2 points, taken of the
// even and odd samples of a real frame, into the real frame's spectrum
// X[k], k = 0..half:
//
//	X[k] = (Z[k] + conj(Z[half-k]))/2 - i·e^(-2πik/N)·(Z[k] - conj(Z[half-k]))/2
//
// (indices mod half), and writes |X[k]|² (power) or |X[k]| to pow.
// (cr[k], ci[k]) = (cos, -sin)(2πk/N).
func realSpectrum(pow, zr, zi, cr, ci []float32, half int, power bool) {
	_ = pow[8*(half+1)-1]
	_ = zr[8*half-1]
	_ = zi[8*half-1]
	_ = cr[half]
	_ = ci[half]
	if useAVX2 {
		realSpectrumAVX2(&pow[0], &zr[0], &zi[0], &cr[0], &ci[0], half, power)
		return
	}
	realSpectrumGo(pow, zr, zi, cr, ci, half, power)
}

func realSpectrumGo(pow, zr, zi, cr, ci []float32, half int, power bool) {
	for k := 0; k <= half; k++ {
		ka := 8 * (k % half)
		kb := 8 * ((half - k) % half)
		c, s := cr[k], ci[k]
		for l := 0; l < lanes; l++ {
			xr, xi := splitBin(zr[ka+l], zi[ka+l], zr[kb+l], zi[kb+l], c, s)
			p := xr*xr + xi*xi
			if !power {
				p = float32(math.Sqrt(float64(p)))
			}
			pow[8*k+l] = p
		}
	}
}

// splitBin is one bin of realSpectrum: a = Z[k], b = Z[half-k],
// (c, s) = (cos, -sin)(2πk/N); it returns X[k].
func splitBin(ar, ai, br, bi, c, s float32) (xr, xi float32) {
	er, ei := 0.5*(ar+br), 0.5*(ai-bi)
	or, oi := 0.5*(ar-br), 0.5*(ai+bi)
	return er + c*oi + s*or, ei - c*or + s*oi
}

// bandMatVec computes y = M·x on blocks: y[r] = Σ_j w_r[j]·x[start_r+j].
func bandMatVec(y, x []float32, m bandMatrix) {
	_ = y[8*m.numRows()-1]
	if useAVX2 {
		bandMatVecAVX2(&y[0], &x[0], &m.rows[0], m.numRows(), &m.weights[0])
		return
	}
	bandMatVecGo(y, x, m)
}

func bandMatVecGo(y, x []float32, m bandMatrix) {
	for r := 0; r < m.numRows(); r++ {
		start, n, off := int(m.rows[3*r]), int(m.rows[3*r+1]), int(m.rows[3*r+2])
		var acc [lanes]float32
		for j, w := range m.weights[off : off+n] {
			col := x[8*(start+j) : 8*(start+j)+8]
			for l := range acc {
				acc[l] += w * col[l]
			}
		}
		copy(y[8*r:8*r+8], acc[:])
	}
}

// logFloor replaces every x[i] with ln(max(x[i], floor)), using logf.
func logFloor(x []float32, floor float32) {
	if useAVX2 && len(x)%8 == 0 {
		logFloorAVX2(&x[0], len(x)/8, floor)
		return
	}
	for i, v := range x {
		x[i] = logf(max(v, floor))
	}
}

// Coefficients of logf: ln(1+f) ≈ f - f²/2 + f³·P(f) for f in
// [√½-1, √2-1), P of degree 8 (the Cephes single-precision logf
// polynomial); relative error below 2⁻²³ over that range.
const (
	logP0 = 7.0376836292e-2
	logP1 = -1.1514610310e-1
	logP2 = 1.1676998740e-1
	logP3 = -1.2420140846e-1
	logP4 = 1.4249322787e-1
	logP5 = -1.6668057665e-1
	logP6 = 2.0000714765e-1
	logP7 = -2.4999993993e-1
	logP8 = 3.3333331174e-1
	ln2Hi = 0.693359375
	ln2Lo = -2.12194440e-4
)

// logf is a float32 natural logarithm for positive normal x, the same
// algorithm the assembly kernel evaluates eight lanes at a time:
// x = m·2^e with m in [√½, √2), ln x = e·ln2 + ln(m).
func logf(x float32) float32 {
	bits := math.Float32bits(x)
	e := int32(bits>>23) - 126
	m := math.Float32frombits(bits&0x007fffff | 0x3f000000) // in [0.5, 1)
	if m < 0.70710678 {
		m += m
		e--
	}
	f := m - 1
	z := f * f
	y := float32(logP0)
	y = y*f + logP1
	y = y*f + logP2
	y = y*f + logP3
	y = y*f + logP4
	y = y*f + logP5
	y = y*f + logP6
	y = y*f + logP7
	y = y*f + logP8
	y = y * f * z
	fe := float32(e)
	y += fe * ln2Lo
	y += -0.5 * z
	return f + y + fe*ln2Hi
}
