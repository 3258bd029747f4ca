package train

import (
	"context"
	"errors"
	"math"

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
