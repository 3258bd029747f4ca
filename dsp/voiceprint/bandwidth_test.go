package voiceprint_test

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/voxward/voxward/capture"
	"github.com/voxward/voxward/dsp/voiceprint"
	"github.com/voxward/voxward/dsp/voiceprint/eval"
)

// The measured bandwidth tells audio made at 8 kHz from wide-band audio,
// on real speech (testdata/speakers: LibriSpeech) and through each
// channel eval simulates: an 8 kHz recording is band-limited, a
// telephone line (its μ-law noise spreads to 8 kHz), noise and the
// recording as it is are not.
func TestAnalysisBandwidth(t *testing.T) {
	fe, err := voiceprint.NewSpeechFeatures(voiceprint.ModelConfig{NumCeps: 20, NumMelBins: 40, LowFreq: 20, DeltaOrder: 2, DeltaWindow: 2})
	require.NoError(t, err)
	for _, name := range []string{"enrol-1688.wav", "enrol-1998.wav"} {
		p := filepath.Join("..", "..", "testdata", "speakers", name)
		x, err := capture.ReadWAVFile16k(p, 0)
		require.NoError(t, err)
		for _, tc := range []struct {
			channel string
			narrow  bool
		}{{"none", false}, {"telephone", false}, {"noise10", false}, {"reverb", false}, {"narrowband", true}} {
			_, a := fe.ComputeRaw(eval.Augment(x, tc.channel, p))
			assert.Equal(t, tc.narrow, a.BandLimited(), "%s %s: bandwidth %g Hz", name, tc.channel, a.BandwidthHz)
			if tc.narrow {
				assert.InDelta(t, 4000, a.BandwidthHz, 500, "%s %s", name, tc.channel)
			} else {
				assert.Equal(t, 8000.0, a.BandwidthHz, "%s %s", name, tc.channel)
			}
		}
		// A telephone line recorded at 8 kHz: band-limited too.
		_, a := fe.ComputeRaw(eval.NarrowBand(nil, eval.Telephone(nil, x)))
		assert.True(t, a.BandLimited(), "%s: telephone at 8 kHz: %g Hz", name, a.BandwidthHz)
	}
	// No speech frame: nothing to measure.
	_, a := fe.ComputeRaw(make([]float32, 16000))
	assert.False(t, a.BandLimited())
}

// A voiceprint keeps the widest bandwidth of its samples: enrolled from an
// 8 kHz recording it is band-limited; updated with wide-band speech it is
// not; one of unknown bandwidth stays unknown.
func TestEnrollBandwidth(t *testing.T) {
	ex := shippedExtractor(t)
	en := voiceprint.NewEnroller(ex, voiceprint.DefaultEnrollOptions())
	p := filepath.Join("..", "..", "testdata", "speakers", "enrol-1688.wav")
	x, err := capture.ReadWAVFile16k(p, 0)
	require.NoError(t, err)
	narrow := eval.NarrowBand(nil, x)
	vp, q, err := en.Enroll(narrow)
	require.NoError(t, err)
	assert.Equal(t, q.BandwidthHz, vp.BandwidthHz)
	assert.True(t, vp.BandLimited(), "enrolled at 8 kHz: %g Hz", vp.BandwidthHz)
	wide, _, err := en.Update(vp, x)
	require.NoError(t, err)
	assert.Equal(t, 8000.0, wide.BandwidthHz)
	assert.False(t, wide.BandLimited())
	vp.BandwidthHz = 0 // enrolled before bandwidths were kept
	unknown, _, err := en.Update(vp, narrow)
	require.NoError(t, err)
	assert.Zero(t, unknown.BandwidthHz)
	assert.False(t, unknown.BandLimited(), "unknown is not band-limited")
}
