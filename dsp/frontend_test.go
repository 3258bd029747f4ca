package dsp

import (
	"errors"
	"math"
	"math/cmplx"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func randomSignal(n int, seed uint64) []float32 {
	r := rand.New(rand.NewPCG(seed, 3))
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(r.NormFloat64()*2000 + 100*math.Sin(float64(i)/30))
	}
	return x
}

// optionSets covers the framing paths: snip edges or reflection, dither,
// energy before and after the window, odd frame sizes and 8 kHz.
func optionSets() map[string]FbankOptions {
	sets := map[string]FbankOptions{}
	base := DefaultFbankOptions()
	sets["default"] = base
	o := base
	o.Frame.SnipEdges = false
	o.UseEnergy = true
	sets["reflect+energy"] = o
	o = base
	o.Frame.Dither = 1
	o.Frame.DitherSeed = 42
	o.UseEnergy, o.RawEnergy = true, false
	sets["dither+windowed energy"] = o
	o = base
	o.Frame.SampleFrequency = 8000
	o.Frame.FrameLength = 25.1 // 200 samples
	o.Frame.FrameShift = 7.3   // 58 samples
	o.Frame.SnipEdges = false
	sets["8k odd shift"] = o
	o = base
	o.Frame.FrameLength = 25.0625 // 401 samples: odd, takes the Go path of preemphWindow
	o.Mel.NumBins = 80
	sets["odd frame"] = o
	return sets
}

// TestStreamingMatchesCompute feeds the signal in chunks of many sizes
// and requires output bit-identical to processing it whole.
func TestStreamingMatchesCompute(t *testing.T) {
	x := randomSignal(16000*3+123, 1)
	for name, o := range optionSets() {
		t.Run(name, func(t *testing.T) {
			f, err := NewFbank(o)
			require.NoError(t, err)
			want := f.Compute(nil, x)
			require.Equal(t, f.NumFrames(len(x))*f.Dim(), len(want))
			for _, chunk := range []int{1, 7, 159, 160, 161, 400, 1000, 4095, len(x)} {
				for utt := 0; utt < 2; utt++ { // the stream resets after Flush
					var got []float32
					for i := 0; i < len(x); i += chunk {
						got = f.Accept(got, x[i:min(i+chunk, len(x))])
					}
					got = f.Flush(got)
					require.Equal(t, len(want), len(got), "chunk %d: length", chunk)
					for i := range want {
						if math.Float32bits(want[i]) != math.Float32bits(got[i]) {
							t.Fatalf("chunk %d utterance %d: value %d (frame %d) = %v, want %v", chunk, utt, i, i/f.Dim(), got[i], want[i])
						}
					}
				}
			}
		})
	}
}

// TestStreamingEmitsEarly checks that frames come out as soon as their
// samples have arrived, not at Flush.
func TestStreamingEmitsEarly(t *testing.T) {
	f, err := NewFbank(DefaultFbankOptions())
	require.NoError(t, err)
	out := f.Accept(nil, randomSignal(399, 2))
	assert.Empty(t, out, "399 samples make no 400-sample frame")
	out = f.Accept(out, randomSignal(1, 3))
	assert.Len(t, out, f.Dim(), "the 400th sample completes frame 0")
	out = f.Accept(out, randomSignal(160*9, 4))
	assert.Len(t, out, 10*f.Dim())
}

func TestShortSignals(t *testing.T) {
	for name, o := range optionSets() {
		f, err := NewFbank(o)
		require.NoError(t, err)
		for _, n := range []int{0, 1, 2, 50, 79, 80, 81, 399, 400, 401} {
			x := randomSignal(n, uint64(n))
			got := f.Compute(nil, x)
			require.Equal(t, o.Frame.NumFrames(n)*f.Dim(), len(got), "%s: %d samples", name, n)
			for i, v := range got {
				require.False(t, math.IsNaN(float64(v)) || math.IsInf(float64(v), 0), "%s: %d samples: value %d = %v", name, n, i, v)
			}
		}
	}
}

func TestReflect(t *testing.T) {
	cases := []struct{ s, n, want int }{
		{-1, 10, 0}, {-3, 10, 2}, {10, 10, 9}, {12, 10, 7}, {5, 10, 5},
		{-5, 3, 1}, {7, 3, 1}, {-1, -1, 0},
	}
	for _, c := range cases {
		assert.Equal(t, c.want, reflect(c.s, c.n), "reflect(%d, %d)", c.s, c.n)
	}
}

