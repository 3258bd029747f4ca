//go:build !amd64 || purego

package dsp

// The assembly kernels do not exist in this build; useAVX2 is false, so
// these are never called.

func resampleDotAVX2(a, b *float32, n int) float32    { panic("dsp: no AVX2 kernels") }
func resampleDotSeqAVX2(c, x *float32, n int) float32 { panic("dsp: no AVX2 kernels") }
func resampleDot4AVX2(c, x *float32, n, stride int, out *[4]float32) {
	panic("dsp: no AVX2 kernels")
}
