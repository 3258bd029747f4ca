package train

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/voxward/voxward/internal/parallel"
)

// Appended directions lose their part along the rows before them and
// come out unit length, so the whole stays orthonormal, as Project's
// sequential removal needs.
func TestAppendOrthonormal(t *testing.T) {
	const ed = 4
	rows := []float32{1, 0, 0, 0, 0, 1, 0, 0}
	out := appendOrthonormal(rows, [][]float64{{3, 2, 4, 0}, {1, 1, 1, 1}}, ed)
	require.Len(t, out, 4*ed)
	require.Equal(t, rows, out[:2*ed], "the learned rows stay as they are")
	require.InDeltaSlice(t, []float32{0, 0, 1, 0}, out[2*ed:3*ed], 1e-6, "the part along the rows is removed")
	require.InDeltaSlice(t, []float32{0, 0, 0, 1}, out[3*ed:], 1e-6, "and along the appended ones")
	for a := 0; a < 4; a++ {
		for b := 0; b < 4; b++ {
			var p float64
			for j := 0; j < ed; j++ {
				p += float64(out[a*ed+j]) * float64(out[b*ed+j])
			}
			want := 0.0
			if a == b {
				want = 1
			}
			require.InDelta(t, want, p, 1e-6, "rows %d·%d", a, b)
		}
	}
}

// A corpus whose recordings all carry one offset gives that offset's
// direction; the English speakers' own mean is taken off first.
func TestCorpusOffsets(t *testing.T) {
	const ed = 3
	center := []float32{0, 0, 0}
	// Two English utterances, the nuisance variants only (the rest of
	// numVariants unused): along x and along y, mean (½, ½, 0).
	raw := make([][]float32, 2*numVariants)
	for v := range 2 {
		raw[v] = []float32{2, 0, 0}
		raw[numVariants+v] = []float32{0, 3, 0}
	}
	// Corpus "a": speakers along ±x, all moved by +y; corpus "b" by +z.
	ml := []Utterance{{Corpus: "a"}, {Corpus: "a"}, {Corpus: "b"}, {Corpus: "b"}}
	mlRaw := make([][]float32, len(ml)*len(mlChannels))
	for j, r := range [][]float32{{1, 1, 0}, {-1, 1, 0}, {1, 0, 2}, {-1, 0, 2}} {
		mlRaw[j*len(mlChannels)] = r
		for c := 1; c < len(mlChannels); c++ {
			mlRaw[j*len(mlChannels)+c] = []float32{0, 0, 0} // not read: recordings as recorded only
		}
	}
	got := corpusOffsets(raw, center, mlRaw, ml, func(int) bool { return true }, 2, 2, ed)
	require.Len(t, got, 2)
	require.InDeltaSlice(t, []float64{-0.5, 1/math.Sqrt2 - 0.5, 0}, got[0], 1e-9, "unit recordings' mean less the English mean")
	require.InDeltaSlice(t, []float64{-0.5, -0.5, 2 / math.Sqrt(5)}, got[1], 1e-9)
}

// The offsets are learned from one in DomainEvery speakers of each
// corpus's model half, counted within the corpus, and from nothing else.
func TestDomainLearners(t *testing.T) {
	var ml []Utterance
	for s := range 5 {
		ml = append(ml, Utterance{Speaker: 200 + s, Corpus: "a"}, Utterance{Speaker: 200 + s, Corpus: "a"})
	}
	for s := range 4 {
		ml = append(ml, Utterance{Speaker: 205 + s, Corpus: "b"})
	}
	var got []int
	for j, u := range ml {
		if domainLearner(ml, j, 3) {
			got = append(got, u.Speaker)
		}
	}
	require.Equal(t, []int{200, 200, 203, 203, 205, 208}, got, "the first, fourth, … speaker of each corpus")

	const ed = 2
	raw := make([][]float32, numVariants)
	raw[0] = []float32{1, 0}
	mlRaw := make([][]float32, len(ml)*len(mlChannels))
	for j := range ml {
		mlRaw[j*len(mlChannels)] = []float32{0, 1}
		if !domainLearner(ml, j, 3) {
			mlRaw[j*len(mlChannels)] = []float32{-1, 0} // would cancel the offset if read
		}
	}
	off := corpusOffsets(raw, []float32{0, 0}, mlRaw, ml, func(j int) bool { return domainLearner(ml, j, 3) }, 1, 1, ed)
	require.Len(t, off, 2)
	for _, d := range off {
		require.InDeltaSlice(t, []float64{-1, 1}, d, 1e-9, "only the learners' recordings are read")
	}
}

