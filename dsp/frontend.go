package dsp

import (
	"fmt"
	"math"
)

// epsilon is the floor under every logarithm, as in Kaldi and torchaudio:
// float32's machine epsilon.
const epsilon = 1.1920928955078125e-07

// frontEnd is the machinery Fbank and MFCC share: framing, windowing, the
// power spectrum, the mel filterbank, the optional log and DCT, the energy
// column and the streaming state. It processes frames in blocks of eight
// (see kernels.go).
type frontEnd struct {
	frame               FrameOptions
	size, shift, padded int
	win                 []float32
	fft                 *RealFFT
	mel                 bandMatrix
	dct                 *bandMatrix // MFCC only: rows in output order, lifter folded in
	exact               *exactPath  // float64 recomputation of frames near the rounding floor
	exactFrames         int         // frames recomputed by the exact path (for tests)
	power, useLog       bool

	// Output layout: dim features per frame; rows [coefRow, coefRow+n) of
	// the feature block hold mel or cepstral coefficients, energyRow (if
	// ≥ 0) holds the log energy.
	dim, coefRow, energyRow int
	rawEnergy               bool
	logEnergyFloor          float32 // -Inf when there is no floor

	// block scratch
	x, pow, mels, feat, edge []float32

	// streaming state
	pending []float32 // samples from absolute index base on
	base    int
	seen    int // samples accepted so far
	next    int // next frame to emit
}

// energyOptions are the fields of FbankOptions and MFCCOptions that shape
// the energy column.
type energyOptions struct {
	use, raw, htk bool
	floor         float64
}

func newFrontEnd(fo FrameOptions, mo MelOptions, power, useLog bool) (*frontEnd, error) {
	if err := fo.validate(); err != nil {
		return nil, err
	}
	fe := &frontEnd{
		frame:  fo,
		size:   fo.WindowSize(),
		shift:  fo.WindowShift(),
		padded: fo.PaddedWindowSize(),
		power:  power,
		useLog: useLog,
	}
	if fe.padded < 4 {
		return nil, fmt.Errorf("%w: an FFT of %d points is too short", ErrInvalidOptions, fe.padded)
	}
	w, err := Window(fo.WindowType, fe.size, fo.BlackmanCoeff)
	if err != nil {
		return nil, err
	}
	fe.win = make([]float32, fe.size)
	for i, v := range w {
		fe.win[i] = float32(v)
	}
	mb, err := NewMelBanks(mo, fo.SampleFrequency, fe.padded)
	if err != nil {
		return nil, err
	}
	fe.mel = mb.matrix()
	fe.fft = NewRealFFT(fe.padded)
	fe.x = make([]float32, lanes*fe.size)
	fe.pow = make([]float32, lanes*(fe.padded/2+1))
	fe.mels = make([]float32, lanes*mb.NumBins())
	fe.edge = make([]float32, lanes*fe.size)
	return fe, nil
}

// layout sets the output rows: n coefficients, plus the energy column as
// the energy options say.
func (fe *frontEnd) layout(n int, e energyOptions) {
	fe.dim, fe.coefRow, fe.energyRow = n, 0, -1
	fe.rawEnergy = e.raw
	fe.logEnergyFloor = float32(math.Inf(-1))
	if e.floor > 0 {
		fe.logEnergyFloor = float32(math.Log(e.floor))
	}
	if e.use {
		fe.dim++
		if e.htk {
			fe.energyRow = n
		} else {
			fe.energyRow, fe.coefRow = 0, 1
		}
	}
	fe.feat = make([]float32, lanes*fe.dim)
	fe.exact = newExactPath(fe)
}

// block computes count ≤ 8 frames whose raw samples are src[l·stride:]
// (l < count; the other lanes are computed and discarded) and writes their
// features to dst, dim values per frame.
func (fe *frontEnd) block(dst, src []float32, stride, count int) {
	half := fe.padded / 2
	transposeIn(fe.x, src, stride, fe.size)
	var mean [lanes]float32
	if fe.frame.RemoveDCOffset {
		mean = laneSums(fe.x)
		for l := range mean {
			mean[l] /= float32(fe.size)
		}
	}
	var energy [lanes]float32
	if fe.energyRow >= 0 && fe.rawEnergy {
		energy = laneSumSquares(fe.x, &mean)
	}
	preemphWindow(fe.fft.ar, fe.fft.ai, fe.x, fe.win, &mean, float32(fe.frame.PreemphasisCoefficient), fe.size, half)
	var windowed, zero [lanes]float32 // Σy² of the windowed frames
	er := laneSumSquares(fe.fft.ar, &zero)
	ei := laneSumSquares(fe.fft.ai, &zero)
	for l := range windowed {
		windowed[l] = er[l] + ei[l]
	}
	if fe.energyRow >= 0 && !fe.rawEnergy {
		energy = windowed
	}
	fe.fft.spectrumBlock(fe.pow, fe.power)
	coef := fe.feat[lanes*fe.coefRow:]
	mels := fe.mels
	if fe.dct == nil {
		mels = coef[:lanes*fe.mel.numRows()]
	}
	bandMatVec(mels, fe.pow, fe.mel)
	exact := fe.exact.nearFloor(mels, &windowed)
	if fe.useLog || fe.dct != nil {
		logFloor(mels, epsilon)
	}
	if fe.dct != nil {
		bandMatVec(coef, mels, *fe.dct)
	}
	if fe.energyRow >= 0 {
		row := fe.feat[lanes*fe.energyRow : lanes*fe.energyRow+lanes]
		for l := range row {
			row[l] = max(float32(math.Log(math.Max(float64(energy[l]), epsilon))), fe.logEnergyFloor)
		}
	}
	transposeOut(dst, fe.dim, fe.feat, fe.dim, count)
	for l := 0; exact != 0 && l < count; l++ {
		if exact&(1<<l) != 0 {
			fe.exactFrames++
			fe.exactFrame(dst[l*fe.dim:(l+1)*fe.dim], src[l*stride:l*stride+fe.size])
		}
	}
}

