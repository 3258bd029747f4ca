package capture

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
)

// Errors returned by the WAV reader. Every error from NewWAVReader, Read and
// ReadWAVFile wraps one of these, so callers can tell bad input from an I/O
// failure with errors.Is.
var (
	// ErrMalformedWAV means the file is not a well-formed RIFF/WAVE file:
	// a bad header, a chunk that runs past the end of the file, a missing
	// fmt or data chunk, or a data chunk shorter than it declares.
	ErrMalformedWAV = errors.New("malformed WAV")
	// ErrUnsupportedWAV means the file is well formed but its encoding is
	// not one voxward reads (for example A-law, ADPCM or 12-bit PCM).
	ErrUnsupportedWAV = errors.New("unsupported WAV encoding")
)

// WAV format tags (the fmt chunk's wFormatTag).
const (
	wavFormatPCM        = 1
	wavFormatFloat      = 3
	wavFormatExtensible = 0xFFFE
)

// Limits that keep a hostile header from asking for absurd resources.
const (
	maxWAVChannels   = 64
	maxWAVSampleRate = 1_000_000
	maxFmtChunk      = 1024
	maxWAVChunks     = 10_000
)

// WAVFormat describes the audio in a WAV file.
type WAVFormat struct {
	SampleRate int   // sample frames per second
	Channels   int   // interleaved channels
	BitDepth   int   // bits per sample as stored: 8, 16, 24, 32 or 64
	Float      bool  // IEEE float samples (32 or 64 bit) instead of integers
	Frames     int64 // sample frames in the data chunk
}

// Seconds is the duration of the audio.
func (f WAVFormat) Seconds() float64 {
	if f.SampleRate == 0 {
		return 0
	}
	return float64(f.Frames) / float64(f.SampleRate)
}

func (f WAVFormat) String() string {
	kind := "int"
	if f.Float {
		kind = "float"
	}
	return fmt.Sprintf("%d Hz, %d ch, %d-bit %s, %.3f s", f.SampleRate, f.Channels, f.BitDepth, kind, f.Seconds())
}

// WAVReader decodes the samples of a WAV file as float32 on the 16-bit
// integer scale, the scale Kaldi and torchaudio.load(...)*32768 use:
//
//	 8-bit unsigned  (v-128)·256
//	16-bit signed    v
//	24-bit signed    v/256
//	32-bit signed    v/65536
//	32/64-bit float  v·32768
//
// It reads RIFF/WAVE files with PCM, IEEE-float or WAVE_FORMAT_EXTENSIBLE
// fmt chunks. Headers are parsed by a bounded walker of its own: every chunk
// must fit inside the file before any of it is read, so a short hostile file
// cannot make it allocate or seek beyond the data it holds. (The go-audio/wav
// decoder allocates the sizes that LIST, smpl and fmt chunks declare before
// checking them, so it is used for writing WAV files, not for reading them.)
type WAVReader struct {
	r         io.ReadSeeker
	format    WAVFormat
	dataStart int64 // offset of the first sample byte
	dataLen   int64 // bytes of whole sample frames in the data chunk
	pos       int64 // bytes consumed from the data chunk
	bytesPer  int   // bytes per sample
	buf       []byte
}

