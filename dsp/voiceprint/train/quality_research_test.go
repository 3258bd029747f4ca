//go:build research

package train

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/voxward/voxward/dsp/voiceprint"
	"github.com/voxward/voxward/dsp/voiceprint/eval"
	"github.com/voxward/voxward/internal/parallel"
)

// TestExpQualityDump: per-trial scores and the quality measures of their
// two sides, for choosing what a calibration could condition on ("Content
// matching" in dsp/voiceprint/model/README.md):
//
//	[VOXWARD_VOICEPRINT_MODEL=M] EXP_LIST=dev_testother_1v1 EXP_CHANNEL=hall [EXP_BOTH=1] [EXP_SHORT=1] EXP_OUT=F \
//	  go test -tags research -run TestExpQualityDump -v ./dsp/voiceprint/train/
//
// writes one line per trial of the dev list EXP_LIST: label (1 same
// speaker), the model's score, then for the enrolment and the test side
// each branch's cohort mean and standard deviation (the s-norm
// statistics), speech seconds, SNR (dB) and bandwidth (Hz), then the
// content overlap of the two sides (the dot product of their √(N_c/ΣN))
// in branch 0, in branch 1, and in branch 0 with its components' shares
// summed over their selector parents. EXP_CHANNEL (eval.Augment) is
// applied to the test side, to both with EXP_BOTH; EXP_SHORT cuts the
// test side to 3 s.
func TestExpQualityDump(t *testing.T) {
	ex := shippedExtractor(t)
	m := ex.Model()
	sc := voiceprint.NewScorer(m)
	trials, err := eval.ReadTrials(filepath.Join(dataDir, "trials", os.Getenv("EXP_LIST")+".txt"))
	if err != nil {
		t.Fatal(err)
	}
	ch := os.Getenv("EXP_CHANNEL")
	enrol, test := eval.TrialKeys(trials)
	keys := append(append([]string{}, enrol...), test...)
	type side struct {
		v []float32
		o [][]float32 // content parts: branch 0, branch 1, branch 0 by selector parent
		n voiceprint.CohortNorm
		a voiceprint.Analysis
	}
	sides := make([]side, len(keys))
	jobs := runtime.NumCPU()
	exs := make([]*voiceprint.Extractor, jobs)
	for w := range exs {
		exs[w], _ = voiceprint.NewExtractor(m)
	}
	po := m.Branches[0].Params().ParentOf // each UBM component's selector parent
	both := os.Getenv("EXP_BOTH") != ""
	short := os.Getenv("EXP_SHORT") != ""
	err = parallel.For(context.Background(), len(keys), jobs, func(w, i int) error {
		st := exs[w].NewStats()
		isTest := i >= len(enrol)
		var a voiceprint.Analysis
		for _, p := range strings.Split(keys[i], ",") {
			x, err := readWAV(filepath.Join(dataDir, p))
			if err != nil {
				return err
			}
			if isTest && short && len(x) > 48000 {
				x = x[:48000]
			}
			if isTest || both {
				x = eval.Augment(x, ch, p)
			}
			a = exs[w].Accumulate(st, x)
		}
		v := m.Voiceprint(nil, st)
		// The content parts (voiceprint.Content) of branches 0 and 1, and
		// of branch 0's occupancy summed over each selector parent.
		parents := make([]float64, m.Branches[0].Config.Parents)
		for c, n := range st.Branches[0].N {
			parents[po[c]] += n
		}
		o := [][]float32{voiceprint.Content(nil, st.Branches[0].N), voiceprint.Content(nil, st.Branches[1].N), voiceprint.Content(nil, parents)}
		sides[i] = side{v, o, sc.CohortNorm(v), a}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	ei, ti := map[string]int{}, map[string]int{}
	for i, k := range enrol {
		ei[k] = i
	}
	for j, k := range test {
		ti[k] = len(enrol) + j
	}
	var b strings.Builder
	for _, tr := range trials {
		e, s := sides[ei[strings.Join(tr.Enroll, ",")]], sides[ti[tr.Test]]
		lab := 0
		if tr.Target {
			lab = 1
		}
		fmt.Fprintf(&b, "%d %.5f", lab, sc.ScoreWithNorms(e.v, s.v, e.n, s.n))
		for _, x := range []side{e, s} {
			for _, br := range x.n.Branches {
				fmt.Fprintf(&b, " %.5f %.5f", br.Mean, br.Std)
			}
			fmt.Fprintf(&b, " %.2f %.1f %.0f", x.a.SpeechSeconds, x.a.SNRDB, x.a.BandwidthHz)
		}
		for k := range e.o {
			fmt.Fprintf(&b, " %.5f", contentOverlap(e.o[k], s.o[k]))
		}
		b.WriteString("\n")
	}
	if err := os.WriteFile(os.Getenv("EXP_OUT"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}
