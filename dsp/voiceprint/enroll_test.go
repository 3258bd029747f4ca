package voiceprint_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/voxward/voxward/dsp/voiceprint"
	"github.com/voxward/voxward/dsp/voiceprint/eval"
	"github.com/voxward/voxward/internal/audiotest"
	"github.com/voxward/voxward/internal/modeltest"
	"github.com/voxward/voxward/internal/testenv"
)

// shippedExtractor returns an extractor for the shipped model, or for the
// model file named by $VOXWARD_VOICEPRINT_MODEL (to measure a candidate).
func shippedExtractor(t testing.TB) *voiceprint.Extractor {
	t.Helper()
	var err error
	var m *voiceprint.Model
	if p := os.Getenv("VOXWARD_VOICEPRINT_MODEL"); p != "" {
		b, rerr := os.ReadFile(p)
		require.NoError(t, rerr)
		m, err = voiceprint.ParseModel(b)
	} else {
		m = modeltest.Model(t)
		t.Logf("model %s from %s", m.Config.ID, p)
	}
	require.NoError(t, err)
	ex, err := voiceprint.NewExtractor(m)
	require.NoError(t, err)
	return ex
}

func TestEnrollGatesSynthetic(t *testing.T) {
	en := voiceprint.NewEnroller(shippedExtractor(t), voiceprint.DefaultEnrollOptions())
	// Digital silence: no voice.
	_, q, err := en.Enroll(make([]float32, 10*16000))
	require.ErrorIs(t, err, voiceprint.ErrEnrollQuality)
	assert.Contains(t, q.Issues, voiceprint.IssueNoVoice)
	assert.Contains(t, q.Issues, voiceprint.IssueTooShort)
	// Stationary noise only: no voice.
	_, q, err = en.Enroll(scale(audiotest.PinkNoise(10*16000, 3), 300))
	require.ErrorIs(t, err, voiceprint.ErrEnrollQuality)
	assert.Contains(t, q.Issues, voiceprint.IssueNoVoice)
	// Nothing at all.
	_, q, err = en.Enroll()
	require.ErrorIs(t, err, voiceprint.ErrEnrollQuality)
	assert.Contains(t, q.Issues, voiceprint.IssueNoVoice)
}

func scale(x []float32, g float32) []float32 {
	for i := range x {
		x[i] *= g
	}
	return x
}

func TestEnrollGatesSpeech(t *testing.T) {
	data := testenv.SharedData(t)
	files := testenv.TestOtherFiles(t, data)
	en := voiceprint.NewEnroller(shippedExtractor(t), voiceprint.DefaultEnrollOptions())
	var spk [][]float32
	for _, f := range files[:3] { // one speaker's first three utterances
		spk = append(spk, testenv.ReadPCM16(t, f))
	}
	vp, q, err := en.Enroll(spk...)
	require.NoError(t, err, "issues %v", q.Issues)
	assert.GreaterOrEqual(t, q.SpeechSeconds, 8.0)
	assert.Len(t, q.Samples, 3)
	for _, a := range q.Samples {
		assert.Greater(t, a.SNRDB, 15.0, "clean read speech SNR estimate")
	}
	assert.NotEmpty(t, vp.Model)

	// Too short: one 3-second piece.
	_, q, err = en.Enroll(spk[0][:3*16000])
	require.ErrorIs(t, err, voiceprint.ErrEnrollQuality)
	assert.Equal(t, []string{voiceprint.IssueTooShort}, q.Issues)

	// Clipped: driven 20 dB into the rails.
	hot := make([]float32, len(spk[0]))
	for i, v := range spk[0] {
		hot[i] = min(max(v*10, -32768), 32767)
	}
	_, q, err = en.Enroll(hot, spk[1], spk[2])
	require.ErrorIs(t, err, voiceprint.ErrEnrollQuality)
	assert.Contains(t, q.Issues, voiceprint.IssueClipped)

	// Too noisy: noise at 0 dB SNR.
	noisy := eval.AddNoise(nil, spk[0], 0, 5)
	_, q, err = en.Enroll(noisy, spk[1], spk[2])
	require.ErrorIs(t, err, voiceprint.ErrEnrollQuality)
	assert.Contains(t, q.Issues, voiceprint.IssueTooNoisy)

	// Incremental: enrol two utterances' worth, then add the third; the
	// result is close to enrolling all three at once.
	en2 := voiceprint.NewEnroller(shippedExtractor(t), voiceprint.EnrollOptions{MinSpeechSeconds: 1, MinVoiceSeconds: 0.5, MaxClippedFraction: 0.001, MinSNRDB: 12})
	part, _, err := en2.Enroll(spk[0], spk[1])
	require.NoError(t, err)
	upd, _, err := en2.Update(part, spk[2])
	require.NoError(t, err)
	assert.InDelta(t, part.SpeechSeconds+q.Samples[2].SpeechSeconds, upd.SpeechSeconds, 1e-9)
	assert.Greater(t, voiceprint.Cosine(upd.Embedding, vp.Embedding), voiceprint.Cosine(part.Embedding, vp.Embedding),
		"the update moves the voiceprint towards the all-at-once one")
	_, _, err = en2.Update(voiceprint.Voiceprint{Model: "other", Embedding: upd.Embedding})
	require.ErrorIs(t, err, voiceprint.ErrDimMismatch)
	_ = filepath.Base(files[0])
}
