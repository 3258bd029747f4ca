//go:build !amd64 || purego

package dsp

// useAVX2 is false: only the portable Go kernels are built.
const useAVX2 = false

// The assembly kernels do not exist in this build; these keep the
// dispatching wrappers compiling and are never called.

func transposeInAVX2(dst, src *float32, stride, n int) { panic("dsp: no AVX2 kernels") }
func transposeOutAVX2(dst *float32, stride int, src *float32, rows int) {
	panic("dsp: no AVX2 kernels")
}
func laneSumsAVX2(s *[lanes]float32, x *float32, rows int) { panic("dsp: no AVX2 kernels") }
func laneSumSquaresAVX2(s *[lanes]float32, x *float32, rows int, mean *[lanes]float32) {
	panic("dsp: no AVX2 kernels")
}
func laneMinScaledAVX2(m *[lanes]float32, x, scale *float32, rows int) {
	panic("dsp: no AVX2 kernels")
}
func preemphWindowAVX2(re, im, x, win *float32, mean *[lanes]float32, coeff float32, n, half int) {
	panic("dsp: no AVX2 kernels")
}
func fftStageAVX2(yr, yi, xr, xi, wr, wi *float32, m, s int) { panic("dsp: no AVX2 kernels") }
func fftStage4AVX2(yr, yi, xr, xi, w4 *float32, m, s int)    { panic("dsp: no AVX2 kernels") }
func realSpectrumAVX2(pow, zr, zi, cr, ci *float32, half int, power bool) {
	panic("dsp: no AVX2 kernels")
}
func bandMatVecAVX2(y, x *float32, rows *int32, nrows int, w *float32) {
	panic("dsp: no AVX2 kernels")
}
func logFloorAVX2(x *float32, rows int, floor float32) { panic("dsp: no AVX2 kernels") }

// Kernels names the kernel set in use: "avx2+fma" or "go".
func Kernels() string { return "go" }
