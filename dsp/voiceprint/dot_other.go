//go:build !amd64 || purego

package voiceprint

// useAVX2 is false: only the portable Go dot products are built.
const useAVX2 = false

// The assembly kernels do not exist in this build; these keep the
// dispatching code compiling and are never called.

func dotRowsAVX2(a *float32, rows *[batch]*float32, n int, sums *[batch][4]float32) {
	panic("voiceprint: no AVX2 kernels")
}

func dotRowsInt8AVX2(a *float32, rows *[batch]*int8, scales *[batch]float32, n int, sums *[batch][4]float32) {
	panic("voiceprint: no AVX2 kernels")
}

func quadRowsAVX2(x *float32, rows *[batch]*float32, n int, sums *[batch][4]float32) {
	panic("voiceprint: no AVX2 kernels")
}

// DotKernels names the dot-product kernels in use: "avx2" or "go".
func DotKernels() string { return "go" }