func TestDitherDeterministic(t *testing.T) {
	o := DefaultFbankOptions()
	o.Frame.Dither = 1
	x := make([]float32, 16000) // digital silence: only dither makes it non-constant
	run := func(seed uint64) []float32 {
		o.Frame.DitherSeed = seed
		f, err := NewFbank(o)
		require.NoError(t, err)
		return f.Compute(nil, x)
	}
	a, b, c := run(1), run(1), run(2)
	assert.Equal(t, a, b, "same seed, same features")
	assert.NotEqual(t, a, c, "another seed, other features")
	// Dither of σ = 1 on the 16-bit scale: mel energies well above the floor.
	assert.Greater(t, a[40], float32(math.Log(epsilon))+5)
}

// TestNoAllocs: steady-state processing allocates nothing.
func TestNoAllocs(t *testing.T) {
	for name, o := range optionSets() {
		f, err := NewFbank(o)
		require.NoError(t, err)
		x := randomSignal(16000, 5)
		out := f.Compute(nil, x)
		allocs := testing.AllocsPerRun(20, func() { out = f.Compute(out, x) })
		assert.Zero(t, allocs, "%s: Compute allocations per run", name)

		chunk := x[:1600]
		buf := make([]float32, 0, 64*f.Dim())
		for i := 0; i < 5; i++ { // warm the pending buffer
			buf = f.Accept(buf[:0], chunk)
		}
		allocs = testing.AllocsPerRun(50, func() { buf = f.Accept(buf[:0], chunk) })
		assert.Zero(t, allocs, "%s: Accept allocations per run", name)
	}
}

func TestRealFFTMatchesDFT(t *testing.T) {
	for _, n := range []int{4, 8, 16, 64, 256, 512, 1024, 2048} {
		x := randomSignal(n, uint64(n))
		f := NewRealFFT(n)
		got := f.Transform(nil, x)
		pow := f.PowerSpectrum(nil, x)
		var scale float64
		want := make([]complex128, n/2+1)
		for k := range want {
			var s complex128
			for i, v := range x {
				s += complex(float64(v), 0) * cmplx.Exp(complex(0, -2*math.Pi*float64(k*i)/float64(n)))
			}
			want[k] = s
			scale = math.Max(scale, cmplx.Abs(s))
		}
		for k := range want {
			d := cmplx.Abs(complex128(got[k]) - want[k])
			require.Less(t, d/scale, 1e-5, "n=%d bin %d: %v want %v", n, k, got[k], want[k])
			p := real(want[k])*real(want[k]) + imag(want[k])*imag(want[k])
			require.InDelta(t, p, float64(pow[k]), 1e-5*scale*scale, "n=%d power bin %d", n, k)
		}
	}
	assert.Panics(t, func() { NewRealFFT(100) })
}

func TestInvalidOptions(t *testing.T) {
	mod := func(f func(*FbankOptions)) FbankOptions {
		o := DefaultFbankOptions()
		f(&o)
		return o
	}
	cases := map[string]FbankOptions{
		"vtln":          mod(func(o *FbankOptions) { o.Mel.VTLNWarp = 0.9 }),
		"3 bins":        mod(func(o *FbankOptions) { o.Mel.NumBins = 3 }),
		"high > nyq":    mod(func(o *FbankOptions) { o.Mel.HighFreq = 9000 }),
		"low ≥ high":    mod(func(o *FbankOptions) { o.Mel.LowFreq = 7000; o.Mel.HighFreq = 6000 }),
		"negative low":  mod(func(o *FbankOptions) { o.Mel.LowFreq = -1 }),
		"window":        mod(func(o *FbankOptions) { o.Frame.WindowType = "kaiser" }),
		"zero shift":    mod(func(o *FbankOptions) { o.Frame.FrameShift = 0 }),
		"zero rate":     mod(func(o *FbankOptions) { o.Frame.SampleFrequency = 0 }),
		"no pow2 pad":   mod(func(o *FbankOptions) { o.Frame.RoundToPowerOfTwo = false }),
		"too many bins": mod(func(o *FbankOptions) { o.Mel.NumBins = 200 }),
		"neg dither":    mod(func(o *FbankOptions) { o.Frame.Dither = -1 }),
	}
	for name, o := range cases {
		_, err := NewFbank(o)
		require.Error(t, err, name)
		assert.True(t, errors.Is(err, ErrInvalidOptions), "%s: %v", name, err)
	}
	m := DefaultMFCCOptions()
	m.NumCeps = 24
	_, err := NewMFCC(m)
	assert.ErrorIs(t, err, ErrInvalidOptions)
}

func TestLogf(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	for i := 0; i < 100000; i++ {
		x := float32(math.Exp(r.Float64()*80 - 40))
		got, want := float64(logf(x)), math.Log(float64(x))
		require.InDelta(t, want, got, 2e-7*math.Max(1, math.Abs(want)), "logf(%v)", x)
	}
}
