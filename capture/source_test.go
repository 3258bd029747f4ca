package capture_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/voxward/voxward/capture"
	"github.com/voxward/voxward/internal/audiotest"
	"github.com/voxward/voxward/internal/clocktest"
)

// openGated parses spec and opens it through a Gate holding one lease,
// the only way to audio.
func openGated(t *testing.T, spec string, opts *capture.Options) *capture.Gate {
	t.Helper()
	dev, err := capture.ParseSource(spec, opts)
	require.NoError(t, err, "ParseSource(%q)", spec)
	g := capture.NewGate(dev, nil)
	l, err := g.Acquire(context.Background(), "test", 0)
	require.NoError(t, err, "open %q", spec)
	t.Cleanup(func() {
		l.Release()
		_ = g.Close()
	})
	return g
}

// readAll reads until EOF (or max samples) in blocks of block samples.
func readAll(t *testing.T, s capture.Source, block, max int) []float32 {
	t.Helper()
	var out []float32
	buf := make([]float32, block)
	for len(out) < max {
		n, err := s.Read(context.Background(), buf)
		out = append(out, buf[:n]...)
		if errors.Is(err, io.EOF) {
			return out
		}
		require.NoError(t, err)
		require.Equal(t, block, n, "a Read without error fills dst")
	}
	return out
}

// writeWAV writes a 16-bit PCM WAV with interleaved samples.
func writeWAV(t testing.TB, path string, rate, channels int, samples []int16) {
	t.Helper()
	var b bytes.Buffer
	le := binary.LittleEndian
	b.WriteString("RIFF")
	_ = binary.Write(&b, le, uint32(36+2*len(samples)))
	b.WriteString("WAVEfmt ")
	for _, v := range []any{uint32(16), uint16(1), uint16(channels), uint32(rate),
		uint32(rate * channels * 2), uint16(channels * 2), uint16(16)} {
		require.NoError(t, binary.Write(&b, le, v))
	}
	b.WriteString("data")
	_ = binary.Write(&b, le, uint32(2*len(samples)))
	_ = binary.Write(&b, le, samples)
	require.NoError(t, os.WriteFile(path, b.Bytes(), 0o600))
}

func sine(n int, f, rate, amp float64) []int16 {
	s := make([]int16, n)
	for i := range s {
		s[i] = int16(math.Round(amp * math.Sin(2*math.Pi*f*float64(i)/rate)))
	}
	return s
}

// sineFit returns the amplitude of the f Hz component of y (16 kHz) and
// the RMS of the rest.
func sineFit(y []float32, f float64) (amp, rest float64) {
	fit := audiotest.FitSine(y, f, capture.SampleRate)
	return fit.Amp(), fit.ResidualRMS
}

func TestParseSource(t *testing.T) {
	stdin := bytes.NewReader(nil)
	good := []struct {
		spec string
		kind string
		dev  string
	}{
		{"tone", "tone", ""},
		{"tone?freq=1000&level=-6", "tone", ""},
		{"tone?fast=1", "tone", ""},
		{"pcm:-", "pcm", "stdin"},
		{"pcm:-?rate=48000&channels=2", "pcm", "stdin"},
		{"wav:/srv/a.wav", "wav", "/srv/a.wav"},
		{"wav:/srv/a.wav?loop=1", "wav", "/srv/a.wav"},
		{"wav:rel/b c.wav?loop=1&fast=1", "wav", "rel/b c.wav"},
	}
	for _, c := range good {
		d, err := capture.ParseSource(c.spec, &capture.Options{Stdin: stdin})
		if assert.NoError(t, err, "ParseSource(%q)", c.spec) {
			assert.Equal(t, c.kind, d.Info().Kind, "ParseSource(%q).Kind", c.spec)
			assert.Equal(t, c.dev, d.Info().Device, "ParseSource(%q).Device", c.spec)
			assert.Equal(t, c.spec, d.Info().Spec)
		}
	}
	bad := []string{
		"", "mic", "tone:x", "tone?freq=0", "tone?freq=9000", "tone?level=3", "tone?freq=abc",
		"tone?volume=1", "pcm:/dev/dsp", "pcm:-?rate=1", "pcm:-?channels=0", "wav:", "wav:a.wav?loop=2",
		"wav:a.wav?speed=2", "tone?%zz",
	}
	for _, spec := range bad {
		_, err := capture.ParseSource(spec, &capture.Options{Stdin: stdin})
		assert.ErrorIs(t, err, capture.ErrBadSpec, "ParseSource(%q)", spec)
	}
	_, err := capture.ParseSource("pcm:-", nil)
	assert.ErrorIs(t, err, capture.ErrBadSpec, "pcm:- without stdin")
	if !capture.HavePortAudio {
		_, err := capture.ParseSource("portaudio", nil)
		assert.ErrorIs(t, err, capture.ErrNoPortAudio)
		_, err = capture.ListDevices()
		assert.ErrorIs(t, err, capture.ErrNoPortAudio)
	}
}

