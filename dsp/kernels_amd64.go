//go:build amd64 && !purego

package dsp

// useAVX2 says whether the assembly kernels run: AVX2 and FMA present and
// the OS saving YMM state. Tests flip it to compare both implementations.
var useAVX2 = hasAVX2FMA()

func hasAVX2FMA() bool {
	maxID, _, _, _ := cpuid(0, 0)
	if maxID < 7 {
		return false
	}
	_, _, ecx1, _ := cpuid(1, 0)
	const fma, osxsave, avx = 1 << 12, 1 << 27, 1 << 28
	if ecx1&(fma|osxsave|avx) != fma|osxsave|avx {
		return false
	}
	if xcr0, _ := xgetbv(); xcr0&6 != 6 { // XMM and YMM state enabled
		return false
	}
	_, ebx7, _, _ := cpuid(7, 0)
	return ebx7&(1<<5) != 0
}

func cpuid(eaxArg, ecxArg uint32) (eax, ebx, ecx, edx uint32)
func xgetbv() (eax, edx uint32)

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
