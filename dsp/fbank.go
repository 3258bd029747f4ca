package dsp

// FbankOptions configures log mel filterbank features. Field names and
// defaults follow torchaudio.compliance.kaldi.fbank; DefaultFbankOptions
// returns them.
type FbankOptions struct {
	Frame       FrameOptions
	Mel         MelOptions
	UseEnergy   bool    // add the log energy as an extra column; default false
	EnergyFloor float64 // floor on the energy (absolute, not log); ≤ 0 means none; default 1
	RawEnergy   bool    // energy before pre-emphasis and windowing; default true
	UseLogFbank bool    // log of the mel energies; default true
	UsePower    bool    // power spectrum (else magnitude); default true
	HTKCompat   bool    // energy as the last column instead of the first; default false
}

// DefaultFbankOptions returns torchaudio.compliance.kaldi.fbank's defaults:
// 16 kHz, 25 ms frames every 10 ms, povey window, 23 mel bins from 20 Hz to
// Nyquist, log power, no energy column, dither 0.
func DefaultFbankOptions() FbankOptions {
	return FbankOptions{
		Frame:       DefaultFrameOptions(),
		Mel:         DefaultMelOptions(),
		EnergyFloor: 1,
		RawEnergy:   true,
		UseLogFbank: true,
		UsePower:    true,
	}
}

// Fbank computes log mel filterbank features, frame by frame, exactly as
// Kaldi's compute-fbank-feats and torchaudio.compliance.kaldi.fbank define
// them (up to float32 rounding). Features are returned row-major: Dim()
// values per frame.
//
// Compute processes a whole utterance; Accept and Flush process one in
// pieces, emitting each frame as soon as its samples have arrived, with
// results bit-identical to Compute. An Fbank owns scratch space and is not
// safe for concurrent use; give each goroutine its own.
type Fbank struct {
	fe *frontEnd
}

// NewFbank returns an Fbank for opts, or an error wrapping
// ErrInvalidOptions.
func NewFbank(opts FbankOptions) (*Fbank, error) {
	fe, err := newFrontEnd(opts.Frame, opts.Mel, opts.UsePower, opts.UseLogFbank)
	if err != nil {
		return nil, err
	}
	fe.layout(opts.Mel.NumBins, energyOptions{use: opts.UseEnergy, raw: opts.RawEnergy, htk: opts.HTKCompat, floor: opts.EnergyFloor})
	return &Fbank{fe: fe}, nil
}

// Dim is the number of features per frame.
func (f *Fbank) Dim() int { return f.fe.dim }

// NumFrames is the number of frames Compute returns for n samples.
func (f *Fbank) NumFrames(n int) int { return f.fe.frame.NumFrames(n) }

// Compute returns the features of a whole utterance in dst[:0] (grown when
// its capacity is short). Samples are on the 16-bit integer scale.
func (f *Fbank) Compute(dst, samples []float32) []float32 { return f.fe.compute(dst, samples) }

// Accept feeds more samples of the current utterance and appends the
// features of every frame completed by them to dst.
func (f *Fbank) Accept(dst, samples []float32) []float32 { return f.fe.accept(dst, samples) }

// Flush ends the current utterance: it appends the remaining frames (those
// that need the end of the signal) to dst and readies the Fbank for the
// next utterance.
func (f *Fbank) Flush(dst []float32) []float32 { return f.fe.flush(dst) }
