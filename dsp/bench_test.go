package dsp_test

import (
	"math/rand/v2"
	"testing"

	"github.com/voxward/voxward/dsp"
)

// noise returns n samples of seeded pseudo-random audio on the 16-bit
// scale: white noise shaped by a one-pole filter, loud enough to keep every
// mel bin well above the log floor (the cost does not depend on content).
func noise(n int, seed uint64) []float32 {
	r := rand.New(rand.NewPCG(seed, 1))
	x := make([]float32, n)
	var y float64
	for i := range x {
		y = 0.9*y + r.NormFloat64()*3000
		x[i] = float32(y)
	}
	return x
}

// reportXRT reports real-time factor: seconds of audio per second of work.
func reportXRT(b *testing.B, seconds float64) {
	b.ReportMetric(seconds*float64(b.N)/b.Elapsed().Seconds(), "xRT")
}

// benchPipeline times compute on 600 s of 16 kHz audio, float32 output,
// one goroutine, and reports the real-time factor.
func benchPipeline(b *testing.B, compute func(dst, x []float32) []float32) {
	const seconds = 600
	x := noise(seconds*16000, 1)
	out := compute(nil, x)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		out = compute(out, x)
	}
	reportXRT(b, seconds)
}

// BenchmarkFbank80 is the headline figure: fbank-80 on 600 s.
func BenchmarkFbank80(b *testing.B) {
	o := dsp.DefaultFbankOptions()
	o.Mel.NumBins = 80
	f, err := dsp.NewFbank(o)
	if err != nil {
		b.Fatal(err)
	}
	benchPipeline(b, f.Compute)
}

// BenchmarkMFCC13 is MFCC with torchaudio's defaults on 600 s.
func BenchmarkMFCC13(b *testing.B) {
	m, err := dsp.NewMFCC(dsp.DefaultMFCCOptions())
	if err != nil {
		b.Fatal(err)
	}
	benchPipeline(b, m.Compute)
}

// BenchmarkRealFFT measures the 512-point real FFT (power spectrum) per
// frame, eight frames per call as the front end runs it.
func BenchmarkRealFFT(b *testing.B) {
	for _, n := range []int{256, 512, 1024, 2048} {
		b.Run(itoa(n), func(b *testing.B) {
			f := dsp.NewRealFFT(n)
			frames := make([][]float32, 8)
			for i := range frames {
				frames[i] = noise(n, uint64(i))
			}
			out := f.PowerSpectrumBatch(nil, frames)
			b.ReportAllocs()
			for b.Loop() {
				out = f.PowerSpectrumBatch(out, frames)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/8, "ns/frame")
		})
	}
}

func itoa(n int) string {
	s := ""
	for ; n > 0; n /= 10 {
		s = string(rune('0'+n%10)) + s
	}
	return s
}

// BenchmarkStages times each step of the fbank-80 and MFCC-13 pipelines
// on a block of eight frames; ns/frame is per frame.
func BenchmarkStages(b *testing.B) {
	x := noise(16000, 3)
	o := dsp.DefaultFbankOptions()
	o.Mel.NumBins = 80
	f, err := dsp.NewFbank(o)
	if err != nil {
		b.Fatal(err)
	}
	m, err := dsp.NewMFCC(dsp.DefaultMFCCOptions())
	if err != nil {
		b.Fatal(err)
	}
	for prefix, stages := range map[string][]dsp.Stage{"fbank80": f.Stages(x), "mfcc13": m.Stages(x)} {
		for _, st := range stages {
			b.Run(prefix+"/"+st.Name, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					st.Run()
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*st.Frames), "ns/frame")
			})
		}
	}
}
