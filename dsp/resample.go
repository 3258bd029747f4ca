package dsp

import (
	"errors"
	"fmt"
	"math"
)

// ErrUnsupportedRate is returned by NewResampler when a sample rate is not
// positive or the ratio between the rates needs a filter table larger than
// MaxResamplerTaps coefficients.
var ErrUnsupportedRate = errors.New("dsp: unsupported sample rate")

// MaxResamplerTaps bounds the size of a Resampler's coefficient table
// (L phases × K taps), so that an odd rate from a device or a file header
// cannot make NewResampler allocate without limit. The largest tables of
// the common rates, for 11.025 and 22.05 kHz → 16 kHz, hold 35,840.
const MaxResamplerTaps = 1 << 20

// ResamplerStopbandDB is the stopband attenuation the Kaiser window is
// designed for, in dB. The measured attenuation (see the tests) is above
// 70 dB for every supported rate.
const ResamplerStopbandDB = 75

// Resampler converts a stream of samples from one rate to another with a
// polyphase FIR filter. For an input rate Fi and an output rate Fo it
// reduces the ratio to L/M = Fo/Fi (L, M coprime), and conceptually
//
//  1. upsamples by L (inserting L−1 zeros after each input sample),
//  2. low-pass filters at the rate L·Fi with the prototype h[n],
//  3. keeps every M-th sample.
//
// The polyphase form computes only the kept samples: output m sits at the
// high-rate time t = m·M, uses phase p = t mod L and the newest input
// sample i = ⌊t/L⌋, and is
//
//	y[m] = L · Σ_{k=0}^{K−1} h[p + k·L] · x[i − k]
//
// so each output costs K ≈ ⌈N/L⌉ multiply-adds (rounded up to a multiple
// of 8 with zero taps), N being the prototype's length. On amd64 with AVX2
// and FMA the dot products run in assembly on 8-lane vectors
// (resample_amd64.s); elsewhere, or with -tags purego, in Go. When L = 1
// (32 and 48 kHz input) four outputs share one pass over the coefficients.
//
// The prototype is a Kaiser-windowed sinc,
//
//	h[n] = 2·fc/(L·Fi) · sinc(2·fc·(n − c)/(L·Fi)) · w[n],   c = (N−1)/2,
//	w[n] = I0(β·√(1 − ((n − c)/c)²)) / I0(β),
//
// with β = 0.1102·(A − 8.7) for a stopband attenuation of A =
// ResamplerStopbandDB dB and N ≈ (A − 7.95)/(14.36·Δf/(L·Fi)) + 1 taps for a
// transition band Δf = fs − fp (Kaiser's formulas), and fc = (fp + fs)/2.
// The band edges, for Fo = 16 kHz, are
//
//	fp = min(7/16·Fo, Fi/2 − Fo/32)   passband edge: 7 kHz, or Fi/2 − 500 Hz
//	fs = min(Fo/2, Fi − fp)           stopband edge: 8 kHz, or the first image
//
// so that downsampling keeps 0–7 kHz and removes everything that would
// alias into the output (≥ 8 kHz), and upsampling from 8 or 11.025 kHz
// removes every image of the passband. N is chosen as 2·D·M + 1 for an
// integer D, which makes the filter's group delay exactly D output samples
// (Delay).
//
// A Resampler keeps the last K−1 input samples between calls, so cutting
// a stream into blocks of any size gives the same output, bit for bit, as
// processing it in one call, and block edges cause no clicks. After
// NewResampler it allocates nothing, unless Process is given a dst too
// short for its output. It is not safe for concurrent use.
type Resampler struct {
	inRate, outRate int
	l, m            int         // output/input ratio L/M, reduced
	k               int         // taps per phase
	coef            [][]float32 // coef[p][j] = L·h[p + (K−1−j)·L]: reversed, so the dot product runs forward
	delay           int         // group delay in output samples

	// buf holds the filter's history (the last K−1 samples) followed by
	// new input; n is how much of it is filled.
	buf []float32
	n   int
	// The next output uses phase p and has its newest input sample at
	// buf[i]; i ≥ n means it waits for more input.
	p, i int
}

// resampleChunk is how many new input samples a Resampler buffers at once.
const resampleChunk = 4096

