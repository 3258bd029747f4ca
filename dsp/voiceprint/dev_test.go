package voiceprint_test

import (
	"errors"
	"math/bits"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/voxward/voxward/dsp/voiceprint"
	"github.com/voxward/voxward/dsp/voiceprint/eval"
	"github.com/voxward/voxward/internal/testenv"
)

// devEER scores a dev trial list with the shipped model, one file at a
// time (the reference the eval command's figures are checked against).
func devEER(t *testing.T, data, list string) (eer, dcf float64, ntar, nnon int) {
	t.Helper()
	trials, err := eval.ReadTrials(filepath.Join(data, "trials", list))
	require.NoError(t, err)
	ex := shippedExtractor(t)
	m := ex.Model()
	sc := voiceprint.NewScorer(m)
	type vp struct {
		e []float32
		n voiceprint.CohortNorm
	}
	cache := map[string]vp{}
	get := func(paths []string) vp {
		k := strings.Join(paths, ",")
		if v, ok := cache[k]; ok {
			return v
		}
		st := ex.NewStats()
		for _, p := range paths {
			ex.Accumulate(st, testenv.ReadPCM16(t, filepath.Join(data, p)))
		}
		e := m.Voiceprint(nil, st)
		v := vp{e, sc.CohortNorm(e)}
		cache[k] = v
		return v
	}
	var tar, non []float64
	for _, tr := range trials {
		a, b := get(tr.Enroll), get([]string{tr.Test})
		s := sc.ScoreWithNorms(a.e, b.e, a.n, b.n)
		if tr.Target {
			tar = append(tar, s)
		} else {
			non = append(non, s)
		}
	}
	eer, _, err = eval.EER(tar, non)
	require.NoError(t, err)
	dcf, _, err = eval.MinDCF(tar, non, eval.DefaultDCF)
	require.NoError(t, err)
	return eer, dcf, len(tar), len(non)
}

// TestDevEER measures the shipped model on the dev lists. The bounds are
// the issue's aim of 1.5 % on 1v1 and, on 3v1, the best classical
// baseline measured on the same trials (GMM-UBM, 0.33 %, VOICEPRINT.md).
func TestDevEER(t *testing.T) {
	data := testenv.SharedData(t)
	skipUnderRace(t)
	for _, c := range []struct {
		list  string
		bound float64
	}{{"dev_testother_1v1.txt", 0.015}, {"dev_testother_3v1.txt", 0.0033}} {
		eer, dcf, nt, nn := devEER(t, data, c.list)
		t.Logf("%s: %d targets, %d non-targets: EER %.2f%%, minDCF(0.01) %.3f", c.list, nt, nn, 100*eer, dcf)
		assert.LessOrEqual(t, eer, c.bound, "%s EER = %.4f, want at most %.4f", c.list, eer, c.bound)
	}
}

// crops cuts x into non-overlapping pieces of n samples.
func crops(x []float32, n int) [][]float32 {
	var out [][]float32
	for i := 0; i+n <= len(x); i += n {
		out = append(out, x[i:i+n])
	}
	return out
}

// devSpeaker is one dev speaker enrolled from three utterances, and the
// 3-second segments of its other utterances.
type devSpeaker struct {
	cand voiceprint.Candidate
	segs []devSegment
}

// devSegment is a probe's voiceprint and its cohort statistics.
type devSegment struct {
	emb  []float32
	norm voiceprint.CohortNorm
}

// enrolDev enrols the ten dev speakers (three utterances each, in file
// order) and cuts their other utterances into 3-second probes.
func enrolDev(t *testing.T, data string, ex *voiceprint.Extractor, sc *voiceprint.Scorer) []devSpeaker {
	t.Helper()
	en := voiceprint.NewEnroller(ex, voiceprint.DefaultEnrollOptions())
	bySpk := map[string][]string{}
	for _, f := range testenv.TestOtherFiles(t, data) {
		s := filepath.Base(filepath.Dir(f))
		bySpk[s] = append(bySpk[s], f)
	}
	spks := make([]string, 0, len(bySpk))
	for s := range bySpk {
		spks = append(spks, s)
	}
	sort.Strings(spks)
	var out []devSpeaker
	for _, s := range spks {
		var samples [][]float32
		for _, f := range bySpk[s][:3] {
			samples = append(samples, testenv.ReadPCM16(t, f))
		}
		vp, q, err := en.Enroll(samples...)
		require.NoError(t, err, "enrol %s: %v", s, q.Issues)
		d := devSpeaker{cand: voiceprint.Candidate{ID: s, Emb: vp.Embedding, Norm: sc.CohortNorm(vp.Embedding)}}
		for _, f := range bySpk[s][3:] {
			for _, seg := range crops(testenv.ReadPCM16(t, f), 3*16000) {
				e, _ := ex.Embed(nil, seg)
				d.segs = append(d.segs, devSegment{e, sc.CohortNorm(e)})
			}
		}
		out = append(out, d)
	}
	return out
}

