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
	// Samples counts the samples measured.
	Samples uint64 `json:"samples"`
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
}

const (
	meterTau      = 0.3  // RMS time constant, seconds
	peakDecayDBPS = 20.0 // peak fall-back, dB per second
	clipLevel     = 32767
	fullScale     = 32768
)

// Update measures a block of samples (16 kHz, int16 scale). The RMS is
// smoothed block by block: ms ← ms + α·(block mean square − ms),
// α = 1 − exp(−n/(τ·16000)), τ = 0.3 s.
func (m *Meter) Update(x []float32) {
	if len(x) == 0 {
		return
	}
	var sum, peak float64
	var clipped uint64
	for _, v := range x {
		a := math.Abs(float64(v))
		sum += a * a
		if a > peak {
			peak = a
		}
		if a >= clipLevel {
			clipped++
		}
	}
	n := float64(len(x))
	alpha := 1 - math.Exp(-n/(meterTau*SampleRate))
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.samples == 0 {
		m.ms = sum / n
	} else {
		m.ms += alpha * (sum/n - m.ms)
	}
	m.peak *= math.Pow(10, -peakDecayDBPS*n/SampleRate/20)
	m.peak = math.Max(m.peak, peak)
	m.clipped += clipped
	m.samples += uint64(len(x))
}

// Levels returns the current levels.
func (m *Meter) Levels() Levels {
	m.mu.Lock()
	defer m.mu.Unlock()
	return Levels{
		RMSDBFS:  dbfs(math.Sqrt(m.ms)),
		PeakDBFS: dbfs(m.peak),
		Clipped:  m.clipped,
		Samples:  m.samples,
	}
}

func dbfs(a float64) float64 {
	if a <= 0 {
		return FloorDBFS
	}
	return math.Max(FloorDBFS, 20*math.Log10(a/fullScale))
}
