package train

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/voxward/voxward/dsp/voiceprint"
	"github.com/voxward/voxward/dsp/voiceprint/eval"
	"github.com/voxward/voxward/internal/parallel"
)

type trainedBranch struct {
	m          *voiceprint.Model
	uttSamples []int
	cohortIdx  []int
	// mlProj is the shipped branch's voiceprint of multilingual recording
	// j in channel c (mlChannels).
	mlProj func(j, c int) []float32
	// foreignFrom is the index of the first multilingual cohort entry (0:
	// none).
	foreignFrom int
	// content is the content part (voiceprint.Content) of variant v of
	// utterance i, and mlContent that of multilingual recording j in
	// channel c (nil without Config.ContentWeight).
	content   func(i, v int) []float32
	mlContent func(j, c int) []float32
	folds     [2]struct {
		m    *voiceprint.Model
		proj func(i, v int) []float32
	}
}

// trainBranch runs steps 1–3 of the recipe for one branch configuration.
func trainBranch(ctx context.Context, say func(string, ...any), tc Config, cfg voiceprint.ModelConfig, utts, ml []Utterance) (*trainedBranch, error) {
	if cfg.Neural != nil {
		return trainNeuralBranch(ctx, say, tc, cfg, utts, ml)
	}
	var err error
	dim := cfg.FeatureDim()
	say("branch %s", cfg.ID)

	// 1–2: pooled speech frames of clean, telephone and noisy copies.
	feats := make([][]float32, len(utts))
	fes := make([]*voiceprint.SpeechFeatures, tc.Jobs)
	for w := range fes {
		if fes[w], err = voiceprint.NewSpeechFeatures(cfg); err != nil {
			return nil, err
		}
	}
	err = parallel.For(ctx, len(utts), tc.Jobs, func(w, i int) error {
		x, err := readWAV(utts[i].Path)
		if err != nil {
			return err
		}
		var all []float32
		// Band-limited speech is a third of the pool: half the speakers
		// through the telephone channel, half as 8 kHz recordings.
		band := vTel
		if utts[i].Speaker%2 == 1 {
			band = vNarrow
		}
		for _, v := range []int{vClean, band, vNoise} {
			f, _ := fes[w].Compute(variantAudio(x, utts[i].Speaker, v))
			all = append(all, f...)
		}
		feats[i] = all
		return nil
	})
	if err != nil {
		return nil, err
	}
	total := 0
	for _, f := range feats {
		total += len(f) / dim
	}
	step := max(1, total/tc.Frames)
	var pool []float32
	k := 0
	for _, f := range feats {
		for t := 0; t+dim <= len(f); t += dim {
			if k%step == 0 {
				pool = append(pool, f[t:t+dim]...)
			}
			k++
		}
	}
	feats = nil
	say("%d speech frames, %d used for the UBM", total, len(pool)/dim)

	ubm, parent, err := TrainUBM(ctx, say, pool, dim, UBMRecipe{
		Components: cfg.Components, Parents: cfg.Parents,
		SplitIters: tc.SplitIters, Iters: tc.Iters, VarFloor: tc.VarFloor,
	}, tc.Jobs)
	if err != nil {
		return nil, err
	}
	pool = nil

	// 3: supervectors of every variant.
	base := cfg
	base.NAPRank, base.CohortSize, base.CohortTop, base.Calibration = 0, 0, 0, nil
	ed := cfg.EmbeddingDim()
	m0, err := voiceprint.NewModel(base, voiceprint.ModelParams{
		UBMWeights: ubm.Weights, UBMMeans: ubm.Means, UBMVars: ubm.Vars,
		ParentWeights: parent.Weights, ParentMeans: parent.Means, ParentVars: parent.Vars,
		ParentOf: AssignParents(ubm, parent), Center: make([]float32, ed),
	})
	if err != nil {
		return nil, err
	}
	exs := make([]*voiceprint.Extractor, tc.Jobs)
	for w := range exs {
		if exs[w], err = voiceprint.NewExtractor(m0); err != nil {
			return nil, err
		}
	}
	raw := make([][]float32, len(utts)*numVariants)
	occ := make([][]float32, len(utts)*numVariants)
	nuisance := vRoom + tc.Rooms // the NAP variants in use: those below it
	uttSamples := make([]int, len(utts))
	err = parallel.For(ctx, len(utts), tc.Jobs, func(w, i int) error {
		x, err := readWAV(utts[i].Path)
		if err != nil {
			return err
		}
		uttSamples[i] = len(x)
		for v := 0; v < numVariants; v++ {
			if v >= nuisance && v < napVariants {
				continue // a room the recipe does not use
			}
			st := exs[w].NewStats()
			exs[w].Accumulate(st, variantAudio(x, utts[i].Speaker, v))
			raw[i*numVariants+v] = m0.RawSupervector(nil, st)
			if tc.ContentWeight > 0 {
				occ[i*numVariants+v] = voiceprint.Content(nil, st.N)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	say("supervectors of %d utterances × %d variants", len(utts), numVariants-(napVariants-nuisance))
	// The multilingual recordings of the model half, in each of mlChannels.
	mlRaw := make([][]float32, len(ml)*len(mlChannels))
	mlOcc := make([][]float32, len(ml)*len(mlChannels))
	err = parallel.For(ctx, len(ml), tc.Jobs, func(w, j int) error {
		x, err := readWAV(ml[j].Path)
		if err != nil {
			return err
		}
		for c, ch := range mlChannels {
			st := exs[w].NewStats()
			exs[w].Accumulate(st, eval.Augment(x, ch, ml[j].Path))
			mlRaw[j*len(mlChannels)+c] = m0.RawSupervector(nil, st)
			if tc.ContentWeight > 0 {
				mlOcc[j*len(mlChannels)+c] = voiceprint.Content(nil, st.N)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(ml) > 0 {
		say("supervectors of %d multilingual recordings × %d channels", len(ml), len(mlChannels))
	}
	center := make([]float32, ed)
	for i := range raw {
		if i%numVariants >= nuisance {
			continue
		}
		for j, v := range raw[i] {
			center[j] += v / float32(len(utts)*nuisance)
		}
	}
	// With Domains, each multilingual corpus's offset (its learning
	// speakers' mean less the English training speakers') joins every
	// NAP, after the learned directions.
	rank := cfg.NAPRank
	var domain [][]float64
	if tc.Domains && rank > 0 {
		domain = corpusOffsets(raw, center, mlRaw, ml, func(j int) bool { return domainLearner(ml, j, tc.DomainEvery) }, len(utts), nuisance, ed)
		cfg.NAPRank += len(domain)
	}
	// Centred, unit-length supervectors; nuisance = deviation of each
	// variant from its speaker's mean. With --nap-crops the 3-second
	// pieces of the first channels join the variants, so the directions
	// also cover what varies between short pieces of one voice. napFrom
	// learns them from the utterances keep accepts.
	napFrom := func(keep func(i int) bool) ([]float32, error) {
		var dev [][]float32
		for i := range utts {
			if !keep(i) {
				continue
			}
			vs := make([]int, 0, napVariants+calibChannels*calibCrops)
			for v := range nuisance {
				vs = append(vs, v)
			}
			for ch := range tc.NAPCrops {
				for c := 0; c < calibCrops && (c+1)*cropSamples <= uttSamples[i]; c++ {
					vs = append(vs, vCrop+ch*calibCrops+c)
				}
			}
			mean := make([]float32, ed)
			us := make([][]float32, len(vs))
			for k, v := range vs {
				r := raw[i*numVariants+v]
				s := float32(unitScale(r, center))
				u := make([]float32, ed)
				for j := range r {
					u[j] = (r[j] - center[j]) * s
					mean[j] += u[j] / float32(len(vs))
				}
				us[k] = u
			}
			for _, u := range us {
				for j := range u {
					u[j] -= mean[j]
				}
			}
			dev = append(dev, us...)
		}
		dirs, err := topDirections(ctx, dev, rank, tc.Jobs)
		if err != nil {
			return nil, err
		}
		return appendOrthonormal(dirs, domain, ed), nil
	}
	nap, err := napFrom(func(int) bool { return true })
	if err != nil {
		return nil, err
	}
	say("NAP: %d nuisance directions, %d of them corpus offsets", cfg.NAPRank, len(domain))

	plan := newCohortPlan(tc, cfg, utts, ml)
	cfg.CohortLabels = plan.labels
	cfg.Training = fmt.Sprintf("voxward train: %d utterances of LibriSpeech train-clean-100 (CC BY 4.0, (c) 2014 Vassil Panayotov et al.) "+
		"with telephone and noise copies; UBM on %d frames, %d EM iterations", len(utts), tc.Frames, tc.Iters)
	build := func(nap []float32) (*voiceprint.Model, func(i, v int) []float32, []int, error) {
		withNAP := cfg
		withNAP.CohortSize, withNAP.CohortTop, withNAP.CohortLabels, withNAP.Calibration = 0, 0, nil, nil
		p := m0.Params()
		p.Center, p.NAP = center, nap
		m1, err := voiceprint.NewModel(withNAP, p)
		if err != nil {
			return nil, nil, nil, err
		}
		proj := func(i, v int) []float32 {
			out := append([]float32(nil), raw[i*numVariants+v]...)
			m1.Project(out)
			return out
		}
		var cohortIdx []int
		p.Cohort, cohortIdx = plan.entries(utts, ml, proj, func(j, c int) []float32 {
			v := append([]float32(nil), mlRaw[j*len(mlChannels)+c]...)
			m1.Project(v)
			return v
		})
		c := cfg
		c.CohortSize = len(cohortIdx)
		c.CohortTop = min(c.CohortTop, max(c.CohortSize-2, 0))
		m, err := voiceprint.NewModel(c, p)
		return m, proj, cohortIdx, err
	}
	out := &trainedBranch{uttSamples: uttSamples,
		content:   func(i, v int) []float32 { return occ[i*numVariants+v] },
		mlContent: func(j, c int) []float32 { return mlOcc[j*len(mlChannels)+c] },
	}
	if out.m, _, out.cohortIdx, err = build(nap); err != nil {
		return nil, err
	}
	if len(plan.ml) > 0 {
		out.foreignFrom = len(out.cohortIdx) - len(plan.ml)
	}
	shipped := out.m
	out.mlProj = func(j, c int) []float32 {
		v := append([]float32(nil), mlRaw[j*len(mlChannels)+c]...)
		shipped.Project(v)
		return v
	}
	// Cross-fitted models for calibration: fold f's speakers are scored
	// with a NAP learned without them, as the shipped model meets voices
	// it was not trained on.
	for f := range out.folds {
		foldNAP, err := napFrom(func(i int) bool { return utts[i].Speaker%2 != f })
		if err != nil {
			return nil, err
		}
		if out.folds[f].m, out.folds[f].proj, _, err = build(foldNAP); err != nil {
			return nil, err
		}
	}
	say("NAP of each calibration fold: %d directions learned from half the speakers, %d corpus offsets", rank, len(domain))
	return out, nil
}

// cohortPlan says which voiceprints a branch's s-norm cohort holds.
type cohortPlan struct {
	first    []bool   // the training utterances whose speakers' voiceprint joins (the speaker's first)
	channels []int    // the variant of speaker s's entry: channels[s % len(channels)]
	labels   []string // the entries' speakers
	ml, mlCh []int    // the multilingual entries: recording ml[k] in channel mlChannels[mlCh[k]]
}

// newCohortPlan makes a branch's cohort plan. Cohort: one voiceprint per
// speaker (its first utterance) of every CohortEvery-th speaker, channels
// alternating: clean, telephone and noise; for a branch of un-normalised
// frames (the mean branch, the neural one) also 8 kHz recordings and
// (with rooms) the first room copy, since its voiceprint moves with the
// channel, and pairs of one channel the cohort lacks would score far
// above its entries. With CohortSpeakers, that many speakers spread
// evenly over the list. Then the first tc.Multilingual recordings of each
// model-half multilingual speaker, the channels of mlChannels taking
// turns.
func newCohortPlan(tc Config, cfg voiceprint.ModelConfig, utts, ml []Utterance) cohortPlan {
	p := cohortPlan{channels: []int{vClean, vTel, vNoise}}
	if cfg.KeepMeans {
		p.channels = []int{vClean, vTel, vNarrow, vNoise}
		if tc.Rooms > 0 {
			p.channels = append(p.channels, vRoom)
		}
	}
	speakers := utts[len(utts)-1].Speaker + 1
	p.first = make([]bool, len(utts))
	seen := map[int]bool{}
	for i, u := range utts {
		p.first[i] = !seen[u.Speaker] && len(seen)%tc.CohortEvery == 0
		if k := tc.CohortSpeakers; k > 0 && k < speakers {
			p.first[i] = p.first[i] && (u.Speaker+1)*k/speakers != u.Speaker*k/speakers
		}
		if !seen[u.Speaker] {
			seen[u.Speaker] = true
		}
	}
	for i, u := range utts {
		if p.first[i] {
			p.labels = append(p.labels, filepath.Base(filepath.Dir(u.Path)))
		}
	}
	perSpk := map[int]int{}
	for j, u := range ml {
		if perSpk[u.Speaker] >= tc.Multilingual {
			continue
		}
		perSpk[u.Speaker]++
		p.mlCh = append(p.mlCh, len(p.ml)%len(mlChannels))
		p.ml = append(p.ml, j)
		p.labels = append(p.labels, filepath.Base(filepath.Dir(u.Path)))
	}
	return p
}

// entries returns the cohort's voiceprints, one after another, and each
// entry's speaker, given the voiceprint of variant v of training
// utterance i and of multilingual recording j in channel c.
func (p cohortPlan) entries(utts, ml []Utterance, proj, mlProj func(i, v int) []float32) ([]float32, []int) {
	var cohort []float32
	var idx []int
	for i, u := range utts {
		if p.first[i] {
			cohort = append(cohort, proj(i, p.channels[u.Speaker%len(p.channels)])...)
			idx = append(idx, u.Speaker)
		}
	}
	for k, j := range p.ml {
		cohort = append(cohort, mlProj(j, p.mlCh[k])...)
		idx = append(idx, ml[j].Speaker)
	}
	return cohort, idx
}
