package dsp_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/voxward/voxward/dsp"
	"github.com/voxward/voxward/internal/audiotest"
	"github.com/voxward/voxward/internal/testenv"
)

func vadTone(n int, amp float64) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(amp * math.Sin(2*math.Pi*440*float64(i)/16000))
	}
	return x
}

func TestVADStreamingMatchesWhole(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	x := make([]float32, 16000*3)
	for i := range x {
		x[i] = float32(r.NormFloat64() * 30)
	}
	copy(x[16000:], vadTone(16000, 8000))
	v, err := dsp.NewVAD(dsp.DefaultVADOptions())
	require.NoError(t, err)
	whole := v.Accept(nil, x)
	v.Reset()
	var parts []bool
	for i := 0; i < len(x); i += 333 {
		parts = v.Accept(parts, x[i:min(i+333, len(x))])
	}
	require.Equal(t, whole, parts)
	require.Len(t, whole, 1+(len(x)-400)/160)
}

func TestVADSilenceToneSilence(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	x := make([]float32, 16000*4)
	for i := range x {
		x[i] = float32(r.NormFloat64() * 30)
	}
	for i, s := range vadTone(16000, 5000) {
		x[2*16000+i] += s
	}
	v, err := dsp.NewVAD(dsp.DefaultVADOptions())
	require.NoError(t, err)
	d := v.Decide(nil, x)
	count := func(from, to int) (n int) {
		for _, b := range d[from:to] {
			if b {
				n++
			}
		}
		return n
	}
	assert.Zero(t, count(0, 190), "speech found in leading noise")
	assert.GreaterOrEqual(t, count(202, 295), 92, "tone not found")
	assert.Zero(t, count(320, len(d)), "speech after tone and hangover")
}

func TestVADNoiseFloorStep(t *testing.T) {
	// Noise jumps 20 dB and stays: after the floor window it is noise again.
	r := rand.New(rand.NewPCG(9, 10))
	x := make([]float32, 16000*6)
	for i := range x {
		g := 30.0
		if i > 2*16000 {
			g = 300
		}
		x[i] = float32(r.NormFloat64() * g)
	}
	v, err := dsp.NewVAD(dsp.DefaultVADOptions())
	require.NoError(t, err)
	d := v.Decide(nil, x)
	for i := 400; i < len(d); i++ {
		require.False(t, d[i], "frame %d still speech 2 s after the noise step", i)
	}
	assert.InDelta(t, 20*math.Log10(300.0/32768)+1, v.NoiseFloor(), 2)
}

func TestVADDigitalSilence(t *testing.T) {
	v, err := dsp.NewVAD(dsp.DefaultVADOptions())
	require.NoError(t, err)
	for _, b := range v.Decide(nil, make([]float32, 16000)) {
		require.False(t, b)
	}
	_, err = dsp.NewVAD(dsp.VADOptions{})
	require.ErrorIs(t, err, dsp.ErrInvalidOptions)
}

func TestVADAllocs(t *testing.T) {
	v, err := dsp.NewVAD(dsp.DefaultVADOptions())
	require.NoError(t, err)
	x := vadTone(1600, 3000)
	dst := make([]bool, 0, 64)
	allocs := testing.AllocsPerRun(50, func() { dst = v.Accept(dst[:0], x) })
	assert.Zero(t, allocs)
}

// vadReference labels frames of clean LibriSpeech speech: frames within
// 30 dB of the utterance's loudest frame (its recording noise sits lower).
func vadReference(x []float32) []bool {
	n := 1 + (len(x)-400)/160
	lv := make([]float64, n)
	top := math.Inf(-1)
	for t := range lv {
		lv[t] = 10 * math.Log10(float64(audiotest.RMS(x[160*t:160*t+400]))*float64(audiotest.RMS(x[160*t:160*t+400]))+1e-9)
		top = math.Max(top, lv[t])
	}
	ref := make([]bool, n)
	for t := range ref {
		ref[t] = lv[t] > top-30
	}
	return ref
}

// TestVADFrameAccuracy measures frame accuracy on dev speech with leading
// and trailing silence, mixed with pink noise at several SNRs and a noise
// floor that rises 6 dB half way through.
func TestVADFrameAccuracy(t *testing.T) {
	data := testenv.SharedData(t)
	files := testenv.TestOtherFiles(t, data)
	for _, snr := range []float64{30, 20, 10, 5, 0} {
		var agree, total, miss, speech, fa, nonspeech int
		for i, f := range files[:40] {
			clean := testenv.ReadPCM16(t, f)
			pad := 16000
			x := make([]float32, len(clean)+2*pad)
			copy(x[pad:], clean)
			ref := vadReference(x[:])
			// Reference on the padded clean signal: the pads are silence.
			nz := audiotest.PinkNoise(len(x), uint64(i)+uint64(snr)*1000)
			g := audiotest.RMS(clean) / math.Pow(10, snr/20)
			for k := range x {
				s := g
				if k > len(x)/2 {
					s *= 2
				}
				x[k] += float32(s) * nz[k]
			}
			v, err := dsp.NewVAD(dsp.DefaultVADOptions())
			require.NoError(t, err)
			d := v.Accept(nil, x)
			require.Len(t, d, len(ref))
			for k := range d {
				total++
				if d[k] == ref[k] {
					agree++
				}
				if ref[k] {
					speech++
					if !d[k] {
						miss++
					}
				} else {
					nonspeech++
					if d[k] {
						fa++
					}
				}
			}
		}
		acc := float64(agree) / float64(total)
		t.Logf("VAD at %2.0f dB SNR (noise +6 dB half way): frame accuracy %.1f%%, speech missed %.1f%%, non-speech taken as speech %.1f%%",
			snr, 100*acc, 100*float64(miss)/float64(speech), 100*float64(fa)/float64(nonspeech))
		if snr >= 10 {
			assert.Greater(t, acc, 0.80, "frame accuracy at %v dB", snr)
		}
	}
}