// NewResampler returns a Resampler from inRate to outRate, both in Hz.
// Equal rates give a Resampler that copies. It returns ErrUnsupportedRate
// for a rate ≤ 0 or above 1 MHz, or when the coefficient table would
// exceed MaxResamplerTaps.
func NewResampler(inRate, outRate int) (*Resampler, error) {
	if inRate <= 0 || outRate <= 0 || inRate > 1_000_000 || outRate > 1_000_000 {
		return nil, fmt.Errorf("%w: %d Hz → %d Hz", ErrUnsupportedRate, inRate, outRate)
	}
	g := gcd(inRate, outRate)
	l, m := outRate/g, inRate/g
	r := &Resampler{inRate: inRate, outRate: outRate, l: l, m: m}
	if l == 1 && m == 1 {
		r.k = 1
		r.coef = [][]float32{{1}}
	} else {
		fi, fo := float64(inRate), float64(outRate)
		fp := math.Min(7.0/16*fo, fi/2-fo/32)
		fs := math.Min(fo/2, fi-fp)
		if fp <= 0 || fs <= fp {
			return nil, fmt.Errorf("%w: %d Hz → %d Hz leaves no passband", ErrUnsupportedRate, inRate, outRate)
		}
		fh := float64(l) * fi // the prototype's rate
		const a = ResamplerStopbandDB
		need := int(math.Ceil((a-7.95)/(14.36*(fs-fp)/fh))) + 1
		d := (need - 1 + 2*m - 1) / (2 * m) // ⌈(need−1)/(2M)⌉
		n := 2*d*m + 1
		k := (n + l - 1) / l
		k = (k + 7) &^ 7 // whole 8-lane vectors; the extra taps are zero
		if int64(k)*int64(l) > MaxResamplerTaps {
			return nil, fmt.Errorf("%w: %d Hz → %d Hz needs %d taps", ErrUnsupportedRate, inRate, outRate, int64(k)*int64(l))
		}
		h := kaiserLowpass(n, (fp+fs)/2/fh, 0.1102*(a-8.7))
		r.k, r.delay = k, d
		r.coef = make([][]float32, l)
		flat := make([]float32, k*l)
		for p := range l {
			c := flat[p*k : (p+1)*k : (p+1)*k]
			for j := range k {
				if idx := p + (k-1-j)*l; idx < n {
					c[j] = float32(float64(l) * h[idx])
				}
			}
			r.coef[p] = c
		}
	}
	r.buf = make([]float32, r.k-1+resampleChunk)
	r.Reset()
	return r, nil
}

// kaiserLowpass returns an n-tap Kaiser-windowed sinc low-pass filter with
// cutoff fc in cycles per sample (0 < fc < 0.5), scaled to unit DC gain.
func kaiserLowpass(n int, fc, beta float64) []float64 {
	h := make([]float64, n)
	c := float64(n-1) / 2
	i0b := besselI0(beta)
	var sum float64
	for i := range h {
		x := float64(i) - c
		s := 2 * fc
		if x != 0 {
			s = math.Sin(2*math.Pi*fc*x) / (math.Pi * x)
		}
		r := 0.0
		if c > 0 {
			r = x / c
		}
		w := besselI0(beta*math.Sqrt(math.Max(0, 1-r*r))) / i0b
		h[i] = s * w
		sum += h[i]
	}
	for i := range h {
		h[i] /= sum
	}
	return h
}

