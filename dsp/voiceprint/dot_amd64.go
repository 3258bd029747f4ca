//go:build amd64 && !purego

package voiceprint

// useAVX2 says whether the assembly dot products run: AVX2 present and
// the OS saving YMM state. Tests flip it to compare both implementations.
var useAVX2 = hasAVX2()

// hasAVX2 is the check of package dsp's hasAVX2FMA without FMA, which
// these kernels do not use (it would round differently from dotf).
func hasAVX2() bool {
	maxID, _, _, _ := cpuid(0, 0)
	if maxID < 7 {
		return false
	}
	_, _, ecx1, _ := cpuid(1, 0)
	const osxsave, avx = 1 << 27, 1 << 28
	if ecx1&(osxsave|avx) != osxsave|avx {
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

// dotRowsAVX2 sets sums[r] to dotf's four chain sums of a against rows[r]
// over n values, n a positive multiple of 4.
//
//go:noescape
func dotRowsAVX2(a *float32, rows *[batch]*float32, n int, sums *[batch][4]float32)

// dotRowsInt8AVX2 is dotRowsAVX2 against the rows float32(q)·scales[r].
//
//go:noescape
func dotRowsInt8AVX2(a *float32, rows *[batch]*int8, scales *[batch]float32, n int, sums *[batch][4]float32)

// DotKernels names the dot-product kernels in use: "avx2" or "go".
func DotKernels() string {
	if useAVX2 {
		return "avx2"
	}
	return "go"
}
