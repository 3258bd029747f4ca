package dsp

import (
	"fmt"
	"math"
)

// MFCCOptions configures mel-frequency cepstral coefficients. Field names
// and defaults follow torchaudio.compliance.kaldi.mfcc; DefaultMFCCOptions
// returns them.
type MFCCOptions struct {
	Frame          FrameOptions
	Mel            MelOptions
	NumCeps        int     // cepstral coefficients kept, C0 included; default 13
	CepstralLifter float64 // Q of the lifter 1 + Q/2·sin(πk/Q); 0 turns it off; default 22
	UseEnergy      bool    // replace C0 with the log energy; default false
	EnergyFloor    float64 // floor on the energy (absolute); ≤ 0 means none; default 1
	RawEnergy      bool    // energy before pre-emphasis and windowing; default true
	HTKCompat      bool    // C0 (or energy) last, and C0 scaled by √2 without energy; default false
}

// DefaultMFCCOptions returns torchaudio.compliance.kaldi.mfcc's defaults:
// 13 cepstra from 23 mel bins, lifter 22, C0 (not energy) first.
func DefaultMFCCOptions() MFCCOptions {
	return MFCCOptions{
		Frame:          DefaultFrameOptions(),
		Mel:            DefaultMelOptions(),
		NumCeps:        13,
		CepstralLifter: 22,
		EnergyFloor:    1,
		RawEnergy:      true,
	}
}

// MFCC computes mel-frequency cepstral coefficients as Kaldi's
// compute-mfcc-feats and torchaudio.compliance.kaldi.mfcc define them: the
// orthonormal DCT-II of the log power mel energies,
//
//	c[k] = s_k·Σ_m log E[m]·cos(πk(m+½)/M),  s_0 = √(1/M), s_k = √(2/M),
//
// times the lifter 1 + Q/2·sin(πk/Q). It streams like Fbank.
type MFCC struct {
	fe *frontEnd
}

// NewMFCC returns an MFCC for opts, or an error wrapping ErrInvalidOptions.
func NewMFCC(opts MFCCOptions) (*MFCC, error) {
	fe, err := newFrontEnd(opts.Frame, opts.Mel, true, true)
	if err != nil {
		return nil, err
	}
	nm := opts.Mel.NumBins
	if opts.NumCeps < 1 || opts.NumCeps > nm {
		return nil, fmt.Errorf("%w: %d cepstra from %d mel bins (need 1 ≤ cepstra ≤ bins)", ErrInvalidOptions, opts.NumCeps, nm)
	}
	if opts.CepstralLifter < 0 || math.IsNaN(opts.CepstralLifter) {
		return nil, fmt.Errorf("%w: cepstral lifter %v", ErrInvalidOptions, opts.CepstralLifter)
	}
	// Output order of the DCT rows: C0..Cn-1, or C1..Cn-1 then C0 with
	// HTK compatibility; C0 is dropped when the energy replaces it.
	var order []int
	for k := 1; k < opts.NumCeps; k++ {
		order = append(order, k)
	}
	switch {
	case opts.UseEnergy:
	case opts.HTKCompat:
		order = append(order, 0)
	default:
		order = append([]int{0}, order...)
	}
	dct := &bandMatrix{}
	for _, k := range order {
		scale := math.Sqrt(2 / float64(nm))
		if k == 0 {
			scale = math.Sqrt(1 / float64(nm))
			if opts.HTKCompat && !opts.UseEnergy {
				scale *= math.Sqrt2
			}
		}
		if q := opts.CepstralLifter; q != 0 {
			scale *= 1 + 0.5*q*math.Sin(math.Pi*float64(k)/q)
		}
		dct.rows = append(dct.rows, 0, int32(nm), int32(len(dct.weights)))
		for m := 0; m < nm; m++ {
			w := scale * math.Cos(math.Pi/float64(nm)*(float64(m)+0.5)*float64(k))
			dct.weights = append(dct.weights, float32(w))
			dct.weights64 = append(dct.weights64, w)
		}
	}
	fe.dct = dct
	fe.layout(len(order), energyOptions{use: opts.UseEnergy, raw: opts.RawEnergy, htk: opts.HTKCompat, floor: opts.EnergyFloor})
	return &MFCC{fe: fe}, nil
}

// Dim is the number of features per frame (NumCeps).
func (m *MFCC) Dim() int { return m.fe.dim }

// NumFrames is the number of frames Compute returns for n samples.
func (m *MFCC) NumFrames(n int) int { return m.fe.frame.NumFrames(n) }

// Compute returns the features of a whole utterance in dst[:0] (grown when
// its capacity is short).
func (m *MFCC) Compute(dst, samples []float32) []float32 { return m.fe.compute(dst, samples) }

// Accept feeds more samples and appends every completed frame to dst.
func (m *MFCC) Accept(dst, samples []float32) []float32 { return m.fe.accept(dst, samples) }

// Flush appends the remaining frames and readies m for a new utterance.
func (m *MFCC) Flush(dst []float32) []float32 { return m.fe.flush(dst) }
