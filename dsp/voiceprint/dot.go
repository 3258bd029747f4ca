package voiceprint

// Dot products of one vector against many rows, for cohort statistics and
// open-set identification.
//
// dotf, the dot product every voiceprint computation uses (extraction,
// training, scoring), sums in four chains: chain j adds the products of
// the elements i ≡ j (mod 4) in order, the tail (len%4 elements) goes to
// chain 0, and the result is (s0+s1)+(s2+s3). The shipped model's
// calibration thresholds were computed with exactly these roundings, so
// the batched kernels here keep them: the AVX2 assembly vectorises across
// rows (each 128-bit half of a YMM register holds one row's four chains),
// never along a row, and multiplies and adds separately (no FMA). Every
// row's result is therefore bit-identical to dotf, on every machine, with
// or without AVX2 (TestDotRowsMatchDotf, FuzzDotRows).

// batch is how many rows one call of the kernels takes.
const batch = 8

// dotRows sets out[r] = dotf(a, rows[r]) for r < k (rows[k:] are ignored).
// Each of the k rows must have at least len(a) values.
func dotRows(out *[batch]float32, a []float32, rows *[batch][]float32, k int) {
	n := len(a)
	n4 := n &^ 3
	var sums [batch][4]float32
	if useAVX2 && n4 > 0 && k > 0 {
		var ptr [batch]*float32
		for r := range ptr {
			row := rows[min(r, k-1)][:n]
			ptr[r] = &row[0]
		}
		dotRowsAVX2(&a[0], &ptr, n4, &sums)
	} else {
		for r := 0; r < k; r++ {
			sums[r] = dotChains(a[:n4], rows[r][:n4])
		}
	}
	for r := 0; r < k; r++ {
		b := rows[r][:n]
		s := &sums[r]
		for i := n4; i < n; i++ {
			s[0] += float32(a[i] * b[i])
		}
		out[r] = (s[0] + s[1]) + (s[2] + s[3])
	}
}

// dotRowsInt8 is dotRows on rows held as int8 values with one scale each:
// out[r] = dotf(a, x) for the row x[i] = float32(q[r][i])·scales[r] (each
// value rounded to float32, as dequantising it would), bit for bit.
func dotRowsInt8(out *[batch]float32, a []float32, rows *[batch][]int8, scales *[batch]float32, k int) {
	n := len(a)
	n4 := n &^ 3
	var sums [batch][4]float32
	if useAVX2 && n4 > 0 && k > 0 {
		var ptr [batch]*int8
		var sc [batch]float32
		for r := range ptr {
			row := rows[min(r, k-1)][:n]
			ptr[r], sc[r] = &row[0], scales[min(r, k-1)]
		}
		dotRowsInt8AVX2(&a[0], &ptr, &sc, n4, &sums)
	} else {
		for r := 0; r < k; r++ {
			sums[r] = dotChainsInt8(a[:n4], rows[r][:n4], scales[r])
		}
	}
	for r := 0; r < k; r++ {
		q, sc := rows[r][:n], scales[r]
		s := &sums[r]
		for i := n4; i < n; i++ {
			s[0] += float32(a[i] * (float32(q[i]) * sc))
		}
		out[r] = (s[0] + s[1]) + (s[2] + s[3])
	}
}

// dotChains returns dotf's four chain sums over a and b, len(a) a
// multiple of 4 and len(b) ≥ len(a). The explicit float32 conversions keep
// the compiler from fusing multiply and add (as it would on arm64), which
// would round differently from the assembly and from amd64.
func dotChains(a, b []float32) [4]float32 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float32
	for i := 0; i+4 <= len(a); i += 4 {
		s0 += float32(a[i] * b[i])
		s1 += float32(a[i+1] * b[i+1])
		s2 += float32(a[i+2] * b[i+2])
		s3 += float32(a[i+3] * b[i+3])
	}
	return [4]float32{s0, s1, s2, s3}
}

// dotChainsInt8 is dotChains against the row float32(q[i])·sc.
func dotChainsInt8(a []float32, q []int8, sc float32) [4]float32 {
	q = q[:len(a)]
	var s0, s1, s2, s3 float32
	for i := 0; i+4 <= len(a); i += 4 {
		s0 += float32(a[i] * (float32(q[i]) * sc))
		s1 += float32(a[i+1] * (float32(q[i+1]) * sc))
		s2 += float32(a[i+2] * (float32(q[i+2]) * sc))
		s3 += float32(a[i+3] * (float32(q[i+3]) * sc))
	}
	return [4]float32{s0, s1, s2, s3}
}
