package capture_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-audio/audio"
	"github.com/go-audio/wav"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/voxward/voxward/capture"
)

// wavBytes builds a WAV file by hand: tag 1 (PCM), 3 (float) or 0xFFFE
// (extensible, with sub tag sub). data is the raw sample bytes.
func wavBytes(tag, sub uint16, channels, rate, bits int, data []byte) []byte {
	var fmtc bytes.Buffer
	le := func(v any) { _ = binary.Write(&fmtc, binary.LittleEndian, v) }
	le(tag)
	le(uint16(channels))
	le(uint32(rate))
	le(uint32(rate * channels * bits / 8))
	le(uint16(channels * bits / 8))
	le(uint16(bits))
	if tag == 0xFFFE {
		le(uint16(22))
		le(uint16(bits))
		le(uint32(0))
		le(sub)
		fmtc.Write([]byte{0, 0, 0, 0, 0x10, 0, 0x80, 0, 0, 0xAA, 0, 0x38, 0x9B, 0x71})
	}
	var b bytes.Buffer
	w := func(v any) { _ = binary.Write(&b, binary.LittleEndian, v) }
	b.WriteString("RIFF")
	w(uint32(4 + 8 + fmtc.Len() + 8 + len(data)))
	b.WriteString("WAVE")
	b.WriteString("LIST") // an unrelated chunk before fmt, odd-sized with padding
	w(uint32(3))
	b.Write([]byte{1, 2, 3, 0})
	b.WriteString("fmt ")
	w(uint32(fmtc.Len()))
	b.Write(fmtc.Bytes())
	b.WriteString("data")
	w(uint32(len(data)))
	b.Write(data)
	return b.Bytes()
}

func TestReadWAVEncodings(t *testing.T) {
	// Values chosen to be exact in every encoding, as fractions of full scale.
	want := []float32{0, 16384, -16384, 32512, -32768, 256, -256}
	var (
		u8, s16, s24, s32, f32, f64 bytes.Buffer
	)
	for _, v := range want {
		x := float64(v) / 32768
		u8.WriteByte(byte(int(v/256) + 128))
		_ = binary.Write(&s16, binary.LittleEndian, int16(v))
		v24 := int32(v) * 256
		s24.Write([]byte{byte(v24), byte(v24 >> 8), byte(v24 >> 16)})
		_ = binary.Write(&s32, binary.LittleEndian, int32(v)*65536)
		_ = binary.Write(&f32, binary.LittleEndian, float32(x))
		_ = binary.Write(&f64, binary.LittleEndian, x)
	}
	cases := []struct {
		name      string
		tag, sub  uint16
		bits      int
		data      []byte
		wantFloat bool
	}{
		{"u8", 1, 0, 8, u8.Bytes(), false},
		{"s16", 1, 0, 16, s16.Bytes(), false},
		{"s24", 1, 0, 24, s24.Bytes(), false},
		{"s32", 1, 0, 32, s32.Bytes(), false},
		{"f32", 3, 0, 32, f32.Bytes(), true},
		{"f64", 3, 0, 64, f64.Bytes(), true},
		{"extensible s24", 0xFFFE, 1, 24, s24.Bytes(), false},
		{"extensible f32", 0xFFFE, 3, 32, f32.Bytes(), true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, f, err := capture.ReadWAV(bytes.NewReader(wavBytes(c.tag, c.sub, 1, 16000, c.bits, c.data)), 0)
			require.NoError(t, err)
			assert.Equal(t, capture.WAVFormat{SampleRate: 16000, Channels: 1, BitDepth: c.bits, Float: c.wantFloat, Frames: int64(len(want))}, f)
			assert.Equal(t, want, got)
		})
	}
}

// TestReadWAVGoAudio decodes files written by go-audio/wav's encoder, an
// independent implementation of the format, in several channel layouts.
func TestReadWAVGoAudio(t *testing.T) {
	for _, bits := range []int{8, 16, 24, 32} {
		for _, channels := range []int{1, 2, 3} {
			path := filepath.Join(t.TempDir(), "x.wav")
			fh, err := os.Create(path)
			require.NoError(t, err)
			enc := wav.NewEncoder(fh, 44100, bits, channels, 1)
			frames := 1000
			data := make([]int, frames*channels)
			for i := range data {
				// channel c carries a ramp scaled by c+1, in the file's units
				v := ((i/channels)%200 - 100) * (i%channels + 1)
				if bits == 8 {
					data[i] = v/3 + 128
				} else {
					data[i] = v * 64 << (bits - 16)
				}
			}
			require.NoError(t, enc.Write(&audio.IntBuffer{Data: data, Format: &audio.Format{NumChannels: channels, SampleRate: 44100}, SourceBitDepth: bits}))
			require.NoError(t, enc.Close())
			require.NoError(t, fh.Close())
			for ch := 0; ch < channels; ch++ {
				got, f, err := capture.ReadWAVFile(path, ch)
				require.NoError(t, err)
				require.Equal(t, int64(frames), f.Frames)
				require.Len(t, got, frames)
				for i, g := range got {
					v := data[i*channels+ch]
					var w float32
					if bits == 8 {
						w = float32(v-128) * 256
					} else {
						w = float32(v) / float32(int(1)<<(bits-16))
					}
					if g != w {
						t.Fatalf("%d-bit %d ch: channel %d sample %d = %v, want %v", bits, channels, ch, i, g, w)
					}
				}
			}
		}
	}
}