// NewWAVReader parses the headers of the WAV file r and positions it at the
// first sample. It returns an error wrapping ErrMalformedWAV or
// ErrUnsupportedWAV for bad input.
func NewWAVReader(r io.ReadSeeker) (*WAVReader, error) {
	size, err := r.Seek(0, io.SeekEnd)
	if err != nil {
		return nil, fmt.Errorf("seek: %w", err)
	}
	if _, err := r.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("seek: %w", err)
	}
	var hdr [12]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, fmt.Errorf("%w: %d bytes is too short for a RIFF header", ErrMalformedWAV, size)
	}
	if string(hdr[0:4]) != "RIFF" || string(hdr[8:12]) != "WAVE" {
		return nil, fmt.Errorf("%w: not a RIFF/WAVE file", ErrMalformedWAV)
	}
	w := &WAVReader{r: r}
	var (
		fmtChunk []byte
		haveData bool
		off      = int64(12)
	)
	for n := 0; ; n++ {
		if n == maxWAVChunks {
			return nil, fmt.Errorf("%w: more than %d chunks", ErrMalformedWAV, maxWAVChunks)
		}
		if off+8 > size {
			break
		}
		var ch [8]byte
		if _, err := io.ReadFull(r, ch[:]); err != nil {
			return nil, fmt.Errorf("read chunk header at %d: %w", off, err)
		}
		id := string(ch[0:4])
		clen := int64(binary.LittleEndian.Uint32(ch[4:8]))
		body := off + 8
		switch id {
		case "fmt ":
			if fmtChunk != nil {
				return nil, fmt.Errorf("%w: two fmt chunks", ErrMalformedWAV)
			}
			if clen < 16 || clen > maxFmtChunk || body+clen > size {
				return nil, fmt.Errorf("%w: fmt chunk of %d bytes", ErrMalformedWAV, clen)
			}
			fmtChunk = make([]byte, clen)
			if _, err := io.ReadFull(r, fmtChunk); err != nil {
				return nil, fmt.Errorf("read fmt chunk: %w", err)
			}
		case "data":
			if fmtChunk == nil {
				return nil, fmt.Errorf("%w: data chunk before fmt chunk", ErrMalformedWAV)
			}
			if body+clen > size {
				return nil, fmt.Errorf("%w: truncated: data chunk declares %d bytes, file holds %d", ErrMalformedWAV, clen, size-body)
			}
			w.dataStart, w.dataLen, haveData = body, clen, true
		}
		if haveData {
			break
		}
		next := body + clen + clen&1 // chunks are word aligned
		if next > size {
			return nil, fmt.Errorf("%w: chunk %q of %d bytes runs past the end of the file", ErrMalformedWAV, printableID(ch[0:4]), clen)
		}
		if _, err := r.Seek(next, io.SeekStart); err != nil {
			return nil, fmt.Errorf("seek: %w", err)
		}
		off = next
	}
	if fmtChunk == nil {
		return nil, fmt.Errorf("%w: no fmt chunk", ErrMalformedWAV)
	}
	if !haveData {
		return nil, fmt.Errorf("%w: no data chunk", ErrMalformedWAV)
	}
	if err := w.parseFmt(fmtChunk); err != nil {
		return nil, err
	}
	frameBytes := int64(w.bytesPer * w.format.Channels)
	w.format.Frames = w.dataLen / frameBytes
	w.dataLen = w.format.Frames * frameBytes // a trailing partial frame is ignored
	w.buf = make([]byte, 16<<10-(16<<10)%int(frameBytes))
	if _, err := r.Seek(w.dataStart, io.SeekStart); err != nil {
		return nil, fmt.Errorf("seek: %w", err)
	}
	return w, nil
}

func printableID(id []byte) string {
	for _, c := range id {
		if c < 0x20 || c > 0x7e {
			return fmt.Sprintf("%x", id)
		}
	}
	return string(id)
}

func (w *WAVReader) parseFmt(b []byte) error {
	tag := binary.LittleEndian.Uint16(b[0:2])
	channels := int(binary.LittleEndian.Uint16(b[2:4]))
	rate := int(binary.LittleEndian.Uint32(b[4:8]))
	blockAlign := int(binary.LittleEndian.Uint16(b[12:14]))
	bits := int(binary.LittleEndian.Uint16(b[14:16]))
	if tag == wavFormatExtensible {
		// cbSize(2) validBits(2) channelMask(4) subFormat GUID(16): the
		// GUID's first two bytes are the real format tag.
		if len(b) < 40 {
			return fmt.Errorf("%w: WAVE_FORMAT_EXTENSIBLE fmt chunk of %d bytes", ErrMalformedWAV, len(b))
		}
		tag = binary.LittleEndian.Uint16(b[24:26])
	}
	if channels < 1 || channels > maxWAVChannels {
		return fmt.Errorf("%w: %d channels", ErrMalformedWAV, channels)
	}
	if rate < 1 || rate > maxWAVSampleRate {
		return fmt.Errorf("%w: sample rate %d Hz", ErrMalformedWAV, rate)
	}
	switch {
	case tag == wavFormatPCM && (bits == 8 || bits == 16 || bits == 24 || bits == 32):
	case tag == wavFormatFloat && (bits == 32 || bits == 64):
		w.format.Float = true
	case tag == wavFormatPCM || tag == wavFormatFloat:
		return fmt.Errorf("%w: %d-bit samples", ErrUnsupportedWAV, bits)
	default:
		return fmt.Errorf("%w: format tag 0x%04x (only PCM and IEEE float)", ErrUnsupportedWAV, tag)
	}
	w.bytesPer = bits / 8
	if blockAlign != 0 && blockAlign != w.bytesPer*channels {
		return fmt.Errorf("%w: block align %d for %d channels of %d bits", ErrMalformedWAV, blockAlign, channels, bits)
	}
	w.format.SampleRate, w.format.Channels, w.format.BitDepth = rate, channels, bits
	return nil
}

