package dsp

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestExactFrameMatchesFast: on ordinary frames the float64 path and the
// float32 kernels agree to float32 precision, for fbank and MFCC with
// every energy variant.
func TestExactFrameMatchesFast(t *testing.T) {
	x := randomSignal(8000, 11)
	for name, o := range optionSets() {
		f, err := NewFbank(o)
		require.NoError(t, err)
		o.Frame.Dither = 0 // the exact path recomputes from raw samples
		f, err = NewFbank(o)
		require.NoError(t, err)
		checkExact(t, name, f.fe, x)
	}
	for _, energy := range []bool{false, true} {
		mo := DefaultMFCCOptions()
		mo.UseEnergy, mo.HTKCompat = energy, energy
		m, err := NewMFCC(mo)
		require.NoError(t, err)
		checkExact(t, "mfcc", m.fe, x)
	}
}

func checkExact(t *testing.T, name string, fe *frontEnd, x []float32) {
	t.Helper()
	fast := fe.compute(nil, x)
	row := make([]float32, fe.dim)
	for f := 0; f < fe.frame.NumFrames(len(x)); f++ {
		start := fe.frame.firstSample(f)
		if start < 0 || start+fe.size > len(x) {
			continue // edge frames are reflected copies
		}
		fe.exactFrame(row, x[start:start+fe.size])
		for i, v := range row {
			require.InDelta(t, fast[f*fe.dim+i], v, 2e-3, "%s: frame %d coefficient %d", name, f, i)
		}
	}
}
