package dsp

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestResampleKernelsAgree checks the dispatching kernels (assembly where
// the CPU has AVX2 and FMA) against plain float64 sums, and that dot4 and
// dotSeq give bit-identical results for the same window.
func TestResampleKernelsAgree(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	t.Logf("useAVX2 = %v", useAVX2)
	for _, n := range []int{8, 16, 24, 40, 208, 232} {
		const stride = 3
		c := make([]float32, n)
		x := make([]float32, 3*stride+n)
		for i := range c {
			c[i] = float32(rng.NormFloat64())
		}
		for i := range x {
			x[i] = float32(rng.NormFloat64() * 1000)
		}
		exact := func(off int) float64 {
			var s float64
			for j := range c {
				s += float64(c[j]) * float64(x[off+j])
			}
			return s
		}
		tol := func(off int) float64 {
			var s float64
			for j := range c {
				s += math.Abs(float64(c[j]) * float64(x[off+j]))
			}
			return 1e-5 * s
		}
		if got, want := float64(dot(c, x)), exact(0); math.Abs(got-want) > tol(0) {
			t.Errorf("n=%d: dot = %v, want %v", n, got, want)
		}
		s := [4]float32{}
		s[0], s[1], s[2], s[3] = dot4(c, x, stride)
		for k := range 4 {
			if got, want := float64(s[k]), exact(k*stride); math.Abs(got-want) > tol(k*stride) {
				t.Errorf("n=%d: dot4[%d] = %v, want %v", n, k, got, want)
			}
			if seq := dotSeq(c, x[k*stride:]); seq != s[k] {
				t.Errorf("n=%d: dotSeq = %v, dot4[%d] = %v: not bit-identical", n, seq, k, s[k])
			}
		}
	}
}
