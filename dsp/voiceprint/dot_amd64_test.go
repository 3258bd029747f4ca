//go:build amd64 && !purego

package voiceprint

import "testing"

// forEachKernel runs fn with the AVX2 kernels (when the CPU has them) and
// with the Go ones.
func forEachKernel(t testing.TB, fn func(name string)) {
	saved := useAVX2
	defer func() { useAVX2 = saved }()
	if saved {
		fn("avx2")
	}
	useAVX2 = false
	fn("go")
}
