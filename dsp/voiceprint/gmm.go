package voiceprint

import (
	"fmt"
	"math"
)

// GMM is a diagonal-covariance Gaussian mixture over dim-dimensional
// frames, stored in the form its log-likelihood needs:
//
//	log w_c N(x; μ_c, σ_c²) = g_c + Σ_d x_d·(a_cd + x_d·b_cd),
//	a_cd = μ_cd/σ_cd², b_cd = -1/(2σ_cd²),
//	g_c = log w_c - ½(D·log 2π + Σ_d log σ_cd² + Σ_d μ_cd²/σ_cd²).
type GMM struct {
	Dim     int
	Weights []float32 // C
	Means   []float32 // C×Dim, row-major
	Vars    []float32 // C×Dim
	a, b    []float32
	ab      []float32 // per component, a and b interleaved by fours (a[0:4] b[0:4] a[4:8] …) over the first Dim&^3 dims
	g       []float32
}

// NewGMM checks the parameters and precomputes the likelihood terms. It
// returns an error wrapping ErrInvalidModel for inconsistent shapes,
// non-positive weights or variances, or non-finite values.
func NewGMM(dim int, weights, means, vars []float32) (*GMM, error) {
	c := len(weights)
	if dim < 1 || c < 1 || len(means) != c*dim || len(vars) != c*dim {
		return nil, fmt.Errorf("%w: GMM of %d components, dim %d, %d means, %d variances", ErrInvalidModel, c, dim, len(means), len(vars))
	}
	m := &GMM{Dim: dim, Weights: weights, Means: means, Vars: vars,
		a: make([]float32, c*dim), b: make([]float32, c*dim), g: make([]float32, c)}
	for k := 0; k < c; k++ {
		w := float64(weights[k])
		if !(w > 0) || math.IsInf(w, 0) {
			return nil, fmt.Errorf("%w: GMM weight %d is %v", ErrInvalidModel, k, w)
		}
		g := math.Log(w) - 0.5*float64(dim)*math.Log(2*math.Pi)
		for d := 0; d < dim; d++ {
			i := k*dim + d
			v, mu := float64(vars[i]), float64(means[i])
			if !(v > 0) || math.IsInf(v, 0) || math.IsNaN(mu) || math.IsInf(mu, 0) {
				return nil, fmt.Errorf("%w: GMM component %d dim %d: mean %v variance %v", ErrInvalidModel, k, d, mu, v)
			}
			m.a[i] = float32(mu / v)
			m.b[i] = float32(-0.5 / v)
			g -= 0.5 * (math.Log(v) + mu*mu/v)
		}
		m.g[k] = float32(g)
	}
	d4 := dim &^ 3
	m.ab = make([]float32, c*2*d4)
	for k := 0; k < c; k++ {
		row := m.ab[k*2*d4 : (k+1)*2*d4]
		for j := 0; j < d4; j += 4 {
			copy(row[2*j:2*j+4], m.a[k*dim+j:k*dim+j+4])
			copy(row[2*j+4:2*j+8], m.b[k*dim+j:k*dim+j+4])
		}
	}
	return m, nil
}

// Components returns the number of mixture components.
func (m *GMM) Components() int { return len(m.Weights) }

// LogLikelihoods writes log w_c N(x; μ_c, σ_c²) of frame x for every
// component c listed in comps (all components when comps is nil) to dst,
// in that order, and returns it (allocated when short).
func (m *GMM) LogLikelihoods(dst, x []float32, comps []int32) []float32 {
	if len(x) != m.Dim {
		panic(fmt.Sprintf("voiceprint: GMM of dim %d given a frame of %d", m.Dim, len(x)))
	}
	n := len(m.Weights)
	if comps != nil {
		n = len(comps)
	}
	dst = grow(dst, n)
	var rows [batch]int
	var sums [batch]float32
	for i := 0; i < n; i += batch {
		k := min(batch, n-i)
		for r := 0; r < k; r++ {
			rows[r] = i + r
			if comps != nil {
				rows[r] = int(comps[i+r])
			}
		}
		m.quadRows(&sums, x, &rows, k)
		for r := 0; r < k; r++ {
			dst[i+r] = m.g[rows[r]] + sums[r]
		}
	}
	return dst
}

