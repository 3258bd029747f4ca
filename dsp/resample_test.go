package dsp_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/voxward/voxward/dsp"
	"github.com/voxward/voxward/internal/audiotest"
)

// inputRates are the rates ARCHITECTURE.md and issue 5 promise to resample
// to 16 kHz.
var inputRates = []int{8000, 11025, 22050, 32000, 44100, 48000}

const outRate = 16000

// bandEdges mirrors the design rule in Resampler's doc comment: the
// passband edge fp and the stopband edge fs, in Hz, for 16 kHz output.
func bandEdges(in int) (fp, fs float64) {
	fi := float64(in)
	fp = math.Min(7000, fi/2-500)
	fs = math.Min(8000, fi-fp)
	return fp, fs
}

// tone returns n samples of amplitude·sin(2π·f·i/rate).
func tone(n int, f, rate, amplitude float64) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(amplitude * math.Sin(2*math.Pi*f*float64(i)/rate))
	}
	return x
}

// fitSine fits a sine of f Hz (sampled at rate) to y and returns its
// amplitude and the RMS of what is left.
func fitSine(y []float32, f, rate float64) (amp, residualRMS float64) {
	fit := audiotest.FitSine(y, f, rate)
	return fit.Amp(), fit.ResidualRMS
}

func rms(y []float32) float64 {
	var s float64
	for _, v := range y {
		s += float64(v) * float64(v)
	}
	return math.Sqrt(s / float64(len(y)))
}

func db(x float64) float64 { return 20 * math.Log10(x) }

// resampleTone runs a tone of frequency f through a new Resampler in blocks
// of 10 ms and returns the steady-state part of the output (the filter's
// start-up and the last block left out).
func resampleTone(t *testing.T, in int, f float64) []float32 {
	t.Helper()
	r, err := dsp.NewResampler(in, outRate)
	require.NoError(t, err)
	const amplitude = 10000
	x := tone(in/8, f, float64(in), amplitude) // 125 ms
	y := make([]float32, 0, r.MaxOut(len(x)))
	for b := 0; b < len(x); b += in / 100 {
		y = r.Process(y, x[b:min(b+in/100, len(x))])
	}
	skip := 2*r.Delay() + 8
	require.Greater(t, len(y), 2*skip+400, "rate %d", in)
	return y[skip : len(y)-skip]
}

// sweep returns lo, lo+step, … and hi itself.
func sweep(lo, hi, step float64) []float64 {
	var fs []float64
	for f := lo; f < hi; f += step {
		fs = append(fs, f)
	}
	return append(fs, hi)
}

// TestResamplerPassbandRipple sweeps sine tones through the passband and
// checks that every one comes out within 0.1 dB of its input level.
func TestResamplerPassbandRipple(t *testing.T) {
	for _, in := range inputRates {
		t.Run(fmt.Sprint(in), func(t *testing.T) {
			fp, _ := bandEdges(in)
			lo, hi := math.Inf(1), math.Inf(-1)
			for _, f := range sweep(50, fp, 173) {
				y := resampleTone(t, in, f)
				amp, _ := fitSine(y, f, outRate)
				g := db(amp / 10000)
				lo, hi = math.Min(lo, g), math.Max(hi, g)
				assert.LessOrEqual(t, math.Abs(g), 0.1, "gain at %.0f Hz = %.4f dB, want within ±0.1 dB", f, g)
			}
			t.Logf("%d Hz → 16 kHz: passband 50–%.0f Hz gain %.4f … %.4f dB (ripple %.4f dB)", in, fp, lo, hi, hi-lo)
			assert.LessOrEqual(t, hi-lo, 0.1, "ripple = %.4f dB, want ≤ 0.1 dB", hi-lo)
		})
	}
}

// TestResamplerStopband measures how far everything that does not belong
// in the output is pushed down: for a passband tone, what is left after
// removing the tone itself (images when upsampling); for a tone above
// 8 kHz when downsampling, all of the output (its alias). Both must be at
// least 70 dB below the input tone.
func TestResamplerStopband(t *testing.T) {
	const want = 70.0
	for _, in := range inputRates {
		t.Run(fmt.Sprint(in), func(t *testing.T) {
			fp, fs := bandEdges(in)
			worst, at := math.Inf(1), 0.0
			inRMS := 10000 / math.Sqrt2
			for _, f := range sweep(50, fp, 173) {
				y := resampleTone(t, in, f)
				_, res := fitSine(y, f, outRate)
				if a := -db(res / inRMS); a < worst {
					worst, at = a, f
				}
			}
			if in > outRate {
				for _, f := range sweep(fs, float64(in)/2-50, 151) {
					y := resampleTone(t, in, f)
					if a := -db(rms(y) / inRMS); a < worst {
						worst, at = a, f
					}
				}
			}
			t.Logf("%d Hz → 16 kHz: stopband (≥ %.0f Hz) attenuation ≥ %.1f dB (worst for a %.0f Hz input tone)", in, fs, worst, at)
			assert.GreaterOrEqual(t, worst, want, "attenuation for a %.0f Hz tone = %.1f dB, want ≥ %.0f dB", at, worst, want)
		})
	}
}