// TestOpenSet enrols the ten dev speakers (three utterances each) and
// identifies 3-second segments of their other utterances and up to four
// 3-second segments of each of the 200 training speakers, who are not
// enrolled (each scored with its own cohort entry left out, so it is as
// unknown to the scorer as to the session), at the threshold calibrated
// for 1 % false acceptance over the session. The training speakers' audio
// did shape the model (UBM, NAP, calibration): TestOpenSetUnseen is the
// check on voices the model never heard.
func TestOpenSet(t *testing.T) {
	data := testenv.SharedData(t)
	skipUnderRace(t)
	ex := shippedExtractor(t)
	m := ex.Model()
	sc := voiceprint.NewScorer(m)
	dev := enrolDev(t, data, ex, sc)
	var cands []voiceprint.Candidate
	for _, d := range dev {
		cands = append(cands, d.cand)
	}
	thr, err := sc.IdentifyThreshold(openSetFAR, len(cands))
	require.NoError(t, err)

	var known, named int
	var rightScores, unknownScores []float64 // best score when the best is right; best score of unknowns
	for _, d := range dev {
		for _, seg := range d.segs {
			got := sc.IdentifyWithNorm(seg.emb, seg.norm, cands, thr)
			known++
			if got.ID == d.cand.ID {
				rightScores = append(rightScores, got.Score)
			}
			if got.Known && got.ID == d.cand.ID {
				named++
			}
		}
	}
	train, err := filepath.Glob(filepath.Join(data, "librispeech", "train-clean-100", "*", "*.wav"))
	require.NoError(t, err)
	sort.Strings(train)
	var unknown, accepted int
	for _, f := range train {
		spk := filepath.Base(filepath.Dir(f))
		segs := crops(testenv.ReadPCM16(t, f), 3*16000)
		for _, seg := range segs[:min(len(segs), 4)] {
			e, _ := ex.Embed(nil, seg)
			tn := sc.CohortNormExcluding(e, func(k int) bool { return m.Config.CohortLabels[k] == spk })
			unknown++
			got := sc.IdentifyWithNorm(e, tn, cands, thr)
			unknownScores = append(unknownScores, got.Score)
			if got.Known {
				accepted++
			}
		}
	}
	pn, pa := float64(named)/float64(known), float64(accepted)/float64(unknown)
	t.Logf("open set, 10 enrolled, threshold %.3f (calibrated FAR 1%% per session): %d/%d = %.1f%% of 3-s segments of enrolled speakers named correctly; %d/%d = %.2f%% of unknown-speaker segments accepted",
		thr, named, known, 100*pn, accepted, unknown, 100*pa)
	// Where the trade-off sits: the threshold naming 95 % correctly, and
	// how many unknowns pass it.
	sort.Float64s(rightScores)
	if need := int(0.95 * float64(known)); need <= len(rightScores) && need > 0 {
		thr95 := rightScores[len(rightScores)-need]
		var fa int
		for _, u := range unknownScores {
			if u >= thr95 {
				fa++
			}
		}
		t.Logf("for 95%% named the threshold would be %.3f, accepting %.2f%% of unknowns; top-1 right for %d/%d", thr95, 100*float64(fa)/float64(unknown), len(rightScores), known)
	}
	// The requirement: both at once, at the calibrated threshold.
	assert.GreaterOrEqual(t, pn, 0.95, "enrolled speakers named correctly")
	assert.LessOrEqual(t, pa, openSetFAR, "unknown speakers accepted")
}

// TestOpenSetUnseen measures open-set identification where both the
// enrolled and the unknown voices are new to the model: in each of the
// 252 ways to split the ten dev speakers in two halves, five are enrolled
// and the other five are the unknowns, at the threshold calibrated for
// 1 % false acceptance with five enrolled.
func TestOpenSetUnseen(t *testing.T) {
	data := testenv.SharedData(t)
	skipUnderRace(t)
	ex := shippedExtractor(t)
	sc := voiceprint.NewScorer(ex.Model())
	dev := enrolDev(t, data, ex, sc)
	require.Len(t, dev, 10)
	thr, err := sc.IdentifyThreshold(openSetFAR, 5)
	require.NoError(t, err)
	var known, named, unknown, accepted int
	for mask := range 1 << len(dev) {
		if bits.OnesCount(uint(mask)) != 5 {
			continue
		}
		var cands []voiceprint.Candidate
		for i, d := range dev {
			if mask>>i&1 == 1 {
				cands = append(cands, d.cand)
			}
		}
		for i, d := range dev {
			enrolled := mask>>i&1 == 1
			for _, seg := range d.segs {
				got := sc.IdentifyWithNorm(seg.emb, seg.norm, cands, thr)
				switch {
				case enrolled:
					known++
					if got.Known && got.ID == d.cand.ID {
						named++
					}
				default:
					unknown++
					if got.Known {
						accepted++
					}
				}
			}
		}
	}
	pn, pa := float64(named)/float64(known), float64(accepted)/float64(unknown)
	t.Logf("open set on unseen voices, 5 enrolled and 5 unknown dev speakers, 252 splits, threshold %.3f (calibrated FAR 1%% per session): %.1f%% of enrolled speakers' 3-s segments named correctly; %d/%d = %.2f%% of unknown-speaker segments accepted",
		thr, 100*pn, accepted, unknown, 100*pa)
	assert.GreaterOrEqual(t, pn, 0.95, "enrolled speakers named correctly")
	assert.LessOrEqual(t, pa, openSetFAR, "unknown speakers accepted")
}

