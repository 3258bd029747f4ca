package capture_test

import (
	"encoding/json"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/voxward/voxward/capture"
)

func TestMeter(t *testing.T) {
	var m capture.Meter
	lv := m.Levels()
	assert.Equal(t, float64(capture.FloorDBFS), lv.RMSDBFS, "nothing measured: the floor")

	// −20 dBFS sine: RMS −23.01 dBFS, peak −20 dBFS.
	x := make([]float32, 16000)
	a := 32768 * math.Pow(10, -20.0/20)
	for i := range x {
		x[i] = float32(a * math.Sin(2*math.Pi*1000*float64(i)/16000+0.3))
	}
	for i := 0; i < len(x); i += 160 {
		m.Update(x[i : i+160])
	}
	lv = m.Levels()
	assert.InDelta(t, -23.0103, lv.RMSDBFS, 0.02, "RMS of a −20 dBFS sine")
	var peak float64
	for _, v := range x {
		peak = math.Max(peak, math.Abs(float64(v)))
	}
	assert.InDelta(t, 20*math.Log10(peak/32768), lv.PeakDBFS, 1e-6, "peak of a −20 dBFS sine")
	assert.Zero(t, lv.Clipped)
	assert.Equal(t, uint64(16000), lv.Samples)

	// Silence for 2 s: the mean square decays as exp(−t/τ), τ = 0.3 s,
	// and the peak by 20 dB/s.
	z := make([]float32, 160)
	for range 200 {
		m.Update(z)
	}
	lv = m.Levels()
	wantRMS := -23.0103 + 10*math.Log10(math.Exp(-2/0.3))
	assert.InDelta(t, wantRMS, lv.RMSDBFS, 0.05, "RMS after 2 s of silence")
	assert.InDelta(t, 20*math.Log10(peak/32768)-40, lv.PeakDBFS, 0.01, "peak decays 20 dB/s")

	// Clipping: samples at full scale are counted.
	m.Update([]float32{32767, -32768, 32766, -40000, 0})
	assert.Equal(t, uint64(3), m.Levels().Clipped)
	assert.InDelta(t, 20*math.Log10(40000.0/32768), m.Levels().PeakDBFS, 1e-9, "peak beyond full scale (float input)")
}

// TestMeterNonFinite: NaN and ±Inf samples (a device delivering garbage)
// are counted and left out of the levels, which stay finite.
func TestMeterNonFinite(t *testing.T) {
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	db1000 := 20 * math.Log10(1000.0/32768)
	cases := []struct {
		name      string
		x         []float32
		rms, peak float64 // of the finite samples
		nonFinite uint64
	}{
		{"only NaN", []float32{nan, nan, nan}, capture.FloorDBFS, capture.FloorDBFS, 3},
		{"NaN among samples", []float32{1000, nan, -1000, nan}, db1000, db1000, 2},
		{"+Inf and -Inf", []float32{1000, inf, -inf, -1000}, db1000, db1000, 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var m capture.Meter
			m.Update(c.x)
			lv := m.Levels()
			assert.InDelta(t, c.rms, lv.RMSDBFS, 1e-9, "RMSDBFS = %v, want %v", lv.RMSDBFS, c.rms)
			assert.InDelta(t, c.peak, lv.PeakDBFS, 1e-9, "PeakDBFS = %v, want %v", lv.PeakDBFS, c.peak)
			assert.Equal(t, c.nonFinite, lv.NonFinite, "NonFinite")
			assert.Zero(t, lv.Clipped, "non-finite samples are not clipped ones")
			assert.Equal(t, uint64(len(c.x)), lv.Samples)
			_, err := json.Marshal(lv)
			assert.NoError(t, err, "Levels must encode as JSON")

			if lv.NonFinite == lv.Samples {
				// The first finite samples after nothing but garbage set
				// the RMS, as the first samples of a new Meter do.
				m.Update([]float32{2000, -2000})
				assert.InDelta(t, 20*math.Log10(2000.0/32768), m.Levels().RMSDBFS, 1e-9, "RMS after garbage only")
			}
		})
	}
}
