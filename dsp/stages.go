package dsp

import "fmt"

// Stage is one step of the feature pipeline bound to a block of eight
// frames, runnable on its own so that a profiler (voxward bench, the Go
// benchmarks) can time it. Run leaves its input untouched, so repeated runs
// do the same work.
type Stage struct {
	Name   string // framing, fft, spectrum, mel, log, dct, output
	Frames int    // frames one Run processes
	Run    func()
}

// Stages returns the steps of f's pipeline bound to eight frames
// of samples from the ninth on (samples must hold sixteen frames), in
// pipeline order:
// framing (gather, DC offset, pre-emphasis, window), fft (the complex
// FFT), spectrum (real split and power), mel (filterbank), log, output
// (scatter to frames).
func (f *Fbank) Stages(samples []float32) []Stage { return f.fe.stages(samples) }

// Stages is Fbank.Stages for MFCC, with a dct step after log.
func (m *MFCC) Stages(samples []float32) []Stage { return m.fe.stages(samples) }

func (fe *frontEnd) stages(samples []float32) []Stage {
	// A block from frame 8 on: past any reflected edge, in the steady state.
	first := max(fe.frame.firstSample(lanes), 0)
	if need := first + (lanes-1)*fe.shift + fe.size; len(samples) < need {
		panic(fmt.Sprintf("dsp: Stages needs %d samples, got %d", need, len(samples)))
	}
	src := samples[first:]
	half := fe.padded / 2
	out := make([]float32, lanes*fe.dim)
	var mean [lanes]float32
	framing := func() {
		transposeIn(fe.x, src, fe.shift, fe.size)
		if fe.frame.RemoveDCOffset {
			mean = laneSums(fe.x)
			for l := range mean {
				mean[l] /= float32(fe.size)
			}
		}
		preemphWindow(fe.fft.ar, fe.fft.ai, fe.x, fe.win, &mean, float32(fe.frame.PreemphasisCoefficient), fe.size, half)
	}
	framing()
	inR := append([]float32(nil), fe.fft.ar...)
	inI := append([]float32(nil), fe.fft.ai...)
	zr, zi := fe.fft.complexBlock(inR, inI)
	zr, zi = append([]float32(nil), zr...), append([]float32(nil), zi...)
	realSpectrum(fe.pow, zr, zi, fe.fft.cr, fe.fft.ci, half, fe.power)
	mels := fe.mels
	if fe.dct == nil {
		mels = fe.feat[lanes*fe.coefRow : lanes*(fe.coefRow+fe.mel.numRows())]
	}
	st := []Stage{
		{Name: "framing", Run: framing},
		{Name: "fft", Run: func() { fe.fft.complexBlock(inR, inI) }},
		{Name: "spectrum", Run: func() { realSpectrum(fe.pow, zr, zi, fe.fft.cr, fe.fft.ci, half, fe.power) }},
		{Name: "mel", Run: func() { bandMatVec(mels, fe.pow, fe.mel) }},
	}
	if fe.useLog {
		// In place: after the first run it takes logs of logs, the same
		// work (the kernel has no data-dependent branches).
		st = append(st, Stage{Name: "log", Run: func() { logFloor(mels, epsilon) }})
	}
	if fe.dct != nil {
		coef := fe.feat[lanes*fe.coefRow:]
		st = append(st, Stage{Name: "dct", Run: func() { bandMatVec(coef, mels, *fe.dct) }})
	}
	st = append(st, Stage{Name: "output", Run: func() { transposeOut(out, fe.dim, fe.feat, fe.dim, lanes) }})
	for i := range st {
		st[i].Frames = lanes
	}
	return st
}
