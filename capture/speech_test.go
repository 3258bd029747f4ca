package capture_test

import (
	"fmt"
	"math"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/voxward/voxward/capture"
	"github.com/voxward/voxward/dsp"
	"github.com/voxward/voxward/internal/testenv"
)

// TestWAVSourceRealSpeech plays real read speech (LibriSpeech, 16 kHz)
// through the wav source as a 44.1 and a 48 kHz stereo file, the rates a
// sound card records at: what comes out at 16 kHz must match the original
// (time-aligned, correlation ≥ 0.995; the only loss is the band above
// 6.5 kHz that the 16 → 44.1/48 kHz upsampling for the fixture removes).
func TestWAVSourceRealSpeech(t *testing.T) {
	shared := testenv.SharedData(t)
	files, err := filepath.Glob(filepath.Join(shared, "librispeech", "test-other", "*", "*.wav"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	orig, format, err := capture.ReadWAVFile(files[0], 0)
	require.NoError(t, err)
	require.Equal(t, 16000, format.SampleRate)
	orig = orig[:min(len(orig), 5*16000)]

	for _, rate := range []int{44100, 48000} {
		t.Run(fmt.Sprint(rate), func(t *testing.T) {
			up, err := dsp.NewResampler(16000, rate)
			require.NoError(t, err)
			hi := up.Flush(up.Process(nil, orig))[up.Delay():]
			st := make([]int16, 0, 2*len(hi))
			for _, v := range hi {
				s := int16(math.Max(-32768, math.Min(32767, math.Round(float64(v)))))
				st = append(st, s, s)
			}
			p := filepath.Join(t.TempDir(), "speech.wav")
			writeWAV(t, p, rate, 2, st)

			g := openGated(t, "wav:"+p+"?fast=1", nil)
			assert.Equal(t, rate, g.Info().NativeRate)
			got := readAll(t, g, 1600, 1<<24)
			assert.InDelta(t, len(orig), len(got), 3, "length at 16 kHz")
			n := min(len(got), len(orig))
			var xy, xx, yy float64
			for i := 100; i < n-100; i++ {
				x, y := float64(got[i]), float64(orig[i])
				xy, xx, yy = xy+x*y, xx+x*x, yy+y*y
			}
			r := xy / math.Sqrt(xx*yy)
			t.Logf("%s via %d Hz stereo WAV: correlation with the original %.5f", filepath.Base(files[0]), rate, r)
			assert.GreaterOrEqual(t, r, 0.995)
		})
	}
}