func TestToneSource(t *testing.T) {
	g := openGated(t, "tone?freq=1000&level=-6&fast=1", nil)
	info := g.Info()
	assert.Equal(t, "tone", info.Kind)
	y := readAll(t, g, 160, 16000)
	amp, rest := sineFit(y, 1000)
	want := 32768 * math.Pow(10, -6.0/20)
	assert.InDelta(t, want, amp, want*1e-4, "tone amplitude")
	assert.Less(t, rest, want*1e-4, "tone is a pure sine")
	lv := g.Status().Levels
	assert.InDelta(t, -6-3.0103, lv.RMSDBFS, 0.05, "meter RMS of a −6 dBFS sine")
	assert.InDelta(t, -6, lv.PeakDBFS, 0.05, "meter peak of a −6 dBFS sine")
}

// TestTonePacedByClock: a real-time source hands out 100 ms of audio only
// once 100 ms have passed on its clock.
func TestTonePacedByClock(t *testing.T) {
	clock := clocktest.New(t0)
	dev, err := capture.ParseSource("tone", &capture.Options{Clock: clock})
	require.NoError(t, err)
	assert.True(t, dev.Info().RealTime)
	g := capture.NewGate(dev, &capture.GateConfig{Clock: clock})
	l, err := g.Acquire(context.Background(), "test", 0)
	require.NoError(t, err)
	defer l.Release()

	got := make(chan int)
	go func() {
		n, _ := g.Read(context.Background(), make([]float32, 1600))
		got <- n
	}()
	clock.BlockUntil(1, nil)
	clock.Advance(99 * time.Millisecond)
	select {
	case n := <-got:
		t.Fatalf("Read returned %d samples after 99 ms of a 100 ms block", n)
	default:
	}
	clock.Advance(time.Millisecond)
	assert.Equal(t, 1600, <-got)
}

func TestPCMSource(t *testing.T) {
	want := sine(8000, 440, 16000, 12000)
	var raw bytes.Buffer
	require.NoError(t, binary.Write(&raw, binary.LittleEndian, want))
	raw.WriteByte(0x7f) // a stray half sample at the end is ignored
	g := openGated(t, "pcm:-", &capture.Options{Stdin: &raw})
	y := readAll(t, g, 333, 1<<20)
	require.Len(t, y, len(want))
	for i := range want {
		if y[i] != float32(want[i]) {
			t.Fatalf("sample %d = %v, want %v", i, y[i], want[i])
		}
	}
}

// TestPCMSourceStereo48k: pcm:- at another rate and channel count is mixed
// to mono and resampled.
func TestPCMSourceStereo48k(t *testing.T) {
	mono := sine(48000, 1000, 48000, 10000)
	inter := make([]int16, 0, 2*len(mono))
	for _, v := range mono {
		inter = append(inter, v, v/2)
	}
	var raw bytes.Buffer
	require.NoError(t, binary.Write(&raw, binary.LittleEndian, inter))
	g := openGated(t, "pcm:-?rate=48000&channels=2", &capture.Options{Stdin: &raw})
	y := readAll(t, g, 160, 1<<20)
	assert.InDelta(t, 16000, len(y), 2, "1 s at 48 kHz becomes 1 s at 16 kHz")
	amp, rest := sineFit(y[200:len(y)-200], 1000)
	assert.InDelta(t, 7500, amp, 7500*0.002, "(L+R)/2 of a 1 kHz tone")
	assert.Less(t, rest, 7500*1e-3)
}

func TestWAVSourceFast(t *testing.T) {
	dir := t.TempDir()
	p16 := filepath.Join(dir, "a16.wav")
	want := sine(12345, 300, 16000, 8000)
	writeWAV(t, p16, 16000, 1, want)
	g := openGated(t, "wav:"+p16+"?fast=1", nil)
	info := g.Info()
	assert.Equal(t, "wav", info.Kind)
	y := readAll(t, g, 1000, 1<<20)
	require.Len(t, y, len(want))
	for i := range want {
		if y[i] != float32(want[i]) {
			t.Fatalf("sample %d = %v, want %v", i, y[i], want[i])
		}
	}

	// 44.1 kHz stereo: resampled, delay compensated, tail flushed.
	p44 := filepath.Join(dir, "a44.wav")
	m := sine(44100/2, 2000, 44100, 9000)
	st := make([]int16, 0, 2*len(m))
	for _, v := range m {
		st = append(st, v, v)
	}
	writeWAV(t, p44, 44100, 2, st)
	g = openGated(t, "wav:"+p44+"?fast=1", nil)
	y = readAll(t, g, 1000, 1<<20)
	assert.InDelta(t, 8000, len(y), 2, "0.5 s at 44.1 kHz = 8000 samples at 16 kHz")
	ref := sine(len(y), 2000, 16000, 9000)
	var worst float64
	for i := 200; i < len(y)-200; i++ {
		worst = math.Max(worst, math.Abs(float64(y[i])-float64(ref[i])))
	}
	assert.Less(t, worst, 9000*1e-3, "resampled 44.1 kHz tone lines up with the 16 kHz tone (time-aligned)")
}

