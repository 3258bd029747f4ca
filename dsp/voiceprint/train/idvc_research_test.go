//go:build research

package train

// TestExpIDVC: the corpus offsets ("Corpus offsets" in
// dsp/voiceprint/model/README.md) added after the fact to a trained model
// without them, to choose where they go before training one:
//
//	EXP_BASE=M EXP_OUT=OUT EXP_BRANCHES=01 EXP_EVERY=3 [EXP_CORPORA=arabic_commands] [EXP_NARROW=1] [EXP_VENUE_OUT=V] \
//	  go test -tags research -run TestExpIDVC -v ./dsp/voiceprint/train/
//
// reads model M (a room4 model: voxward train --domains=false), and
// writes OUT: in each branch EXP_BRANCHES names, each corpus's offset (the
// mean voiceprint of its model-half recordings of one in EXP_EVERY
// speakers, less the mean of the branch's English cohort) joins NAP, and
// the cohort is projected again. The calibration is M's, not redone.
// EXP_VENUE_OUT gets the other model-half recordings (a venue the offsets
// were not learned from, for voxward eval --cohort).

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/voxward/voxward/dsp/voiceprint"
	"github.com/voxward/voxward/dsp/voiceprint/eval"
	"github.com/voxward/voxward/internal/parallel"
)

func TestExpIDVC(t *testing.T) {
	b0, err := os.ReadFile(os.Getenv("EXP_BASE"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := voiceprint.ParseModel(b0)
	if err != nil {
		t.Fatal(err)
	}
	ml, err := ListMultilingual(dataDir, 200)
	if err != nil || len(ml) == 0 {
		t.Fatal(err, len(ml))
	}
	every, _ := strconv.Atoi(os.Getenv("EXP_EVERY"))
	every = max(every, 1)
	if p := os.Getenv("EXP_VENUE_OUT"); p != "" {
		var lines []string
		for j, u := range ml {
			if !domainLearner(ml, j, every) {
				r, _ := filepath.Rel(dataDir, u.Path)
				lines = append(lines, r)
			}
		}
		if err := os.WriteFile(p, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	jobs := runtime.NumCPU()
	exs := make([]*voiceprint.Extractor, jobs)
	for w := range exs {
		exs[w], _ = voiceprint.NewExtractor(m)
	}
	// EXP_NARROW=1 also takes each recording's 8 kHz copy into its
	// corpus's mean.
	channels := []string{"none"}
	if os.Getenv("EXP_NARROW") != "" {
		channels = append(channels, "narrowband")
	}
	vps := make([][][][]float32, len(ml)) // recording → channel → branch → voiceprint
	parallel.For(context.Background(), len(ml), jobs, func(w, i int) error {
		x, _ := readWAV(ml[i].Path)
		for _, ch := range channels {
			st := exs[w].NewStats()
			exs[w].Accumulate(st, eval.Augment(x, ch, ml[i].Path))
			var per [][]float32
			for b, br := range m.Branches {
				per = append(per, br.Voiceprint(nil, st.Branches[b]))
			}
			vps[i] = append(vps[i], per)
		}
		return nil
	})
	var branches []*voiceprint.Model
	for b, br := range m.Branches {
		if !strings.Contains(os.Getenv("EXP_BRANCHES"), fmt.Sprint(b)) {
			branches = append(branches, br)
			continue
		}
		cfg, p := br.Config, br.Params()
		ed := cfg.EmbeddingDim()
		mean := func(rows [][]float32) []float64 {
			out := make([]float64, ed)
			for _, r := range rows {
				for j, v := range r {
					out[j] += float64(v) / float64(len(rows))
				}
			}
			return out
		}
		var english [][]float32
		for k, l := range cfg.CohortLabels {
			if !slices.ContainsFunc(ml, func(u Utterance) bool { return filepath.Base(filepath.Dir(u.Path)) == l }) {
				english = append(english, p.Cohort[k*ed:(k+1)*ed])
			}
		}
		eng := mean(english)
		var dirs [][]float64
		for _, c := range multilingualCorpora {
			if cs := os.Getenv("EXP_CORPORA"); cs != "" && !strings.Contains(cs, c) {
				continue
			}
			var rows [][]float32
			for j, u := range ml {
				if u.Corpus == c && domainLearner(ml, j, every) {
					for _, per := range vps[j] {
						rows = append(rows, per[b])
					}
				}
			}
			d := mean(rows)
			var n float64
			for j := range d {
				d[j] -= eng[j]
				n += d[j] * d[j]
			}
			t.Logf("branch %d, %s: offset of %d recordings, length %.3f", b, c, len(rows), math.Sqrt(n))
			dirs = append(dirs, d)
		}
		p.NAP = appendOrthonormal(p.NAP, dirs, ed)
		added := p.NAP[cfg.NAPRank*ed:]
		cfg.NAPRank += len(dirs)
		p.Cohort = slices.Clone(p.Cohort)
		for k := range cfg.CohortSize {
			row := p.Cohort[k*ed : (k+1)*ed]
			for r := range len(dirs) {
				projectOut(row, added[r*ed:(r+1)*ed])
			}
			normalizeRow(row)
		}
		nm, err := voiceprint.NewModel(cfg, p)
		if err != nil {
			t.Fatal(err)
		}
		branches = append(branches, nm)
	}
	fc := m.Config
	fc.ID += "-idvc-posthoc"
	fm, err := voiceprint.NewFusedModel(fc, branches)
	if err != nil {
		t.Fatal(err)
	}
	b, err := fm.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(os.Getenv("EXP_OUT"), b, 0o644); err != nil {
		t.Fatal(err)
	}
}
