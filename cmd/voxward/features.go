package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"strconv"

	"github.com/voxward/voxward/capture"
	"github.com/voxward/voxward/dsp"
)

func init() {
	register(&command{
		name:    "features",
		summary: "compute Kaldi fbank or MFCC features of a WAV file",
		run:     runFeatures,
	})
}

const featuresHelp = `Computes Kaldi-compatible features of one WAV file and prints one frame
per line, values separated by one space (shortest exact float32 form).

The definitions are Kaldi's (compute-fbank-feats, compute-mfcc-feats);
option names and defaults are those of torchaudio.compliance.kaldi, so
  voxward features fbank --num-mel-bins 80 X.wav
matches torchaudio.compliance.kaldi.fbank(wave*32768, num_mel_bins=80)
to float32 rounding. Samples are read on the 16-bit integer scale from
8/16/24/32-bit integer or 32/64-bit float PCM, mono or multi-channel
(--channel picks one). A WAV whose rate differs from --sample-frequency is
an error: resample it first.

Examples:
  voxward features mfcc X.wav
  voxward features fbank --num-mel-bins 40 --snip-edges=false --window-type hamming X.wav`

// kaldiFlags binds torchaudio.compliance.kaldi's options to fs.
type kaldiFlags struct {
	frame          dsp.FrameOptions
	mel            dsp.MelOptions
	useEnergy      bool
	energyFloor    float64
	rawEnergy      bool
	useLogFbank    bool
	usePower       bool
	htkCompat      bool
	numCeps        int
	cepstralLifter float64
	subtractMean   bool
	minDuration    float64
	channel        int
}

func bindKaldiFlags(fs *flag.FlagSet) *kaldiFlags {
	k := &kaldiFlags{frame: dsp.DefaultFrameOptions(), mel: dsp.DefaultMelOptions()}
	fo, mo := &k.frame, &k.mel
	fs.Float64Var(&fo.SampleFrequency, "sample-frequency", fo.SampleFrequency, "sample rate of the input in Hz; the WAV must match")
	fs.Float64Var(&fo.FrameLength, "frame-length", fo.FrameLength, "frame length in milliseconds")
	fs.Float64Var(&fo.FrameShift, "frame-shift", fo.FrameShift, "frame shift in milliseconds")
	fs.Float64Var(&fo.Dither, "dither", 0, "standard deviation of Gaussian dither added to each sample (0 = none)")
	fs.Uint64Var(&fo.DitherSeed, "dither-seed", 0, "seed of the dither noise (same seed, same output)")
	fs.Float64Var(&fo.PreemphasisCoefficient, "preemphasis-coefficient", fo.PreemphasisCoefficient, "pre-emphasis y[i] = x[i] - c·x[i-1]")
	fs.BoolVar(&fo.RemoveDCOffset, "remove-dc-offset", fo.RemoveDCOffset, "subtract each frame's mean")
	fs.StringVar(&fo.WindowType, "window-type", fo.WindowType, "povey, hamming, hanning, rectangular or blackman")
	fs.BoolVar(&fo.RoundToPowerOfTwo, "round-to-power-of-two", fo.RoundToPowerOfTwo, "zero-pad frames to a power of two for the FFT")
	fs.Float64Var(&fo.BlackmanCoeff, "blackman-coeff", fo.BlackmanCoeff, "α of the generalised Blackman window")
	fs.BoolVar(&fo.SnipEdges, "snip-edges", fo.SnipEdges, "only frames that fit in the signal (false: reflect at the edges)")
	fs.IntVar(&mo.NumBins, "num-mel-bins", mo.NumBins, "number of triangular mel filters")
	fs.Float64Var(&mo.LowFreq, "low-freq", mo.LowFreq, "low edge of the mel filterbank in Hz")
	fs.Float64Var(&mo.HighFreq, "high-freq", mo.HighFreq, "high edge in Hz; ≤ 0 is an offset from Nyquist")
	fs.Float64Var(&mo.VTLNWarp, "vtln-warp", mo.VTLNWarp, "VTLN warp factor (only 1.0 is supported)")
	fs.BoolVar(&k.useEnergy, "use-energy", false, "fbank: add log energy as a column; mfcc: replace C0 with it")
	fs.Float64Var(&k.energyFloor, "energy-floor", 1, "floor on the energy (absolute value; 0 = none)")
	fs.BoolVar(&k.rawEnergy, "raw-energy", true, "energy before pre-emphasis and windowing")
	fs.BoolVar(&k.htkCompat, "htk-compat", false, "energy (or C0) as the last column, HTK style")
	fs.BoolVar(&k.subtractMean, "subtract-mean", false, "subtract each column's mean over the utterance")
	fs.Float64Var(&k.minDuration, "min-duration", 0, "print nothing for inputs shorter than this many seconds")
	fs.IntVar(&k.channel, "channel", 0, "channel of a multi-channel WAV, 0 is the first (-1 also means the first)")
	fs.BoolVar(&k.useLogFbank, "use-log-fbank", true, "fbank only: log of the mel energies (false: linear)")
	fs.BoolVar(&k.usePower, "use-power", true, "fbank only: power spectrum (false: magnitude)")
	fs.IntVar(&k.numCeps, "num-ceps", 13, "mfcc only: number of cepstral coefficients, C0 included")
	fs.Float64Var(&k.cepstralLifter, "cepstral-lifter", 22, "mfcc only: cepstral lifter Q (0 = none)")
	return k
}

