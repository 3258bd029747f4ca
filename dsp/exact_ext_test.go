package dsp_test

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/voxward/voxward/capture"
	"github.com/voxward/voxward/dsp"
	"github.com/voxward/voxward/internal/testenv"
)

// TestExactPathStreams: frames that take the exact path come out the same
// whether the input is streamed or whole.
func TestExactPathStreams(t *testing.T) {
	x, _, err := capture.ReadWAVFile(filepath.Join("..", "testdata", "dsp", "bandlimited44100f.wav"), 0)
	require.NoError(t, err)
	o := dsp.DefaultFbankOptions()
	o.Frame.SampleFrequency = 44100
	o.Mel.NumBins = 80
	f, err := dsp.NewFbank(o)
	require.NoError(t, err)
	want := f.Compute(nil, x)
	require.Positive(t, dsp.ExactFrames(f), "the band-limited float file takes the exact path")
	var got []float32
	for i := 0; i < len(x); i += 777 {
		got = f.Accept(got, x[i:min(i+777, len(x))])
	}
	got = f.Flush(got)
	require.Equal(t, want, got)
}

// TestExactPathRare: on real 16-bit speech the exact path (slow) runs for
// a negligible share of frames, so the speed figures hold.
func TestExactPathRare(t *testing.T) {
	data := testenv.SharedData(t)
	dirs, err := filepath.Glob(filepath.Join(data, "librispeech", "test-other", "*"))
	require.NoError(t, err)
	o := dsp.DefaultFbankOptions()
	o.Mel.NumBins = 80
	f, err := dsp.NewFbank(o)
	require.NoError(t, err)
	frames := 0
	var out []float32
	for _, d := range dirs {
		files, _ := filepath.Glob(filepath.Join(d, "*.wav"))
		for _, p := range files {
			x, _, err := capture.ReadWAVFile(p, 0)
			require.NoError(t, err)
			out = f.Compute(out, x)
			frames += f.NumFrames(len(x))
		}
	}
	require.Positive(t, frames)
	share := float64(dsp.ExactFrames(f)) / float64(frames)
	t.Logf("exact path: %d of %d frames (%.3f%%)", dsp.ExactFrames(f), frames, 100*share)
	require.Less(t, share, 0.01)
}
