package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/voxward/voxward/capture"
)

func runCmd(t *testing.T, stdin []byte, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), &stdio{in: bytes.NewReader(stdin), out: &out, err: &errb}, args)
	return code, out.String(), errb.String()
}

func TestRecordTone(t *testing.T) {
	out := filepath.Join(t.TempDir(), "tone.wav")
	code, stdout, stderr := runCmd(t, nil, "record", "--seconds", "1.5", "--out", out,
		"--source", "tone?freq=1000&level=-6&fast=1", "--i-have-consent")
	require.Equal(t, 0, code, "stderr: %s", stderr)
	var sum recordSummary
	require.NoError(t, json.Unmarshal([]byte(stdout), &sum), "stdout: %s", stdout)
	assert.Equal(t, int64(24000), sum.Samples)
	assert.Equal(t, 1.5, sum.Seconds)
	assert.InDelta(t, -9.01, sum.RMSDBFS, 0.05, "RMS of a −6 dBFS sine")
	assert.Zero(t, sum.Overflows)

	samples, format, err := capture.ReadWAVFile(out, 0)
	require.NoError(t, err)
	assert.Equal(t, 16000, format.SampleRate)
	assert.Equal(t, 1, format.Channels)
	require.Len(t, samples, 24000)
	amp := 32768 * math.Pow(10, -6.0/20)
	for i, v := range samples[:100] {
		want := math.Round(amp * math.Sin(2*math.Pi*1000*float64(i)/16000))
		require.InDelta(t, want, float64(v), 1, "sample %d", i)
	}
	left, _ := filepath.Glob(filepath.Join(filepath.Dir(out), ".*tmp"))
	assert.Empty(t, left, "temporary files left behind")
}

func TestRecordPCMStdinEndsEarly(t *testing.T) {
	in := make([]int16, 8000)
	for i := range in {
		in[i] = int16(i - 4000)
	}
	var raw bytes.Buffer
	require.NoError(t, binary.Write(&raw, binary.LittleEndian, in))
	out := filepath.Join(t.TempDir(), "pcm.wav")
	code, stdout, stderr := runCmd(t, raw.Bytes(), "record", "--seconds", "2", "--out", out, "--source", "pcm:-", "--i-have-consent")
	require.Equal(t, 0, code, "stderr: %s", stderr)
	assert.Contains(t, stderr, "source ended after 0.50 s")
	var sum recordSummary
	require.NoError(t, json.Unmarshal([]byte(stdout), &sum))
	assert.Equal(t, int64(8000), sum.Samples)
	samples, _, err := capture.ReadWAVFile(out, 0)
	require.NoError(t, err)
	require.Len(t, samples, 8000)
	for i, v := range samples {
		require.Equal(t, float32(in[i]), v, "sample %d", i)
	}
}

// nanSource is a device that delivers garbage, as a PortAudio device
// without format conversion does (an ALSA file PCM): a sine with NaN,
// +Inf and -Inf among its samples.
type nanSource struct{ i int }

// nanEvery is how often nanSource delivers each non-finite value.
const nanEvery = 1000

func (s *nanSource) Read(_ context.Context, dst []float32) (int, error) {
	for k := range dst {
		switch s.i % nanEvery {
		case 10:
			dst[k] = float32(math.NaN())
		case 20:
			dst[k] = float32(math.Inf(1))
		case 30:
			dst[k] = float32(math.Inf(-1))
		default:
			dst[k] = float32(3276.8 * math.Sin(2*math.Pi*1000*float64(s.i)/16000))
		}
		s.i++
	}
	return len(dst), nil
}

func (s *nanSource) Info() capture.Info { return capture.Info{Kind: "fake", Spec: "fake:nan"} }
func (s *nanSource) Close() error       { return nil }