// TestGramAndGemvBitIdentical holds the Gram matrix and the products of
// its rows by a vector to sums of one term after another, bit for bit:
// a sum split in two halves, for one, changes last bits that the
// directions' float32 rounding can hide from the test below.
func TestGramAndGemvBitIdentical(t *testing.T) {
	r := rand.New(rand.NewPCG(23, 24))
	for _, s := range [][2]int{{1, 5}, {3, 4}, {4, 9}, {9, 130}, {70, 33}} {
		n, d := s[0], s[1]
		x := make([][]float32, n)
		for i := range x {
			x[i] = make([]float32, d)
			for j := range x[i] {
				x[i][j] = float32(r.NormFloat64())
			}
		}
		for _, jobs := range []int{1, 3} {
			g, err := gram(context.Background(), x, jobs)
			require.NoError(t, err)
			for i := range n {
				for j := range n {
					var want float64
					for k := range d {
						want += float64(x[i][k]) * float64(x[j][k])
					}
					if math.Float64bits(g[i*n+j]) != math.Float64bits(want) {
						t.Fatalf("n=%d d=%d jobs=%d: G[%d][%d] = %v, one term after another %v", n, d, jobs, i, j, g[i*n+j], want)
					}
				}
			}
			v, w := make([]float64, n), make([]float64, n)
			for i := range v {
				v[i] = r.NormFloat64()
			}
			gemvRows(w, g, v)
			for i := range n {
				var want float64
				for j := range n {
					want += g[i*n+j] * v[j]
				}
				if math.Float64bits(w[i]) != math.Float64bits(want) {
					t.Fatalf("n=%d: (G·v)[%d] = %v, one term after another %v", n, i, w[i], want)
				}
			}
		}
	}
}

// TestTopDirectionsBitIdentical holds topDirections to the one-sum-at-a-
// time version the models were trained with, bit for bit, whatever the
// goroutines: NAP's directions, and so the model file, stay the same.
func TestTopDirectionsBitIdentical(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	for _, s := range [][3]int{{1, 7, 1}, {5, 3, 2}, {37, 101, 5}, {64, 50, 9}, {83, 129, 22}} {
		n, d, k := s[0], s[1], s[2]
		x := make([][]float32, n)
		for i := range x {
			x[i] = make([]float32, d)
			for j := range x[i] {
				x[i][j] = float32(r.NormFloat64() * (1 + float64(j%7)))
			}
		}
		want, err := topDirectionsScalar(context.Background(), x, k, 1)
		if err != nil {
			t.Fatal(err)
		}
		for _, jobs := range []int{1, 2, 3} {
			got, err := topDirections(context.Background(), x, k, jobs)
			if err != nil {
				t.Fatal(err)
			}
			for i := range want {
				if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
					t.Fatalf("n=%d d=%d k=%d jobs=%d: value %d is %v, the scalar version's %v", n, d, k, jobs, i, got[i], want[i])
				}
			}
		}
	}
}

// topDirectionsScalar is topDirections as the shipped models up to the
// neural branch were trained with: one sum at a time, one goroutine
// after the Gram matrix. topDirections must give its bits.
func topDirectionsScalar(ctx context.Context, x [][]float32, k, jobs int) ([]float32, error) {
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