// besselI0 is the modified Bessel function of the first kind, order 0,
// I0(x) = Σ_{k≥0} ((x/2)^k / k!)², summed until terms fall below 1e-17.
func besselI0(x float64) float64 {
	sum, term := 1.0, 1.0
	q := x * x / 4
	for k := 1; k < 500; k++ {
		term *= q / float64(k*k)
		sum += term
		if term < 1e-17*sum {
			break
		}
	}
	return sum
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// InRate returns the input sample rate in Hz.
func (r *Resampler) InRate() int { return r.inRate }

// OutRate returns the output sample rate in Hz.
func (r *Resampler) OutRate() int { return r.outRate }

// Taps returns K, the number of multiply-adds per output sample.
func (r *Resampler) Taps() int { return r.k }

// Delay returns the filter's group delay in output samples: an input event
// at time t appears in the output at t + Delay()/OutRate(). Drop the first
// Delay() outputs and call Flush at the end to align output with input.
func (r *Resampler) Delay() int { return r.delay }

// Reset clears the history, as if the Resampler were new.
func (r *Resampler) Reset() {
	clear(r.buf)
	r.n = r.k - 1 // K−1 samples of silent history
	r.p, r.i = 0, r.k-1
}

// MaxOut returns an upper bound on how many samples one Process call
// produces for n input samples, ⌈n·L/M⌉ + 1, so a caller can size dst
// once. Flush produces at most Delay() + 1.
func (r *Resampler) MaxOut(n int) int {
	return int((int64(n)*int64(r.l)+int64(r.m)-1)/int64(r.m)) + 1
}

// Process resamples src, appends the output to dst and returns the
// extended slice. It allocates only when cap(dst) is too small (see
// MaxOut); src may have any length, including zero.
func (r *Resampler) Process(dst, src []float32) []float32 {
	for len(src) > 0 {
		c := copy(r.buf[r.n:], src)
		src = src[c:]
		r.n += c
		dst = r.drain(dst)
	}
	return dst
}

// Flush feeds the Resampler Delay() output samples' worth of silence, so
// that the last real input reaches the output, and appends what comes
// out to dst. Follow it with Reset before reusing the Resampler for an
// unrelated stream.
func (r *Resampler) Flush(dst []float32) []float32 {
	z := (r.delay*r.m + r.l - 1) / r.l // input samples spanning Delay() outputs
	for z > 0 {
		c := min(z, len(r.buf)-r.n)
		clear(r.buf[r.n : r.n+c])
		r.n += c
		z -= c
		dst = r.drain(dst)
	}
	return dst
}

// drain computes every output whose input window is in buf, then moves
// the history needed next to the front of buf.
func (r *Resampler) drain(dst []float32) []float32 {
	k, l, m := r.k, r.l, r.m
	adv, step := m/l, m%l // i advances by adv (+1 when the phase wraps)
	if l == 1 && m == 1 { // equal rates: a copy
		dst = append(dst, r.buf[r.i:r.n]...)
		r.i = r.n
	}
	if l == 1 {
		// Every output uses the same coefficients: compute four at once,
		// loading each coefficient once for four windows M apart. dotSeq
		// sums in the same order as dot4, so an output is bit for bit the
		// same whichever of them computes it (and so however the input
		// was cut into blocks).
		c := r.coef[0]
		for r.i+3*m < r.n {
			s0, s1, s2, s3 := dot4(c, r.buf[r.i-k+1:], m)
			dst = append(dst, s0, s1, s2, s3)
			r.i += 4 * m
		}
		for r.i < r.n {
			dst = append(dst, dotSeq(c, r.buf[r.i-k+1:r.i+1]))
			r.i += m
		}
	}
	for r.i < r.n {
		c := r.coef[r.p]
		dst = append(dst, dot(c, r.buf[r.i-k+1:r.i+1]))
		r.i += adv
		r.p += step
		if r.p >= l {
			r.p -= l
			r.i++
		}
	}
	// Keep buf[r.i−K+1 : r.n], the history of the next output: fewer than
	// K samples, so at least resampleChunk are free for new input.
	from := r.i - k + 1
	if from > r.n {
		from = r.n // skipped input (M > K): nothing to keep
	}
	keep := copy(r.buf, r.buf[from:r.n])
	r.i -= from
	r.n = keep
	return dst
}

// dot4Scalar returns the dot products of c with the four windows of x
// starting at 0, stride, 2·stride and 3·stride, each summed in order
// (as dotSeqScalar does). len(x) ≥ 3·stride + len(c).
func dot4Scalar(c, x []float32, stride int) (s0, s1, s2, s3 float32) {
	n := len(c)
	x0, x1, x2, x3 := x[:n], x[stride:][:n], x[2*stride:][:n], x[3*stride:][:n]
	for j, cj := range c {
		s0 += cj * x0[j]
		s1 += cj * x1[j]
		s2 += cj * x2[j]
		s3 += cj * x3[j]
	}
	return s0, s1, s2, s3
}

// dotSeqScalar returns Σ c[j]·x[j], summed in order.
func dotSeqScalar(c, x []float32) float32 {
	x = x[:len(c)]
	var s float32
	for j, cj := range c {
		s += cj * x[j]
	}
	return s
}

// dotScalar returns Σ a[j]·b[j] for len(a) ≤ len(b), with four
// accumulators.
func dotScalar(a, b []float32) float32 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float32
	for len(a) >= 4 && len(b) >= 4 {
		x, y := a[:4:4], b[:4:4]
		s0 += x[0] * y[0]
		s1 += x[1] * y[1]
		s2 += x[2] * y[2]
		s3 += x[3] * y[3]
		a, b = a[4:], b[4:]
	}
	for j := range a {
		s0 += a[j] * b[j]
	}
	return (s0 + s1) + (s2 + s3)
}
