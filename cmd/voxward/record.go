package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"

	"github.com/voxward/voxward/capture"
)

func init() {
	register(&command{name: "record", summary: "record N seconds from a source to a 16 kHz WAV file (offline, needs --i-have-consent)", run: runRecord})
}

const recordHelp = `
Records from an audio source through the consent gate into a 16 kHz mono
16-bit WAV file, then prints one JSON object:
{"out","source","seconds","samples","overflows","rms_dbfs","peak_dbfs","clipped",
"non_finite_samples"}.

The microphone is opened only for the recording and closed right after it.
Offline there is no consent record to check, so you must say that everyone
who may be heard has consented: --i-have-consent. (The daemon takes consent
through its API and needs no such flag.)

Sources (--source): portaudio or portaudio:DEVICE (a name or an index from
"voxward devices"; needs a build with PortAudio), wav:PATH (played at
real-time pace; add ?fast=1 to read it as fast as possible, ?loop=1 to
loop), pcm:- (signed 16-bit little-endian mono 16 kHz on stdin; ?rate=HZ and
?channels=N for other formats), tone (a generated sine; ?freq=HZ&level=DBFS).

A source that ends early (a WAV file) gives a shorter recording. An
interrupted recording keeps what was recorded and exits with status 1.
So does one in which the source delivered samples that are not numbers
(NaN or infinity: a device whose sample format is misread); the WAV file
has silence in their place and non_finite_samples counts them.
`

// recordSummary is what record prints.
type recordSummary struct {
	Out       string  `json:"out"`
	Source    string  `json:"source"`
	Seconds   float64 `json:"seconds"`
	Samples   int64   `json:"samples"`
	Overflows int     `json:"overflows"`
	RMSDBFS   float64 `json:"rms_dbfs"`
	PeakDBFS  float64 `json:"peak_dbfs"`
	Clipped   uint64  `json:"clipped"`
	// NonFinite counts the samples the source delivered as NaN or ±Inf,
	// written as silence.
	NonFinite uint64 `json:"non_finite_samples"`
}

func runRecord(ctx context.Context, sio *stdio, args []string) error {
	defSource := ""
	if capture.HavePortAudio {
		defSource = "portaudio"
	}
	fs := newFlags(sio, "record", "record --seconds N --out X.wav [--source SPEC] --i-have-consent", recordHelp)
	seconds := fs.Float64("seconds", 0, "how long to record, in seconds (required, at most 86400)")
	out := fs.String("out", "", "the WAV file to write (required)")
	source := fs.String("source", defSource, "the audio source spec (see above)")
	consent := fs.Bool("i-have-consent", false, "confirm that everyone who may be heard has consented to this recording")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	switch {
	case len(pos) > 0:
		return usagef("unexpected argument %q", pos[0])
	case !(*seconds > 0 && *seconds <= 86400):
		return usagef("--seconds must be a number of seconds in (0, 86400]")
	case *out == "":
		return usagef("--out X.wav is required")
	case *source == "":
		return usagef("--source is required: this build has no PortAudio, so use wav:PATH, pcm:- or tone")
	case !*consent:
		return usagef("recording needs consent: pass --i-have-consent to confirm that everyone who may be heard has agreed")
	}
	dev, err := capture.ParseSource(*source, &capture.Options{Stdin: sio.in})
	switch {
	case errors.Is(err, capture.ErrNoPortAudio):
		return errNoPortAudio
	case errors.Is(err, capture.ErrBadSpec):
		return usagef("--source: %v", err)
	case err != nil:
		return err
	}
	return record(ctx, sio, dev, *out, *seconds)
}

func record(ctx context.Context, sio *stdio, dev *capture.Device, out string, seconds float64) (err error) {
	// Write next to the destination and rename at the end, so a failed
	// recording never leaves a half-written file under the final name.
	tmp, err := os.CreateTemp(filepath.Dir(out), "."+filepath.Base(out)+".*.tmp")
	if err != nil {
		return fmt.Errorf("create %s: %w", out, err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	w, err := capture.NewWAVWriter(tmp, capture.SampleRate)
	if err != nil {
		return fmt.Errorf("%s: %w", out, err)
	}

	gate := capture.NewGate(dev, nil)
	defer gate.Close()
	lease, err := gate.Acquire(ctx, "cli record: operator attests consent", 0)
	if err != nil {
		return err
	}
	want := int64(math.Round(seconds * capture.SampleRate))
	buf := make([]float32, capture.SampleRate/10)
	var got int64
	var overflows int
	var readErr error
	for got < want {
		n, rerr := gate.Read(ctx, buf[:min(int64(len(buf)), want-got)])
		if werr := w.Write(buf[:n]); werr != nil {
			readErr = fmt.Errorf("%s: %w", out, werr)
			break
		}
		got += int64(n)
		if errors.Is(rerr, capture.ErrOverflow) {
			overflows++
			continue
		}
		if errors.Is(rerr, io.EOF) {
			fmt.Fprintf(sio.err, "voxward record: the source ended after %.2f s\n", float64(got)/capture.SampleRate)
			break
		}
		if rerr != nil {
			readErr = rerr
			break
		}
	}
	lease.Release() // the device closes here, before the file is finished
	levels := gate.Status().Levels

	if err := w.Close(); err != nil {
		return fmt.Errorf("%s: %w", out, err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("%s: %w", out, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("%s: %w", out, err)
	}
	if err := os.Rename(tmp.Name(), out); err != nil {
		return fmt.Errorf("%s: %w", out, err)
	}
	sum := recordSummary{
		Out: out, Source: dev.Info().Spec, Seconds: float64(got) / capture.SampleRate, Samples: got,
		Overflows: overflows, RMSDBFS: round2(levels.RMSDBFS), PeakDBFS: round2(levels.PeakDBFS), Clipped: levels.Clipped,
		NonFinite: levels.NonFinite,
	}
	if err := json.NewEncoder(sio.out).Encode(sum); err != nil {
		return err
	}
	var garbage error
	if sum.NonFinite > 0 {
		garbage = fmt.Errorf("the source delivered %d of %d samples as NaN or infinity (silence in %s): "+
			"the recording is not usable; the device's sample format is probably misread "+
			"(with ALSA, capture through a plug or plughw PCM, which converts)", sum.NonFinite, got, out)
	}
	switch {
	case readErr == nil:
		return garbage
	case garbage != nil:
		fmt.Fprintf(sio.err, "voxward record: %v\n", garbage)
	}
	if ctx.Err() != nil {
		return fmt.Errorf("interrupted: kept %.2f s in %s", sum.Seconds, out)
	}
	return fmt.Errorf("kept %.2f s in %s: %w", sum.Seconds, out, readErr)
}

func round2(x float64) float64 { return math.Round(x*100) / 100 }
