package tdnn

import (
	"math/rand/v2"
	"strconv"
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

// BenchmarkTrainStep measures one training step's network passes
// (Forward and Backward) on the default recipe's batch: 64 crops of 200
// frames of 60 values, width 64, 256 values; on one goroutine and on two
// (the trainer uses --jobs). The loss and the optimiser are not included.
func BenchmarkTrainStep(b *testing.B) {
	r := rand.New(rand.NewPCG(3, 4))
	n, err := New(Config{Input: 60, Width: 64, Dim: 256}, r)
	if err != nil {
		b.Fatal(err)
	}
	const crops, frames = 64, 200
	x := make([]float32, crops*frames*60)
	for i := range x {
		x[i] = float32(r.NormFloat64())
	}
	dEmb := make([][]float32, crops)
	for i := range dEmb {
		dEmb[i] = make([]float32, 256)
		for j := range dEmb[i] {
			dEmb[i][j] = float32(r.NormFloat64() * 1e-3)
		}
	}
	for _, workers := range []int{1, 2} {
		b.Run("workers="+strconv.Itoa(workers), func(b *testing.B) {
			n.Workers = workers
			b.ReportAllocs()
			for b.Loop() {
				if _, err := n.Forward(x, crops); err != nil {
					b.Fatal(err)
				}
				n.ZeroGrad()
				if err := n.Backward(dEmb); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
