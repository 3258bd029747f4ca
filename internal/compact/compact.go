// Package compact stores float32 arrays in fewer bytes: rows of values
// quantised to 8 or 4 bits with a power-of-two scale each, and IEEE
// half-precision floats. The voiceprint model and the neural extractor
// keep their large arrays this way, and hold the rounded values as
// float32, so that what is computed before storing equals what is
// computed after reading.
package compact

import (
	"bytes"
	"encoding/binary"
	"math"
)

// RowBytes is the stored size of a row of n values of bits bits each: a
// float32 scale and the values packed, low bits first.
func RowBytes(n, bits int) int { return 4 + (n*bits+7)/8 }

// QuantRow quantises one row to signed integers of bits bits (|q| ≤
// 2^(bits-1)-1): a power-of-two scale, the smallest at least max|x| over
// that, and x/scale rounded. A power of two makes quantising the result
// again give the same scale and values, so rows survive being
// rounded, stored and read again bit for bit.
func QuantRow(dst []int8, x []float32, bits int) float32 {
	levels := float64(int(1)<<(bits-1) - 1)
	var m float64
	for _, v := range x {
		m = max(m, math.Abs(float64(v)))
	}
	if m == 0 {
		clear(dst)
		return 0
	}
	frac, exp := math.Frexp(m / levels) // m/levels = frac·2^exp, frac in [0.5, 1)
	if frac == 0.5 {
		exp--
	}
	sc := math.Ldexp(1, exp)
	for i, v := range x {
		dst[i] = int8(math.Round(float64(v) / sc))
	}
	return float32(sc)
}

// RoundRows returns the rows of a (of n values each) as storage in bits
// bits gives them back.
func RoundRows(a []float32, n, bits int) []float32 {
	out := make([]float32, len(a))
	q := make([]int8, n)
	for off := 0; off+n <= len(a); off += n {
		sc := QuantRow(q, a[off:off+n], bits)
		for i, v := range q {
			out[off+i] = sc * float32(v)
		}
	}
	return out
}

// WriteRows appends the rows of a (of n values each) to b, each as its
// QuantRow scale (float32, little-endian) and its values packed: one a
// byte for 8 bits, two a byte (the first in the low nibble) for 4.
func WriteRows(b *bytes.Buffer, a []float32, n, bits int) {
	q := make([]int8, n)
	packed := make([]byte, RowBytes(n, bits)-4)
	for off := 0; off+n <= len(a); off += n {
		sc := QuantRow(q, a[off:off+n], bits)
		_ = binary.Write(b, binary.LittleEndian, sc)
		if bits == 8 {
			for i, v := range q {
				packed[i] = byte(v)
			}
		} else { // 4: two values a byte, the first in the low nibble
			clear(packed)
			for i, v := range q {
				packed[i/2] |= (byte(v) & 0xf) << (4 * (i % 2))
			}
		}
		b.Write(packed)
	}
}

// ReadRows decodes rows rows of n values written by WriteRows (the length
// was checked) and returns them and the bytes after them.
func ReadRows(b []byte, rows, n, bits int) ([]float32, []byte) {
	out := make([]float32, rows*n)
	rb := RowBytes(n, bits)
	for r := 0; r < rows; r++ {
		sc := math.Float32frombits(binary.LittleEndian.Uint32(b))
		vals := b[4:rb]
		for i := 0; i < n; i++ {
			var q int8
			if bits == 8 {
				q = int8(vals[i])
			} else {
				q = int8(vals[i/2]>>(4*(i%2))<<4) >> 4 // sign-extend the nibble
			}
			out[r*n+i] = sc * float32(q)
		}
		b = b[rb:]
	}
	return out, b
}

// ToHalf rounds f to the nearest IEEE 754 half-precision value
// (ties to even) and returns its bits.
func ToHalf(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	abs := b & 0x7fffffff
	if abs >= 0x7f800000 {
		if abs > 0x7f800000 {
			return sign | 0x7e00 // NaN
		}
		return sign | 0x7c00
	}
	exp := int32(abs>>23) - 127 + 15
	man := abs & 0x7fffff
	if exp >= 31 {
		return sign | 0x7c00
	}
	if exp <= 0 {
		if exp < -10 {
			return sign
		}
		man |= 0x800000
		shift := uint32(14 - exp)
		half := uint32(1) << (shift - 1)
		r := man >> shift
		rem := man & (1<<shift - 1)
		if rem > half || rem == half && r&1 == 1 {
			r++
		}
		return sign | uint16(r)
	}
	r := uint32(exp)<<10 | man>>13
	rem := man & 0x1fff
	if rem > 0x1000 || rem == 0x1000 && r&1 == 1 {
		r++
	}
	return sign | uint16(r)
}

// FromHalf returns the value of IEEE 754 half-precision bits h.
func FromHalf(h uint16) float32 {
	sign := uint32(h&0x8000) << 16
	exp := uint32(h>>10) & 0x1f
	man := uint32(h & 0x3ff)
	switch exp {
	case 0x1f:
		return math.Float32frombits(sign | 0x7f800000 | man<<13)
	case 0:
		f := float32(man) / (1 << 24)
		if sign != 0 {
			f = -f
		}
		return f
	}
	return math.Float32frombits(sign | (exp+112)<<23 | man<<13)
}

// Halves returns the half-precision bits of every value of a (ToHalf).
func Halves(a []float32) []uint16 {
	h := make([]uint16, len(a))
	for i, v := range a {
		h[i] = ToHalf(v)
	}
	return h
}

// RoundHalf returns a's values rounded to half precision, as float32.
func RoundHalf(a []float32) []float32 {
	out := make([]float32, len(a))
	for i, v := range a {
		out[i] = FromHalf(ToHalf(v))
	}
	return out
}
