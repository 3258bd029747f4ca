package tdnn

import (
	"math/rand/v2"
	"testing"
)

// BenchmarkEmbed measures frames → embedding for 10 s of speech frames
// (1,000 frames of 60 values) through the default-shaped network (width
// 64, 256 values), on one goroutine; xRT counts seconds of frames a
// second. Compare with dsp/voiceprint's BenchmarkVoiceprint (samples →
// voiceprint) in the same run: go test -run '^$' -bench 'Embed$|Voiceprint$' ./dsp/voiceprint/...
func BenchmarkEmbed(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	n, err := New(Config{Input: 60, Width: 64, Dim: 256}, r)
	if err != nil {
		b.Fatal(err)
	}
	frames := make([]float32, 1000*60)
	for i := range frames {
		frames[i] = float32(r.NormFloat64())
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := n.Embed(frames); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(10*float64(b.N)/b.Elapsed().Seconds(), "xRT")
}
