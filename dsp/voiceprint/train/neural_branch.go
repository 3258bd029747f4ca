package train

import (
	"context"
	"fmt"
	"slices"

	"github.com/voxward/voxward/dsp/voiceprint"
	"github.com/voxward/voxward/dsp/voiceprint/eval"
	"github.com/voxward/voxward/dsp/voiceprint/tdnn"
	"github.com/voxward/voxward/internal/parallel"
)

// neuralTrainVariants are the channels the neural extractor learns from:
// clean, telephone, noise (5, 10 or 20 dB by speaker), noise at 15 dB,
// 8 kHz, then the rooms of the speaker's own the recipe uses (Config.Rooms).
func neuralTrainVariants(rooms int) []int {
	vs := []int{vClean, vTel, vNoise, vNoise15, vNarrow}
	for r := range rooms {
		vs = append(vs, vRoom+r)
	}
	return vs
}

// trainNeuralBranch makes the neural branch (Config.NeuralWeight): three
// networks (TrainNeural) on the speech frames of every training utterance
// in neuralTrainVariants, one on all the speakers for the shipped model
// and one per calibration fold on the other fold's speakers only, so that
// calibration scores each speaker with a network that never heard it, as
// the shipped model meets new voices (the GMM branches do the same with
// their NAP). A fold's network learns from half the speakers, so half the
// steps give it as many passes over its data. Each model holds its
// network rounded as stored (8-bit weights); the centre is the mean of
// its raw embeddings over the variants the GMM branches centre on, and
// the cohort is newCohortPlan's.
func trainNeuralBranch(ctx context.Context, say func(string, ...any), tc Config, cfg voiceprint.ModelConfig, utts, ml []Utterance) (*trainedBranch, error) {
	say("branch %s", cfg.ID)
	dim := cfg.FeatureDim()
	fes := make([]*voiceprint.SpeechFeatures, tc.Jobs)
	for w := range fes {
		var err error
		if fes[w], err = voiceprint.NewSpeechFeatures(cfg); err != nil {
			return nil, err
		}
	}
	variants := neuralTrainVariants(tc.Rooms)
	// Classes: the speakers as recorded (class s), then the speakers at
	// each of Neural.Speeds in turn (class s + speakers·k at the k-th
	// speed, k from 1), as foldRecords reads them.
	speakers := utts[len(utts)-1].Speaker + 1
	recs := make([][]NeuralRecord, len(utts))
	uttSamples := make([]int, len(utts))
	err := parallel.For(ctx, len(utts), tc.Jobs, func(w, i int) error {
		x, err := readWAV(utts[i].Path)
		if err != nil {
			return err
		}
		uttSamples[i] = len(x)
		spk := utts[i].Speaker
		for k := -1; k < len(tc.Neural.Speeds); k++ {
			xs, class := x, spk
			if k >= 0 {
				xs, class = eval.Speed(x, tc.Neural.Speeds[k]), spk+speakers*(1+k)
			}
			for _, v := range variants {
				f, _ := fes[w].Compute(variantAudio(xs, spk, v))
				recs[i] = append(recs[i], NeuralRecord{Speaker: class, Frames: slices.Clone(f)})
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	all := slices.Concat(recs...)
	recs = nil
	frames := 0
	for _, r := range all {
		frames += len(r.Frames) / dim
	}
	say("%d speech frames of %d utterances in %d channels at %d speeds for the networks", frames, len(utts), len(variants), 1+len(tc.Neural.Speeds))

	classes := speakers * (1 + len(tc.Neural.Speeds))
	train := func(name string, recs []NeuralRecord, speakers int, nc NeuralConfig) (*tdnn.Net, error) {
		return TrainNeural(ctx, recs, dim, speakers, nc, tc.Jobs, func(step, steps int, loss, acc float64) {
			if step%500 == 0 || step == steps {
				say("network %s: step %d of %d, loss %.3f, %.0f %% of the batch's crops named right", name, step, steps, loss, 100*acc)
			}
		})
	}
	nets := make([]*tdnn.Net, 3) // the shipped model's, then fold 0's and fold 1's
	if nets[0], err = train("of all speakers", all, classes, tc.Neural); err != nil {
		return nil, err
	}
	for f := range 2 {
		half, n := foldRecords(all, speakers, f)
		nc := tc.Neural
		nc.Steps = max(1, nc.Steps/2)
		nc.Seed += uint64(1 + f)
		if nets[1+f], err = train(fmt.Sprintf("of calibration fold %d", f), half, n, nc); err != nil {
			return nil, err
		}
	}
	all = nil

	// Raw embeddings of every variant and multilingual recording with each
	// network, as the models will compute them (rounded networks), the
	// three sharing one front end.
	base := cfg
	base.CohortSize, base.CohortTop, base.CohortLabels, base.Calibration = 0, 0, nil, nil
	ed := cfg.EmbeddingDim()
	m0 := make([]*voiceprint.Model, len(nets))
	for k, n := range nets {
		if m0[k], err = voiceprint.NewNeuralModel(base, n, make([]float32, ed), nil); err != nil {
			return nil, err
		}
	}
	trio, err := voiceprint.NewFusedModel(voiceprint.ModelConfig{ID: cfg.ID}, m0)
	if err != nil {
		return nil, err
	}
	exs := make([]*voiceprint.Extractor, tc.Jobs)
	for w := range exs {
		if exs[w], err = voiceprint.NewExtractor(trio); err != nil {
			return nil, err
		}
	}
	embed := func(w int, x []float32) [][]float32 {
		st := exs[w].NewStats()
		exs[w].Accumulate(st, x)
		out := make([][]float32, len(nets))
		for k, m := range m0 {
			out[k] = m.RawSupervector(nil, st.Branches[k])
		}
		return out
	}
	nuisance := vRoom + tc.Rooms // the variants the centre averages: those below it
	raw := make([][][]float32, len(utts)*numVariants)
	err = parallel.For(ctx, len(utts), tc.Jobs, func(w, i int) error {
		x, err := readWAV(utts[i].Path)
		if err != nil {
			return err
		}
		for v := range numVariants {
			if v >= nuisance && v < napVariants {
				continue // a room the recipe does not use
			}
			raw[i*numVariants+v] = embed(w, variantAudio(x, utts[i].Speaker, v))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	// The multilingual recordings' embeddings serve only a recipe that
	// puts them in the cohort and the calibration (--multilingual); the
	// network has no corpus offsets to learn from them.
	var mlRaw [][][]float32
	if tc.Multilingual > 0 {
		mlRaw = make([][][]float32, len(ml)*len(mlChannels))
		err = parallel.For(ctx, len(ml), tc.Jobs, func(w, j int) error {
			x, err := readWAV(ml[j].Path)
			if err != nil {
				return err
			}
			for c, ch := range mlChannels {
				mlRaw[j*len(mlChannels)+c] = embed(w, eval.Augment(x, ch, ml[j].Path))
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	say("embeddings of %d utterances × %d variants and %d multilingual recordings with each network", len(utts), numVariants-(napVariants-nuisance), len(mlRaw)/len(mlChannels))

	plan := newCohortPlan(tc, cfg, utts, ml)
	cfg.CohortLabels = plan.labels
	cfg.Training = fmt.Sprintf("voxward train: a %d-channel TDNN (%d-value embedding) trained in Go on %d speech frames of %d utterances "+
		"of LibriSpeech train-clean-100 (CC BY 4.0, (c) 2014 Vassil Panayotov et al.) in %d channels, %d steps of %d crops of %d frames",
		tc.Neural.Width, tc.Neural.Dim, frames, len(utts), len(variants), tc.Neural.Steps, tc.Neural.Batch, tc.Neural.Frames)
	// build assembles network k's model: its centre, its projections and
	// its cohort.
	build := func(k int) (*voiceprint.Model, func(i, v int) []float32, func(j, c int) []float32, []int, error) {
		center := make([]float32, ed)
		n := 0
		for i := range utts {
			for v := range nuisance {
				for j, x := range raw[i*numVariants+v][k] {
					center[j] += x
				}
				n++
			}
		}
		for j := range center {
			center[j] /= float32(n)
		}
		m1, err := voiceprint.NewNeuralModel(base, nets[k], center, nil)
		if err != nil {
			return nil, nil, nil, nil, err
		}
		proj := func(i, v int) []float32 {
			out := slices.Clone(raw[i*numVariants+v][k])
			m1.Project(out)
			return out
		}
		mlProj := func(j, c int) []float32 {
			out := slices.Clone(mlRaw[j*len(mlChannels)+c][k])
			m1.Project(out)
			return out
		}
		cohort, idx := plan.entries(utts, ml, proj, mlProj)
		c := cfg
		c.CohortSize = len(idx)
		c.CohortTop = min(c.CohortTop, max(c.CohortSize-2, 0))
		m, err := voiceprint.NewNeuralModel(c, nets[k], center, cohort)
		return m, proj, mlProj, idx, err
	}
	out := &trainedBranch{uttSamples: uttSamples,
		content:   func(int, int) []float32 { return nil },
		mlContent: func(int, int) []float32 { return nil },
	}
	if out.m, _, out.mlProj, out.cohortIdx, err = build(0); err != nil {
		return nil, err
	}
	if len(plan.ml) > 0 {
		out.foreignFrom = len(out.cohortIdx) - len(plan.ml)
	}
	for f := range out.folds {
		if out.folds[f].m, out.folds[f].proj, _, _, err = build(1 + f); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// foldRecords returns the records a calibration fold's network learns
// from, and how many classes they make: those of every speaker outside
// fold f (speaker%2 != f, of speakers), at every speed, numbered 0, 1, …
// in order, a speed after another. A record's class is speaker +
// speakers·k at speed k (k = 0: as recorded).
func foldRecords(all []NeuralRecord, speakers, f int) ([]NeuralRecord, int) {
	n := (speakers + f) / 2 // the other fold's speakers: the odd ones for fold 0, the even ones for fold 1
	var half []NeuralRecord
	classes := 0
	for _, r := range all {
		if spk, k := r.Speaker%speakers, r.Speaker/speakers; spk%2 != f {
			half = append(half, NeuralRecord{Speaker: k*n + spk/2, Frames: r.Frames})
			classes = max(classes, (k+1)*n)
		}
	}
	return half, classes
}
