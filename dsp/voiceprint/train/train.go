package train

import (
	"context"
	"fmt"
	"io"
	"math"
	"strings"
	"time"

	"github.com/voxward/voxward/dsp/voiceprint"
	"github.com/voxward/voxward/dsp/voiceprint/eval"
	"github.com/voxward/voxward/internal/parallel"
)

// Train runs the recipe: one branch, or with Fusion a feature-warped and
// a plain-CMN branch fused with equal weights; then the calibration. It
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
	cfgs := tc.branches()
	cfg := tc.Model
	say("%d training utterances; model %s", len(utts), cfg.ID)
	var brs []*trainedBranch
	for _, bc := range cfgs {
		br, err := trainBranch(ctx, say, tc, bc, utts)
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
			bc.Calibration, bc.IdentifyCalibration = c.Calibration, c.IdentifyCalibration
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
	// (clean, telephone or noisy: matched channels give the highest
	// non-target scores), each side normalised against the cohort without
	// its own speaker. Each threshold is the strictest of the channels', so
	// the false-accept rate holds in each, not only on their average. The
	// scores are cross-fitted: speakers of fold f (speaker index mod 2) are
	// scored, against each other only, with the model whose NAP was
	// learned without them.
	var scs [2]*voiceprint.Scorer
	for f := range scs {
		m, err := build(voiceprint.ModelConfig{ID: cfg.ID}, f)
		if err != nil {
			return nil, err
		}
		scs[f] = voiceprint.NewScorer(m)
	}
	type side struct {
		emb  []float32
		spk  int
		norm voiceprint.CohortNorm
	}
	mk := func(i, v int) side {
		f := spkOf[i] % 2
		e := proj(f, i, v)
		return side{emb: e, spk: spkOf[i], norm: scs[f].CohortNormExcluding(e, func(k int) bool { return cohortIdx[k] == spkOf[i] })}
	}
	score := func(a, b side) float64 { return scs[a.spk%2].ScoreWithNorms(a.emb, b.emb, a.norm, b.norm) }
	const enrolSamples = 8 * 16000
	longEnough := 0
	for _, n := range uttSamples {
		if n >= enrolSamples {
			longEnough++
		}
	}
	var as, bs []side // channels take turns: index % calibChannels
	var tar []float64 // same-speaker pairs: all but the last 3 s against the last 3 s
	for i := range utts {
		for c := 0; c < calibCrops && (c+1)*cropSamples <= uttSamples[i]; c++ {
			for ch := range calibChannels {
				bs = append(bs, mk(i, vCrop+ch*calibCrops+c))
			}
		}
		if uttSamples[i] < enrolSamples && longEnough >= 10 {
			continue // too short for an enrolment
		}
		for _, v := range calibEnrolment {
			as = append(as, mk(i, v))
		}
		if uttSamples[i] >= cropSamples+5*16000 {
			for _, v := range [][2]int{{vHead, vTail}, {vHeadTel, vTailTel}} {
				h, t := mk(i, v[0]), mk(i, v[1])
				tar = append(tar, score(h, t))
			}
		}
	}
	scores := make([]float64, len(as)*len(bs)) // NaN: not a same-channel non-target pair
	err = parallel.For(ctx, len(as), tc.Jobs, func(_, ai int) error {
		for bi := range bs {
			s := math.NaN()
			if ai%calibChannels == bi%calibChannels && as[ai].spk != bs[bi].spk && as[ai].spk%2 == bs[bi].spk%2 {
				s = score(as[ai], bs[bi])
			}
			scores[ai*len(bs)+bi] = s
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	var non [calibChannels][]float64
	for k, s := range scores {
		if !math.IsNaN(s) {
			ch := k % len(bs) % calibChannels
			non[ch] = append(non[ch], s)
		}
	}
	for _, far := range tc.FARs {
		thr, err := strictestThreshold(non[:], far)
		if err != nil {
			return nil, err
		}
		cfg.Calibration = append(cfg.Calibration, voiceprint.CalibrationPoint{FAR: far, Threshold: thr})
	}
	if cfg.IdentifyCalibration, err = identifyCalibration(len(as), len(bs), func(a, b int) float64 {
		return scores[a*len(bs)+b]
	}); err != nil {
		return nil, err
	}
	say("open-set calibration: %d session sizes", len(identifySizes))
	say("calibration: %d enrolments, %d probes of 3 s, %d non-target pairs in each of %d channels", len(as), len(bs), len(non[0]), calibChannels)
	for i, far := range tc.FARs {
		var per []string
		for ch := range non {
			t, _ := eval.ThresholdForFAR(non[ch], far)
			per = append(per, fmt.Sprintf("%.3f", t))
		}
		say("  FAR %g: threshold %.3f (clean, telephone, noise: %s)", far, cfg.Calibration[i].Threshold, strings.Join(per, ", "))
	}
	if eer, _, err := eval.EER(tar, non[0]); err == nil {
		say("training speakers, enrolment against their last 3 s: %d targets, EER %.2f%%", len(tar), 100*eer)
	}
	cfg.Training = fmt.Sprintf("voxward train: %d branches (%s), s-normalised scores averaged with equal weights; "+
		"%d utterances of LibriSpeech train-clean-100 (CC BY 4.0, (c) 2014 Vassil Panayotov et al.) "+
		"with telephone and noise copies; UBM on %d frames, %d EM iterations", len(brs), branchIDs(brs), len(utts), tc.Frames, tc.Iters)
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
