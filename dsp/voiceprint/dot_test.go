package voiceprint

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// sameBits reports whether x and y are the same float32 (any NaN equals
// any NaN: x86 keeps the payload of one operand, which one depending on
// the order of a product's operands).
func sameBits(x, y float32) bool {
	if x != x && y != y {
		return true
	}
	return math.Float32bits(x) == math.Float32bits(y)
}

// checkDotRows runs both batched kernels on a and rows (k = len(rows) ≤
// batch) with every kernel set and requires dotf's bits for each row:
// against the float rows, and against the rows float32(q)·sc for int8
// values q and scales sc.
func checkDotRows(t *testing.T, a []float32, rows [][]float32, qs [][]int8, scs []float32) {
	t.Helper()
	k := len(rows)
	var rf [batch][]float32
	var rq [batch][]int8
	var sc [batch]float32
	copy(rf[:], rows)
	copy(rq[:], qs)
	copy(sc[:], scs)
	forEachKernel(t, func(name string) {
		var out [batch]float32
		dotRows(&out, a, &rf, k)
		for r := range k {
			if want := dotf(a, rows[r]); !sameBits(out[r], want) {
				t.Fatalf("%s: n=%d row %d of %d: dotRows %v (%08x), dotf %v (%08x)", name, len(a), r, k, out[r], math.Float32bits(out[r]), want, math.Float32bits(want))
			}
		}
		dotRowsInt8(&out, a, &rq, &sc, k)
		for r := range k {
			x := make([]float32, len(a))
			for i := range x {
				x[i] = float32(qs[r][i]) * scs[r]
			}
			if want := dotf(a, x); !sameBits(out[r], want) {
				t.Fatalf("%s: n=%d int8 row %d of %d: dotRowsInt8 %v (%08x), dotf %v (%08x)", name, len(a), r, k, out[r], math.Float32bits(out[r]), want, math.Float32bits(want))
			}
		}
	})
}

// TestDotRowsMatchDotf holds the batched dot products, assembly and Go,
// to dotf bit for bit on random data of many lengths (tails of 0 to 3
// values included) and every batch size: the shipped thresholds were
// computed with dotf's roundings.
func TestDotRowsMatchDotf(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	lengths := []int{0, 1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 33, 63, 64, 100, 257, 1023, 15360}
	for range 20 {
		lengths = append(lengths, r.IntN(3000))
	}
	for _, n := range lengths {
		for k := 1; k <= batch; k++ {
			a := make([]float32, n)
			for i := range a {
				a[i] = float32(r.NormFloat64() / math.Sqrt(float64(n)+1))
			}
			rows := make([][]float32, k)
			qs := make([][]int8, k)
			scs := make([]float32, k)
			for j := range rows {
				rows[j] = make([]float32, n+r.IntN(3)) // rows may be longer
				for i := range rows[j] {
					rows[j][i] = float32(r.NormFloat64() * math.Exp(r.NormFloat64()))
				}
				qs[j] = make([]int8, n)
				for i := range qs[j] {
					qs[j][i] = int8(r.IntN(256) - 128)
				}
				scs[j] = float32(r.ExpFloat64() * 1e-3)
			}
			checkDotRows(t, a, rows, qs, scs)
		}
	}
}

// FuzzDotRows checks the batched kernels against dotf on arbitrary bit
// patterns (subnormals, infinities and NaNs included): the fuzz input
// gives the length, the batch size and the values.
func FuzzDotRows(f *testing.F) {
	f.Add(uint16(13), uint8(3), []byte("some seed bytes for the vectors"))
	f.Add(uint16(64), uint8(8), make([]byte, 64))
	f.Fuzz(func(t *testing.T, n uint16, k uint8, data []byte) {
		nn := int(n % 300)
		kk := int(k%batch) + 1
		word := func(i int) uint32 {
			if len(data) == 0 {
				return 0
			}
			var b [4]byte
			for j := range b {
				b[j] = data[(4*i+j)%len(data)]
			}
			return binary.LittleEndian.Uint32(b[:]) ^ uint32(i)*0x9e3779b9
		}
		w := 0
		next := func() uint32 { w++; return word(w) }
		val := func() float32 {
			u := next()
			if u&1 == 0 { // half the values ordinary, so sums stay finite
				return float32(int32(u)>>8) / (1 << 20)
			}
			return math.Float32frombits(u)
		}
		a := make([]float32, nn)
		for i := range a {
			a[i] = val()
		}
		rows := make([][]float32, kk)
		qs := make([][]int8, kk)
		scs := make([]float32, kk)
		for j := range rows {
			rows[j] = make([]float32, nn)
			qs[j] = make([]int8, nn)
			for i := range rows[j] {
				rows[j][i] = val()
				qs[j][i] = int8(next())
			}
			scs[j] = val()
		}
		checkDotRows(t, a, rows, qs, scs)
	})
}

