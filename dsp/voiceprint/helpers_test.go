package voiceprint_test

import (
	"math"
	"math/rand/v2"
	"testing"
)

// skipUnderRace skips the long runs over the dev data under the race
// detector (they exercise no concurrency and take minutes there); the
// plain "go test" runs them.
func skipUnderRace(t testing.TB) {
	t.Helper()
	if raceEnabled {
		t.Skip("long dev-data evaluation skipped under -race; run go test without -race for the figures")
	}
}

// unitRows returns rows rows of n standard normal draws from r (in row
// order), each scaled to unit length: a random cohort.
func unitRows(r *rand.Rand, rows, n int) []float32 {
	out := make([]float32, rows*n)
	for k := range rows {
		row := out[k*n : (k+1)*n]
		var s float64
		for i := range row {
			row[i] = float32(r.NormFloat64())
			s += float64(row[i]) * float64(row[i])
		}
		for i := range row {
			row[i] /= float32(math.Sqrt(s))
		}
	}
	return out
}
