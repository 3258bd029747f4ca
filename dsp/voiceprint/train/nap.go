package train

import (
	"context"
	"errors"
	"math"
	"slices"

	"github.com/voxward/voxward/internal/parallel"
)

// topDirections returns the k leading principal directions (orthonormal
// rows, flattened) of the rows of x, through the eigenvectors of their
// Gram matrix found by subspace iteration.
//
// Every sum runs in one fixed order, whatever jobs: each Gram entry and
// each product of a Gram row by a vector sums its terms in index order.
// The loops compute four such sums at a time (independent chains, so the
// processor overlaps them) and split directions and rows among goroutines,
// which changes no sum's order (TestGramAndGemvBitIdentical, TestTopDirections).
func topDirections(ctx context.Context, x [][]float32, k, jobs int) ([]float32, error) {
	if k == 0 {
		return nil, nil
	}
	n := len(x)
	if n == 0 || k > n {
		return nil, errors.New("train: too few supervectors for NAP")
	}
	d := len(x[0])
	g, err := gram(ctx, x, jobs)
	if err != nil {
		return nil, err
	}
	// Subspace iteration on G with a fixed start: V ← orth(G·V).
	v := make([][]float64, k)
	for a := range v {
		v[a] = make([]float64, n)
		for i := range v[a] {
			v[a][i] = math.Sin(float64((a+1)*(i+1)) * 0.7071)
		}
	}
	orth := func() {
		for a := range v {
			for b := 0; b < a; b++ {
				var p float64
				for i := range v[a] {
					p += v[a][i] * v[b][i]
				}
				for i := range v[a] {
					v[a][i] -= p * v[b][i]
				}
			}
			var s float64
			for _, q := range v[a] {
				s += q * q
			}
			s = 1 / math.Sqrt(max(s, 1e-300))
			for i := range v[a] {
				v[a][i] *= s
			}
		}
	}
	orth()
	w := make([][]float64, k)
	for a := range w {
		w[a] = make([]float64, n)
	}
	for it := 0; it < 100; it++ {
		if err := parallel.For(ctx, k, jobs, func(_, a int) error {
			gemvRows(w[a], g, v[a])
			return nil
		}); err != nil {
			return nil, err
		}
		v, w = w, v
		orth()
	}
	// Directions in feature space: u_a = Xᵀv_a, normalised.
	us := make([][]float64, k)
	if err := parallel.For(ctx, k, jobs, func(_, a int) error {
		u := make([]float64, d)
		for i, q := range v[a] {
			for t, xv := range x[i] {
				u[t] += q * float64(xv)
			}
		}
		us[a] = u
		return nil
	}); err != nil {
		return nil, err
	}
	out := make([]float32, k*d)
	for a, u := range us {
		// Re-orthogonalise against earlier rows for numerical safety.
		for b := 0; b < a; b++ {
			var p float64
			for t := range u {
				p += u[t] * float64(out[b*d+t])
			}
			for t := range u {
				u[t] -= p * float64(out[b*d+t])
			}
		}
		var s float64
		for _, q := range u {
			s += q * q
		}
		s = 1 / math.Sqrt(max(s, 1e-300))
		for t := range u {
			out[a*d+t] = float32(u[t] * s)
		}
	}
	return out, nil
}

// gram returns the Gram matrix of the rows of x (n×n, row-major), each
// entry summed over the values in order, four entries at a time.
func gram(ctx context.Context, x [][]float32, jobs int) ([]float64, error) {
	n := len(x)
	g := make([]float64, n*n)
	err := parallel.For(ctx, n, jobs, func(_, i int) error {
		xi := x[i]
		j := 0
		for ; j+4 <= i+1; j += 4 {
			x0, x1, x2, x3 := x[j][:len(xi)], x[j+1][:len(xi)], x[j+2][:len(xi)], x[j+3][:len(xi)]
			var s0, s1, s2, s3 float64
			for t, v := range xi {
				f := float64(v)
				s0 += f * float64(x0[t])
				s1 += f * float64(x1[t])
				s2 += f * float64(x2[t])
				s3 += f * float64(x3[t])
			}
			g[i*n+j], g[j*n+i] = s0, s0
			g[i*n+j+1], g[(j+1)*n+i] = s1, s1
			g[i*n+j+2], g[(j+2)*n+i] = s2, s2
			g[i*n+j+3], g[(j+3)*n+i] = s3, s3
		}
		for ; j <= i; j++ {
			var s float64
			for t, v := range xi {
				s += float64(v) * float64(x[j][t])
			}
			g[i*n+j], g[j*n+i] = s, s
		}
		return nil
	})
	return g, err
}

