package capture

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
)

// WAVWriter writes 16-bit PCM mono WAV files as samples arrive: it writes
// a header with zero sizes first and patches them in Close, so recording
// takes memory for one block, not for the whole recording.
type WAVWriter struct {
	w      io.WriteSeeker
	rate   int
	frames int64
	buf    []byte
	err    error
}

// maxWAVData is the most sample bytes a RIFF file's 32-bit sizes allow.
const maxWAVData = math.MaxUint32 - 36

// ErrWAVTooLong: a WAVWriter was given more samples than a WAV file holds
// (about 37 hours at 16 kHz).
var ErrWAVTooLong = errors.New("capture: recording too long for a WAV file")

// NewWAVWriter writes a WAV header for rate Hz, 16-bit mono, to w.
func NewWAVWriter(w io.WriteSeeker, rate int) (*WAVWriter, error) {
	ww := &WAVWriter{w: w, rate: rate, buf: make([]byte, 0, 4096)}
	if err := ww.header(); err != nil {
		return nil, err
	}
	return ww, nil
}

func (ww *WAVWriter) header() error {
	data := uint32(ww.frames * 2)
	h := make([]byte, 0, 44)
	h = append(h, "RIFF"...)
	h = binary.LittleEndian.AppendUint32(h, 36+data)
	h = append(h, "WAVEfmt "...)
	h = binary.LittleEndian.AppendUint32(h, 16)
	h = binary.LittleEndian.AppendUint16(h, 1) // PCM
	h = binary.LittleEndian.AppendUint16(h, 1) // mono
	h = binary.LittleEndian.AppendUint32(h, uint32(ww.rate))
	h = binary.LittleEndian.AppendUint32(h, uint32(ww.rate*2))
	h = binary.LittleEndian.AppendUint16(h, 2)
	h = binary.LittleEndian.AppendUint16(h, 16)
	h = append(h, "data"...)
	h = binary.LittleEndian.AppendUint32(h, data)
	if _, err := ww.w.Write(h); err != nil {
		return fmt.Errorf("capture: write WAV header: %w", err)
	}
	return nil
}

// Write appends samples (int16 scale), rounded and clamped to 16 bits.
func (ww *WAVWriter) Write(samples []float32) error {
	if ww.err != nil {
		return ww.err
	}
	if (ww.frames+int64(len(samples)))*2 > maxWAVData {
		ww.err = ErrWAVTooLong
		return ww.err
	}
	for len(samples) > 0 {
		n := min(len(samples), cap(ww.buf)/2)
		b := ww.buf[:0]
		for _, v := range samples[:n] {
			r := math.Round(float64(v))
			r = math.Max(math.MinInt16, math.Min(math.MaxInt16, r))
			b = binary.LittleEndian.AppendUint16(b, uint16(int16(r)))
		}
		if _, err := ww.w.Write(b); err != nil {
			ww.err = fmt.Errorf("capture: write WAV samples: %w", err)
			return ww.err
		}
		ww.frames += int64(n)
		samples = samples[n:]
	}
	return nil
}

// Frames returns how many samples were written.
func (ww *WAVWriter) Frames() int64 { return ww.frames }

// Close patches the header's sizes. It does not close the underlying
// writer.
func (ww *WAVWriter) Close() error {
	if ww.err != nil && !errors.Is(ww.err, ErrWAVTooLong) {
		return ww.err
	}
	if _, err := ww.w.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("capture: patch WAV header: %w", err)
	}
	if err := ww.header(); err != nil {
		return err
	}
	if _, err := ww.w.Seek(0, io.SeekEnd); err != nil {
		return fmt.Errorf("capture: patch WAV header: %w", err)
	}
	return nil
}