// extractor is what Fbank and MFCC have in common for the CLI.
type extractor interface {
	Accept(dst, samples []float32) []float32
	Flush(dst []float32) []float32
	Dim() int
}

func (k *kaldiFlags) extractor(kind string) (extractor, error) {
	if kind == "fbank" {
		return dsp.NewFbank(dsp.FbankOptions{
			Frame: k.frame, Mel: k.mel, UseEnergy: k.useEnergy, EnergyFloor: k.energyFloor,
			RawEnergy: k.rawEnergy, UseLogFbank: k.useLogFbank, UsePower: k.usePower, HTKCompat: k.htkCompat,
		})
	}
	return dsp.NewMFCC(dsp.MFCCOptions{
		Frame: k.frame, Mel: k.mel, NumCeps: k.numCeps, CepstralLifter: k.cepstralLifter,
		UseEnergy: k.useEnergy, EnergyFloor: k.energyFloor, RawEnergy: k.rawEnergy, HTKCompat: k.htkCompat,
	})
}

func runFeatures(ctx context.Context, sio *stdio, args []string) error {
	kind := ""
	if len(args) > 0 && (args[0] == "fbank" || args[0] == "mfcc") {
		kind, args = args[0], args[1:]
	}
	fs := newFlags(sio, "features", "features fbank|mfcc [flags] IN.wav", featuresHelp)
	k := bindKaldiFlags(fs)
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if kind == "" {
		return usagef("say fbank or mfcc: voxward features fbank|mfcc [flags] IN.wav")
	}
	only := map[string]string{"use-log-fbank": "fbank", "use-power": "fbank", "num-ceps": "mfcc", "cepstral-lifter": "mfcc"}
	var misplaced error
	fs.Visit(func(f *flag.Flag) {
		if want, ok := only[f.Name]; ok && want != kind && misplaced == nil {
			misplaced = usagef("--%s applies to %s only", f.Name, want)
		}
	})
	if misplaced != nil {
		return misplaced
	}
	if len(pos) != 1 {
		return usagef("want one WAV file, got %d arguments", len(pos))
	}
	ex, err := k.extractor(kind)
	if err != nil {
		return usagef("%v", err)
	}
	path := pos[0]
	fh, err := capture.OpenWAVFile(path)
	if err != nil {
		return err
	}
	defer fh.Close()
	wav, err := capture.NewWAVReader(fh)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	format, channel := wav.Format(), max(k.channel, 0)
	switch {
	case channel >= format.Channels:
		return fmt.Errorf("%s: channel %d out of range: the file has %d channel(s)", path, channel, format.Channels)
	case float64(format.SampleRate) != k.frame.SampleFrequency:
		return fmt.Errorf("%s: sample rate %d Hz differs from --sample-frequency %v; resample the file first", path, format.SampleRate, k.frame.SampleFrequency)
	case float64(format.Frames) < k.minDuration*k.frame.SampleFrequency:
		return nil
	}
	// Stream the file through the extractor: memory stays flat however
	// long the recording (features are only held whole for --subtract-mean).
	w := bufio.NewWriterSize(sio.out, 64<<10)
	buf := make([]float32, 8192*format.Channels)
	mono := make([]float32, 8192)
	var feats []float32
	for {
		n, rerr := wav.Read(buf)
		if rerr != nil && rerr != io.EOF {
			return fmt.Errorf("%s: %w", path, rerr)
		}
		m := 0
		for i := channel; i < n; i += format.Channels {
			mono[m] = buf[i]
			m++
		}
		feats = ex.Accept(feats, mono[:m])
		if rerr == io.EOF {
			break
		}
		if !k.subtractMean {
			if err := writeRows(w, feats, ex.Dim()); err != nil {
				return err
			}
			feats = feats[:0]
		}
	}
	feats = ex.Flush(feats)
	if k.subtractMean {
		dsp.CMVN(feats, ex.Dim(), false)
	}
	if err := writeRows(w, feats, ex.Dim()); err != nil {
		return err
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	return nil
}

// writeRows prints rows of dim values, one space between values, each in
// the shortest form that reads back as the same float32.
func writeRows(w *bufio.Writer, vals []float32, dim int) error {
	var b [32]byte
	for i := 0; i < len(vals); i += dim {
		for j, v := range vals[i : i+dim] {
			if j > 0 {
				w.WriteByte(' ')
			}
			w.Write(strconv.AppendFloat(b[:0], float64(v), 'g', -1, 32))
		}
		if err := w.WriteByte('\n'); err != nil {
			return fmt.Errorf("write: %w", err)
		}
	}
	return nil
}
