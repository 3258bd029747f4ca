//go:build !(goexperiment.simd && amd64)

package dsp

// dot returns Σ a[j]·b[j] for len(a) ≤ len(b).
func dot(a, b []float32) float32 { return dotScalar(a, b) }

// dot4 and dotSeq: see dot4Scalar and dotSeqScalar.
func dot4(c, x []float32, stride int) (s0, s1, s2, s3 float32) { return dot4Scalar(c, x, stride) }

func dotSeq(c, x []float32) float32 { return dotSeqScalar(c, x) }
