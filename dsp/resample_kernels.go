package dsp

// The resampler's inner products. On amd64 with AVX2 and FMA (useAVX2,
// see kernels_amd64.go) they run in assembly (resample_amd64.s), 8 lanes
// at a time; otherwise, or with -tags purego, in Go. dot4 and dotSeq sum
// each output in the same order as each other in either build, so an
// output does not depend on which of them computed it.

// dot returns Σ a[j]·b[j] for len(a) ≤ len(b).
func dot(a, b []float32) float32 {
	n := len(a)
	if useAVX2 && n >= 8 && n%8 == 0 {
		_ = b[n-1]
		return resampleDotAVX2(&a[0], &b[0], n)
	}
	return dotScalar(a, b)
}

// dot4 returns the dot products of c with the four windows of x starting
// at 0, stride, 2·stride and 3·stride; len(x) ≥ 3·stride + len(c).
func dot4(c, x []float32, stride int) (s0, s1, s2, s3 float32) {
	n := len(c)
	if useAVX2 && n >= 8 && n%8 == 0 {
		_ = x[3*stride+n-1]
		var out [4]float32
		resampleDot4AVX2(&c[0], &x[0], n, stride, &out)
		return out[0], out[1], out[2], out[3]
	}
	return dot4Scalar(c, x, stride)
}

// dotSeq returns Σ c[j]·x[j], summed as dot4 sums each window.
func dotSeq(c, x []float32) float32 {
	n := len(c)
	if useAVX2 && n >= 8 && n%8 == 0 {
		_ = x[n-1]
		return resampleDotSeqAVX2(&c[0], &x[0], n)
	}
	return dotSeqScalar(c, x)
}
