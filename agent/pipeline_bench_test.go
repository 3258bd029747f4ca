package agent

import (
	"context"
	"log/slog"
	"testing"

	"github.com/voxward/voxward/capture"
)

// BenchmarkPipelineBlock is the live path for one 100 ms block: a Read
// through the consent gate (level meter included) from the tone source
// unpaced, then fbank (80 mel bins). x_realtime is audio seconds per
// processing second on one core; the machine is shared, so the figure is
// noisy.
func BenchmarkPipelineBlock(b *testing.B) {
	dev, err := capture.ParseSource("tone?fast=1", nil)
	if err != nil {
		b.Fatal(err)
	}
	g := capture.NewGate(dev, nil)
	defer g.Close()
	ctx := context.Background()
	lease, err := g.Acquire(ctx, "benchmark", 0)
	if err != nil {
		b.Fatal(err)
	}
	defer lease.Release()
	p, err := newPipeline(g, capture.SystemClock{}, nil, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	buf := make([]float32, pipelineBlock)
	var feats []float32
	b.ReportAllocs()
	for b.Loop() {
		n, err := g.Read(ctx, buf)
		if err != nil {
			b.Fatal(err)
		}
		feats = p.process(feats[:0], buf[:n])
	}
	audio := float64(p.samples.Load()) / capture.SampleRate
	b.ReportMetric(audio/b.Elapsed().Seconds(), "x_realtime")
}
