//go:build goexperiment.simd && amd64

package dsp

import "simd/archsimd"

// useAVX2 says whether the CPU has what dotAVX2 needs.
var useAVX2 = archsimd.X86.AVX2() && archsimd.X86.FMA()

// dot returns Σ a[j]·b[j] for len(a) ≤ len(b).
func dot(a, b []float32) float32 {
	if useAVX2 {
		return dotAVX2(a, b)
	}
	return dotScalar(a, b)
}

// dotAVX2 computes the dot product 8 lanes at a time with fused
// multiply-adds in two independent accumulators, then sums the lanes.
func dotAVX2(a, b []float32) float32 {
	b = b[:len(a)]
	var acc0, acc1 archsimd.Float32x8
	i := 0
	for ; i+16 <= len(a); i += 16 {
		acc0 = archsimd.LoadFloat32x8Slice(a[i:]).MulAdd(archsimd.LoadFloat32x8Slice(b[i:]), acc0)
		acc1 = archsimd.LoadFloat32x8Slice(a[i+8:]).MulAdd(archsimd.LoadFloat32x8Slice(b[i+8:]), acc1)
	}
	if i+8 <= len(a) {
		acc0 = archsimd.LoadFloat32x8Slice(a[i:]).MulAdd(archsimd.LoadFloat32x8Slice(b[i:]), acc0)
		i += 8
	}
	s := hsum(acc0.Add(acc1))
	for ; i < len(a); i++ {
		s += a[i] * b[i]
	}
	return s
}

// dot4 returns the dot products of c with the four windows of x starting
// at 0, stride, 2·stride and 3·stride; each is summed as dotSeq sums.
// len(c) is a multiple of 8 (NewResampler pads it).
func dot4(c, x []float32, stride int) (s0, s1, s2, s3 float32) {
	if !useAVX2 {
		return dot4Scalar(c, x, stride)
	}
	n := len(c)
	x0, x1, x2, x3 := x[:n], x[stride:][:n], x[2*stride:][:n], x[3*stride:][:n]
	var a0, a1, a2, a3 archsimd.Float32x8
	for j := 0; j+8 <= n; j += 8 {
		cv := archsimd.LoadFloat32x8Slice(c[j:])
		a0 = cv.MulAdd(archsimd.LoadFloat32x8Slice(x0[j:]), a0)
		a1 = cv.MulAdd(archsimd.LoadFloat32x8Slice(x1[j:]), a1)
		a2 = cv.MulAdd(archsimd.LoadFloat32x8Slice(x2[j:]), a2)
		a3 = cv.MulAdd(archsimd.LoadFloat32x8Slice(x3[j:]), a3)
	}
	return hsum(a0), hsum(a1), hsum(a2), hsum(a3)
}

// dotSeq returns Σ c[j]·x[j] in dot4's order: one 8-lane accumulator,
// then hsum. len(c) is a multiple of 8.
func dotSeq(c, x []float32) float32 {
	if !useAVX2 {
		return dotSeqScalar(c, x)
	}
	n := len(c)
	x = x[:n]
	var a archsimd.Float32x8
	for j := 0; j+8 <= n; j += 8 {
		a = archsimd.LoadFloat32x8Slice(c[j:]).MulAdd(archsimd.LoadFloat32x8Slice(x[j:]), a)
	}
	return hsum(a)
}

// hsum adds the 8 lanes of v in a fixed order.
func hsum(v archsimd.Float32x8) float32 {
	var l [8]float32
	v.Store(&l)
	return ((l[0] + l[4]) + (l[1] + l[5])) + ((l[2] + l[6]) + (l[3] + l[7]))
}
