package voiceprint

import (
	"math"

	"github.com/voxward/voxward/dsp"
)

// Bandwidth estimation: how far up the spectrum the speech reaches. A
// recording made at 8 kHz (a telephone line, many phone and conference
// recorders, low-rate codecs) holds nothing above 4 kHz, however the box
// resamples it; speech from a wide-band microphone carries energy to
// 8 kHz, and so does speech with broadband noise or a μ-law line's
// quantisation noise. On the dev speech, the 4.5–8 kHz bands of the
// 8 kHz copies lie 90 dB or more below the strongest band; those of
// wide-band recordings at most about 70 dB below it, most 15–50 dB. Of
// the 859 recordings in ../shared/data, 848 measure 4,750–8,000 Hz and
// 11 measure 4,250–4,500 Hz: every recording of two Malayalam
// contributors, band-limited at the source. Their 8 kHz copies measure
// 3,750–4,500 Hz; their telephone and 10 dB-noise copies 8,000 Hz.

const (
	bwFFT      = 512                 // FFT points of a 400-sample (25 ms) frame
	bwBandHz   = 250                 // analysis band width
	bwBands    = 8000 / bwBandHz     // bands from 0 to 8 kHz
	bwFloorDB  = 70                  // a band counts when within this of the strongest
	bwMaxFrame = 100                 // speech frames analysed at most (spread evenly)
	bwBins     = bwFFT / 2 / bwBands // FFT bins a band
	bwFrameLen = 400                 // samples of a frame (Kaldi's 25 ms at 16 kHz)
	bwShift    = 160                 // samples between frames (10 ms)
)

// NarrowBandHz is the bandwidth at or below which Analysis.BandLimited
// holds: audio with no speech energy above 4.5 kHz, as made at 8 kHz.
const NarrowBandHz = 4500

// bandwidth measures how far up the spectrum the speech frames (dec, one
// decision per 10-ms frame) of samples reach: the upper edge, in Hz, of
// the highest 250-Hz band whose mean power over the frames is within
// 70 dB of the strongest band's (0 with no frame to measure). At most
// 100 speech frames are measured, evenly spread.
func (e *SpeechFeatures) bandwidth(samples []float32, dec []bool) float64 {
	var n int
	for t, d := range dec {
		if d && t*bwShift+bwFrameLen <= len(samples) {
			n++
		}
	}
	if n == 0 {
		return 0
	}
	if e.bwFFT == nil {
		e.bwFFT = dsp.NewRealFFT(bwFFT)
		e.bwWin = make([]float32, bwFrameLen)
		for i := range e.bwWin {
			e.bwWin[i] = float32(0.5 - 0.5*math.Cos(2*math.Pi*float64(i)/(bwFrameLen-1)))
		}
		e.bwFrame = make([]float32, bwFFT)
		e.bwBand = make([]float64, bwBands)
	}
	clear(e.bwBand)
	step := max(1, n/bwMaxFrame)
	k := 0
	for t, d := range dec {
		s := t * bwShift
		if !d || s+bwFrameLen > len(samples) {
			continue
		}
		k++
		if (k-1)%step != 0 {
			continue
		}
		for i, w := range e.bwWin {
			e.bwFrame[i] = samples[s+i] * w
		}
		e.bwPow = e.bwFFT.PowerSpectrum(e.bwPow, e.bwFrame)
		for b := range bwBands {
			for _, p := range e.bwPow[b*bwBins : (b+1)*bwBins] {
				e.bwBand[b] += float64(p)
			}
		}
	}
	var peak float64
	for _, p := range e.bwBand {
		peak = max(peak, p)
	}
	if !(peak > 0) {
		return 0
	}
	floor := peak * math.Pow(10, -bwFloorDB/10.0)
	for b := bwBands - 1; b >= 0; b-- {
		if e.bwBand[b] >= floor {
			return float64((b + 1) * bwBandHz)
		}
	}
	return 0
}
