package capture

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// SampleRate is the rate, in Hz, of every Source's output: 16 kHz mono.
const SampleRate = 16000

// Errors returned by this package. Callers test them with errors.Is.
var (
	// ErrBadSpec: a source spec (ParseSource) is malformed or names an
	// unknown kind.
	ErrBadSpec = errors.New("capture: bad source spec")
	// ErrClosed: the Source was closed, or closed while a Read waited.
	ErrClosed = errors.New("capture: source closed")
	// ErrNoConsent: the Gate holds no consent lease, so it gives no audio.
	ErrNoConsent = errors.New("capture: no consent lease held")
	// ErrOverflow: the device or the ring buffer lost audio before the
	// samples this Read returned (they are valid; the gap lies before
	// them). Count it and keep reading.
	ErrOverflow = errors.New("capture: input overflow, audio lost")
	// ErrNoPortAudio: this binary was built without the portaudio tag.
	ErrNoPortAudio = errors.New("capture: built without PortAudio (build with -tags portaudio)")
	// ErrNoDevice: no capture device matches the name or index asked for.
	ErrNoDevice = errors.New("capture: no such capture device")
	// ErrDeviceLost: the device stopped delivering audio (unplugged, or
	// silent for longer than Options.StallTimeout). A Gate closes it and
	// opens it again on the next Read while leases are held.
	ErrDeviceLost = errors.New("capture: device lost")
	// ErrFormat: the audio's format is not one this package reads.
	ErrFormat = errors.New("capture: unsupported audio format")
)

// Source is an open stream of 16 kHz mono float32 samples on the 16-bit
// integer scale (full scale is 32768).
//
// Read fills dst: it returns len(dst) and a nil error, or fewer samples and
// an error saying why — io.EOF at the end of a finite source, ctx.Err()
// when ctx ends, ErrClosed after Close, ErrNoConsent from a Gate without a
// lease. ErrOverflow is the exception: it comes with a full dst of valid
// samples. Close releases the device; it may be called while a Read
// waits, which then returns ErrClosed. Read is not safe for concurrent use
// with itself.
type Source interface {
	Read(ctx context.Context, dst []float32) (int, error)
	Info() Info
	Close() error
}

// Info describes a source: what it is and the format it delivers.
type Info struct {
	// Spec is the source spec as ParseSource understood it, e.g. "tone"
	// or "wav:/srv/a.wav?loop=1".
	Spec string `json:"spec"`
	// Kind is "portaudio", "wav", "pcm", "tone" or a custom kind.
	Kind string `json:"kind"`
	// Device names the device or file (empty for tone).
	Device string `json:"device,omitempty"`
	// NativeRate and NativeChannels are the device's or file's format
	// before it is mixed to mono and resampled to SampleRate.
	NativeRate     int `json:"native_rate"`
	NativeChannels int `json:"native_channels"`
	// SampleRate and Channels are what Read delivers: 16000 and 1.
	SampleRate int `json:"sample_rate"`
	Channels   int `json:"channels"`
	// RealTime says whether Read is paced like a live microphone.
	RealTime bool `json:"real_time"`
}

// Stats are a source's loss counters, cumulative since it was opened.
type Stats struct {
	// Overflows counts the times the device reported lost input
	// (PortAudio's input overflow).
	Overflows uint64 `json:"overflows"`
	// DroppedSamples counts native-rate samples the ring buffer dropped
	// because the reader fell behind.
	DroppedSamples uint64 `json:"dropped_samples"`
}

// statser is implemented by sources that count losses.
type statser interface{ Stats() Stats }

// Options are the collaborators ParseSource's devices use. A nil
// *Options, or a zero field, means the default.
type Options struct {
	// Clock paces real-time sources; default SystemClock.
	Clock Clock
	// Stdin is what "pcm:-" reads. There is no default: ParseSource
	// refuses "pcm:-" when it is nil (the daemon passes os.Stdin).
	Stdin io.Reader
	// Logger receives device messages (PortAudio overflows); default
	// discards.
	Logger *slog.Logger
	// RingSeconds bounds the buffer between a device callback and Read
	// (PortAudio); default 2 s.
	RingSeconds float64
	// StallTimeout is how long a microphone may deliver nothing before
	// Read gives up with ErrDeviceLost; default 2 s.
	StallTimeout time.Duration
}

func (o *Options) clock() Clock {
	if o == nil || o.Clock == nil {
		return SystemClock{}
	}
	return o.Clock
}

// OpenFunc opens a device: it starts the stream and returns the Source.
type OpenFunc func(ctx context.Context) (Source, error)

