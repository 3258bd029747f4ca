package dsp_test

import (
	"errors"
	"math"
	"testing"

	"github.com/voxward/voxward/dsp"
)

// FuzzFbankOptions: any option values either give ErrInvalidOptions or an
// extractor whose output has the promised shape and only finite values
// (log features) — never a panic or a runaway allocation.
func FuzzFbankOptions(f *testing.F) {
	f.Add(16000.0, 25.0, 10.0, 23, 20.0, 0.0, 0.97, false, true, "povey", 0.0, []byte{1, 2, 3, 4})
	f.Add(8000.0, 20.0, 7.5, 40, 64.0, -400.0, 0.0, true, false, "hamming", 1.0, []byte{255, 0, 255, 0})
	f.Add(44100.0, 25.0, 10.0, 80, 0.0, 8000.0, 0.5, true, true, "blackman", 0.5, []byte{})
	f.Fuzz(func(t *testing.T, rate, length, shift float64, bins int, low, high, pre float64, energy, snip bool, window string, dither float64, audio []byte) {
		o := dsp.DefaultFbankOptions()
		o.Frame.SampleFrequency, o.Frame.FrameLength, o.Frame.FrameShift = rate, length, shift
		o.Frame.PreemphasisCoefficient, o.Frame.SnipEdges, o.Frame.WindowType, o.Frame.Dither = pre, snip, window, dither
		o.Mel.NumBins, o.Mel.LowFreq, o.Mel.HighFreq = bins, low, high
		o.UseEnergy = energy
		if o.Frame.WindowSize() > 1<<14 { // keep each run small; the limit itself is tested elsewhere
			return
		}
		fb, err := dsp.NewFbank(o)
		if err != nil {
			if !errors.Is(err, dsp.ErrInvalidOptions) {
				t.Fatalf("NewFbank error %v does not wrap ErrInvalidOptions", err)
			}
			return
		}
		x := make([]float32, len(audio)*64)
		for i := range x {
			x[i] = float32(int8(audio[i/64])) * 256 * float32(i%7)
		}
		out := fb.Compute(nil, x)
		if len(out) != fb.NumFrames(len(x))*fb.Dim() {
			t.Fatalf("%d values for %d frames of %d", len(out), fb.NumFrames(len(x)), fb.Dim())
		}
		for i, v := range out {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				t.Fatalf("value %d is %v", i, v)
			}
		}
	})
}