// openSetFAR is the session false-accept rate the open-set tests
// calibrate for.
var openSetFAR = 0.01

// TestVenueFitOnEnrolments checks the small-venue fit (Scorer.WithVenue
// with 5 to 21 people) on venues as a box holds them, enrolments of two
// recordings each (more where two hold too little speech for the
// enrolment gate): English dev speakers, who score against each other
// like the model's training speakers, keep the model's thresholds;
// Arabic and Malayalam speakers, who score far higher against each other
// (the multilingual false accepts), raise them.
func TestVenueFitOnEnrolments(t *testing.T) {
	data := testenv.SharedData(t)
	skipUnderRace(t)
	ex := shippedExtractor(t)
	base := voiceprint.NewScorer(ex.Model())
	en := voiceprint.NewEnroller(ex, voiceprint.DefaultEnrollOptions())
	// venue enrols each speaker folder from its first two recordings, or
	// as many more as the enrolment gate asks for.
	venue := func(dirs []string) *voiceprint.Scorer {
		var vps [][]float32
		var names []string
		for _, d := range dirs {
			files, err := filepath.Glob(filepath.Join(d, "*.wav"))
			require.NoError(t, err)
			sort.Strings(files)
			samples := [][]float32{testenv.ReadPCM16(t, files[0])}
			var vp voiceprint.Voiceprint
			var q voiceprint.EnrollQuality
			err = voiceprint.ErrEnrollQuality
			for _, f := range files[1:] {
				if !errors.Is(err, voiceprint.ErrEnrollQuality) {
					break
				}
				samples = append(samples, testenv.ReadPCM16(t, f))
				vp, q, err = en.Enroll(samples...)
			}
			require.NoError(t, err, "enrol %s from %d recordings: %v", d, len(samples), q.Issues)
			vps, names = append(vps, vp.Embedding), append(names, d)
		}
		sc, err := base.WithVenue(vps, names)
		require.NoError(t, err)
		return sc
	}
	model, err := base.Thresholds(0.01)
	require.NoError(t, err)
	modelID, err := base.IdentifyThresholds(0.01, 3)
	require.NoError(t, err)
	check := func(name string, dirs []string, want string) {
		sc := venue(dirs)
		thr, err := sc.Thresholds(0.01)
		require.NoError(t, err)
		id, err := sc.IdentifyThresholds(0.01, 3)
		require.NoError(t, err)
		from, _ := sc.ThresholdsFrom(0.01)
		fromID, _ := sc.IdentifyThresholdsFrom(0.01, 3)
		t.Logf("%s, %d people: 1 %% threshold %.3f (model %.3f, %s); three enrolled %.3f (model %.3f, %s)",
			name, len(dirs), thr.Any, model.Any, from, id.Any, modelID.Any, fromID)
		assert.Equal(t, want, from, name)
		assert.Equal(t, want, fromID, name)
		if want == voiceprint.FromModel {
			assert.Equal(t, model.Any, thr.Any, name)
		} else {
			assert.Greater(t, thr.Any, model.Any, name)
			assert.Greater(t, id.Any, modelID.Any, name)
		}
	}
	english, err := filepath.Glob(filepath.Join(data, "librispeech", "test-other", "*"))
	require.NoError(t, err)
	sort.Strings(english)
	require.Len(t, english, 10)
	check("English", english[:5], voiceprint.FromModel)
	check("English", english, voiceprint.FromModel)
	var multi []string
	for _, corpus := range []string{"arabic_commands", "malayalam_msc"} {
		dirs, err := filepath.Glob(filepath.Join(data, "multilingual", corpus, "*"))
		require.NoError(t, err)
		sort.Strings(dirs)
		multi = append(multi, dirs[:5]...)
	}
	check("Arabic", multi[:5], voiceprint.FromVenueFit)
	check("Malayalam", multi[5:], voiceprint.FromVenueFit)
}