// Device is a capture device that is not open. Nothing in this package
// opens one but a Gate, so no audio is captured without a consent lease:
// ParseSource's devices (the microphone included) have no exported way to
// open them.
type Device struct {
	info Info
	open OpenFunc
}

// NewDevice returns a Device that open opens, for sources this package
// does not provide (and for tests). The Gate calls open; info describes it.
func NewDevice(info Info, open OpenFunc) *Device {
	return &Device{info: info, open: open}
}

// Info returns what is known about the device before it is opened.
func (d *Device) Info() Info { return d.info }

// ParseSource parses a source spec (API.md) into an unopened Device:
//
//	tone[?freq=HZ&level=DBFS&fast=1]   generated sine (default 440 Hz, −20 dBFS)
//	pcm:-[?rate=HZ&channels=N]         s16le on Options.Stdin (default 16 kHz mono)
//	wav:PATH[?loop=1&fast=1]           a WAV file at real-time pace, looped
//	portaudio[:DEVICE][?rate=HZ]       the microphone (portaudio build tag);
//	                                   DEVICE is a name (substring) or an index
//
// fast=1 reads as fast as possible (offline use) instead of at real-time
// pace. Unknown kinds or options return ErrBadSpec; a missing file or
// device is only found when the Gate opens the Device.
func ParseSource(spec string, opts *Options) (*Device, error) {
	kind, rest, _ := strings.Cut(spec, ":")
	query := ""
	if i := strings.LastIndexByte(spec, '?'); i >= 0 {
		query = spec[i+1:]
		if j := strings.LastIndexByte(rest, '?'); j >= 0 {
			rest = rest[:j]
		} else {
			kind = strings.TrimSuffix(kind, "?"+query)
		}
	}
	q, err := url.ParseQuery(query)
	if err != nil {
		return nil, fmt.Errorf("%w %q: %v", ErrBadSpec, spec, err)
	}
	p := params{spec: spec, q: q}
	var d *Device
	switch kind {
	case "tone":
		if rest != "" {
			return nil, fmt.Errorf("%w %q: tone takes no argument (use tone?freq=440)", ErrBadSpec, spec)
		}
		d, err = toneDevice(&p, opts)
	case "pcm":
		if rest != "-" {
			return nil, fmt.Errorf("%w %q: only pcm:- (stdin) is supported", ErrBadSpec, spec)
		}
		d, err = pcmDevice(&p, opts)
	case "wav":
		if rest == "" {
			return nil, fmt.Errorf("%w %q: wav needs a path (wav:PATH)", ErrBadSpec, spec)
		}
		d, err = wavDevice(rest, &p, opts)
	case "portaudio":
		d, err = portaudioDevice(rest, &p, opts)
	default:
		return nil, fmt.Errorf("%w %q: unknown kind %q (want portaudio, wav, pcm or tone)", ErrBadSpec, spec, kind)
	}
	if err != nil {
		return nil, err
	}
	if err := p.unused(); err != nil {
		return nil, err
	}
	d.info.Spec = spec
	return d, nil
}

// params reads a spec's query options and remembers which were used.
type params struct {
	spec string
	q    url.Values
	used map[string]bool
}

func (p *params) str(key string) string {
	if p.used == nil {
		p.used = map[string]bool{}
	}
	p.used[key] = true
	return p.q.Get(key)
}

func (p *params) float(key string, def, lo, hi float64) (float64, error) {
	s := p.str(key)
	if s == "" {
		return def, nil
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || v < lo || v > hi || v != v {
		return 0, fmt.Errorf("%w %q: %s=%q, want a number in [%g, %g]", ErrBadSpec, p.spec, key, s, lo, hi)
	}
	return v, nil
}

func (p *params) int(key string, def, lo, hi int) (int, error) {
	s := p.str(key)
	if s == "" {
		return def, nil
	}
	v, err := strconv.Atoi(s)
	if err != nil || v < lo || v > hi {
		return 0, fmt.Errorf("%w %q: %s=%q, want an integer in [%d, %d]", ErrBadSpec, p.spec, key, s, lo, hi)
	}
	return v, nil
}

func (p *params) bool(key string) (bool, error) {
	s := p.str(key)
	switch s {
	case "", "0", "false":
		return false, nil
	case "1", "true":
		return true, nil
	}
	return false, fmt.Errorf("%w %q: %s=%q, want 1 or 0", ErrBadSpec, p.spec, key, s)
}

func (p *params) unused() error {
	for k := range p.q {
		if !p.used[k] {
			return fmt.Errorf("%w %q: unknown option %q", ErrBadSpec, p.spec, k)
		}
	}
	return nil
}
