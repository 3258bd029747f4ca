package compact

import (
	"bytes"
	"math"
	"math/rand/v2"
	"testing"
)

// Rows written and read back are RoundRows' values, bit for bit, and
// rounding them again changes nothing.
func TestRowsRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	const n, rows = 37, 5
	a := make([]float32, n*rows)
	for i := range a {
		a[i] = float32(r.NormFloat64() * math.Pow(10, float64(i%n%7-3)))
	}
	clear(a[2*n : 3*n]) // a zero row
	for _, bits := range []int{8, 4} {
		want := RoundRows(a, n, bits)
		var b bytes.Buffer
		WriteRows(&b, a, n, bits)
		if b.Len() != rows*RowBytes(n, bits) {
			t.Fatalf("%d bits: %d bytes, RowBytes says %d", bits, b.Len(), rows*RowBytes(n, bits))
		}
		got, rest := ReadRows(append(b.Bytes(), 9), rows, n, bits)
		if len(rest) != 1 || rest[0] != 9 {
			t.Fatalf("%d bits: %d bytes left after the rows, want the 1 appended", bits, len(rest))
		}
		again := RoundRows(want, n, bits)
		for i := range want {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) || math.Float32bits(again[i]) != math.Float32bits(want[i]) {
				t.Fatalf("%d bits, value %d: read %v, rounded %v, rounded twice %v", bits, i, got[i], want[i], again[i])
			}
			// The error is at most half a step of the row's scale.
			row := a[i/n*n : i/n*n+n]
			var m float64
			for _, v := range row {
				m = max(m, math.Abs(float64(v)))
			}
			if d := math.Abs(float64(want[i] - a[i])); d > m/float64(int(1)<<(bits-1)-1) {
				t.Fatalf("%d bits, value %d: %v rounded to %v", bits, i, a[i], want[i])
			}
		}
	}
}

func TestHalf(t *testing.T) {
	for _, c := range []struct {
		f float32
		h uint16
	}{{0, 0}, {1, 0x3c00}, {-2, 0xc000}, {65504, 0x7bff}, {1e6, 0x7c00}, {5.960464477539063e-08, 1}, {float32(math.Inf(-1)), 0xfc00}} {
		if got := ToHalf(c.f); got != c.h {
			t.Errorf("ToHalf(%v) = %#x, want %#x", c.f, got, c.h)
		}
	}
	for h := range 1 << 16 {
		if h&0x7c00 == 0x7c00 && h&0x3ff != 0 {
			continue // NaN
		}
		if got := ToHalf(FromHalf(uint16(h))); got != uint16(h) {
			t.Fatalf("half %#x reads as %v and rounds back to %#x", h, FromHalf(uint16(h)), got)
		}
	}
}
