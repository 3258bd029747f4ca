//go:build amd64 && !purego

package dsp

import "github.com/voxward/voxward/internal/cpufeat"

// useAVX2 says whether the assembly kernels run: AVX2 and FMA present and
// the OS saving YMM state. Tests flip it to compare both implementations.
var useAVX2 = cpufeat.AVX2 && cpufeat.FMA

//go:noescape
func transposeInAVX2(dst, src *float32, stride, n int)

//go:noescape
func transposeOutAVX2(dst *float32, stride int, src *float32, rows int)

//go:noescape
func laneSumsAVX2(s *[lanes]float32, x *float32, rows int)

//go:noescape
func laneSumSquaresAVX2(s *[lanes]float32, x *float32, rows int, mean *[lanes]float32)

//go:noescape
func laneMinScaledAVX2(m *[lanes]float32, x, scale *float32, rows int)

//go:noescape
func preemphWindowAVX2(re, im, x, win *float32, mean *[lanes]float32, coeff float32, n, half int)

//go:noescape
func fftStageAVX2(yr, yi, xr, xi, wr, wi *float32, m, s int)

//go:noescape
func fftStage4AVX2(yr, yi, xr, xi, w4 *float32, m, s int)

//go:noescape
func realSpectrumAVX2(pow, zr, zi, cr, ci *float32, half int, power bool)

//go:noescape
func bandMatVecAVX2(y, x *float32, rows *int32, nrows int, w *float32)

//go:noescape
func logFloorAVX2(x *float32, rows int, floor float32)

// Kernels names the kernel set in use: "avx2+fma" or "go".
func Kernels() string {
	if useAVX2 {
		return "avx2+fma"
	}
	return "go"
}
