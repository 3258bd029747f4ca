package train

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// foldRecords keeps the other fold's speakers at every speed, and gives
// each (speaker, speed) a class of its own, the same speaker the same
// class in every channel, numbered without gaps.
func TestFoldRecords(t *testing.T) {
	for _, speakers := range []int{5, 6, 200} {
		for _, speeds := range []int{0, 2} {
			var all []NeuralRecord
			for k := range 1 + speeds {
				for spk := range speakers {
					for ch := range 2 { // two channels of each voice
						all = append(all, NeuralRecord{Speaker: spk + speakers*k, Frames: []float32{float32(spk), float32(k), float32(ch)}})
					}
				}
			}
			for f := range 2 {
				half, classes := foldRecords(all, speakers, f)
				others := 0
				for spk := range speakers {
					if spk%2 != f {
						others++
					}
				}
				require.Equal(t, others*(1+speeds), classes, "%d speakers, %d speeds, fold %d", speakers, speeds, f)
				require.Len(t, half, 2*classes)
				classOf := map[[2]float32]int{}
				seen := make([]bool, classes)
				for _, r := range half {
					spk, k := int(r.Frames[0]), r.Frames[1]
					require.NotEqual(t, f, spk%2, "fold %d's speaker %d is in its network's data", f, spk)
					key := [2]float32{float32(spk), k}
					if c, ok := classOf[key]; ok {
						require.Equal(t, c, r.Speaker, "speaker %d at speed %v in two classes", spk, k)
					} else {
						require.False(t, seen[r.Speaker], "two voices in class %d", r.Speaker)
						classOf[key], seen[r.Speaker] = r.Speaker, true
					}
				}
				require.NotContains(t, seen, false, "a class without a voice")
			}
		}
	}
}