// gemvRows sets w[i] to the sum over j, in order, of g[i·n+j]·v[j] (g
// n×n, n = len(v)), four rows at a time.
func gemvRows(w, g, v []float64) {
	n := len(v)
	i := 0
	for ; i+4 <= n; i += 4 {
		r0, r1, r2, r3 := g[i*n:(i+1)*n], g[(i+1)*n:(i+2)*n], g[(i+2)*n:(i+3)*n], g[(i+3)*n:(i+4)*n]
		var s0, s1, s2, s3 float64
		for j, q := range v {
			s0 += r0[j] * q
			s1 += r1[j] * q
			s2 += r2[j] * q
			s3 += r3[j] * q
		}
		w[i], w[i+1], w[i+2], w[i+3] = s0, s1, s2, s3
	}
	for ; i < n; i++ {
		var s float64
		for j, q := range v {
			s += g[i*n+j] * q
		}
		w[i] = s
	}
}

// domainLearner reports whether recording j of ml (ListMultilingual) is
// of a speaker the corpus offsets are learned from: with every = 3 the
// first, fourth, seventh and so on of its corpus's model half
// (Config.DomainEvery).
func domainLearner(ml []Utterance, j, every int) bool {
	first := slices.IndexFunc(ml, func(u Utterance) bool { return u.Corpus == ml[j].Corpus })
	return (ml[j].Speaker-ml[first].Speaker)%every == 0
}

// corpusOffsets returns, for each multilingual corpus in ml, the mean of
// the centred unit supervectors of its recordings that learn accepts, as
// recorded (mlRaw, channel 0 of mlChannels), less the English training
// speakers' mean over the nuisance variants below nuisance (raw,
// numVariants a training utterance): the direction a corpus's recording
// setup moves all of its voices, which inter-dataset variability
// compensation removes. Corpora come in ml's order.
func corpusOffsets(raw [][]float32, center []float32, mlRaw [][]float32, ml []Utterance, learn func(j int) bool, utts, nuisance, ed int) [][]float64 {
	mean := func(rows func(yield func([]float32))) []float64 {
		m := make([]float64, ed)
		n := 0
		rows(func(r []float32) {
			s := unitScale(r, center)
			for j := range r {
				m[j] += float64(r[j]-center[j]) * s
			}
			n++
		})
		for j := range m {
			m[j] /= float64(max(n, 1))
		}
		return m
	}
	english := mean(func(yield func([]float32)) {
		for i := range utts {
			for v := range nuisance {
				yield(raw[i*numVariants+v])
			}
		}
	})
	var out [][]float64
	var corpora []string
	for _, u := range ml {
		if !slices.Contains(corpora, u.Corpus) {
			corpora = append(corpora, u.Corpus)
		}
	}
	for _, c := range corpora {
		d := mean(func(yield func([]float32)) {
			for j, u := range ml {
				if u.Corpus == c && learn(j) {
					yield(mlRaw[j*len(mlChannels)])
				}
			}
		})
		for j := range d {
			d[j] -= english[j]
		}
		out = append(out, d)
	}
	return out
}

// appendOrthonormal returns rows (orthonormal, flattened, ed values each)
// with each of dirs appended after removing its part along every row
// before it and scaling it to unit length.
func appendOrthonormal(rows []float32, dirs [][]float64, ed int) []float32 {
	out := slices.Clone(rows)
	for _, d := range dirs {
		u := slices.Clone(d)
		for r := 0; r < len(out)/ed; r++ {
			row := out[r*ed : (r+1)*ed]
			var p float64
			for j, x := range row {
				p += float64(x) * u[j]
			}
			for j, x := range row {
				u[j] -= p * float64(x)
			}
		}
		var q float64
		for _, x := range u {
			q += x * x
		}
		s := 1 / math.Sqrt(max(q, 1e-300))
		for _, x := range u {
			out = append(out, float32(x*s))
		}
	}
	return out
}

// unitScale is the factor that scales r - center to unit length.
func unitScale(r, center []float32) float64 {
	var n float64
	for j := range r {
		d := float64(r[j] - center[j])
		n += d * d
	}
	return 1 / math.Sqrt(max(n, 1e-20))
}