// TestResamplerStreamingEqualsOneShot cuts noise into blocks of random
// sizes (0, 1, odd, larger than the internal chunk) and checks the output
// is bit for bit what one call gives, Flush included.
func TestResamplerStreamingEqualsOneShot(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 16))
	for _, in := range append([]int{16000, 24000, 96000}, inputRates...) {
		t.Run(fmt.Sprint(in), func(t *testing.T) {
			x := make([]float32, in/2+12345)
			for i := range x {
				x[i] = float32(rng.NormFloat64() * 3000)
			}
			one, err := dsp.NewResampler(in, outRate)
			require.NoError(t, err)
			want := one.Flush(one.Process(nil, x))

			st, err := dsp.NewResampler(in, outRate)
			require.NoError(t, err)
			var got []float32
			for rest := x; len(rest) > 0; {
				n := min(len(rest), []int{0, 1, 7, 160, 441, 1000, 5000, 9001}[rng.IntN(8)])
				got = st.Process(got, rest[:n])
				rest = rest[n:]
			}
			got = st.Flush(got)
			require.Equal(t, len(want), len(got), "streamed output length")
			for i := range want {
				if want[i] != got[i] {
					t.Fatalf("streamed[%d] = %v, one-shot %v", i, got[i], want[i])
				}
			}
			wantLen := (len(x)*outRate+in-1)/in + one.Delay()
			assert.InDelta(t, wantLen, len(got), 2, "output length for %d inputs", len(x))
		})
	}
}

// TestResamplerNoClicksAtBlockEdges streams a sine in 10 ms blocks and
// checks that nothing but the sine comes out: a discontinuity at a block
// edge would show up in the residual.
func TestResamplerNoClicksAtBlockEdges(t *testing.T) {
	for _, in := range inputRates {
		r, err := dsp.NewResampler(in, outRate)
		require.NoError(t, err)
		x := tone(in, 997, float64(in), 20000)
		var y []float32
		for b := 0; b < len(x); b += 113 {
			y = r.Process(y, x[b:min(b+113, len(x))])
		}
		y = y[2*r.Delay()+8 : len(y)-8]
		_, res := fitSine(y, 997, outRate)
		// The largest single-sample deviation, not only the RMS: a click
		// is one sample.
		peak := maxDeviation(y, 997, outRate)
		assert.Less(t, db(res/20000), -70.0, "%d Hz: residual RMS %.1f dB", in, db(res/20000))
		assert.Less(t, db(peak/20000), -60.0, "%d Hz: largest deviation %.1f dB", in, db(peak/20000))
	}
}

// maxDeviation is the largest |y[i] − fitted sine|.
func maxDeviation(y []float32, f, rate float64) float64 {
	return audiotest.FitSine(y, f, rate).ResidualMax
}

// TestResamplerDelay checks Delay: after dropping Delay() outputs, a tone
// lines up in time with the same tone generated at 16 kHz.
func TestResamplerDelay(t *testing.T) {
	for _, in := range inputRates {
		r, err := dsp.NewResampler(in, outRate)
		require.NoError(t, err)
		x := tone(in/4, 1234, float64(in), 10000)
		y := r.Flush(r.Process(nil, x))[r.Delay():]
		want := tone(len(y), 1234, outRate, 10000)
		lo, hi := 2*r.Delay()+8, len(y)-2*r.Delay()-8
		var e float64
		for i := lo; i < hi; i++ {
			e = math.Max(e, math.Abs(float64(y[i]-want[i])))
		}
		assert.Less(t, db(e/10000), -60.0, "%d Hz: aligned output differs from the 16 kHz tone by %.1f dB", in, db(e/10000))
	}
}

func TestResamplerZeroAllocs(t *testing.T) {
	for _, in := range inputRates {
		r, err := dsp.NewResampler(in, outRate)
		require.NoError(t, err)
		src := tone(in/100, 440, float64(in), 1000)
		dst := make([]float32, 0, r.MaxOut(len(src)))
		allocs := testing.AllocsPerRun(100, func() { dst = r.Process(dst[:0], src) })
		assert.Zero(t, allocs, "%d Hz: Process allocs per block = %v, want 0", in, allocs)
		assert.LessOrEqual(t, len(dst), r.MaxOut(len(src)))
	}
}

func TestResamplerEqualRatesCopies(t *testing.T) {
	r, err := dsp.NewResampler(16000, 16000)
	require.NoError(t, err)
	x := tone(5000, 440, 16000, 1000)
	y := r.Process(nil, x[:1234])
	y = r.Process(y, x[1234:])
	y = r.Flush(y)
	assert.Equal(t, x, y, "16 kHz → 16 kHz is the identity")
	assert.Zero(t, r.Delay())
}

func TestNewResamplerRejectsBadRates(t *testing.T) {
	for _, c := range [][2]int{{0, 16000}, {-8000, 16000}, {16000, 0}, {2_000_000, 16000}, {999_983, 16000}} {
		_, err := dsp.NewResampler(c[0], c[1])
		assert.ErrorIs(t, err, dsp.ErrUnsupportedRate, "NewResampler(%d, %d)", c[0], c[1])
	}
}

// BenchmarkResample reports the real-time factor for 10 ms blocks at each
// input rate: seconds of input audio per second of wall time (xRT) and per
// second of process CPU time (cpu-xRT, steadier on a shared machine; the
// benchmark runs on one goroutine, so this is the one-core figure).
func BenchmarkResample(b *testing.B) {
	for _, in := range inputRates {
		b.Run(fmt.Sprintf("%dto16k", in), func(b *testing.B) {
			r, err := dsp.NewResampler(in, outRate)
			require.NoError(b, err)
			src := tone(in/100, 440, float64(in), 1000)
			dst := make([]float32, 0, r.MaxOut(len(src)))
			b.ReportAllocs()
			b.SetBytes(int64(4 * len(src)))
			cpu0 := cpuTime()
			for b.Loop() {
				dst = r.Process(dst[:0], src)
			}
			audio := float64(b.N) * 0.01
			b.ReportMetric(audio/b.Elapsed().Seconds(), "xRT")
			if cpu := (cpuTime() - cpu0).Seconds(); cpu >= 0.05 { // too short a run measures the harness
				b.ReportMetric(audio/cpu, "cpu-xRT")
			}
		})
	}
}
