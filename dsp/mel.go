package dsp

import (
	"fmt"
	"math"
)

// MelOptions describes a triangular mel filterbank. Field names and
// defaults follow torchaudio.compliance.kaldi.
type MelOptions struct {
	NumBins  int     // number of triangular filters; default 23, must be > 3
	LowFreq  float64 // Hz, lower edge of the first filter; default 20
	HighFreq float64 // Hz, upper edge of the last filter; ≤ 0 means Nyquist + HighFreq; default 0
	// VTLNWarp is the vocal tract length normalisation warp factor. Only
	// 1 (no warping) is supported; any other value is rejected.
	VTLNWarp float64
}

// DefaultMelOptions returns torchaudio.compliance.kaldi's defaults.
func DefaultMelOptions() MelOptions {
	return MelOptions{NumBins: 23, LowFreq: 20, VTLNWarp: 1}
}

// MelScale maps a frequency in Hz to mels: 1127·ln(1 + f/700).
func MelScale(hz float64) float64 { return 1127 * math.Log(1+hz/700) }

// InverseMelScale maps mels to Hz: 700·(e^(m/1127) - 1).
func InverseMelScale(mel float64) float64 { return 700 * (math.Exp(mel/1127) - 1) }

// MelBanks is a mel filterbank over the bins of a real FFT, in Kaldi's
// definition: NumBins triangles equally spaced on the mel scale between
// LowFreq and HighFreq, each rising from its left edge to its centre and
// falling to its right edge, over FFT bins i·fs/N for i < N/2 whose mel
// value lies strictly between the edges (the Nyquist bin has weight 0).
type MelBanks struct {
	bins      []melBin
	weights   []float32 // all filters' weights, back to back
	weights64 []float64 // the same in float64, for the exact path
}

type melBin struct {
	start  int // first FFT bin with a non-zero weight
	offset int // index of that weight in MelBanks.weights
	n      int // number of weights
}

// NewMelBanks builds the filterbank for frames of fftSize points (a
// padded window) at sampleFrequency Hz. It returns an error wrapping
// ErrInvalidOptions when the frequencies or bin count do not make sense.
func NewMelBanks(o MelOptions, sampleFrequency float64, fftSize int) (*MelBanks, error) {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrInvalidOptions, fmt.Sprintf(format, args...))
	}
	if o.VTLNWarp != 1 {
		return nil, bad("VTLN warp %v: vocal tract length normalisation is not supported (use 1.0)", o.VTLNWarp)
	}
	if o.NumBins <= 3 || o.NumBins > fftSize/2 {
		return nil, bad("%d mel bins for a %d-point FFT: need more than 3 and at most %d", o.NumBins, fftSize, fftSize/2)
	}
	nyquist := 0.5 * sampleFrequency
	high := o.HighFreq
	if high <= 0 {
		high += nyquist
	}
	if o.LowFreq < 0 || o.LowFreq >= nyquist || high <= 0 || high > nyquist || high <= o.LowFreq || math.IsNaN(o.LowFreq) || math.IsNaN(high) {
		return nil, bad("low frequency %v Hz and high frequency %v Hz (Nyquist %v Hz): need 0 ≤ low < high ≤ Nyquist", o.LowFreq, o.HighFreq, nyquist)
	}
	numFFTBins := fftSize / 2
	binWidth := sampleFrequency / float64(fftSize)
	melLow, melHigh := MelScale(o.LowFreq), MelScale(high)
	delta := (melHigh - melLow) / float64(o.NumBins+1)
	m := &MelBanks{bins: make([]melBin, o.NumBins)}
	for b := range m.bins {
		left := melLow + float64(b)*delta
		center := melLow + float64(b+1)*delta
		right := melLow + float64(b+2)*delta
		start, n := -1, 0
		for i := 0; i < numFFTBins; i++ {
			mel := MelScale(binWidth * float64(i))
			if mel > left && mel < right {
				var w float64
				if mel <= center {
					w = (mel - left) / (center - left)
				} else {
					w = (right - mel) / (right - center)
				}
				if start < 0 {
					start = i
				}
				// Bins between start and i are all inside the triangle
				// (mel is monotonic in i), so weights stay contiguous.
				m.weights = append(m.weights, float32(w))
				m.weights64 = append(m.weights64, w)
				n++
			}
		}
		if start < 0 {
			return nil, bad("mel bin %d of %d is empty: too many bins for a %d-point FFT between %v and %v Hz", b, o.NumBins, fftSize, o.LowFreq, high)
		}
		m.bins[b] = melBin{start: start, offset: len(m.weights) - n, n: n}
	}
	return m, nil
}

// NumBins is the number of filters.
func (m *MelBanks) NumBins() int { return len(m.bins) }

// Weights returns filter b's weights and the FFT bin of the first one.
func (m *MelBanks) Weights(b int) (start int, w []float32) {
	bin := m.bins[b]
	return bin.start, m.weights[bin.offset : bin.offset+bin.n]
}

// Apply computes dst[b] = Σ_i w_b[i]·spectrum[i] for every filter b and
// returns dst (allocated when too short). spectrum holds at least
// fftSize/2 bins.
func (m *MelBanks) Apply(dst, spectrum []float32) []float32 {
	dst = grow(dst, len(m.bins))
	for b, bin := range m.bins {
		var s float32
		for j, w := range m.weights[bin.offset : bin.offset+bin.n] {
			s += w * spectrum[bin.start+j]
		}
		dst[b] = s
	}
	return dst
}

// matrix returns the filterbank as a banded matrix for the batch kernels.
func (m *MelBanks) matrix() bandMatrix {
	bm := bandMatrix{weights: m.weights, weights64: m.weights64}
	for _, b := range m.bins {
		bm.rows = append(bm.rows, int32(b.start), int32(b.n), int32(b.offset))
	}
	return bm
}

// grow returns s resliced to n elements, allocating if its capacity is short.
func grow(s []float32, n int) []float32 {
	if cap(s) < n {
		return make([]float32, n)
	}
	return s[:n]
}
