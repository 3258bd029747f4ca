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
func topDirections(ctx context.Context, x [][]float32, k, jobs int) ([]float32, error) {
	if k == 0 {
		return nil, nil
	}
	n := len(x)
	if n == 0 || k > n {
		return nil, errors.New("train: too few supervectors for NAP")
	}
	d := len(x[0])
	g := make([]float64, n*n)
	err := parallel.For(ctx, n, jobs, func(_, i int) error {
		for j := 0; j <= i; j++ {
			var s float64
			for t, v := range x[i] {
				s += float64(v) * float64(x[j][t])
			}
			g[i*n+j], g[j*n+i] = s, s
		}
		return nil
	})
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
	for it := 0; it < 100; it++ {
		for a := range v {
			w := make([]float64, n)
			for i := 0; i < n; i++ {
				var s float64
				row := g[i*n : (i+1)*n]
				for j, q := range v[a] {
					s += row[j] * q
				}
				w[i] = s
			}
			v[a] = w
		}
		orth()
	}
	// Directions in feature space: u_a = Xᵀv_a, normalised.
	out := make([]float32, k*d)
	for a := 0; a < k; a++ {
		u := make([]float64, d)
		for i, q := range v[a] {
			for t, xv := range x[i] {
				u[t] += q * float64(xv)
			}
		}
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
