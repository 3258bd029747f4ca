package capture

import (
	"math"
	"sync"
)

// Levels is a snapshot of a Meter, for the technician's page.
type Levels struct {
	// RMSDBFS is the RMS level over about the last 300 ms, in dB relative
	// to full scale (32768): a full-scale sine reads −3.01 dBFS.
	RMSDBFS float64 `json:"rms_dbfs"`
	// PeakDBFS is the largest |sample| in dBFS, held and decaying by
	// 20 dB per second.
	PeakDBFS float64 `json:"peak_dbfs"`
	// Clipped counts samples at or beyond full scale (|x| ≥ 32767) since
	// the Meter was made.
	Clipped uint64 `json:"clipped"`
	// Samples counts the samples measured, NonFinite included.
	Samples uint64 `json:"samples"`
	// NonFinite counts samples that were NaN or ±Inf, which only a broken
	// or misconfigured device delivers. They have no level, so the RMS and
	// the peak leave them out, and they are not counted as clipped (which
	// would hide them among loud audio).
	NonFinite uint64 `json:"non_finite"`
}

// FloorDBFS is the lowest level a Meter reports (digital silence), so
// that levels stay finite numbers in JSON.
const FloorDBFS = -120

// Meter measures the level of a 16 kHz stream. Update is called by the
// reader, Levels by anyone; it is safe for concurrent use and allocates
// nothing.
type Meter struct {
	mu      sync.Mutex
	ms      float64 // smoothed mean square
	peak    float64 // held peak, linear
	clipped uint64
	samples uint64
	// nonFinite counts NaN and ±Inf samples.
	nonFinite uint64
}

const (
	meterTau      = 0.3  // RMS time constant, seconds
	peakDecayDBPS = 20.0 // peak fall-back, dB per second
	clipLevel     = 32767
	fullScale     = 32768
)

// Update measures a block of samples (16 kHz, int16 scale). The RMS is
// smoothed block by block: ms ← ms + α·(block mean square − ms),
// α = 1 − exp(−n/(τ·16000)), τ = 0.3 s, over the block's n finite
// samples; NaN and ±Inf are only counted (Levels.NonFinite).
func (m *Meter) Update(x []float32) { m.update(x) }

// update is Update, returning how many samples of x were not finite.
func (m *Meter) update(x []float32) int {
	if len(x) == 0 {
		return 0
	}
	var sum, peak float64
	var clipped uint64
	bad := 0
	for _, v := range x {
		a := math.Abs(float64(v))
		if math.IsNaN(a) || math.IsInf(a, 1) {
			bad++
			continue
		}
		sum += a * a
		if a > peak {
			peak = a
		}
		if a >= clipLevel {
			clipped++
		}
	}
	n := float64(len(x) - bad)
	alpha := 1 - math.Exp(-n/(meterTau*SampleRate))
	m.mu.Lock()
	defer m.mu.Unlock()
	switch {
	case n == 0:
	case m.samples == m.nonFinite: // the first finite samples
		m.ms = sum / n
	default:
		m.ms += alpha * (sum/n - m.ms)
	}
	// The peak decays with the time the whole block took.
	m.peak *= math.Pow(10, -peakDecayDBPS*float64(len(x))/SampleRate/20)
	m.peak = math.Max(m.peak, peak)
	m.clipped += clipped
	m.samples += uint64(len(x))
	m.nonFinite += uint64(bad)
	return bad
}

// Levels returns the current levels.
func (m *Meter) Levels() Levels {
	m.mu.Lock()
	defer m.mu.Unlock()
	return Levels{
		RMSDBFS:   dbfs(math.Sqrt(m.ms)),
		PeakDBFS:  dbfs(m.peak),
		Clipped:   m.clipped,
		Samples:   m.samples,
		NonFinite: m.nonFinite,
	}
}

func dbfs(a float64) float64 {
	if a <= 0 {
		return FloorDBFS
	}
	return math.Max(FloorDBFS, 20*math.Log10(a/fullScale))
}
