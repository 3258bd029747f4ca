package train

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
)

// The weight is the slope within each set: two sets whose overlaps and
// scores differ in level (a channel moves both) but rise alike inside
// give that common slope, where one line through all the pairs would
// not; unfitted sets and non-pairs are left out.
func TestFitContent(t *testing.T) {
	var scores, ov []float64
	var set []int
	add := func(s, o float64, k int) { scores, ov, set = append(scores, s), append(ov, o), append(set, k) }
	for i := range 50 {
		x := 0.6 + 0.004*float64(i)
		add(-1+3*x+0.01*math.Sin(float64(i)), x, 0)          // clean: slope 3
		add(5+3*(x-0.3)-0.01*math.Sin(float64(i)), x-0.3, 1) // another channel: lower overlap, higher scores
		add(100*x, x, -1)                                    // not fitted
		add(math.NaN(), x, 0)                                // no pair
	}
	w, c := fitContent(scores, ov, set)
	assert.InDelta(t, 3, w, 0.02)
	assert.InDelta(t, (0.698+0.398)/2, c, 1e-9, "the mean overlap of the fitted pairs")

	// Scores that fall with the overlap give no weight.
	for k := range scores {
		scores[k] = -scores[k]
	}
	w, _ = fitContent(scores, ov, set)
	assert.Zero(t, w)
	w, c = fitContent([]float64{1, 2}, []float64{0.5, 0.5}, []int{0, 0})
	assert.Zero(t, w, "no spread in overlap")
	assert.Zero(t, c)
}
