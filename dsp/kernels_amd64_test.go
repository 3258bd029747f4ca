//go:build amd64 && !purego

package dsp

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

func randBlock(r *rand.Rand, n int, scale float64) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(r.NormFloat64() * scale)
	}
	return x
}

func requireClose(t *testing.T, name string, want, got []float32, rel float64) {
	t.Helper()
	require.Equal(t, len(want), len(got), name)
	var scale float64
	for _, v := range want {
		scale = math.Max(scale, math.Abs(float64(v)))
	}
	for i := range want {
		if d := math.Abs(float64(want[i] - got[i])); d > rel*math.Max(scale, 1e-30) {
			t.Fatalf("%s: element %d = %v (assembly), %v (Go)", name, i, got[i], want[i])
		}
	}
}

// TestKernelsAgree runs each assembly kernel and its Go twin on the same
// random input.
func TestKernelsAgree(t *testing.T) {
	if !useAVX2 {
		t.Skip("this CPU has no AVX2+FMA: only the Go kernels run here")
	}
	r := rand.New(rand.NewPCG(9, 9))

	src := randBlock(r, 8*200+64, 1000)
	a, b := make([]float32, 8*64), make([]float32, 8*64)
	transposeInGo(a, src, 200, 64)
	transposeInAVX2(&b[0], &src[0], 200, 64)
	require.Equal(t, a, b, "transposeIn")

	blk := randBlock(r, 8*24, 1)
	oa, ob := make([]float32, 8*30), make([]float32, 8*30)
	transposeOutGo(oa, 30, blk, 24, 8)
	transposeOutAVX2(&ob[0], 30, &blk[0], 24)
	require.Equal(t, oa, ob, "transposeOut")

	x := randBlock(r, 8*400, 3000)
	sa := laneSumsGo(x)
	var sb [lanes]float32
	laneSumsAVX2(&sb, &x[0], 400)
	requireClose(t, "laneSums", sa[:], sb[:], 1e-5)
	mean := sa
	qa := laneSumSquaresGo(x, &mean)
	var qb [lanes]float32
	laneSumSquaresAVX2(&qb, &x[0], 400, &mean)
	requireClose(t, "laneSumSquares", qa[:], qb[:], 1e-5)

	scale := randBlock(r, 400, 1)
	mina := laneMinScaledGo(x, scale)
	var minb [lanes]float32
	laneMinScaledAVX2(&minb, &x[0], &scale[0], 400)
	require.Equal(t, mina, minb, "laneMinScaled")

	win := randBlock(r, 400, 1)
	ra, ia := make([]float32, 8*256), make([]float32, 8*256)
	rb, ib := make([]float32, 8*256), make([]float32, 8*256)
	for i := range rb { // stale data that must be zeroed
		rb[i], ib[i] = 1, 1
	}
	preemphWindowGo(ra, ia, x, win, &mean, 0.97, 400, 256)
	preemphWindowAVX2(&rb[0], &ib[0], &x[0], &win[0], &mean, 0.97, 400, 256)
	requireClose(t, "preemphWindow re", ra, rb, 1e-6)
	requireClose(t, "preemphWindow im", ia, ib, 1e-6)

	for _, n := range []int{4, 16, 512, 2048} {
		f := NewRealFFT(n)
		half := n / 2
		xr, xi := randBlock(r, 8*half, 1), randBlock(r, 8*half, 1)
		for _, st := range f.stages {
			ya, yia := make([]float32, 8*half), make([]float32, 8*half)
			yb, yib := make([]float32, 8*half), make([]float32, 8*half)
			if st.radix == 4 {
				fftStage4Go(ya, yia, xr, xi, st.w4, st.m, st.s)
				fftStage4AVX2(&yb[0], &yib[0], &xr[0], &xi[0], &st.w4[0], st.m, st.s)
			} else {
				fftStageGo(ya, yia, xr, xi, st.wr, st.wi, st.m, st.s)
				fftStageAVX2(&yb[0], &yib[0], &xr[0], &xi[0], &st.wr[0], &st.wi[0], st.m, st.s)
			}
			requireClose(t, "fftStage re", ya, yb, 1e-6)
			requireClose(t, "fftStage im", yia, yib, 1e-6)
		}
		// The radix-2 kernel in general (m > 1), not only as a last stage.
		m := half / 2
		wr, wi := randBlock(r, m, 1), randBlock(r, m, 1)
		ya, yia := make([]float32, 8*half), make([]float32, 8*half)
		yb, yib := make([]float32, 8*half), make([]float32, 8*half)
		fftStageGo(ya, yia, xr, xi, wr, wi, m, 1)
		fftStageAVX2(&yb[0], &yib[0], &xr[0], &xi[0], &wr[0], &wi[0], m, 1)
		requireClose(t, "fftStage radix-2 re", ya, yb, 1e-6)
		requireClose(t, "fftStage radix-2 im", yia, yib, 1e-6)
		for _, power := range []bool{true, false} {
			pa, pb := make([]float32, 8*(half+1)), make([]float32, 8*(half+1))
			realSpectrumGo(pa, xr, xi, f.cr, f.ci, half, power)
			realSpectrumAVX2(&pb[0], &xr[0], &xi[0], &f.cr[0], &f.ci[0], half, power)
			requireClose(t, "realSpectrum", pa, pb, 1e-6)
		}
	}

	mb, err := NewMelBanks(MelOptions{NumBins: 80, LowFreq: 20, VTLNWarp: 1}, 16000, 512)
	require.NoError(t, err)
	m := mb.matrix()
	pow := randBlock(r, 8*257, 1e6)
	for i := range pow {
		pow[i] = float32(math.Abs(float64(pow[i])))
	}
	ma, mbv := make([]float32, 8*80), make([]float32, 8*80)
	bandMatVecGo(ma, pow, m)
	bandMatVecAVX2(&mbv[0], &pow[0], &m.rows[0], m.numRows(), &m.weights[0])
	requireClose(t, "bandMatVec", ma, mbv, 1e-5)

	lx := make([]float32, 8*64)
	for i := range lx {
		lx[i] = float32(math.Exp(r.Float64()*60 - 30))
	}
	lx[3], lx[9] = 0, 1e-30 // below the floor
	la := append([]float32(nil), lx...)
	lb := append([]float32(nil), lx...)
	for i, v := range la {
		la[i] = logf(max(v, epsilon))
	}
	logFloorAVX2(&lb[0], 64, epsilon)
	for i := range la {
		require.InDelta(t, la[i], lb[i], 1e-6*math.Max(1, math.Abs(float64(la[i]))), "logFloor %d (x=%v)", i, lx[i])
	}
}

// TestPipelineAgrees computes features with the assembly kernels and with
// the Go kernels: they differ only by float32 rounding.
func TestPipelineAgrees(t *testing.T) {
	if !useAVX2 {
		t.Skip("this CPU has no AVX2+FMA: only the Go kernels run here")
	}
	x := randomSignal(16000, 8)
	for name, o := range optionSets() {
		f, err := NewFbank(o)
		require.NoError(t, err)
		fast := f.Compute(nil, x)
		useAVX2 = false
		slow := f.Compute(nil, x)
		useAVX2 = true
		for i := range fast {
			require.InDelta(t, slow[i], fast[i], 1e-3, "%s: value %d", name, i)
		}
	}
}
