package capture_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/voxward/voxward/capture"
)

// FuzzParseSource: any spec either parses into a device whose Info names
// the spec, or fails with ErrBadSpec (or ErrNoPortAudio); never a panic.
func FuzzParseSource(f *testing.F) {
	for _, s := range []string{"tone", "tone?freq=1000&level=-6", "pcm:-", "pcm:-?rate=48000&channels=2",
		"wav:/a.wav?loop=1", "wav:x?fast=1&loop=0", "portaudio", "portaudio:2?rate=44100", "tone?%zz", "wav:?", ":", "?"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		if len(spec) > 4096 {
			return
		}
		dev, err := capture.ParseSource(spec, &capture.Options{Stdin: strings.NewReader("")})
		if err != nil {
			if !errors.Is(err, capture.ErrBadSpec) && !errors.Is(err, capture.ErrNoPortAudio) {
				t.Fatalf("ParseSource(%q) = %v, want ErrBadSpec", spec, err)
			}
			return
		}
		require.Equal(t, spec, dev.Info().Spec)
	})
}

// FuzzPCMSource decodes arbitrary bytes as pcm:- in every channel layout:
// the sample count follows from the byte count, and the reader ends with
// io.EOF.
func FuzzPCMSource(f *testing.F) {
	f.Add([]byte{}, uint8(1))
	f.Add([]byte{1, 2, 3, 4, 5}, uint8(2))
	f.Add(bytes.Repeat([]byte{0xff, 0x7f, 0x00, 0x80}, 1000), uint8(1))
	f.Fuzz(func(t *testing.T, raw []byte, ch uint8) {
		if len(raw) > 1<<16 {
			raw = raw[:1<<16] // cap early
		}
		channels := int(ch%4) + 1
		spec := "pcm:-"
		if channels > 1 {
			spec += "?channels=" + string(rune('0'+channels))
		}
		dev, err := capture.ParseSource(spec, &capture.Options{Stdin: bytes.NewReader(raw)})
		require.NoError(t, err)
		g := capture.NewGate(dev, nil)
		defer g.Close()
		l, err := g.Acquire(context.Background(), "fuzz", 0)
		require.NoError(t, err)
		defer l.Release()
		buf := make([]float32, 97)
		total := 0
		for {
			n, err := g.Read(context.Background(), buf)
			for _, v := range buf[:n] {
				require.True(t, v >= -32768 && v <= 32767, "sample %v out of range", v)
			}
			total += n
			if errors.Is(err, io.EOF) {
				break
			}
			require.NoError(t, err)
		}
		require.Equal(t, len(raw)/(2*channels), total, "samples from %d bytes, %d channels", len(raw), channels)
	})
}
