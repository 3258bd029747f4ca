//go:build amd64 && !purego

package dsp

// resampleDotAVX2 returns Σ a[i]·b[i] for i < n, n a positive multiple
// of 8, in two 8-lane FMA accumulators.
//
//go:noescape
func resampleDotAVX2(a, b *float32, n int) float32

// resampleDotSeqAVX2 returns Σ c[i]·x[i] for i < n, n a positive multiple
// of 8, in one 8-lane FMA accumulator (the order resampleDot4AVX2 uses).
//
//go:noescape
func resampleDotSeqAVX2(c, x *float32, n int) float32

// resampleDot4AVX2 stores in out the dot products of c[:n] with x[k·stride:]
// for k = 0..3, n a positive multiple of 8.
//
//go:noescape
func resampleDot4AVX2(c, x *float32, n, stride int, out *[4]float32)
