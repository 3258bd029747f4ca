package train

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
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

// TestTopDirections finds two planted directions of large variance among
// small noise, orthonormal, and the same bits whatever the jobs (the
// Gram matrix and its products are held to one-term-after-another sums
// above; make voiceprint-model's checksum holds the whole to the shipped
// model).
func TestTopDirections(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	const n, d, k = 83, 129, 2
	dirs := make([][]float64, k)
	for a := range dirs {
		dirs[a] = make([]float64, d)
		for j := range dirs[a] {
			dirs[a][j] = r.NormFloat64()
		}
	}
	basis := appendOrthonormal(nil, dirs, d)
	x := make([][]float32, n)
	for i := range x {
		x[i] = make([]float32, d)
		c0, c1 := 10*r.NormFloat64(), 5*r.NormFloat64()
		for j := range x[i] {
			x[i][j] = float32(c0*float64(basis[j]) + c1*float64(basis[d+j]) + 0.01*r.NormFloat64())
		}
	}
	want, err := topDirections(context.Background(), x, k, 1)
	require.NoError(t, err)
	dot := func(u, v []float32) float64 {
		var s float64
		for j := range u {
			s += float64(u[j]) * float64(v[j])
		}
		return s
	}
	row := func(m []float32, a int) []float32 { return m[a*d : (a+1)*d] }
	for a := range k {
		require.InDelta(t, 1, dot(row(want, a), row(want, a)), 1e-5, "direction %d has unit length", a)
		// In the planted plane: its squared cosines with the plane's
		// basis add up to 1 (the sample's own axes turn within it).
		c0, c1 := dot(row(want, a), row(basis, 0)), dot(row(want, a), row(basis, 1))
		require.InDelta(t, 1, c0*c0+c1*c1, 1e-4, "direction %d lies in the planted plane", a)
	}
	require.InDelta(t, 0, dot(row(want, 0), row(want, 1)), 1e-5, "the directions are orthogonal")
	for _, jobs := range []int{2, 3} {
		got, err := topDirections(context.Background(), x, k, jobs)
		require.NoError(t, err)
		for i := range want {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
				t.Fatalf("jobs=%d: value %d is %v, with one job %v", jobs, i, got[i], want[i])
			}
		}
	}
}
