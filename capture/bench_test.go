package capture_test

import (
	"context"
	"errors"
	"io"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/voxward/voxward/capture"
)

// BenchmarkGateWAV48k reads a 10 s 48 kHz stereo WAV through the Gate as
// fast as possible (decode, downmix, resample to 16 kHz, meter) and
// reports the real-time factor.
func BenchmarkGateWAV48k(b *testing.B) {
	p := filepath.Join(b.TempDir(), "48k.wav")
	m := sine(480000, 440, 48000, 8000)
	st := make([]int16, 0, 2*len(m))
	for _, v := range m {
		st = append(st, v, -v)
	}
	writeWAV(b, p, 48000, 2, st)
	dev, err := capture.ParseSource("wav:"+p+"?fast=1", nil)
	require.NoError(b, err)
	buf := make([]float32, 1600)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		g := capture.NewGate(dev, nil)
		l, err := g.Acquire(ctx, "bench", 0)
		require.NoError(b, err)
		for {
			_, err := g.Read(ctx, buf)
			if errors.Is(err, io.EOF) {
				break
			}
			require.NoError(b, err)
		}
		l.Release()
	}
	b.ReportMetric(float64(b.N)*10/b.Elapsed().Seconds(), "xRT")
}