// cohortNormDotf is cohortNorm as it was before the batched kernels: one
// dotf per cohort row.
func cohortNormDotf(m *Model, extra, v []float32, scale float64) CohortNorm {
	c := m.Config
	ed := c.EmbeddingDim()
	var sc []float64
	for k := 0; k < c.CohortSize; k++ {
		sc = append(sc, scale*float64(dotf(v, m.Cohort[k*ed:(k+1)*ed])))
	}
	for off := 0; off+ed <= len(extra); off += ed {
		sc = append(sc, scale*float64(dotf(v, extra[off:off+ed])))
	}
	mean, std := topStats(sc, c.CohortTop)
	return CohortNorm{Mean: mean, Std: std}
}

// randomUnit returns a random unit vector of n values.
func randomUnit(r *rand.Rand, n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(r.NormFloat64())
	}
	normalize(v)
	return v
}

// TestCohortNormBitIdentical holds the shipped model's cohort statistics,
// with and without extra cohort voices, to the one-dotf-per-row
// computation its calibration thresholds were made with, bit for bit,
// with every kernel set; the model's cohort rows are read from their
// int8 copy, the extra voices in float32.
func TestCohortNormBitIdentical(t *testing.T) {
	m, err := DefaultModel()
	if err != nil {
		t.Skip(err)
	}
	r := rand.New(rand.NewPCG(5, 6))
	var extra [][]float32
	for range 11 {
		extra = append(extra, randomUnit(r, m.EmbeddingDim()))
	}
	base := NewScorer(m)
	withExtra, err := base.WithCohort(extra)
	if err != nil {
		t.Fatal(err)
	}
	inv := 1 / float64(m.branchScale())
	for b, r := range base.cohort.get(m) {
		// The compact branches' cohorts are read as int8 rows; the mean
		// branch's float16 cohort (60 values a row) as float32.
		if compact := m.Branches[b].Config.CompactRows; (r != nil) != compact {
			t.Fatalf("branch %d: compact rows %v, exact int8 copy %v", b, compact, r != nil)
		}
	}
	forEachKernel(t, func(name string) {
		for i := range 4 {
			v := randomUnit(r, m.EmbeddingDim())
			for j, sc := range []*Scorer{base, withExtra} {
				got := sc.CohortNorm(v)
				off := 0
				for b, br := range m.Branches {
					ed := br.Config.EmbeddingDim()
					want := cohortNormDotf(br, sc.normExtra(b), v[off:off+ed], inv)
					if g := got.Branches[b]; g.Mean != want.Mean || g.Std != want.Std {
						t.Fatalf("%s: voiceprint %d, scorer %d, branch %d: %+v, want %+v", name, i, j, b, got.Branches[b], want)
					}
					off += ed
				}
			}
		}
	})
}

