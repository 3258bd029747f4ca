package dsp

import "math"

// The exact path. float32 keeps about 7 digits, and a power spectrum
// computed in float32 carries an absolute rounding error of the order of
// ε²·N·Σy² (y the windowed frame) in every bin. In a mel bin whose energy
// is within a few orders of magnitude of that — a band that is digitally
// empty in a 24-bit or float recording, say, or a tone in silence — the
// log is dominated by rounding. Such frames are detected after the
// float32 filterbank and recomputed here in float64, so the output stays
// within the golden tolerance of a float64 computation whatever the
// content. Real recordings rarely come near the floor (TestExactPathRare).

// exactMargin is how far above the float32 rounding floor a mel energy
// must lie for the fast path's log to be trusted: an error of about
// 1/exactMargin in the log. At 1e3 the exact path runs for 0.2 % of the
// frames of the shared LibriSpeech set (whose MP3 history leaves the top
// band nearly empty) and the largest difference from float64 on the test
// files is 2.5e-3; at 1e4 it runs for 1 % and gives 1.2e-3.
const exactMargin = 1e3

// exactPath holds the float64 tables and scratch for recomputing frames.
type exactPath struct {
	win              []float64
	re, im           []float64 // N-point complex FFT scratch
	cos, sin         []float64 // e^(-2πik/N), k < N/2
	bitrev           []int
	pow, mels, coefs []float64
	invW             []float32 // 1 / Σ weights of each mel bin
	floorScale       float32   // exactMargin·ε²·N
}

func newExactPath(fe *frontEnd) *exactPath {
	n := fe.padded
	e := &exactPath{
		win:    make([]float64, fe.size),
		re:     make([]float64, n),
		im:     make([]float64, n),
		cos:    make([]float64, n/2),
		sin:    make([]float64, n/2),
		bitrev: make([]int, n),
		pow:    make([]float64, n/2+1),
		mels:   make([]float64, fe.mel.numRows()),
		invW:   make([]float32, fe.mel.numRows()),
	}
	w, _ := Window(fe.frame.WindowType, fe.size, fe.frame.BlackmanCoeff) // validated already
	copy(e.win, w)
	for k := range e.cos {
		a := -2 * math.Pi * float64(k) / float64(n)
		e.cos[k], e.sin[k] = math.Cos(a), math.Sin(a)
	}
	bits := 0
	for 1<<bits < n {
		bits++
	}
	for i := range e.bitrev {
		r := 0
		for b := 0; b < bits; b++ {
			r |= (i >> b & 1) << (bits - 1 - b)
		}
		e.bitrev[i] = r
	}
	for b := range e.invW {
		off, cnt := fe.mel.rows[3*b+2], fe.mel.rows[3*b+1]
		var sum float64
		for _, v := range fe.mel.weights64[off : off+cnt] {
			sum += v
		}
		e.invW[b] = float32(1 / sum)
	}
	if fe.dct != nil {
		e.coefs = make([]float64, fe.dct.numRows())
	}
	const eps32 = 1.1920928955078125e-07
	e.floorScale = float32(exactMargin * eps32 * eps32 * float64(n))
	return e
}

// nearFloor returns a bit mask of the lanes whose smallest mel energy
// (per unit filter weight) lies within exactMargin of float32 rounding,
// given the mel energies of a block and each lane's windowed energy Σy².
func (e *exactPath) nearFloor(mels []float32, energy *[lanes]float32) uint8 {
	lowest := laneMinScaled(mels, e.invW)
	var mask uint8
	for l, v := range lowest {
		if v < e.floorScale*energy[l] {
			mask |= 1 << l
		}
	}
	return mask
}

// frame computes one frame's features in float64 from its raw samples
// (dither already added) into out (dim values).
func (fe *frontEnd) exactFrame(out, raw []float32) {
	e := fe.exact
	n := fe.padded
	x := e.re[:fe.size]
	for i, v := range raw[:fe.size] {
		x[i] = float64(v)
	}
	if fe.frame.RemoveDCOffset {
		var mean float64
		for _, v := range x {
			mean += v
		}
		mean /= float64(len(x))
		for i := range x {
			x[i] -= mean
		}
	}
	sumSq := func() (s float64) {
		for _, v := range x {
			s += v * v
		}
		return s
	}
	var energy float64
	if fe.energyRow >= 0 && fe.rawEnergy {
		energy = sumSq()
	}
	if c := fe.frame.PreemphasisCoefficient; c != 0 {
		for i := len(x) - 1; i > 0; i-- {
			x[i] -= c * x[i-1]
		}
		x[0] -= c * x[0]
	}
	for i := range x {
		x[i] *= e.win[i]
	}
	if fe.energyRow >= 0 && !fe.rawEnergy {
		energy = sumSq()
	}
	clear(e.re[fe.size:])
	clear(e.im)
	e.fft()
	for k := 0; k <= n/2; k++ {
		p := e.re[k]*e.re[k] + e.im[k]*e.im[k]
		if !fe.power {
			p = math.Sqrt(p)
		}
		e.pow[k] = p
	}
	e.mels = bandMatVec64(e.mels, e.pow, fe.mel)
	coef := e.mels
	if fe.useLog || fe.dct != nil {
		for b, v := range e.mels {
			e.mels[b] = math.Log(math.Max(v, epsilon))
		}
	}
	if fe.dct != nil {
		e.coefs = bandMatVec64(e.coefs, e.mels, *fe.dct)
		coef = e.coefs
	}
	for i, v := range coef {
		out[fe.coefRow+i] = float32(v)
	}
	if fe.energyRow >= 0 {
		out[fe.energyRow] = max(float32(math.Log(math.Max(energy, epsilon))), fe.logEnergyFloor)
	}
}

// fft is an in-place iterative radix-2 complex FFT of e.re, e.im.
func (e *exactPath) fft() {
	n := len(e.re)
	for i, r := range e.bitrev {
		if i < r {
			e.re[i], e.re[r] = e.re[r], e.re[i]
			e.im[i], e.im[r] = e.im[r], e.im[i]
		}
	}
	for size := 2; size <= n; size <<= 1 {
		half, step := size/2, n/size
		for start := 0; start < n; start += size {
			for j := 0; j < half; j++ {
				c, s := e.cos[j*step], e.sin[j*step]
				a, b := start+j, start+j+half
				tr := e.re[b]*c - e.im[b]*s
				ti := e.re[b]*s + e.im[b]*c
				e.re[b], e.im[b] = e.re[a]-tr, e.im[a]-ti
				e.re[a], e.im[a] = e.re[a]+tr, e.im[a]+ti
			}
		}
	}
}

// bandMatVec64 is y = M·x for one frame in float64.
func bandMatVec64(y, x []float64, m bandMatrix) []float64 {
	for r := 0; r < m.numRows(); r++ {
		start, cnt, off := int(m.rows[3*r]), int(m.rows[3*r+1]), int(m.rows[3*r+2])
		var s float64
		for j, w := range m.weights64[off : off+cnt] {
			s += w * x[start+j]
		}
		y[r] = s
	}
	return y
}
