package voiceprint

import (
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
)

// warpColumn returns a column's keys as warp builds them, from values
// drawn so that many share their upper bytes (and some are equal).
func warpColumn(r *rand.Rand, n int) []uint64 {
	keys := make([]uint64, n)
	for t := range keys {
		v := float32(r.NormFloat64())
		if r.IntN(8) == 0 {
			v = float32(r.IntN(3)) // repeated values: ties broken by index
		}
		keys[t] = uint64(orderedBits(v))<<32 | uint64(t)
	}
	return keys
}

// TestSortKeysMatchesSort holds warp's radix sort to slices.Sort: the
// same order, so feature warping ranks every frame as it did.
func TestSortKeysMatchesSort(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, n := range []int{1, 2, 3, 10, 255, 256, 257, 1000, 6000} {
		for range 5 {
			keys := warpColumn(r, n)
			want := slices.Clone(keys)
			slices.Sort(want)
			got := sortKeys(keys, make([]uint64, n))
			if !slices.Equal(got, want) {
				t.Fatalf("n=%d: radix order differs from slices.Sort", n)
			}
		}
	}
	same := []uint64{7 << 32, 7<<32 | 1, 7<<32 | 2} // one value: no pass moves
	if got := sortKeys(same, make([]uint64, 3)); !slices.Equal(got, []uint64{7 << 32, 7<<32 | 1, 7<<32 | 2}) {
		t.Fatalf("equal values: %v", got)
	}
}

// BenchmarkSortKeys compares warp's radix sort with slices.Sort on one
// column of 1,000 frames (10 s of speech) and 6,000 (a minute).
func BenchmarkSortKeys(b *testing.B) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, n := range []int{1000, 6000} {
		col := warpColumn(r, n)
		keys, tmp := make([]uint64, n), make([]uint64, n)
		b.Run("radix/"+strconv.Itoa(n), func(b *testing.B) {
			for b.Loop() {
				copy(keys, col)
				sortKeys(keys, tmp)
			}
		})
		b.Run("slices/"+strconv.Itoa(n), func(b *testing.B) {
			for b.Loop() {
				copy(keys, col)
				slices.Sort(keys)
			}
		})
	}
}
