//go:build research

package train

// TestExpBoxOffset: the corpus offsets (`idvc2`) learned by a box from its
// own enrolled voices rather than by the model from two corpora, so that
// a box in a recording setup the model never met removes that setup's
// offset too (the model README's "Corpus offsets" ends on the gap):
//
//	[VOXWARD_VOICEPRINT_MODEL=M] go test -tags research -run 'TestExpBoxOffset$' -v ./dsp/voiceprint/train/
//
// In each of the two large branches, the direction from the model's
// cohort mean (its English training speakers) to the mean of the venue's
// enrolments is projected out of every voiceprint and cohort row, as
// NAP would (the voiceprints are already orthogonal to the model's NAP,
// so projecting the unit voiceprint and normalising again is the same as
// one more NAP direction). The decisions are the daemon's: the venue joins
// the cohort and sets or raises the threshold (WithVenue). Measured on
// the sessions' pairs of TestExpSmallVenue (the multilingual evaluation
// half's people, each enrolled from two recordings, against every other
// recording), and on English dev speakers (a venue of five, the other
// five's sessions' pairs), to see what it costs where there is no offset.
// With M a model trained with --domains=false, the multilingual corpora
// are setups the model never met.

import (
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/voxward/voxward/dsp/voiceprint"
)

// boxOffset returns m with the offset of venue (in each branch of
// branches: the direction from the mean of m's cohort rows to the mean of
// the venue's parts) projected out of its cohort, and the function that
// projects it out of a voiceprint (a new slice, normalised as m's).
func boxOffset(m *voiceprint.Model, branches []int, venue [][]float32) (*voiceprint.Model, func([]float32) []float32) {
	scale := math.Sqrt(float64(len(m.Branches)))
	dirs := make([][]float32, len(m.Branches))
	var out []*voiceprint.Model
	off := 0
	offs := make([]int, len(m.Branches))
	for b, br := range m.Branches {
		ed := br.Config.EmbeddingDim()
		offs[b] = off
		off += ed
		if !slices.Contains(branches, b) {
			out = append(out, br)
			continue
		}
		cfg, p := br.Config, br.Params()
		d := make([]float64, ed)
		for _, v := range venue {
			for j, x := range v[offs[b] : offs[b]+ed] {
				d[j] += float64(x) * scale / float64(len(venue))
			}
		}
		for k := range cfg.CohortSize {
			for j, x := range p.Cohort[k*ed : (k+1)*ed] {
				d[j] -= float64(x) / float64(cfg.CohortSize)
			}
		}
		var n float64
		for _, x := range d {
			n += x * x
		}
		u := make([]float32, ed)
		for j, x := range d {
			u[j] = float32(x / math.Sqrt(n))
		}
		dirs[b] = u
		p.Cohort = slices.Clone(p.Cohort)
		for k := range cfg.CohortSize {
			row := p.Cohort[k*ed : (k+1)*ed]
			projectOut(row, u)
			normalizeRow(row)
		}
		nm, err := voiceprint.NewModel(cfg, p)
		if err != nil {
			panic(err)
		}
		out = append(out, nm)
	}
	fm, err := voiceprint.NewFusedModel(m.Config, out)
	if err != nil {
		panic(err)
	}
	project := func(v []float32) []float32 {
		w := slices.Clone(v)
		for b, u := range dirs {
			if u != nil {
				projectOut(w[offs[b]:offs[b]+len(u)], u)
			}
		}
		fm.Normalize(w)
		return w
	}
	return fm, project
}

