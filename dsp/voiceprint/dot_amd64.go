//go:build amd64 && !purego

package voiceprint

import "github.com/voxward/voxward/internal/cpufeat"

// useAVX2 says whether the assembly dot products run: AVX2 present and
// the OS saving YMM state (FMA is not used: it would round differently
// from dotf). Tests flip it to compare both implementations.
var useAVX2 = cpufeat.AVX2

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

// quadRowsAVX2 sets sums[r] to the four chain sums of Σ x_d·(a_d + x_d·b_d)
// against the interleaved GMM row rows[r] (GMM.ab), over n values of x, n
// a positive multiple of 4.
//
//go:noescape
func quadRowsAVX2(x *float32, rows *[batch]*float32, n int, sums *[batch][4]float32)
