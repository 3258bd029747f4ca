// Package audiotest holds signals and measurement helpers shared by
// voxward's audio tests and by "voxward bench" (whose default input is
// Voice). Nothing else in production imports it.
package audiotest

import (
	"math"
	"math/rand/v2"
)

// Voice returns n samples (16 kHz, 16-bit scale) of a crude, seeded voiced
// signal: a 120–220 Hz pulse train through two resonances, with
// syllable-rate (4 Hz) amplitude modulation and a little noise. A VAD keeps
// most of its frames, as it does for read speech, so what it costs per
// second is what speech costs.
func Voice(n int, seed uint64) []float32 {
	r := rand.New(rand.NewPCG(seed, 77))
	x := make([]float32, n)
	f0 := 120 + 100*r.Float64()
	var phase, y1, y2, z1, z2 float64
	for i := range x {
		phase += f0 / 16000
		e := 0.0
		if phase >= 1 {
			phase--
			e = 1
		}
		y := e + 1.8*y1 - 0.9*y2
		y2, y1 = y1, y
		z := y + 1.2*z1 - 0.8*z2
		z2, z1 = z1, z
		env := 0.5 + 0.5*math.Sin(float64(i)/16000*2*math.Pi*4)
		x[i] = float32(300*z*env + 20*r.NormFloat64())
	}
	return x
}

// SineFit is the least-squares fit of a·cos(ωi) + b·sin(ωi) to a signal.
type SineFit struct {
	A, B, Omega float64
	// ResidualRMS and ResidualMax are the RMS and the largest absolute
	// value of what the sine leaves of the signal.
	ResidualRMS, ResidualMax float64
}

// Amp is the fitted amplitude √(a²+b²).
func (s SineFit) Amp() float64 { return math.Hypot(s.A, s.B) }

// FitSine fits a sine of f Hz to y sampled at rate Hz by least squares.
func FitSine(y []float32, f, rate float64) SineFit {
	w := 2 * math.Pi * f / rate
	var cc, ss, cs, yc, ys float64
	for i, v := range y {
		c, s := math.Cos(w*float64(i)), math.Sin(w*float64(i))
		cc += c * c
		ss += s * s
		cs += c * s
		yc += float64(v) * c
		ys += float64(v) * s
	}
	fit := SineFit{Omega: w}
	if det := cc*ss - cs*cs; math.Abs(det) > 1e-9*cc*ss {
		fit.A = (yc*ss - ys*cs) / det
		fit.B = (ys*cc - yc*cs) / det
	} else if cc > 0 { // ω ≈ 0 or π: only the cosine term exists
		fit.A = yc / cc
	}
	var r float64
	for i, v := range y {
		e := math.Abs(float64(v) - fit.A*math.Cos(w*float64(i)) - fit.B*math.Sin(w*float64(i)))
		r += e * e
		fit.ResidualMax = math.Max(fit.ResidualMax, e)
	}
	if len(y) > 0 {
		fit.ResidualRMS = math.Sqrt(r / float64(len(y)))
	}
	return fit
}

// PinkNoise returns n samples of seeded pink-ish noise (white noise
// through a one-pole low-pass) with unit RMS.
func PinkNoise(n int, seed uint64) []float32 {
	r := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	x := make([]float32, n)
	var y, e float64
	for i := range x {
		y = 0.9*y + r.NormFloat64()
		x[i] = float32(y)
		e += y * y
	}
	g := float32(1 / math.Sqrt(e/float64(n)+1e-12))
	for i := range x {
		x[i] *= g
	}
	return x
}

// RMS returns the root mean square of x (0 for no samples).
func RMS(x []float32) float64 {
	var e float64
	for _, v := range x {
		e += float64(v) * float64(v)
	}
	return math.Sqrt(e / float64(max(len(x), 1)))
}
