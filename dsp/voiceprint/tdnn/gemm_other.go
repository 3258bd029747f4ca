//go:build !amd64 || purego

package tdnn

// useAVX2 is false: only the portable loop is built (a variable so the
// tests that flip it compile everywhere).
var useAVX2 = false

// gemm4x16AVX2 does not exist in this build; it keeps the dispatching
// code compiling and is never called.
func gemm4x16AVX2(a *float32, lda, ka int, b *float32, ldb int, c *float32, ldc int, k int) {
	panic("tdnn: no AVX2 kernel")
}
