// Package audiotest holds measurement helpers shared by voxward's audio
// tests. Production code never imports it.
package audiotest

import "math"

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
