package dsp_test

import (
	"math"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/voxward/voxward/dsp"
)

// benchSpeech returns 10 s of synthetic voiced audio; the VAD keeps most
// of its frames, as it does for read speech, so the cost per second is
// that of speech.
func benchSpeech(b *testing.B) []float32 {
	b.Helper()
	return synthVoice(10*16000, 1)
}

// synthVoice is a crude voiced signal: a 120–220 Hz pulse train through
// a few resonances, with syllable-rate amplitude modulation and a little
// noise.
func synthVoice(n int, seed uint64) []float32 {
	r := rand.New(rand.NewPCG(seed, 77))
	x := make([]float32, n)
	f0 := 120 + 100*r.Float64()
	var phase, y1, y2, z1, z2 float64
	for i := range x {
		phase += f0 / 16000
		e := 0.0
		if phase >= 1 {
			phase--
			e = 1
		}
		// two resonators
		y := e + 1.8*y1 - 0.9*y2
		y2, y1 = y1, y
		z := y + 1.2*z1 - 0.8*z2
		z2, z1 = z1, z
		env := 0.5 + 0.5*math.Sin(float64(i)/16000*2*math.Pi*4)
		x[i] = float32(300*z*env + 20*r.NormFloat64())
	}
	return x
}

// BenchmarkVoiceprint measures samples → voiceprint on the shipped model
// (or the one VOXWARD_VOICEPRINT_MODEL names, to compare two in one run).
func BenchmarkVoiceprint(b *testing.B) {
	ex := shippedExtractor(b)
	x := benchSpeech(b)
	var emb []float32
	emb, _ = ex.Embed(emb, x)
	b.ReportAllocs()
	b.SetBytes(int64(len(x)) * 4)
	for b.Loop() {
		emb, _ = ex.Embed(emb, x)
	}
	sec := float64(len(x)) / 16000
	b.ReportMetric(sec*float64(b.N)/b.Elapsed().Seconds(), "xRT")
}

func BenchmarkVoiceprintMemory(b *testing.B) {
	m := shippedExtractor(b).Model()
	x := benchSpeech(b)
	var before, after runtime.MemStats
	b.ReportAllocs()
	for b.Loop() {
		runtime.GC()
		runtime.ReadMemStats(&before)
		ex, err := dsp.NewExtractor(m)
		require.NoError(b, err)
		emb, _ := ex.Embed(nil, x)
		runtime.ReadMemStats(&after)
		_ = emb
		b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/1e6, "MB/extractor")
	}
}
