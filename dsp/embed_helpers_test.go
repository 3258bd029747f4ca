package dsp_test

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/stretchr/testify/require"
)

// sharedData returns ../shared/data (or $VOXWARD_SHARED/data), skipping
// the test with a clear message when it is absent.
func sharedData(t testing.TB) string {
	t.Helper()
	root := os.Getenv("VOXWARD_SHARED")
	if root == "" {
		root = filepath.Join("..", "..", "shared")
	}
	dir := filepath.Join(root, "data")
	if _, err := os.Stat(filepath.Join(dir, "librispeech", "test-other")); err != nil {
		t.Skipf("speech data not found at %s (set VOXWARD_SHARED to the folder holding data/): %v", dir, err)
	}
	return dir
}

// readPCM16 reads a canonical 16-bit PCM mono WAV file as samples on the
// int16 scale. It is a test helper for the LibriSpeech files only: dsp
// itself does no I/O and the real decoder lives in capture.
func readPCM16(t testing.TB, path string) []float32 {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Greater(t, len(b), 12)
	require.Equal(t, "RIFF", string(b[:4]))
	off := 12
	for off+8 <= len(b) {
		id, n := string(b[off:off+4]), int(binary.LittleEndian.Uint32(b[off+4:]))
		off += 8
		if id == "data" {
			n = min(n, len(b)-off)
			x := make([]float32, n/2)
			for i := range x {
				x[i] = float32(int16(binary.LittleEndian.Uint16(b[off+2*i:])))
			}
			return x
		}
		off += n + n&1
	}
	t.Fatalf("%s: no data chunk", path)
	return nil
}

// testOtherFiles lists test-other's WAV files, sorted.
func testOtherFiles(t testing.TB, data string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(data, "librispeech", "test-other", "*", "*.wav"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	sort.Strings(files)
	return files
}

// pinkNoise returns n samples of seeded pink-ish noise (white noise
// through a one-pole low-pass) with unit RMS.
func pinkNoise(n int, seed uint64) []float32 {
	r := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	x := make([]float32, n)
	var y, e float64
	for i := range x {
		y = 0.9*y + r.NormFloat64()
		x[i] = float32(y)
		e += y * y
	}
	g := float32(1 / math.Sqrt(e/float64(n)+1e-12))
	for i := range x {
		x[i] *= g
	}
	return x
}

func sigRMS(x []float32) float64 {
	var e float64
	for _, v := range x {
		e += float64(v) * float64(v)
	}
	return math.Sqrt(e / float64(max(len(x), 1)))
}

// skipUnderRace skips the long runs over the dev data under the race
// detector (they exercise no concurrency and take minutes there); the
// plain "go test" runs them.
func skipUnderRace(t testing.TB) {
	t.Helper()
	if raceEnabled {
		t.Skip("long dev-data evaluation skipped under -race; run go test without -race for the figures")
	}
}
