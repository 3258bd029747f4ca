package dsp

import (
	"errors"
	"fmt"
	"math"
)

// ErrInvalidOptions is wrapped by every error that reports a bad option
// value (a frame length of zero samples, a low frequency above Nyquist, ...).
var ErrInvalidOptions = errors.New("dsp: invalid options")

// Window types accepted in FrameOptions.WindowType, as Kaldi names them.
const (
	WindowPovey       = "povey"
	WindowHamming     = "hamming"
	WindowHanning     = "hanning"
	WindowRectangular = "rectangular"
	WindowBlackman    = "blackman"
)

// FrameOptions says how a waveform is cut into windowed frames. Field names
// and defaults follow torchaudio.compliance.kaldi (and Kaldi's
// FrameExtractionOptions); DefaultFrameOptions returns them.
type FrameOptions struct {
	SampleFrequency        float64 // Hz; default 16000
	FrameLength            float64 // ms; default 25
	FrameShift             float64 // ms; default 10
	Dither                 float64 // standard deviation of added Gaussian noise; default 0 (off)
	DitherSeed             uint64  // seed of the dither noise; the same seed gives the same features
	PreemphasisCoefficient float64 // y[i] = x[i] - c·x[i-1]; default 0.97
	RemoveDCOffset         bool    // subtract each frame's mean; default true
	WindowType             string  // povey (default), hamming, hanning, rectangular, blackman
	RoundToPowerOfTwo      bool    // zero-pad frames to a power of two for the FFT; default true
	BlackmanCoeff          float64 // the α of the generalised Blackman window; default 0.42
	SnipEdges              bool    // true: only frames that fit; false: reflect at the edges; default true
}

// DefaultFrameOptions returns torchaudio.compliance.kaldi's defaults.
func DefaultFrameOptions() FrameOptions {
	return FrameOptions{
		SampleFrequency:        16000,
		FrameLength:            25,
		FrameShift:             10,
		PreemphasisCoefficient: 0.97,
		RemoveDCOffset:         true,
		WindowType:             WindowPovey,
		RoundToPowerOfTwo:      true,
		BlackmanCoeff:          0.42,
		SnipEdges:              true,
	}
}

// WindowSize is the frame length in samples, truncated as Kaldi does.
func (o FrameOptions) WindowSize() int {
	return int(o.SampleFrequency * o.FrameLength * 0.001)
}

// WindowShift is the frame shift in samples, truncated as Kaldi does.
func (o FrameOptions) WindowShift() int {
	return int(o.SampleFrequency * o.FrameShift * 0.001)
}

// PaddedWindowSize is the FFT length: WindowSize rounded up to a power of
// two when RoundToPowerOfTwo is set.
func (o FrameOptions) PaddedWindowSize() int {
	n := o.WindowSize()
	if !o.RoundToPowerOfTwo {
		return n
	}
	p := 1
	for p < n {
		p <<= 1
	}
	return p
}

func (o FrameOptions) validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrInvalidOptions, fmt.Sprintf(format, args...))
	}
	switch {
	case !(o.SampleFrequency > 0) || math.IsInf(o.SampleFrequency, 0):
		return bad("sample frequency %v Hz must be positive", o.SampleFrequency)
	case o.WindowSize() < 2:
		return bad("frame length %v ms is %d samples at %v Hz; need at least 2", o.FrameLength, o.WindowSize(), o.SampleFrequency)
	case o.WindowShift() < 1:
		return bad("frame shift %v ms is %d samples at %v Hz; need at least 1", o.FrameShift, o.WindowShift(), o.SampleFrequency)
	case o.WindowSize() > 1<<20:
		return bad("frame length %v ms is too long", o.FrameLength)
	case o.Dither < 0 || math.IsNaN(o.Dither):
		return bad("dither %v must be ≥ 0", o.Dither)
	case o.PreemphasisCoefficient < 0 || o.PreemphasisCoefficient > 1 || math.IsNaN(o.PreemphasisCoefficient):
		return bad("preemphasis coefficient %v must be in [0, 1]", o.PreemphasisCoefficient)
	}
	if n := o.PaddedWindowSize(); n&(n-1) != 0 {
		return bad("an FFT of %d points: without round-to-power-of-two the frame length must be a power of two samples", n)
	}
	switch o.WindowType {
	case WindowPovey, WindowHamming, WindowHanning, WindowRectangular, WindowBlackman:
	default:
		return bad("window type %q (want povey, hamming, hanning, rectangular or blackman)", o.WindowType)
	}
	return nil
}

// NumFrames is how many frames a waveform of n samples gives, as Kaldi's
// NumFrames with flush: with SnipEdges only frames that fit entirely,
// otherwise round(n / shift).
func (o FrameOptions) NumFrames(n int) int {
	size, shift := o.WindowSize(), o.WindowShift()
	if o.SnipEdges {
		if n < size {
			return 0
		}
		return 1 + (n-size)/shift
	}
	return (n + shift/2) / shift
}

// firstSample is the index of frame f's first sample; negative (or past the
// end) indices are reflected when SnipEdges is false.
func (o FrameOptions) firstSample(f int) int {
	shift := o.WindowShift()
	if o.SnipEdges {
		return f * shift
	}
	return f*shift + shift/2 - o.WindowSize()/2
}

// Window returns the window function of n samples for typ, in float64, as
// Kaldi's FeatureWindowFunction defines it (a = 2π/(n-1)):
//
//	hanning      0.5 - 0.5·cos(a·i)
//	hamming      0.54 - 0.46·cos(a·i)
//	povey        (0.5 - 0.5·cos(a·i))^0.85
//	rectangular  1
//	blackman     α - 0.5·cos(a·i) + (0.5-α)·cos(2a·i)
func Window(typ string, n int, blackmanCoeff float64) ([]float64, error) {
	if n < 1 {
		return nil, fmt.Errorf("%w: window of %d samples", ErrInvalidOptions, n)
	}
	w := make([]float64, n)
	a := 2 * math.Pi / float64(n-1)
	for i := range w {
		x := float64(i)
		switch typ {
		case WindowHanning:
			w[i] = 0.5 - 0.5*math.Cos(a*x)
		case WindowHamming:
			w[i] = 0.54 - 0.46*math.Cos(a*x)
		case WindowPovey:
			w[i] = math.Pow(0.5-0.5*math.Cos(a*x), 0.85)
		case WindowRectangular:
			w[i] = 1
		case WindowBlackman:
			w[i] = blackmanCoeff - 0.5*math.Cos(a*x) + (0.5-blackmanCoeff)*math.Cos(2*a*x)
		default:
			return nil, fmt.Errorf("%w: window type %q", ErrInvalidOptions, typ)
		}
	}
	if n == 1 { // a = +Inf: every cosine form degenerates; Kaldi would give NaN
		w[0] = 1
	}
	return w, nil
}
