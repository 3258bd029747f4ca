package eval_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/voxward/voxward/dsp/voiceprint/eval"
)

func power(x []float32) float64 {
	var p float64
	for _, v := range x {
		p += float64(v) * float64(v)
	}
	return p / float64(len(x))
}

// TestRoom: a simulated room keeps the signal's power, repeats for a seed,
// differs between seeds, and a longer reverberation time leaves more of
// an impulse's energy late.
func TestRoom(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	x := make([]float32, 32000)
	for i := range x {
		x[i] = float32(3000 * r.NormFloat64())
	}
	y := eval.Room(nil, x, 0.6, 7)
	require.Len(t, y, len(x))
	require.InEpsilon(t, power(x), power(y), 1e-3, "power kept")
	require.Equal(t, y, eval.Room(nil, x, 0.6, 7), "seeded: repeats")
	require.NotEqual(t, y, eval.Room(nil, x, 0.6, 8), "another seed, another room")
	for _, v := range eval.Room(nil, make([]float32, 1000), 0.6, 7) {
		require.Zero(t, v, "silence stays silent")
	}

	// An impulse: the share of its energy after 0.2 s grows with RT60 (the
	// same seed, so the same combs and colouration).
	late := func(rt60 float64) float64 {
		imp := make([]float32, 16000)
		imp[0] = 10000
		h := eval.Room(nil, imp, rt60, 3)
		var all, tail float64
		for i, v := range h {
			e := float64(v) * float64(v)
			all += e
			if i >= 3200 {
				tail += e
			}
		}
		require.False(t, math.IsNaN(all) || math.IsInf(all, 0))
		return tail / all
	}
	short, long := late(0.25), late(0.9)
	t.Logf("share of the energy after 0.2 s: RT60 0.25 s %.4f, 0.9 s %.4f", short, long)
	require.Greater(t, long, 2*short, "late energy: RT60 0.25 s %.4f, 0.9 s %.4f", short, long)
}

// "reverb" puts each recording in a room of its own (seeded by its path);
// "hall" puts every recording in the same room.
func TestAugmentHall(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	x := make([]float32, 8000)
	for i := range x {
		x[i] = float32(3000 * r.NormFloat64())
	}
	require.Equal(t, eval.Augment(x, "hall", "a/1.wav"), eval.Augment(x, "hall", "b/2.wav"), "hall: one room for every recording")
	require.NotEqual(t, eval.Augment(x, "reverb", "a/1.wav"), eval.Augment(x, "reverb", "b/2.wav"), "reverb: a room of each recording's own")
	require.NotEqual(t, x, eval.Augment(x, "hall", "a/1.wav"), "hall left the audio as it was")
	require.Contains(t, eval.Channels, "hall")
}

// TestSpeed: a tone played at 90 % and 110 % lasts 100/90 and 100/110 as
// long and sounds at 90 % and 110 % of its frequency, in step with the
// original (no delay from the resampler's filter).
func TestSpeed(t *testing.T) {
	const fs, f0, amp = 16000.0, 440.0, 8000.0
	x := make([]float32, 16000)
	for i := range x {
		x[i] = float32(amp * math.Sin(2*math.Pi*f0*float64(i)/fs))
	}
	for _, percent := range []int{90, 110} {
		y := eval.Speed(x, percent)
		require.Len(t, y, len(x)*100/percent)
		f := f0 * float64(percent) / 100
		var worst float64
		for i := 400; i < len(y)-400; i++ { // away from the ends the filter sees silence past
			want := amp * math.Sin(2*math.Pi*f*float64(i)/fs)
			worst = max(worst, math.Abs(float64(y[i])-want))
		}
		require.Less(t, worst, 0.01*amp, "%d %%: the tone at %.0f Hz, in phase", percent, f)
	}
	require.Equal(t, x, eval.Speed(x, 100), "100 % is the signal itself")
	require.Panics(t, func() { eval.Speed(x, 20) })
}
