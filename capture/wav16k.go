package capture

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/voxward/voxward/dsp"
)

// ReadWAVFile16k reads one channel of a WAV file as 16 kHz samples on the
// int16 scale (DecodeWAV16k). Errors name the file.
func ReadWAVFile16k(path string, channel int) ([]float32, error) {
	x, f, err := ReadWAVFile(path, channel)
	if err != nil {
		return nil, err // ReadWAVFile's errors name the file
	}
	y, err := to16k(x, f.SampleRate)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return y, nil
}

// DecodeWAV16k decodes one channel of the WAV file r (our bounded reader:
// a malformed or truncated file is an error wrapping ErrMalformedWAV or
// ErrUnsupportedWAV, never a panic) as 16 kHz samples on the int16 scale,
// resampling other rates (8 kHz telephone recordings, 44.1 or 48 kHz)
// with dsp's polyphase resampler, its delay removed, so that the output
// has the input's duration.
func DecodeWAV16k(r io.ReadSeeker, channel int) ([]float32, error) {
	x, f, err := ReadWAV(r, channel)
	if err != nil {
		return nil, err
	}
	return to16k(x, f.SampleRate)
}

func to16k(x []float32, rate int) ([]float32, error) {
	if rate == 16000 {
		return x, nil
	}
	r, err := dsp.NewResampler(rate, 16000)
	if err != nil {
		return nil, err
	}
	y := make([]float32, 0, r.MaxOut(len(x))+r.Delay()+1)
	y = r.Process(y, x)
	y = r.Flush(y)
	want := int(int64(len(x)) * 16000 / int64(rate))
	y = y[min(r.Delay(), len(y)):]
	return y[:min(want, len(y))], nil
}

// ErrNotRegular is returned for a WAV path that names a directory, a
// device or a pipe rather than a file.
var ErrNotRegular = errors.New("not a regular file")

// OpenWAVFile opens path for NewWAVReader, refusing anything but a
// regular file (a directory would otherwise "seek" to an absurd size).
// Its errors name the path.
func OpenWAVFile(path string) (*os.File, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err // *PathError names the file
	}
	fi, err := fh.Stat()
	if err != nil {
		fh.Close()
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		fh.Close()
		what := "not a WAV file"
		if fi.IsDir() {
			what = "a directory, not a WAV file"
		}
		return nil, fmt.Errorf("%s: %w: %s", path, ErrNotRegular, what)
	}
	return fh, nil
}