// Format returns the file's audio format.
func (w *WAVReader) Format() WAVFormat { return w.format }

// Read decodes up to len(dst) samples, interleaved by channel, into dst and
// returns how many it wrote: always whole sample frames when len(dst) holds
// at least one. At the end of the data it returns 0, io.EOF.
func (w *WAVReader) Read(dst []float32) (int, error) {
	remaining := w.dataLen - w.pos
	if remaining == 0 {
		return 0, io.EOF
	}
	frameBytes := w.bytesPer * w.format.Channels
	want := int64(len(dst)/w.format.Channels) * int64(frameBytes)
	if want == 0 {
		want = int64(w.bytesPer)
	}
	want = min(want, remaining, int64(len(w.buf)))
	if want == 0 {
		return 0, nil
	}
	b := w.buf[:want]
	if _, err := io.ReadFull(w.r, b); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return 0, fmt.Errorf("%w: truncated data", ErrMalformedWAV)
		}
		return 0, fmt.Errorf("read samples: %w", err)
	}
	w.pos += want
	n := int(want) / w.bytesPer
	decodeSamples(dst[:n], b, w.bytesPer, w.format.Float)
	if w.format.Float {
		for i, v := range dst[:n] {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				frame := (w.pos-want)/int64(w.bytesPer*w.format.Channels) + int64(i/w.format.Channels)
				return 0, fmt.Errorf("%w: sample %v at frame %d", ErrMalformedWAV, v, frame)
			}
		}
	}
	return n, nil
}

// decodeSamples converts little-endian sample bytes to float32 on the
// 16-bit scale (see WAVReader).
func decodeSamples(dst []float32, b []byte, bytesPer int, float bool) {
	switch {
	case float && bytesPer == 4:
		for i := range dst {
			dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:])) * 32768
		}
	case float:
		for i := range dst {
			dst[i] = float32(math.Float64frombits(binary.LittleEndian.Uint64(b[8*i:])) * 32768)
		}
	case bytesPer == 1:
		for i := range dst {
			dst[i] = float32(int(b[i])-128) * 256
		}
	case bytesPer == 2:
		for i := range dst {
			dst[i] = float32(int16(binary.LittleEndian.Uint16(b[2*i:])))
		}
	case bytesPer == 3:
		for i := range dst {
			v := int32(uint32(b[3*i])<<8 | uint32(b[3*i+1])<<16 | uint32(b[3*i+2])<<24)
			dst[i] = float32(v>>8) / 256
		}
	default:
		for i := range dst {
			dst[i] = float32(float64(int32(binary.LittleEndian.Uint32(b[4*i:]))) / 65536)
		}
	}
}

// Rewind positions the reader at the first sample again.
func (w *WAVReader) Rewind() error {
	if _, err := w.r.Seek(w.dataStart, io.SeekStart); err != nil {
		return fmt.Errorf("seek: %w", err)
	}
	w.pos = 0
	return nil
}

// ReadWAV decodes all of one channel (0 is the first) of the WAV file r.
func ReadWAV(r io.ReadSeeker, channel int) ([]float32, WAVFormat, error) {
	w, err := NewWAVReader(r)
	if err != nil {
		return nil, WAVFormat{}, err
	}
	f := w.Format()
	if channel < 0 || channel >= f.Channels {
		return nil, f, fmt.Errorf("channel %d out of range: the file has %d channel(s)", channel, f.Channels)
	}
	out := make([]float32, f.Frames)
	chunk := make([]float32, 8192*f.Channels)
	var k int
	for {
		n, err := w.Read(chunk)
		for i := channel; i < n; i += f.Channels {
			out[k] = chunk[i]
			k++
		}
		if err == io.EOF {
			return out[:k], f, nil
		}
		if err != nil {
			return nil, f, err
		}
	}
}

// ReadWAVFile decodes all of one channel (0 is the first) of the WAV file
// at path. Its errors start with the path.
func ReadWAVFile(path string, channel int) ([]float32, WAVFormat, error) {
	fh, err := OpenWAVFile(path)
	if err != nil {
		return nil, WAVFormat{}, err
	}
	defer fh.Close()
	samples, f, err := ReadWAV(fh, channel)
	if err != nil {
		return nil, f, fmt.Errorf("%s: %w", path, err)
	}
	return samples, f, nil
}
