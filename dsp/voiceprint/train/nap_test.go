package train

import (
	"math"
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