// quadRows sets out[r] = Σ_d x_d·(a_cd + x_d·b_cd) for the components
// c = comps[r], r < k, summed as dotf sums: in four chains (chain j the
// terms d ≡ j mod 4, in order; the tail Dim%4 terms go to chain 0),
// then (s0+s1)+(s2+s3). The AVX2 kernel vectorises across components,
// never along one, and rounds every product and sum to float32 as the
// Go loop does (no FMA), so the result is bit-identical with or without
// it (TestQuadRowsMatchScalar); the model's UBM training and calibration
// were computed with exactly these roundings.
func (m *GMM) quadRows(out *[batch]float32, x []float32, comps *[batch]int, k int) {
	d := m.Dim
	d4 := d &^ 3
	var sums [batch][4]float32
	if useAVX2 && d4 > 0 {
		var ptr [batch]*float32
		for r := range ptr {
			ptr[r] = &m.ab[comps[min(r, k-1)]*2*d4]
		}
		quadRowsAVX2(&x[0], &ptr, d4, &sums)
	} else {
		for r := 0; r < k; r++ {
			c := comps[r]
			sums[r] = quadChains(x[:d4], m.ab[c*2*d4:(c+1)*2*d4])
		}
	}
	for r := 0; r < k; r++ {
		s := &sums[r]
		if d4 < d {
			c := comps[r]
			a, b := m.a[c*d:(c+1)*d], m.b[c*d:(c+1)*d]
			for e := d4; e < d; e++ {
				s[0] += float32(x[e] * float32(a[e]+float32(x[e]*b[e])))
			}
		}
		out[r] = (s[0] + s[1]) + (s[2] + s[3])
	}
}

// quadChains returns quadRows' four chain sums of x against one
// component's interleaved row ab (len(x) a multiple of 4, len(ab) twice
// that). The explicit float32 conversions keep the compiler from fusing a
// multiply and an add (as it may on arm64), which would round
// differently from the assembly and from amd64.
func quadChains(x, ab []float32) [4]float32 {
	ab = ab[:2*len(x)]
	var s [4]float32
	for j := 0; j+4 <= len(x); j += 4 {
		a, b := ab[2*j:2*j+4], ab[2*j+4:2*j+8]
		for l := range 4 {
			v := x[j+l]
			s[l] += float32(v * float32(a[l]+float32(v*b[l])))
		}
	}
	return s
}

// Posteriors writes the softmax of the log-likelihoods v into post
// (exp(v_i - max), normalised to sum 1) and returns log Σ exp(v): the
// frame's log-likelihood under the mixture. post must hold len(v) values.
func Posteriors(post, v []float32) float64 {
	mx := float32(math.Inf(-1))
	for _, x := range v {
		mx = max(mx, x)
	}
	var s float64
	for i, x := range v {
		e := math.Exp(float64(x - mx))
		post[i] = float32(e)
		s += e
	}
	inv := float32(1 / s)
	for i := range post[:len(v)] {
		post[i] *= inv
	}
	return float64(mx) + math.Log(s)
}

// GMMStats are zeroth- and first-order Baum-Welch statistics of frames
// against a GMM: N_c = Σ_t γ_tc and F_c = Σ_t γ_tc·x_t.
// For a fused model N and F are empty and Branches holds one set per
// branch.
type GMMStats struct {
	N        []float64 // C
	F        []float64 // C×Dim
	Frames   int       // frames accumulated
	Branches []*GMMStats
}

// NewGMMStats returns zeroed statistics for c components of dim dims.
func NewGMMStats(c, dim int) *GMMStats {
	return &GMMStats{N: make([]float64, c), F: make([]float64, c*dim)}
}

// Reset zeroes the statistics.
func (s *GMMStats) Reset() {
	for _, b := range s.Branches {
		b.Reset()
	}
	clear(s.N)
	clear(s.F)
	s.Frames = 0
}

// Add adds o's statistics to s, so that several samples enrolled together
// weigh by their speech.
func (s *GMMStats) Add(o *GMMStats) {
	if len(o.N) != len(s.N) || len(o.F) != len(s.F) || len(o.Branches) != len(s.Branches) {
		panic("voiceprint: GMMStats.Add of different shapes")
	}
	for i, b := range o.Branches {
		s.Branches[i].Add(b)
	}
	for i, v := range o.N {
		s.N[i] += v
	}
	for i, v := range o.F {
		s.F[i] += v
	}
	s.Frames += o.Frames
}

