//go:build amd64 && !purego

package tdnn

import "github.com/voxward/voxward/internal/cpufeat"

// useAVX2 says whether the assembly kernel runs (AVX2 present and the OS
// saving YMM state; FMA is not used). Tests flip it to compare.
var useAVX2 = cpufeat.AVX2

// gemm4x16AVX2 adds to the 4×16 block of C at c (row stride ldc values)
// the products of the 4 rows of A at a (element (i, k) at a[i·lda +
// k·ka]) and the 16 columns of B at b (stride ldb) over k values, in
// order.
//
//go:noescape
func gemm4x16AVX2(a *float32, lda, ka int, b *float32, ldb int, c *float32, ldc int, k int)
