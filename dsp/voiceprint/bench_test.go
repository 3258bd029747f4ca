package voiceprint_test

import (
	"math"
	"runtime"
	"strconv"
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

// BenchmarkWithVenue measures what the daemon pays, holding its session
// lock, each time a session's venue changes (a start, a withdrawal): the
// shipped model's cohort plus n voices, every pair of them scored.
func BenchmarkWithVenue(b *testing.B) {
	m := shippedExtractor(b).Model()
	base := voiceprint.NewScorer(m)
	for _, n := range []int{32, 128, 512} {
		vps := make([][]float32, n)
		names := make([]string, n)
		for i := range vps {
			vps[i] = make([]float32, m.EmbeddingDim())
			for j := range vps[i] {
				vps[i][j] = float32(math.Sin(float64(i*7919+j) * 0.001))
			}
			m.Normalize(vps[i])
			names[i] = strconv.Itoa(i)
		}
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			for b.Loop() {
				if _, err := base.WithVenue(vps, names); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