func TestExpBoxOffset(t *testing.T) {
	ex := shippedExtractor(t)
	m := ex.Model()
	base := voiceprint.NewScorer(m)
	model, err := base.Threshold(0.01)
	if err != nil {
		t.Fatal(err)
	}
	large := []int{0, 1}
	t.Logf("model %s, 1 %% threshold %.3f", m.Config.ID, model)

	// The venue half's people (not those the model learned from), each
	// enrolled from two recordings; the evaluation half's sessions.
	learned := m.Config.TrainingSpeakers()
	var venue [][]float32
	var venueNames []string
	var evalDirs []string
	for _, corpus := range multilingualCorpora {
		dirs, _ := filepath.Glob(filepath.Join(dataDir, "multilingual", corpus, "*"))
		sort.Strings(dirs)
		for k, d := range dirs {
			if k%2 != 0 {
				evalDirs = append(evalDirs, d)
				continue
			}
			if slices.Contains(learned, filepath.Base(d)) {
				continue
			}
			files, _ := filepath.Glob(filepath.Join(d, "*.wav"))
			sort.Strings(files)
			venue = append(venue, firstTwoPooled(t, ex, files))
			venueNames = append(venueNames, d)
		}
	}
	people := sessionPeople(t, ex, evalDirs)
	if len(venue) < 15 || len(people) < 10 {
		t.Fatalf("venue of %d, %d people: is %s the shared data?", len(venue), len(people), dataDir)
	}
	project := func(proj func([]float32) []float32, ps []sessionPerson) []sessionPerson {
		out := make([]sessionPerson, len(ps))
		for i, p := range ps {
			out[i].enrol = proj(p.enrol)
			for _, v := range p.probes {
				out[i].probes = append(out[i].probes, proj(v))
			}
		}
		return out
	}
	e, far, frr := sessionRates(base, people, model)
	t.Logf("multilingual sessions (%d people), no venue: EER %.2f%%; model's threshold: far %.2f%%, frr %.2f%%", len(people), e, far, frr)

	// compare measures one venue with and without its offset.
	compare := func(what string, vs [][]float32, names []string, ps []sessionPerson) {
		sc, err := base.WithVenue(vs, names)
		if err != nil {
			t.Fatal(err)
		}
		thr, _ := sc.Threshold(0.01)
		from, _ := sc.ThresholdsFrom(0.01)
		e, far, frr := sessionRates(sc, ps, thr)
		pm, proj := boxOffset(m, large, vs)
		pvs := make([][]float32, len(vs))
		for i, v := range vs {
			pvs[i] = proj(v)
		}
		psc, err := voiceprint.NewScorer(pm).WithVenue(pvs, names)
		if err != nil {
			t.Fatal(err)
		}
		pthr, _ := psc.Threshold(0.01)
		pfrom, _ := psc.ThresholdsFrom(0.01)
		pps := project(proj, ps)
		pe, pfar, pfrr := sessionRates(psc, pps, pthr)
		_, mfar, mfrr := sessionRates(psc, pps, model)
		t.Logf("%s: venue: EER %.2f%%, %s %.2f: far %.2f%%, frr %.2f%% | + its offset: EER %.2f%%, %s %.2f: far %.2f%%, frr %.2f%% (model's %.2f: far %.2f%%, frr %.2f%%)",
			what, e, from, thr, far, frr, pe, pfrom, pthr, pfar, pfrr, model, mfar, mfrr)
	}
	r := rand.New(rand.NewPCG(3, 4))
	for _, size := range []int{3, 5, 8, 10, 15, len(venue)} {
		draws := 3
		if size == len(venue) {
			draws = 1
		}
		for d := range draws {
			var vs [][]float32
			var names []string
			for _, i := range r.Perm(len(venue))[:size] {
				vs = append(vs, venue[i])
				names = append(names, venueNames[i])
			}
			compare(fmt.Sprintf("multilingual, venue of %d (draw %d)", size, d), vs, names, people)
		}
	}

	// English: five dev speakers enrolled as the venue, the other five's
	// sessions, both ways.
	dirs, _ := filepath.Glob(filepath.Join(dataDir, "librispeech", "test-other", "*"))
	sort.Strings(dirs)
	en := sessionPeople(t, ex, dirs)
	for h := range 2 {
		var vs [][]float32
		var names []string
		var ps []sessionPerson
		for i, p := range en {
			if i%2 == h {
				vs = append(vs, p.enrol)
				names = append(names, dirs[i])
			} else {
				ps = append(ps, p)
			}
		}
		e, far, frr := sessionRates(base, ps, model)
		t.Logf("English, no venue (%d people): EER %.2f%%; model's threshold: far %.2f%%, frr %.2f%%", len(ps), e, far, frr)
		compare(fmt.Sprintf("English, venue of %d (%s speakers)", len(vs), strings.Repeat("odd", h)+strings.Repeat("even", 1-h)), vs, names, ps)
	}
}
