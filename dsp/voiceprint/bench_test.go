package voiceprint_test

import (
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/voxward/voxward/dsp/voiceprint"
	"github.com/voxward/voxward/internal/audiotest"
)

// benchSpeech returns 10 s of synthetic voiced audio; the VAD keeps most
// of its frames, as it does for read speech, so the cost per second is
// that of speech.
func benchSpeech(b *testing.B) []float32 {
	b.Helper()
	return synthVoice(10*16000, 1)
}

// synthVoice is audiotest.Voice: a crude voiced signal.
func synthVoice(n int, seed uint64) []float32 { return audiotest.Voice(n, seed) }

// BenchmarkVoiceprint measures samples → voiceprint on the shipped model
// (or the one VOXWARD_VOICEPRINT_MODEL names, to compare two in one run).
func BenchmarkVoiceprint(b *testing.B) {
	ex := shippedExtractor(b)
	x := benchSpeech(b)
	var emb []float32
	emb, _ = ex.Embed(emb, x)
	b.ReportAllocs()
	b.SetBytes(int64(len(x)) * 4)
	for b.Loop() {
		emb, _ = ex.Embed(emb, x)
	}
	sec := float64(len(x)) / 16000
	b.ReportMetric(sec*float64(b.N)/b.Elapsed().Seconds(), "xRT")
}

func BenchmarkVoiceprintMemory(b *testing.B) {
	m := shippedExtractor(b).Model()
	x := benchSpeech(b)
	var before, after runtime.MemStats
	b.ReportAllocs()
	for b.Loop() {
		runtime.GC()
		runtime.ReadMemStats(&before)
		ex, err := voiceprint.NewExtractor(m)
		require.NoError(b, err)
		emb, _ := ex.Embed(nil, x)
		runtime.ReadMemStats(&after)
		_ = emb
		b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/1e6, "MB/extractor")
	}
}
