package voiceprint_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/voxward/voxward/dsp/voiceprint"
	"github.com/voxward/voxward/internal/audiotest"
	"github.com/voxward/voxward/internal/testenv"
)

// nonSpeech returns 5 s of generated signals that are no voice.
func nonSpeech() map[string][]float32 {
	const n = 5 * 16000
	r := rand.New(rand.NewPCG(1, 2))
	out := map[string][]float32{"silence": make([]float32, n)}
	tone, hum, white, beep, bursts := make([]float32, n), make([]float32, n), make([]float32, n), make([]float32, n), make([]float32, n)
	for i := range tone {
		t := float64(i) / 16000
		tone[i] = float32(3000 * math.Sin(2*math.Pi*300*t))
		hum[i] = float32(2000*math.Sin(2*math.Pi*50*t) + 1000*math.Sin(2*math.Pi*150*t) + 500*math.Sin(2*math.Pi*250*t))
		white[i] = float32(r.NormFloat64() * 1000)
		if math.Mod(t, 0.5) < 0.25 {
			beep[i] = float32(3000 * math.Sin(2*math.Pi*1000*t))
			bursts[i] = float32(r.NormFloat64() * 2000)
		}
	}
	pink := audiotest.PinkNoise(n, 3)
	for i := range pink {
		pink[i] *= 1000
	}
	out["tone 300 Hz"], out["hum 50 Hz"], out["white noise"], out["pink noise"] = tone, hum, white, pink
	out["beep"], out["noise bursts"] = beep, bursts
	return out
}

// Generated non-speech is refused with a reason; a 1-second burst of
// speech is too short; 3 s of speech passes; and the refusal holds for
// enrolment too.
func TestSpeechGate(t *testing.T) {
	ex := shippedExtractor(t)
	g := voiceprint.DefaultSpeechGate()
	for name, x := range nonSpeech() {
		_, a := ex.Features(x)
		reason := g.Check(a)
		assert.Contains(t, []string{voiceprint.IssueNoVoice, voiceprint.IssueNotSpeech}, reason, "%s: %+v", name, a)
		assert.NotEmpty(t, g.Explain(a), name)
	}
	data := testenv.SharedData(t)
	files := testenv.TestOtherFiles(t, data)
	x := testenv.ReadPCM16(t, files[0])
	_, a := ex.Features(x[:16000])
	assert.Equal(t, voiceprint.IssueTooShort, g.Check(a), "a 1-second burst: %+v", a)
	refused := 0
	for _, f := range files {
		x := testenv.ReadPCM16(t, f)
		_, a := ex.Features(x)
		if g.Check(a) != "" {
			refused++
			t.Logf("%s (%.1f s): %s", f, a.Seconds, g.Explain(a))
			assert.Equal(t, voiceprint.IssueTooShort, g.Check(a), "real speech refused as no voice or not speech")
		}
	}
	assert.Zero(t, refused, "of %d dev utterances (2 to 23 s long)", len(files))
	en := voiceprint.NewEnroller(ex, voiceprint.DefaultEnrollOptions())
	_, q, err := en.Enroll(nonSpeech()["noise bursts"], x)
	require.ErrorIs(t, err, voiceprint.ErrEnrollQuality)
	assert.Contains(t, q.Issues, voiceprint.IssueNotSpeech)
}
