package train

import (
	"fmt"
	"math"

	"github.com/voxward/voxward/dsp/voiceprint"
)

// Accumulator gathers the sufficient statistics of one EM iteration
// for a diagonal GMM: Σγ, Σγx and Σγx² per component, and the total
// log-likelihood. Several accumulators (one per goroutine) combine with
// Add.
type Accumulator struct {
	N      []float64
	F, S   []float64
	LogLik float64
	Frames int
	ll     []float32
	post   []float32
}

// NewAccumulator returns a zeroed accumulator for m.
func NewAccumulator(m *voiceprint.GMM) *Accumulator {
	c, d := m.Components(), m.Dim
	return &Accumulator{N: make([]float64, c), F: make([]float64, c*d), S: make([]float64, c*d),
		ll: make([]float32, c), post: make([]float32, c)}
}

// Add adds o's statistics to a.
func (a *Accumulator) Add(o *Accumulator) {
	for i, v := range o.N {
		a.N[i] += v
	}
	for i, v := range o.F {
		a.F[i] += v
		a.S[i] += o.S[i]
	}
	a.LogLik += o.LogLik
	a.Frames += o.Frames
}

// EStep accumulates the posteriors of frames (row-major) under m into a,
// over all components.
func EStep(m *voiceprint.GMM, a *Accumulator, frames []float32) {
	d := m.Dim
	for t := 0; t+d <= len(frames); t += d {
		x := frames[t : t+d]
		m.LogLikelihoods(a.ll, x, nil)
		a.LogLik += voiceprint.Posteriors(a.post, a.ll)
		for c, g32 := range a.post {
			if g32 < 1e-6 {
				continue
			}
			g := float64(g32)
			a.N[c] += g
			f, s := a.F[c*d:(c+1)*d], a.S[c*d:(c+1)*d]
			for j, v := range x {
				gv := g * float64(v)
				f[j] += gv
				s[j] += gv * float64(v)
			}
		}
		a.Frames++
	}
}

// MStep returns the maximum-likelihood GMM for the statistics in a, with
// variances floored at varFloor (per dimension). A component that
// collected almost nothing keeps its old parameters.
func MStep(m *voiceprint.GMM, a *Accumulator, varFloor []float32) (*voiceprint.GMM, error) {
	c, d := m.Components(), m.Dim
	var tot float64
	for _, n := range a.N {
		tot += n
	}
	if tot <= 0 {
		return nil, fmt.Errorf("train: GMM M-step without data")
	}
	w := make([]float32, c)
	mu := make([]float32, c*d)
	v := make([]float32, c*d)
	for k := 0; k < c; k++ {
		n := a.N[k]
		if n < 1e-3*float64(d) {
			w[k] = float32(max(n/tot, 1e-8))
			copy(mu[k*d:(k+1)*d], m.Means[k*d:(k+1)*d])
			copy(v[k*d:(k+1)*d], m.Vars[k*d:(k+1)*d])
			continue
		}
		w[k] = float32(n / tot)
		for j := 0; j < d; j++ {
			i := k*d + j
			mean := a.F[i] / n
			mu[i] = float32(mean)
			v[i] = float32(max(a.S[i]/n-mean*mean, float64(varFloor[j])))
		}
	}
	return voiceprint.NewGMM(d, w, mu, v)
}

// Split returns a GMM with twice the components: component k becomes 2k
// and 2k+1, their means moved by ∓0.2σ along every dimension, their
// weights halved.
func Split(m *voiceprint.GMM) (*voiceprint.GMM, error) {
	c, d := m.Components(), m.Dim
	w := make([]float32, 2*c)
	mu := make([]float32, 2*c*d)
	v := make([]float32, 2*c*d)
	for k := 0; k < c; k++ {
		for h := 0; h < 2; h++ {
			o := 2*k + h
			w[o] = m.Weights[k] / 2
			sign := float32(2*h - 1)
			for j := 0; j < d; j++ {
				sd := float32(math.Sqrt(float64(m.Vars[k*d+j])))
				mu[o*d+j] = m.Means[k*d+j] + sign*0.2*sd
				v[o*d+j] = m.Vars[k*d+j]
			}
		}
	}
	return voiceprint.NewGMM(d, w, mu, v)
}

// SingleGaussian returns the one-component GMM of frames (row-major, dim
// each) and the per-dimension variance floor frac·σ².
func SingleGaussian(frames []float32, dim int, frac float64) (*voiceprint.GMM, []float32, error) {
	n := len(frames) / dim
	if n < 2 || len(frames)%dim != 0 {
		return nil, nil, fmt.Errorf("train: %d values are too few frames of %d", len(frames), dim)
	}
	sum := make([]float64, dim)
	sq := make([]float64, dim)
	for t := 0; t < n; t++ {
		for j, x := range frames[t*dim : (t+1)*dim] {
			sum[j] += float64(x)
			sq[j] += float64(x) * float64(x)
		}
	}
	mu := make([]float32, dim)
	v := make([]float32, dim)
	floor := make([]float32, dim)
	for j := range mu {
		m := sum[j] / float64(n)
		vv := max(sq[j]/float64(n)-m*m, 1e-6)
		mu[j], v[j], floor[j] = float32(m), float32(vv), float32(frac*vv)
	}
	g, err := voiceprint.NewGMM(dim, []float32{1}, mu, v)
	return g, floor, err
}

// AssignParents returns, for every component of child, the component of
// parent under which the child's mean is most likely: the parent whose
// children a selector scores together.
func AssignParents(child, parent *voiceprint.GMM) []int32 {
	out := make([]int32, child.Components())
	ll := make([]float32, parent.Components())
	d := child.Dim
	for k := range out {
		parent.LogLikelihoods(ll, child.Means[k*d:(k+1)*d], nil)
		best := 0
		for p := range ll {
			if ll[p] > ll[best] {
				best = p
			}
		}
		out[k] = int32(best)
	}
	return out
}
