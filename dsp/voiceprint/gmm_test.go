package voiceprint

import (
	"math"
	"math/rand/v2"
	"testing"
)

// quadDotScalar is the log-likelihood's quadratic form as the models up
// to the neural branch were trained and calibrated with: four chains,
// the tail on chain 0, (s0+s1)+(s2+s3).
func quadDotScalar(x, a, b []float32) float32 {
	var s0, s1, s2, s3 float32
	d := 0
	for ; d+4 <= len(x); d += 4 {
		s0 += float32(x[d] * float32(a[d]+float32(x[d]*b[d])))
		s1 += float32(x[d+1] * float32(a[d+1]+float32(x[d+1]*b[d+1])))
		s2 += float32(x[d+2] * float32(a[d+2]+float32(x[d+2]*b[d+2])))
		s3 += float32(x[d+3] * float32(a[d+3]+float32(x[d+3]*b[d+3])))
	}
	for ; d < len(x); d++ {
		s0 += float32(x[d] * float32(a[d]+float32(x[d]*b[d])))
	}
	return (s0 + s1) + (s2 + s3)
}

// TestQuadRowsMatchScalar holds GMM.LogLikelihoods, with the AVX2 kernel
// and without, to the scalar loop bit for bit: every dimension from 1 to
// 70 (tails of 0 to 3), all components and gathered lists of every
// length, so the shipped model's UBM, selector and thresholds compute as
// they were trained.
func TestQuadRowsMatchScalar(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	for dim := 1; dim <= 70; dim++ {
		c := 1 + r.IntN(40)
		w := make([]float32, c)
		means := make([]float32, c*dim)
		vars := make([]float32, c*dim)
		for k := range w {
			w[k] = float32(0.1 + r.Float64())
		}
		for i := range means {
			means[i] = float32(3 * r.NormFloat64())
			vars[i] = float32(math.Exp(r.NormFloat64()))
		}
		g, err := NewGMM(dim, w, means, vars)
		if err != nil {
			t.Fatal(err)
		}
		x := make([]float32, dim)
		for i := range x {
			x[i] = float32(4 * r.NormFloat64())
		}
		comps := make([]int32, r.IntN(3*c))
		for i := range comps {
			comps[i] = int32(r.IntN(c))
		}
		want := func(k int) float32 {
			return g.g[k] + quadDotScalar(x, g.a[k*dim:(k+1)*dim], g.b[k*dim:(k+1)*dim])
		}
		forEachKernel(t, func(name string) {
			all := g.LogLikelihoods(nil, x, nil)
			if len(all) != c {
				t.Fatalf("%s dim %d: %d values for %d components", name, dim, len(all), c)
			}
			for k, v := range all {
				if !sameBits(v, want(k)) {
					t.Fatalf("%s dim %d component %d: %v (%08x), scalar %v (%08x)", name, dim, k, v, math.Float32bits(v), want(k), math.Float32bits(want(k)))
				}
			}
			some := g.LogLikelihoods(nil, x, comps)
			for i, k := range comps {
				if !sameBits(some[i], want(int(k))) {
					t.Fatalf("%s dim %d listed %d (component %d): %v, scalar %v", name, dim, i, k, some[i], want(int(k)))
				}
			}
		})
	}
}

// TestLogLikelihoodIsGaussian checks the precomputed form against the
// density written out in float64.
func TestLogLikelihoodIsGaussian(t *testing.T) {
	w := []float32{0.25, 0.75}
	means := []float32{0, 1, -2, 0.5, 3, 0, 1, -1, 2, 0}
	vars := []float32{1, 2, 0.5, 1, 4, 1, 1, 0.25, 2, 3}
	g, err := NewGMM(5, w, means, vars)
	if err != nil {
		t.Fatal(err)
	}
	x := []float32{0.3, -1, 2, 0, 1.5}
	got := g.LogLikelihoods(nil, x, nil)
	for k := range w {
		want := math.Log(float64(w[k]))
		for d := range x {
			m, v := float64(means[k*5+d]), float64(vars[k*5+d])
			want += -0.5*math.Log(2*math.Pi*v) - (float64(x[d])-m)*(float64(x[d])-m)/(2*v)
		}
		if math.Abs(float64(got[k])-want) > 1e-4*math.Max(1, math.Abs(want)) {
			t.Errorf("component %d: %v, want %v", k, got[k], want)
		}
	}
}
