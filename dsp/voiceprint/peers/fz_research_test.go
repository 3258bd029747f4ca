//go:build research

package peers

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/voxward/voxward/dsp/voiceprint"
	"github.com/voxward/voxward/dsp/voiceprint/eval"
)

func zs(x, ref []float64) []float64 {
	var m, s float64
	for _, v := range ref {
		m += v
	}
	m /= float64(len(ref))
	for _, v := range ref {
		s += (v - m) * (v - m)
	}
	s = math.Sqrt(s / float64(len(ref)))
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = (v - m) / s
	}
	return out
}

func TestFuseStatsOracle(t *testing.T) {
	root := "/work/shared/data"
	m, err := voiceprint.DefaultModel()
	if err != nil {
		t.Fatal(err)
	}
	for _, list := range []string{"dev_testother_1v1", "dev_multilingual_1v1"} {
		fh, _ := os.Open(filepath.Join(root, "trials", list+".txt"))
		trials, err := eval.ParseTrials(fh)
		fh.Close()
		if err != nil {
			t.Fatal(err)
		}
		for _, ch := range []string{"none", "telephone", "nb-both", "short"} {
			o := eval.Options{AudioRoot: root, Jobs: 2}
			switch ch {
			case "nb-both":
				o.Augment, o.AugmentEnrol = "narrowband", true
			case "short":
				o.TestSamples = 3 * 16000
			default:
				o.Augment = ch
			}
			rm, err := eval.Model(context.Background(), m, trials, o)
			if err != nil {
				t.Fatal(err)
			}
			rs, err := MFCCStats(context.Background(), trials, o)
			if err != nil {
				t.Fatal(err)
			}
			st, sn := zs(rs.TargetScores, rs.NontargetScores), zs(rs.NontargetScores, rs.NontargetScores)
			mt, mn := zs(rm.TargetScores, rm.NontargetScores), zs(rm.NontargetScores, rm.NontargetScores)
			line := fmt.Sprintf("%-22s %-10s model %.2f stats %.2f |", list, ch, 100*rm.EER, 100*rs.EER)
			for _, w := range []float64{0.1, 0.2, 0.3, 0.5, 0.7, 1} {
				ft, fn := make([]float64, len(mt)), make([]float64, len(mn))
				for i := range ft {
					ft[i] = mt[i] + w*st[i]
				}
				for i := range fn {
					fn[i] = mn[i] + w*sn[i]
				}
				e, _, _ := eval.EER(ft, fn)
				line += fmt.Sprintf(" w%.1f %.2f", w, 100*e)
			}
			t.Log(line)
		}
	}
}
