package train

import (
	"context"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/voxward/voxward/dsp/voiceprint"
	"github.com/voxward/voxward/dsp/voiceprint/eval"
	"github.com/voxward/voxward/internal/parallel"
)

// Train runs the recipe: one branch, or with Fusion a feature-warped and
// a plain-CMN branch (and, with MeanWeight above 0, a mean branch), fused;
// then the calibration. It
// reads the training speech of tc.Data and returns the calibrated model.
// Errors wrap ErrConfig for a bad recipe, or name the file that failed.
func Train(ctx context.Context, tc Config) (*voiceprint.Model, error) {
	if err := tc.Validate(); err != nil {
		return nil, err
	}
	tc.Model.DeltaWindow = 2
	tc.Model.ID = tc.ModelID()
	log := tc.Log
	if log == nil {
		log = io.Discard
	}
	start := time.Now()
	say := func(format string, a ...any) {
		fmt.Fprintf(log, "[%6.1fs] "+format+"\n", append([]any{time.Since(start).Seconds()}, a...)...)
	}
	utts, err := ListUtterances(tc.Data)
	if err != nil {
		return nil, err
	}
	var ml []Utterance
	if tc.Multilingual > 0 || tc.Domains {
		if ml, err = ListMultilingual(tc.Data, utts[len(utts)-1].Speaker+1); err != nil {
			return nil, err
		}
		if len(ml) == 0 {
			return nil, fmt.Errorf("no multilingual recordings under %s (train with --multilingual 0 --domains=false to do without)",
				filepath.Join(tc.Data, "multilingual"))
		}
	}
	cfgs := tc.branches()
	cfg := tc.Model
	cfg.BranchWeights = tc.branchWeights()
	say("%d training utterances, %d multilingual recordings; model %s", len(utts), len(ml), cfg.ID)
	var brs []*trainedBranch
	for _, bc := range cfgs {
		br, err := trainBranch(ctx, say, tc, bc, utts, ml)
		if err != nil {
			return nil, err
		}
		brs = append(brs, br)
	}
	spkOf := make([]int, len(utts))
	for i, u := range utts {
		spkOf[i] = u.Speaker
	}
	uttSamples, cohortIdx := brs[0].uttSamples, brs[0].cohortIdx
	// build assembles the shipped model (fold -1) or a calibration fold's
	// from the branches.
	build := func(c voiceprint.ModelConfig, fold int) (*voiceprint.Model, error) {
		ms := make([]*voiceprint.Model, len(brs))
		for k, br := range brs {
			ms[k] = br.m
			if fold >= 0 {
				ms[k] = br.folds[fold].m
			}
		}
		if len(ms) == 1 {
			bc := ms[0].Config
			bc.Calibration, bc.IdentifyCalibration, bc.BandLimited = c.Calibration, c.IdentifyCalibration, c.BandLimited
			bc.ForeignFrom, bc.ForeignMargin, bc.ForeignShift = c.ForeignFrom, c.ForeignMargin, c.ForeignShift
			return voiceprint.NewModel(bc, ms[0].Params())
		}
		return voiceprint.NewFusedModel(c, ms)
	}
	// proj is the voiceprint of variant v of utterance i in a fold's model.
	scale := float32(1 / math.Sqrt(float64(len(brs))))
	proj := func(fold, i, v int) []float32 {
		if len(brs) == 1 {
			return brs[0].folds[fold].proj(i, v)
		}
		var out []float32
		for _, br := range brs {
			for _, x := range br.folds[fold].proj(i, v) {
				out = append(out, scale*x)
			}
		}
		return out
	}

	// Calibration: s-normalised non-target scores between an enrolment
	// (a whole training utterance of at least enrolSamples) and every
	// 3-second piece of another speaker's utterance, in the same channel
	// (clean, telephone, noisy or 8 kHz: matched channels give the highest
	// non-target scores), each side normalised against the cohort without
	// its own speaker. The scores are cross-fitted: speakers of fold f
	// (speaker index mod 2) are scored, against each other only, with the
	// model whose NAP was learned without them. With a multilingual cohort,
	// two more sets: every recording of the model-half multilingual
	// speakers against every recording of another speaker of the same
	// corpus, as recorded and with both sides 8 kHz, scored with the
	// shipped model (their voices are in no NAP). Each threshold is the
	// strictest of the sets', so the false-accept rate holds in each, not
	// only on their average: the sets whose both sides are band-limited
	// (8 kHz) give the band-limited thresholds, the others the general
	// ones.
	foreignFrom := brs[0].foreignFrom
	var scs [2]*voiceprint.Scorer
	for f := range scs {
		m, err := build(voiceprint.ModelConfig{ID: cfg.ID, ForeignFrom: foreignFrom, BranchWeights: cfg.BranchWeights}, f)
		if err != nil {
			return nil, err
		}
		scs[f] = voiceprint.NewScorer(m)
	}
	type side struct {
		emb   []float32
		spk   int
		set   int // calibration set: the calibChannels, then the multilingual ones
		group int // pairs are scored within a group: the English fold, or a corpus
		sc    *voiceprint.Scorer
		norm  voiceprint.CohortNorm
		enrol bool      // an enrolment of open-set identification: one per speaker and set
		occ   []float32 // content part (voiceprint.Content) of branch 0
	}
	mk := func(i, v, set int) side {
		f := spkOf[i] % 2
		e := proj(f, i, v)
		return side{emb: e, spk: spkOf[i], set: set, group: f, sc: scs[f], enrol: true, occ: brs[0].content(i, v),
			norm: scs[f].CohortNormExcluding(e, func(k int) bool { return cohortIdx[k] == spkOf[i] })}
	}
	score := func(a, b side) float64 { return a.sc.ScoreWithNorms(a.emb, b.emb, a.norm, b.norm) }
	overlap := func(a, b side) float64 { return contentOverlap(a.occ, b.occ) }
	const enrolSamples = 8 * 16000
	longEnough := 0
	for _, n := range uttSamples {
		if n >= enrolSamples {
			longEnough++
		}
	}
	var as, bs []side
	var tar, tarOverlap []float64 // same-speaker pairs: all but the last 3 s against the last 3 s
	for i := range utts {
		for c := 0; c < calibCrops && (c+1)*cropSamples <= uttSamples[i]; c++ {
			for ch := range calibChannels {
				bs = append(bs, mk(i, vCrop+ch*calibCrops+c, ch))
			}
		}
		if uttSamples[i] < enrolSamples && longEnough >= 10 {
			continue // too short for an enrolment
		}
		for ch, v := range calibEnrolment {
			as = append(as, mk(i, v, ch))
		}
		if uttSamples[i] >= cropSamples+5*16000 {
			for _, v := range [][2]int{{vHead, vTail}, {vHeadTel, vTailTel}} {
				h, t := mk(i, v[0], 0), mk(i, v[1], 0)
				tar, tarOverlap = append(tar, score(h, t)), append(tarOverlap, overlap(h, t))
			}
		}
	}
	sets := []string{"clean", "telephone", "noise", "8 kHz"}
	bandLimited := []bool{false, false, false, true} // sets whose both sides are band-limited
	if tc.Multilingual > 0 {
		ship, err := build(voiceprint.ModelConfig{ID: cfg.ID, ForeignFrom: foreignFrom, BranchWeights: cfg.BranchWeights}, -1)
		if err != nil {
			return nil, err
		}
		shipSc := voiceprint.NewScorer(ship)
		corpus := map[string]int{}
		firstOf := map[[2]int]bool{}
		for c, ch := range mlChannels {
			set := len(sets)
			sets = append(sets, "multilingual "+ch)
			bandLimited = append(bandLimited, ch == "narrowband")
			for j, u := range ml {
				if _, ok := corpus[u.Corpus]; !ok {
					corpus[u.Corpus] = len(corpus)
				}
				var e []float32
				for _, br := range brs {
					for _, x := range br.mlProj(j, c) {
						e = append(e, scale*x)
					}
				}
				sd := side{emb: e, spk: u.Speaker, set: set, group: 2 + corpus[u.Corpus], sc: shipSc,
					enrol: !firstOf[[2]int{u.Speaker, set}], occ: brs[0].mlContent(j, c),
					norm: shipSc.CohortNormExcluding(e, func(k int) bool { return cohortIdx[k] == u.Speaker })}
				firstOf[[2]int{u.Speaker, set}] = true
				as, bs = append(as, sd), append(bs, sd)
			}
		}
	}
	scores := make([]float64, len(as)*len(bs)) // NaN: not a same-set non-target pair
	err = parallel.For(ctx, len(as), tc.Jobs, func(_, ai int) error {
		a := as[ai]
		for bi, b := range bs {
			s := math.NaN()
			if a.set == b.set && a.spk != b.spk && a.group == b.group {
				s = score(a, b)
			}
			scores[ai*len(bs)+bi] = s
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if tc.ContentWeight > 0 && len(brs) > 1 {
		ov := make([]float64, len(scores))
		err := parallel.For(ctx, len(as), tc.Jobs, func(_, ai int) error {
			for bi, b := range bs {
				if k := ai*len(bs) + bi; !math.IsNaN(scores[k]) {
					ov[k] = overlap(as[ai], b)
				}
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		setOf := make([]int, len(scores))
		for k := range setOf {
			setOf[k] = bs[k%len(bs)].set
			if setOf[k] >= calibChannels {
				setOf[k] = -1 // the English sets alone are fitted
			}
		}
		slope, centre := fitContent(scores, ov, setOf)
		cfg.ContentWeight, cfg.ContentCentre = tc.ContentWeight, centre
		for k, s := range scores {
			if !math.IsNaN(s) {
				scores[k] = s - cfg.ContentWeight*(ov[k]-cfg.ContentCentre)
			}
		}
		for k := range tar {
			tar[k] -= cfg.ContentWeight * (tarOverlap[k] - cfg.ContentCentre)
		}
		say("content matching: weight %g, centre %.4f (the training speakers' non-target scores rise %.3f per unit of content overlap within a set)", cfg.ContentWeight, centre, slope)
	}
	if foreignFrom > 0 {
		ma, mb, setOf := make([]float64, len(as)), make([]float64, len(bs)), make([]int, len(bs))
		for i, a := range as {
			ma[i] = a.norm.Margin
		}
		for i, b := range bs {
			mb[i], setOf[i] = b.norm.Margin, b.set
		}
		fc := calibrateForeign(scores, ma, mb, setOf, len(sets), calibChannels)
		cfg.ForeignFrom, cfg.ForeignMargin, cfg.ForeignShift = foreignFrom, fc.margin, fc.shift
		var per []string
		for set := range sets {
			per = append(per, fmt.Sprintf("%s %d/%d/%d", sets[set], fc.count[set][0], fc.count[set][1], fc.count[set][2]))
		}
		say("foreign sides (closer to a multilingual cohort voice than to any other by more than %.4f), pairs with 0/1/2: %s; shift %.2f: 1%% thresholds %.3f English, %.3f all",
			fc.margin, strings.Join(per, ", "), fc.shift, fc.home, fc.all)
	}
	// Each set's non-target pairs, with their speakers as indexes for the
	// bootstrap.
	spkIndex := map[int]int{}
	spkOfSide := func(s side) int {
		k, ok := spkIndex[s.spk]
		if !ok {
			k = len(spkIndex)
			spkIndex[s.spk] = k
		}
		return k
	}
	non := make([]eval.PairScores, len(sets))
	for k, s := range scores {
		if !math.IsNaN(s) {
			a, b := as[k/len(bs)], bs[k%len(bs)]
			p := &non[b.set]
			p.Scores, p.A, p.B = append(p.Scores, s), append(p.A, spkOfSide(a)), append(p.B, spkOfSide(b))
		}
	}
	// The general thresholds from the sets with a side that is not
	// band-limited, the band-limited ones (ModelConfig.BandLimited) from
	// the others. With CalibConfidence, the verification thresholds are
	// bounds over draws of the speakers; sample[limited] keeps the
	// sample's own, for the log.
	sample := map[bool][]float64{}
	calibrate := func(limited bool) ([]voiceprint.CalibrationPoint, []voiceprint.IdentifyCalibrationPoint, error) {
		var group []eval.PairScores
		var xs [][]float64
		for set, p := range non {
			if bandLimited[set] == limited {
				group, xs = append(group, p), append(xs, p.Scores)
			}
		}
		var cal []voiceprint.CalibrationPoint
		for _, far := range tc.FARs {
			thr, err := strictestThreshold(xs, far)
			if err != nil {
				return nil, nil, err
			}
			sample[limited] = append(sample[limited], thr)
			cal = append(cal, voiceprint.CalibrationPoint{FAR: far, Threshold: thr})
		}
		if tc.CalibConfidence > 0 {
			bounds, err := eval.ThresholdBounds(group, len(spkIndex), tc.FARs, tc.CalibConfidence)
			if err != nil {
				return nil, nil, err
			}
			for i := range cal {
				cal[i].Threshold = bounds[i]
			}
		}
		ical, err := identifyCalibration(len(as), len(bs), len(sets),
			func(b int) int { return bs[b].set },
			func(a, b int) float64 {
				if !as[a].enrol || bandLimited[bs[b].set] != limited {
					return math.NaN()
				}
				return scores[a*len(bs)+b]
			})
		return cal, ical, err
	}
	if cfg.Calibration, cfg.IdentifyCalibration, err = calibrate(false); err != nil {
		return nil, err
	}
	cfg.BandLimited = &voiceprint.ConditionCalibration{}
	if cfg.BandLimited.Calibration, cfg.BandLimited.IdentifyCalibration, err = calibrate(true); err != nil {
		return nil, err
	}
	say("open-set calibration: %d session sizes", len(identifySizes))
	say("calibration: %d enrolments, %d probes, non-target pairs in each of %d sets", len(as), len(bs), len(sets))
	if tc.CalibConfidence > 0 {
		say("verification thresholds hold their rate with %g confidence over %d training speakers (a bootstrap of them); the sample's own in brackets", tc.CalibConfidence, len(spkIndex))
	}
	for i, far := range tc.FARs {
		var per []string
		for set := range non {
			t, _ := eval.ThresholdForFAR(non[set].Scores, far)
			per = append(per, fmt.Sprintf("%s %.3f (%d pairs)", sets[set], t, len(non[set].Scores)))
		}
		say("  FAR %g: threshold %.3f [%.3f], both sides band-limited %.3f [%.3f] (%s)", far, cfg.Calibration[i].Threshold, sample[false][i],
			cfg.BandLimited.Calibration[i].Threshold, sample[true][i], strings.Join(per, ", "))
	}
	if eer, _, err := eval.EER(tar, non[0].Scores); err == nil {
		say("training speakers, enrolment against their last 3 s: %d targets, EER %.2f%%", len(tar), 100*eer)
	}
	weights := "equal weights"
	if cfg.BranchWeights != nil {
		weights = fmt.Sprintf("weights %v", cfg.BranchWeights)
	}
	cfg.Training = fmt.Sprintf("voxward train: %d branches (%s), s-normalised scores averaged with %s; "+
		"%d utterances of LibriSpeech train-clean-100 (CC BY 4.0, (c) 2014 Vassil Panayotov et al.) "+
		"with telephone and noise copies; UBM on %d frames, %d EM iterations", len(brs), branchIDs(brs), weights, len(utts), tc.Frames, tc.Iters)
	if tc.Domains && tc.Model.NAPRank > 0 { // the offsets join NAP: without it none is learned
		n := 0
		for j, u := range ml {
			if !domainLearner(ml, j, tc.DomainEvery) {
				continue
			}
			n++
			if l := filepath.Base(filepath.Dir(u.Path)); !slices.Contains(cfg.LearnedFrom, l) {
				cfg.LearnedFrom = append(cfg.LearnedFrom, l)
			}
		}
		cfg.Training += fmt.Sprintf("; NAP also removes the offset of each multilingual corpus, the mean of %d recordings of %d speakers (one in %d speaker folders of each corpus's model half) "+
			"of multilingual/arabic_commands (Arabic Speech Commands Dataset, CC BY 4.0) and multilingual/malayalam_msc "+
			"(Malayalam Speech Corpus, (c) Swathanthra Malayalam Computing and contributors, CC BY-SA 4.0)", n, len(cfg.LearnedFrom), tc.DomainEvery)
	}
	if tc.CalibConfidence > 0 {
		cfg.Training += fmt.Sprintf("; verification thresholds hold their rate with %g confidence over a bootstrap of the %d calibration speakers", tc.CalibConfidence, len(spkIndex))
	}
	if tc.Multilingual > 0 {
		cfg.Training += fmt.Sprintf("; cohort and calibration also hold %d recordings of %d speakers, every other speaker folder "+
			"of multilingual/arabic_commands (Arabic Speech Commands Dataset, CC BY 4.0) and multilingual/malayalam_msc "+
			"(Malayalam Speech Corpus, (c) Swathanthra Malayalam Computing and contributors, CC BY-SA 4.0)", len(ml), ml[len(ml)-1].Speaker-ml[0].Speaker+1)
	}
	m, err := build(cfg, -1)
	if err != nil {
		return nil, err
	}
	say("done: %s", strings.TrimSpace(cfg.ID))
	return m, nil
}

func branchIDs(brs []*trainedBranch) string {
	var ids []string
	for _, b := range brs {
		ids = append(ids, b.m.Config.ID)
	}
	return strings.Join(ids, ", ")
}