// Clone returns a deep copy of s.
func (s *GMMStats) Clone() *GMMStats {
	c := &GMMStats{N: append([]float64(nil), s.N...), F: append([]float64(nil), s.F...), Frames: s.Frames}
	for _, b := range s.Branches {
		c.Branches = append(c.Branches, b.Clone())
	}
	return c
}

// SelectorGMM picks, for each frame, the few components of a large GMM
// that matter: it scores a small parent GMM, keeps the TopParents best
// parents, scores their children in the large GMM and keeps the TopN best
// children. Children of parent p are listed in Children[p].
type SelectorGMM struct {
	UBM        *GMM
	Parent     *GMM
	Children   [][]int32
	TopParents int
	TopN       int

	pl, cl, post []float32
	pidx, cand   []int32
	top          []int32
}

// NewSelectorGMM returns a selector over ubm with parent and the children
// of each parent. Every UBM component must belong to exactly one parent.
func NewSelectorGMM(ubm, parent *GMM, children [][]int32, topParents, topN int) (*SelectorGMM, error) {
	if parent.Dim != ubm.Dim || len(children) != parent.Components() || topParents < 1 || topN < 1 || topN > 64 || topParents > parent.Components() {
		return nil, fmt.Errorf("%w: selector with %d parents, %d child lists, top %d/%d", ErrInvalidModel, parent.Components(), len(children), topParents, topN)
	}
	seen := make([]bool, ubm.Components())
	maxKids := 0
	for _, ks := range children {
		maxKids = max(maxKids, len(ks))
		for _, k := range ks {
			if k < 0 || int(k) >= len(seen) || seen[k] {
				return nil, fmt.Errorf("%w: selector child %d out of range or listed twice", ErrInvalidModel, k)
			}
			seen[k] = true
		}
	}
	for k, ok := range seen {
		if !ok {
			return nil, fmt.Errorf("%w: UBM component %d has no parent", ErrInvalidModel, k)
		}
	}
	return &SelectorGMM{UBM: ubm, Parent: parent, Children: children, TopParents: topParents, TopN: topN,
		pl: make([]float32, parent.Components()), cl: make([]float32, topParents*maxKids),
		post: make([]float32, topParents*maxKids), pidx: make([]int32, 0, topParents),
		cand: make([]int32, 0, topParents*maxKids), top: make([]int32, 0, topN)}, nil
}

// topK writes into dst the indices of the k largest values of v, best
// first (insertion sort: k is small).
func topK(dst []int32, v []float32, k int) []int32 {
	dst = dst[:0]
	for i, x := range v {
		if len(dst) < k {
			dst = append(dst, int32(i))
		} else if x <= v[dst[k-1]] {
			continue
		} else {
			dst[k-1] = int32(i)
		}
		for j := len(dst) - 1; j > 0 && v[dst[j]] > v[dst[j-1]]; j-- {
			dst[j], dst[j-1] = dst[j-1], dst[j]
		}
	}
	return dst
}

// Accumulate adds the statistics of frames (row-major, Dim values each)
// to st, using each frame's selected components only, and returns the
// average log-likelihood of the frames under the UBM (approximated on
// the selected components).
func (s *SelectorGMM) Accumulate(st *GMMStats, frames []float32) float64 {
	d := s.UBM.Dim
	if len(frames)%d != 0 {
		panic(fmt.Sprintf("voiceprint: %d values are not frames of %d", len(frames), d))
	}
	var ll float64
	n := len(frames) / d
	for t := 0; t < n; t++ {
		x := frames[t*d : (t+1)*d]
		s.Parent.LogLikelihoods(s.pl, x, nil)
		s.pidx = topK(s.pidx, s.pl, s.TopParents)
		s.cand = s.cand[:0]
		for _, p := range s.pidx {
			s.cand = append(s.cand, s.Children[p]...)
		}
		cl := s.UBM.LogLikelihoods(s.cl[:0], x, s.cand)
		s.top = topK(s.top, cl, min(s.TopN, len(cl)))
		var sel [64]float32
		k := len(s.top)
		for i, j := range s.top {
			sel[i] = cl[j]
		}
		ll += Posteriors(s.post, sel[:k])
		for i, j := range s.top {
			c := int(s.cand[j])
			g := float64(s.post[i])
			st.N[c] += g
			f := st.F[c*d : (c+1)*d]
			for e, v := range x {
				f[e] += g * float64(v)
			}
		}
	}
	st.Frames += n
	if n == 0 {
		return 0
	}
	return ll / float64(n)
}
