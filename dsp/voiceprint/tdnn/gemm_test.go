package tdnn

import (
	"math"
	"math/rand/v2"
	"testing"
)

func randMat(r *rand.Rand, rows, cols, stride int) mat {
	m := mat{data: make([]float32, max(0, (rows-1)*stride+cols)), rows: rows, cols: cols, stride: stride}
	for i := range m.data {
		m.data[i] = float32(r.NormFloat64())
	}
	return m
}

// The kernel's sums are the portable loop's, bit for bit, whatever the
// shapes, strides, block edges and number of goroutines.
func TestGEMMMatchesPortable(t *testing.T) {
	if !useAVX2 {
		t.Skip("no AVX2 kernel in this build or on this CPU: the portable loop is all there is")
	}
	r := rand.New(rand.NewPCG(1, 2))
	for _, s := range [][3]int{{1, 1, 1}, {4, 16, 1}, {7, 33, 5}, {64, 64, 300}, {13, 200, 513}, {190, 64, 192}, {5, 17, 0}} {
		m, n, k := s[0], s[1], s[2]
		a := randMat(r, m, k, k+3)
		b := randMat(r, k, n, n+1)
		c0 := randMat(r, m, n, n+2)
		want := mat{data: append([]float32(nil), c0.data...), rows: m, cols: n, stride: c0.stride}
		useAVX2 = false
		gemm(want, a, b, 1)
		useAVX2 = true
		for _, workers := range []int{1, 2, 3} {
			got := mat{data: append([]float32(nil), c0.data...), rows: m, cols: n, stride: c0.stride}
			gemm(got, a, b, workers)
			for i, v := range got.data {
				if math.Float32bits(v) != math.Float32bits(want.data[i]) {
					t.Fatalf("%d×%d×%d, %d workers: element %d is %v, the portable loop %v", m, n, k, workers, i, v, want.data[i])
				}
			}
		}
	}
}

// gemmT sums as gemm of the formed transpose does, bit for bit, with the
// kernel and without: the weight gradients, and so the trained model,
// stay what they were.
func TestGEMMTransposedMatchesGEMM(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	saved := useAVX2
	defer func() { useAVX2 = saved }()
	for _, s := range [][3]int{{1, 1, 1}, {4, 16, 1}, {7, 33, 5}, {320, 64, 600}, {13, 200, 513}, {192, 256, 64}, {5, 17, 0}} {
		m, n, k := s[0], s[1], s[2]
		a := randMat(r, k, m, m+2) // aᵀ is m×k
		b := randMat(r, k, n, n+1)
		c0 := randMat(r, m, n, n+3)
		for _, avx := range []bool{false, saved} {
			useAVX2 = avx
			want := mat{data: append([]float32(nil), c0.data...), rows: m, cols: n, stride: c0.stride}
			gemm(want, transpose(a), b, 1)
			for _, workers := range []int{1, 2, 3} {
				got := mat{data: append([]float32(nil), c0.data...), rows: m, cols: n, stride: c0.stride}
				gemmT(got, a, b, workers)
				for i, v := range got.data {
					if math.Float32bits(v) != math.Float32bits(want.data[i]) {
						t.Fatalf("%d×%d×%d, avx2 %v, %d workers: element %d is %v, gemm of the transpose %v", m, n, k, avx, workers, i, v, want.data[i])
					}
				}
			}
		}
	}
}

// gemm computes the product: against a float64 reference.
func TestGEMMProduct(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	m, n, k := 9, 21, 700
	a, b := randMat(r, m, k, k), randMat(r, k, n, n)
	c := newMat(m, n)
	gemm(c, a, b, 2)
	for i := range m {
		for j := range n {
			var s float64
			for kk := range k {
				s += float64(a.data[i*k+kk]) * float64(b.data[kk*n+j])
			}
			if d := math.Abs(float64(c.data[i*n+j]) - s); d > 1e-3*math.Sqrt(float64(k)) {
				t.Fatalf("(%d,%d) = %v, float64 %v", i, j, c.data[i*n+j], s)
			}
		}
	}
	tr := transpose(a)
	if tr.rows != k || tr.cols != m || tr.data[5*m+2] != a.data[2*k+5] {
		t.Fatalf("transpose: %d×%d, (5,2) = %v, want %v", tr.rows, tr.cols, tr.data[5*m+2], a.data[2*k+5])
	}
}

// The shapes of the network's layers: a batch of 64 crops of 186 frames
// through a 320-value context into 64 channels, and the weight gradient of
// that layer. Reports multiply-adds per second.
func BenchmarkGEMM(b *testing.B) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, s := range []struct {
		name    string
		m, n, k int
	}{{"forward", 64 * 186, 64, 320}, {"weight-gradient", 320, 64, 64 * 186}} {
		x, w := randMat(r, s.m, s.k, s.k), randMat(r, s.k, s.n, s.n)
		c := newMat(s.m, s.n)
		for _, workers := range []int{1, 2} {
			b.Run(s.name+"/workers="+string(rune('0'+workers)), func(b *testing.B) {
				for b.Loop() {
					gemm(c, x, w, workers)
				}
				b.ReportMetric(float64(s.m*s.n*s.k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GMAC/s")
			})
		}
	}
}