func TestReadWAVBadInput(t *testing.T) {
	good := wavBytes(1, 0, 1, 16000, 16, make([]byte, 100))
	cases := []struct {
		name string
		data []byte
		want error
	}{
		{"empty", nil, capture.ErrMalformedWAV},
		{"not riff", []byte("RIFX0000WAVEfmt "), capture.ErrMalformedWAV},
		{"truncated data", good[:len(good)-10], capture.ErrMalformedWAV},
		{"header only", good[:12], capture.ErrMalformedWAV},
		{"no data chunk", good[:len(good)-108], capture.ErrMalformedWAV},
		{"a-law", wavBytes(6, 0, 1, 8000, 8, make([]byte, 10)), capture.ErrUnsupportedWAV},
		{"12-bit", wavBytes(1, 0, 1, 8000, 12, make([]byte, 10)), capture.ErrUnsupportedWAV},
		{"zero channels", wavBytes(1, 0, 0, 8000, 16, make([]byte, 10)), capture.ErrMalformedWAV},
		{"zero rate", wavBytes(1, 0, 1, 0, 16, make([]byte, 10)), capture.ErrMalformedWAV},
	}
	huge := append([]byte(nil), good...)
	binary.LittleEndian.PutUint32(huge[16:], 0xFFFFFFF0) // the LIST chunk claims 4 GiB
	nan := make([]byte, 12)
	binary.LittleEndian.PutUint32(nan[8:], 0x7fc00000)
	cases = append(cases, struct {
		name string
		data []byte
		want error
	}{"nan sample", wavBytes(3, 0, 1, 16000, 32, nan), capture.ErrMalformedWAV})
	cases = append(cases, struct {
		name string
		data []byte
		want error
	}{"huge chunk", huge, capture.ErrMalformedWAV})
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := capture.ReadWAV(bytes.NewReader(c.data), 0)
			require.Error(t, err)
			assert.True(t, errors.Is(err, c.want), "ReadWAV error = %v, want %v", err, c.want)
			assert.NotContains(t, err.Error(), "\n")
		})
	}
	t.Run("channel out of range", func(t *testing.T) {
		_, _, err := capture.ReadWAV(bytes.NewReader(good), 1)
		require.ErrorContains(t, err, "channel 1 out of range")
	})
	t.Run("error names the file", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "broken.wav")
		require.NoError(t, os.WriteFile(path, good[:40], 0o644))
		_, _, err := capture.ReadWAVFile(path, 0)
		require.Error(t, err)
		assert.True(t, strings.HasPrefix(err.Error(), path+": "), "error %q does not start with the path", err)
	})
}

func TestWAVReaderStreamAndRewind(t *testing.T) {
	data := make([]byte, 2*2*5000)
	for i := 0; i < len(data)/2; i++ {
		binary.LittleEndian.PutUint16(data[2*i:], uint16(int16(i)))
	}
	r, err := capture.NewWAVReader(bytes.NewReader(wavBytes(1, 0, 2, 48000, 16, data)))
	require.NoError(t, err)
	read := func() []float32 {
		var all []float32
		buf := make([]float32, 333) // odd: whole frames only
		for {
			n, err := r.Read(buf)
			require.Zero(t, n%2, "Read returned a partial frame")
			all = append(all, buf[:n]...)
			if err == io.EOF {
				return all
			}
			require.NoError(t, err)
		}
	}
	first := read()
	require.Len(t, first, 10000)
	for i, v := range first {
		require.Equal(t, float32(int16(i)), v)
	}
	require.NoError(t, r.Rewind())
	assert.Equal(t, first, read())
}

func FuzzReadWAV(f *testing.F) {
	f.Add(wavBytes(1, 0, 1, 16000, 16, []byte{1, 2, 3, 4}))
	f.Add(wavBytes(3, 0, 2, 48000, 32, make([]byte, 16)))
	f.Add(wavBytes(0xFFFE, 3, 1, 44100, 32, make([]byte, 8)))
	f.Add(wavBytes(1, 0, 1, 8000, 8, []byte{1, 2, 3}))
	f.Add(wavBytes(1, 0, 1, 8000, 24, []byte{1, 2, 3}))
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > 1<<20 {
			return
		}
		samples, f, err := capture.ReadWAV(bytes.NewReader(b), 0)
		if err != nil {
			if !errors.Is(err, capture.ErrMalformedWAV) && !errors.Is(err, capture.ErrUnsupportedWAV) && !strings.Contains(err.Error(), "out of range") {
				t.Fatalf("untyped error for bad input: %v", err)
			}
			return
		}
		if int64(len(samples)) != f.Frames {
			t.Fatalf("decoded %d samples, format says %d frames", len(samples), f.Frames)
		}
		if f.Frames*int64(f.Channels*f.BitDepth/8) > int64(len(b)) {
			t.Fatalf("%d frames cannot fit in %d bytes", f.Frames, len(b))
		}
		for _, s := range samples {
			if !f.Float && (s < -32768 || s > 32768) {
				t.Fatalf("integer sample %v off the 16-bit scale", s)
			}

		}
	})
}