// BenchmarkDot compares one dotf of a voiceprint part (15,360 values)
// with the batched kernels, per row: float32 rows and int8 rows.
func BenchmarkDot(b *testing.B) {
	const n = 15360
	r := rand.New(rand.NewPCG(7, 8))
	a := randomUnit(r, n)
	var rows [batch][]float32
	var qs [batch][]int8
	var scs [batch]float32
	for j := range rows {
		rows[j] = randomUnit(r, n)
		qs[j] = make([]int8, n)
		for i := range qs[j] {
			qs[j][i] = int8(r.IntN(255) - 127)
		}
		scs[j] = 1e-3
	}
	var sink float32
	b.Run("dotf", func(b *testing.B) {
		b.SetBytes(4 * n)
		for b.Loop() {
			sink += dotf(a, rows[0])
		}
	})
	forEachKernel(b, func(name string) {
		var out [batch]float32
		b.Run("rows/"+name, func(b *testing.B) {
			b.SetBytes(4 * n * batch)
			for b.Loop() {
				dotRows(&out, a, &rows, batch)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch), "ns/row")
		})
		b.Run("int8rows/"+name, func(b *testing.B) {
			b.SetBytes(n * batch)
			for b.Loop() {
				dotRowsInt8(&out, a, &qs, &scs, batch)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch), "ns/row")
		})
		sink += out[0]
	})
	_ = sink
}

// dequantised returns the float32 voiceprint c's compact copy stands for.
func dequantised(s *Scorer, c Candidate) []float32 {
	var pbuf [maxParts]int
	x := make([]float32, len(c.packed.q))
	off := 0
	for p, n := range s.parts(pbuf[:0]) {
		for i := off; i < off+n; i++ {
			x[i] = float32(c.packed.q[i]) * c.packed.scales[p]
		}
		off += n
	}
	return x
}

// TestIdentifyBitIdentical holds IdentifyWithNorm's batched scoring to
// ScoreWithNorms bit for bit, with every kernel set: a candidate made with
// Emb alone, or by NewCandidate, scores as ScoreWithNorms of Emb (alone in
// its list, it is the best and is rescored); one made by NewCandidate
// whose Emb is gone as ScoreWithNorms of the voiceprint its compact copy
// stands for; the best of a mixed list (not a multiple of the batch) is
// the first best.
func TestIdentifyBitIdentical(t *testing.T) {
	m, err := DefaultModel()
	if err != nil {
		t.Skip(err)
	}
	r := rand.New(rand.NewPCG(9, 10))
	sc := NewScorer(m)
	vp := func() []float32 {
		v := randomUnit(r, m.EmbeddingDim())
		m.Normalize(v)
		return v
	}
	test := vp()
	tn := sc.CohortNorm(test)
	var cands []Candidate
	var want []float64
	for i := range 19 {
		e := vp()
		if i%3 == 0 {
			c := Candidate{ID: fmt.Sprint(i), Emb: e, Norm: sc.CohortNorm(e)}
			cands = append(cands, c)
			want = append(want, sc.ScoreWithNorms(c.Emb, test, c.Norm, tn))
			continue
		}
		c := sc.NewCandidate(fmt.Sprint(i), e)
		if i%3 == 1 { // without Emb: the compact score
			want = append(want, sc.ScoreWithNorms(dequantised(sc, c), test, c.Norm, tn))
			c.Emb = nil
		} else { // with Emb: rescored in float32
			want = append(want, sc.ScoreWithNorms(c.Emb, test, c.Norm, tn))
		}
		cands = append(cands, c)
	}
	cands[6].Emb = cands[6].Emb[:100] // a float candidate of another length is skipped
	want[6] = math.Inf(-1)
	best := Match{Score: math.Inf(-1)}
	for i, w := range want {
		if w > best.Score {
			best = Match{ID: cands[i].ID, Score: w}
		}
	}
	forEachKernel(t, func(name string) {
		for i, c := range cands {
			got := sc.IdentifyWithNorm(test, tn, []Candidate{c}, 0)
			if got.Score != want[i] {
				t.Fatalf("%s: candidate %d scores %v, want %v", name, i, got.Score, want[i])
			}
		}
		got := sc.IdentifyWithNorm(test, tn, cands, best.Score)
		if got.ID != best.ID || got.Score != best.Score || !got.Known {
			t.Fatalf("%s: best %+v, want %+v", name, got, best)
		}
	})
	if cands[2].Wiped() {
		t.Fatal("a candidate in use reports itself wiped")
	}
	cands[2].Wipe()
	if slices.ContainsFunc(cands[2].Emb, func(x float32) bool { return x != 0 }) ||
		slices.ContainsFunc(cands[2].packed.q, func(x int8) bool { return x != 0 }) || !cands[2].Wiped() {
		t.Fatal("Wipe left values")
	}
}