func TestWAVSourceLoopAndPace(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "ramp.wav")
	ramp := make([]int16, 1000)
	for i := range ramp {
		ramp[i] = int16(i)
	}
	writeWAV(t, p, 16000, 1, ramp)
	clock := clocktest.New(t0)
	dev, err := capture.ParseSource("wav:"+p+"?loop=1", &capture.Options{Clock: clock})
	require.NoError(t, err)
	g := capture.NewGate(dev, &capture.GateConfig{Clock: clock})
	l, err := g.Acquire(context.Background(), "test", 0)
	require.NoError(t, err)
	defer l.Release()

	buf := make([]float32, 2500)
	got := make(chan error)
	go func() {
		_, err := g.Read(context.Background(), buf)
		got <- err
	}()
	clock.BlockUntil(1, nil)
	clock.Advance(2500 * time.Second / 16000)
	require.NoError(t, <-got)
	for i, v := range buf {
		require.Equal(t, float32(i%1000), v, "looped sample %d", i)
	}
}

func TestWAVSourceErrors(t *testing.T) {
	dir := t.TempDir()
	dev, err := capture.ParseSource("wav:"+filepath.Join(dir, "missing.wav"), nil)
	require.NoError(t, err, "a missing file is found at open, not parse")
	_, err = capture.NewGate(dev, nil).Acquire(context.Background(), "test", 0)
	assert.ErrorIs(t, err, os.ErrNotExist)

	junk := filepath.Join(dir, "junk.wav")
	require.NoError(t, os.WriteFile(junk, []byte("not a wav file at all, no RIFF"), 0o600))
	dev, err = capture.ParseSource("wav:"+junk, nil)
	require.NoError(t, err)
	_, err = capture.NewGate(dev, nil).Acquire(context.Background(), "test", 0)
	assert.ErrorIs(t, err, capture.ErrMalformedWAV)
	assert.Contains(t, err.Error(), junk, "error names the file")
}

func TestWAVWriterRoundTrip(t *testing.T) {
	p := filepath.Join(t.TempDir(), "out.wav")
	f, err := os.Create(p)
	require.NoError(t, err)
	w, err := capture.NewWAVWriter(f, 16000)
	require.NoError(t, err)
	in := []float32{0, 1.4, -1.6, 40000, -40000, 32767, -32768, 100.5}
	require.NoError(t, w.Write(in[:3]))
	require.NoError(t, w.Write(in[3:]))
	require.NoError(t, w.Close())
	require.NoError(t, f.Close())
	got, format, err := capture.ReadWAVFile(p, 0)
	require.NoError(t, err)
	assert.Equal(t, 16000, format.SampleRate)
	assert.Equal(t, 1, format.Channels)
	assert.Equal(t, 16, format.BitDepth)
	assert.Equal(t, []float32{0, 1, -2, 32767, -32768, 32767, -32768, 101}, got)
}

// TestPCMSourceDropsAudioWhileClosed: what arrives on stdin while no
// lease is held is read and thrown away (the writer never blocks), and
// never delivered after the Gate opens again.
func TestPCMSourceDropsAudioWhileClosed(t *testing.T) {
	pr, pw := io.Pipe()
	defer pw.Close()
	dev, err := capture.ParseSource("pcm:-", &capture.Options{Stdin: pr})
	require.NoError(t, err)
	g := capture.NewGate(dev, nil)
	defer g.Close()
	ctx := context.Background()
	block := func(v int16) []byte {
		b := make([]byte, 2*512)
		for i := 0; i < len(b); i += 2 {
			binary.LittleEndian.PutUint16(b[i:], uint16(v))
		}
		return b
	}
	buf := make([]float32, 512)

	l, err := g.Acquire(ctx, "first", 0)
	require.NoError(t, err)
	go func() { _, _ = pw.Write(block(1)) }()
	_, err = g.Read(ctx, buf)
	require.NoError(t, err)
	assert.Equal(t, float32(1), buf[0])
	l.Release()

	// While closed: the pump still drains stdin, so this write completes.
	_, err = pw.Write(block(2))
	require.NoError(t, err)

	l, err = g.Acquire(ctx, "second", 0)
	require.NoError(t, err)
	defer l.Release()
	go func() {
		_, _ = pw.Write(block(3))
		_, _ = pw.Write(block(4))
	}()
	_, err = g.Read(ctx, buf)
	require.NoError(t, err)
	assert.NotEqual(t, float32(2), buf[0], "audio from while the gate was closed was delivered")
	assert.Contains(t, []float32{3, 4}, buf[0])
}