// emit computes frames [from, to) into dst (appending) from sig, whose
// first sample has absolute index base. total is the whole signal's length
// when known (at the end of the input), else -1; frames that reach past
// the signal are only requested when it is known.
func (fe *frontEnd) emit(dst, sig []float32, base, from, to, total int) []float32 {
	n := to - from
	if n <= 0 {
		return dst
	}
	off := len(dst)
	dst = growAppend(dst, n*fe.dim)
	for f := from; f < to; f += lanes {
		count := min(lanes, to-f)
		out := dst[off+(f-from)*fe.dim:]
		first := fe.frame.firstSample(f)
		last := fe.frame.firstSample(f+lanes-1) + fe.size // one past the eighth frame's end
		if count == lanes && fe.frame.Dither == 0 && first >= base && last <= base+len(sig) {
			fe.block(out, sig[first-base:], fe.shift, count)
			continue
		}
		// Edge frames, partial blocks and dithered frames are copied out
		// first (reflecting at the signal's ends as Kaldi does).
		clear(fe.edge)
		for l := 0; l < count; l++ {
			row := fe.edge[l*fe.size : (l+1)*fe.size]
			start := fe.frame.firstSample(f + l)
			for i := range row {
				s := start + i
				if s < 0 || (total >= 0 && s >= total) {
					s = reflect(s, total)
				}
				row[i] = sig[s-base]
			}
			if fe.frame.Dither != 0 {
				addDither(row, fe.frame.Dither, fe.frame.DitherSeed, f+l)
			}
		}
		fe.block(out, fe.edge, fe.size, count)
	}
	return dst
}

// reflect maps a sample index outside [0, n) back inside by reflection at
// the ends (-1 → 0, n → n-1), repeatedly for very short signals, as Kaldi's
// ExtractWindow does. n < 0 (unknown) only happens for s < 0.
func reflect(s, n int) int {
	for {
		switch {
		case s < 0:
			s = -s - 1
		case n >= 0 && s >= n:
			s = 2*n - 1 - s
		default:
			return s
		}
	}
}

// addDither adds Gaussian noise of standard deviation sd to frame f. The
// noise is a function of (seed, f, sample index) only, so it does not
// depend on how the input was split into chunks.
func addDither(row []float32, sd float64, seed uint64, f int) {
	state := seed ^ (uint64(f)+1)*0x9e3779b97f4a7c15
	for i := 0; i < len(row); i += 2 {
		u1 := (float64(splitmix64(&state)>>11) + 0.5) / (1 << 53)
		u2 := float64(splitmix64(&state)>>11) / (1 << 53)
		r := math.Sqrt(-2 * math.Log(u1))
		s, c := math.Sincos(2 * math.Pi * u2)
		row[i] += float32(sd * r * c)
		if i+1 < len(row) {
			row[i+1] += float32(sd * r * s)
		}
	}
}

func splitmix64(state *uint64) uint64 {
	*state += 0x9e3779b97f4a7c15
	z := *state
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// growAppend extends s by n elements, reallocating with room to spare when
// its capacity is short.
func growAppend(s []float32, n int) []float32 {
	if len(s)+n <= cap(s) {
		return s[:len(s)+n]
	}
	t := make([]float32, len(s)+n, 2*(len(s)+n))
	copy(t, s)
	return t
}

// compute processes a whole utterance without touching the streaming state.
func (fe *frontEnd) compute(dst, samples []float32) []float32 {
	return fe.emit(dst[:0], samples, 0, 0, fe.frame.NumFrames(len(samples)), len(samples))
}

// accept adds samples to the stream and appends every frame that is now
// complete to dst.
func (fe *frontEnd) accept(dst, samples []float32) []float32 {
	fe.pending = append(fe.pending, samples...)
	fe.seen += len(samples)
	// Frame f is complete when its last sample has arrived.
	to := fe.next
	for fe.frame.firstSample(to)+fe.size <= fe.seen {
		to++
	}
	dst = fe.emit(dst, fe.pending, fe.base, fe.next, to, -1)
	fe.next = to
	// Keep only what later frames can still need.
	if keep := max(fe.frame.firstSample(fe.next), 0); keep > fe.base {
		drop := min(keep-fe.base, len(fe.pending))
		fe.pending = fe.pending[:copy(fe.pending, fe.pending[drop:])]
		fe.base += drop
	}
	return dst
}

// flush appends the frames that need the end of the signal, then resets
// the stream for a new utterance.
func (fe *frontEnd) flush(dst []float32) []float32 {
	dst = fe.emit(dst, fe.pending, fe.base, fe.next, fe.frame.NumFrames(fe.seen), fe.seen)
	fe.pending, fe.base, fe.seen, fe.next = fe.pending[:0], 0, 0, 0
	return dst
}