// TestRecordNonFiniteSource: a source delivering NaN and ±Inf gives a WAV
// (silence in their place), a summary that is valid JSON and counts them,
// and an error (exit status 1) that says the take is garbage.
func TestRecordNonFiniteSource(t *testing.T) {
	dev := capture.NewDevice(capture.Info{Kind: "fake", Spec: "fake:nan"}, func(context.Context) (capture.Source, error) {
		return &nanSource{}, nil
	})
	out := filepath.Join(t.TempDir(), "nan.wav")
	var stdout, stderr bytes.Buffer
	err := record(context.Background(), &stdio{out: &stdout, err: &stderr}, dev, out, 1)

	var sum map[string]any
	require.NoError(t, json.Unmarshal(stdout.Bytes(), &sum), "stdout: %q, err: %v", stdout.String(), err)
	const bad = 3 * capture.SampleRate / nanEvery
	assert.Equal(t, float64(bad), sum["non_finite_samples"], "summary: %v", sum)
	assert.Equal(t, float64(capture.SampleRate), sum["samples"])
	assert.InDelta(t, -23.01, sum["rms_dbfs"], 0.1, "RMS of the sine around the garbage")

	require.Error(t, err, "a take with non-finite samples is an error")
	var ue *usageError
	assert.False(t, errors.As(err, &ue), "not a usage error (exit status 1): %v", err)
	assert.Contains(t, err.Error(), "NaN or infinity")

	samples, _, rerr := capture.ReadWAVFile(out, 0)
	require.NoError(t, rerr, "the WAV is kept")
	require.Len(t, samples, capture.SampleRate)
	for _, i := range []int{10, 20, 30, nanEvery + 10} {
		assert.Zero(t, samples[i], "sample %d was non-finite: silence", i)
	}
	assert.NotZero(t, samples[1])
}

// TestRecordNoPortAudio: asking a build without PortAudio for the
// microphone is not a usage error: it says so and exits 1, as devices does.
func TestRecordNoPortAudio(t *testing.T) {
	if capture.HavePortAudio {
		t.Skip("this build has PortAudio")
	}
	out := filepath.Join(t.TempDir(), "mic.wav")
	for _, spec := range []string{"portaudio", "portaudio:1"} {
		code, stdout, stderr := runCmd(t, nil, "record", "--seconds", "1", "--out", out, "--source", spec, "--i-have-consent")
		assert.Equal(t, 1, code, "exit status; stderr: %s", stderr)
		assert.Contains(t, stderr, "built without PortAudio")
		assert.Contains(t, stderr, "make build-portaudio")
		assert.Empty(t, stdout)
		_, err := os.Stat(out)
		assert.ErrorIs(t, err, os.ErrNotExist, "no file")
	}
}

func TestRecordUsage(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "x.wav")
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"no consent", []string{"--seconds", "1", "--out", out, "--source", "tone?fast=1"}, "--i-have-consent"},
		{"no seconds", []string{"--out", out, "--source", "tone", "--i-have-consent"}, "--seconds"},
		{"negative seconds", []string{"--seconds", "-1", "--out", out, "--source", "tone", "--i-have-consent"}, "--seconds"},
		{"no out", []string{"--seconds", "1", "--source", "tone", "--i-have-consent"}, "--out"},
		{"bad source", []string{"--seconds", "1", "--out", out, "--source", "mic", "--i-have-consent"}, "unknown kind"},
		{"extra argument", []string{"--seconds", "1", "--out", out, "--source", "tone", "--i-have-consent", "x"}, "unexpected argument"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, stdout, stderr := runCmd(t, nil, append([]string{"record"}, c.args...)...)
			assert.Equal(t, 2, code, "exit status")
			assert.Contains(t, stderr, c.want)
			assert.Empty(t, stdout)
			_, err := os.Stat(out)
			assert.ErrorIs(t, err, os.ErrNotExist, "a refused recording writes no file")
		})
	}
	code, _, _ := runCmd(t, nil, "record", "--help")
	assert.Equal(t, 0, code)
}

func TestRecordBadInput(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.wav")
	code, _, stderr := runCmd(t, nil, "record", "--seconds", "1", "--out", filepath.Join(dir, "o.wav"),
		"--source", "wav:"+missing+"?fast=1", "--i-have-consent")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, missing, "the error names the file")
	assert.NotContains(t, stderr, "goroutine", "no stack trace")

	code, _, stderr = runCmd(t, nil, "record", "--seconds", "1", "--out", filepath.Join(dir, "no", "such", "dir.wav"),
		"--source", "tone?fast=1", "--i-have-consent")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "dir.wav")
}

func TestDevices(t *testing.T) {
	code, stdout, stderr := runCmd(t, nil, "devices")
	if !capture.HavePortAudio {
		assert.Equal(t, 1, code)
		assert.Contains(t, stderr, "built without PortAudio")
		assert.Contains(t, stderr, "make build-portaudio")
		assert.Empty(t, stdout)
		return
	}
	assert.Equal(t, 0, code, "stderr: %s", stderr)
	if stdout != "" {
		assert.True(t, strings.HasPrefix(stdout, "INDEX"), "header line: %q", stdout)
	}
	code, stdout, _ = runCmd(t, nil, "devices", "--json")
	assert.Equal(t, 0, code)
	var devs []capture.DeviceInfo
	assert.NoError(t, json.Unmarshal([]byte(stdout), &devs))
}
