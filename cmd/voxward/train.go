package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/voxward/voxward/dsp/voiceprint/train"
)

func init() {
	register(&command{name: "train", summary: "train the voiceprint model from speech data", run: runTrain})
}

const trainHelp = `Trains the voiceprint model from the training speakers of a speech data
folder and writes it as one file that dsp/voiceprint embeds
(dsp/voiceprint/model/voiceprint.bin).
The defaults make the shipped model: "make voiceprint-model".

The recipe, deterministic for a given data folder and flags (any --jobs),
runs steps 1–3 once per branch: with --fusion (the default) a
feature-warped branch (MAP relevance --relevance, 8), a plain-CMN branch
(cepstral mean subtraction, relevance --cmn-relevance, 16) and, with
--mean-weight above 0 (the default 0.2), a mean branch that keeps what the
other two normalise away: the frames as they are, one Gaussian (the
training frames' mean and variance), no NAP, its 200-entry cohort as
float16 — its voiceprint is the utterance's long-term mean of the
features, which carries the speaker's vocal tract (and the channel); with
--neural-weight above 0 (the default 0.4) a neural branch, below; the
GMM branches then keep their UBM, selector and centre at half precision
(the room in 4 MiB for the network); otherwise the flags' single recipe:
 1. every WAV under DATA/librispeech/train-clean-100 (one utterance per
    speaker) is read, and two copies are made: one band-limited — for half
    the speakers through a telephone channel (300–3400 Hz, G.711 μ-law),
    for the other half as an 8 kHz recording (nothing above 4 kHz) — and
    one with seeded noise at 5, 10 or 20 dB SNR;
 2. speech frames (VAD, 20 MFCCs + Δ + ΔΔ, Gaussianised over each
    utterance, or mean-subtracted in the CMN branch) of all three are pooled
    and a 256-component diagonal GMM (the UBM) is trained by EM with binary
    splitting; the 32-component stage is kept as the selector that picks,
    per frame, which UBM components to score (top 4 parents, top 10
    components);
 3. MAP mean supervectors of every utterance, its halves and its channel
    copies (telephone and 8 kHz for every speaker) and its copies in
    simulated rooms (--rooms 4: reverberation times 0.25–0.9 s and a
    microphone's colouration, four rooms of each speaker's own) give the
    centre and, with those of its 3-second pieces
    (--nap-crops 1: clean pieces), the nuisance (channel, room, session
    and short-segment) directions removed by NAP (--nap, 20); with
    --domains (the default) the NAP of the two large branches also removes
    one direction per multilingual corpus, the mean voiceprint of
    recordings of its "model half" (every other speaker folder of each
    corpus in DATA/multilingual, sorted; the other half is never read),
    from one in --domain-every (3) of those speakers, less the English
    speakers' mean: the offset a corpus's recording setup gives all its
    voices (inter-dataset variability compensation); the model names those
    speakers, and voxward eval leaves them out of trials and venues; a
    cohort of one voiceprint per speaker (channels alternating) for
    adaptive s-norm (top 100); with --compact (the default) NAP
    directions are stored as int8 and cohort voiceprints as 4-bit values,
    each with a power-of-two scale, which keeps the model within 4 MiB;
    The neural branch runs this instead of steps 1–3: an x-vector
    network (five TDNN layers of
    --neural-width (64) channels, the last three times as wide, statistics
    pooling, a --neural-dim (256) value embedding; 160,064 weights) is
    trained here, in Go and deterministically, as a classifier of the 200
    training speakers with an additive angular margin, on random 2-s
    crops of their un-normalised frames in nine channels (clean,
    telephone, noise, noise at 15 dB, 8 kHz, the four rooms), with
    masking, --neural-steps (2000) Adam steps of 64 crops; two more
    networks, each on one calibration fold's other 100 speakers (half the
    steps), keep the calibration cross-fitted; its voiceprint is the
    embedding less the training embeddings' mean, at unit length, its
    cohort one per training speaker (channels alternating as in the mean
    branch), the network stored with 8-bit weights;
 4. the branches are fused: the voiceprint is the branch voiceprints side by
    side, the score the weighted mean of their s-normalised scores (the
    neural branch --neural-weight, 0.4; of the rest, the mean branch
    --mean-weight, 0.2, the two others half the rest each);
 5. thresholds are calibrated on the fused scores of non-target pairs of
    training speakers in the same channel — an enrolment (a whole utterance
    of at least 8 s) against each of the first four 3-second pieces of
    another speaker's utterance — for verification, and on simulated
    open-set sessions (1–50 enrolled, 25 draws per probe) for
    identification, in three channels (clean, telephone, noise at 15 dB);
    each threshold is the strictest of the channels', so the false-accept
    rate holds in each. A fourth channel, both sides 8 kHz recordings,
    sets the thresholds of comparisons whose both sides are band-limited
    (speech reaching no higher than 4,500 Hz, as the extractor measures
    it): such pairs of different voices score higher. The scores are cross-fitted: the speakers are split
    in two folds, and each fold is scored with a NAP learned from the other
    fold only, as the shipped model meets voices it was not trained on.
    With --calib-confidence 0.9 (the default) each verification threshold
    holds its rate with that confidence over the speakers, not only on
    these ones: it is the 90th percentile, over 1,000 bootstrap draws of
    the training speakers (each pair counted as often as its two speakers
    were drawn), of the strictest channel's threshold, the rule a venue's
    threshold keeps too; new voices are another draw of speakers, for
    which a threshold fitted to this one can be too low (0: the sample's
    own thresholds, the model before 2026-11-30).

Research options, off in the shipped recipe (dsp/voiceprint/model/README.md
has their figures): --multilingual N adds the first N recordings of each
speaker of the "model half" of DATA/multilingual (every other speaker
folder of each corpus, sorted; the other half is never read, and voxward
eval leaves out the trials of the speakers a model's cohort names) to the
cohort, as recorded and as 8 kHz recordings in turn, and two calibration
sets (those recordings against other speakers' of the same corpus, as
recorded and both sides 8 kHz); a voiceprint closer to one of those
cohort voices than to any other, by more than the margin 1 % of the
English training sides exceed, is "foreign", and each foreign side of a
pair lowers its score by half a shift, the smallest that brings every
set's 1 % threshold down to the English sets'. --cohort-speakers N keeps
N of the 200 training speakers in the cohort (room in 4 MiB for those
entries). --content-weight W gives each voiceprint a content part (the
square roots of the share of speech frames each component of branch 1's
UBM took: which sounds of speech the recording holds), and every score
gives back W times the two sides' content overlap (Bhattacharyya
coefficient) above the calibration pairs' mean, before the thresholds
are calibrated: saying the same words raises different voices' scores
(content matching; with 4 the English lists gain, open-set naming does
not hold 95 %). --neural-speeds 90,110 adds speed-perturbed copies of
every training utterance (resampled so that it plays 10 % slower and
faster, pitch and formants with it), in every channel, to the neural
branch's training, each speed's voices as 200 more speakers: the
shipped model's network learns 600 voices instead of 200 (each
calibration fold's, 300 instead of 100).`

func runTrain(ctx context.Context, sio *stdio, args []string) error {
	fs := newFlags(sio, "train", "train [--data DIR] [--out FILE] [flags]", trainHelp)
	tc := train.DefaultConfig()
	fs.StringVar(&tc.Data, "data", tc.Data, "speech data folder (holds librispeech/train-clean-100 and, with --domains or --multilingual, multilingual/)")
	out := fs.String("out", filepath.Join("dsp", "voiceprint", "model", "voiceprint.bin"), "model file to write")
	fs.IntVar(&tc.Frames, "frames", tc.Frames, "speech frames sampled for the UBM")
	fs.IntVar(&tc.Jobs, "jobs", tc.Jobs, "parallel workers")
	fs.IntVar(&tc.Iters, "iters", tc.Iters, "EM iterations at the final size")
	fs.IntVar(&tc.SplitIters, "split-iters", tc.SplitIters, "EM iterations after each split")
	fs.Float64Var(&tc.VarFloor, "var-floor", tc.VarFloor, "variance floor as a fraction of the global variance")
	c := &tc.Model
	fs.StringVar(&c.ID, "id", "", "model id (default: derived from the recipe)")
	fs.IntVar(&c.NumCeps, "num-ceps", c.NumCeps, "MFCCs (C0 included)")
	fs.IntVar(&c.NumMelBins, "num-mel-bins", c.NumMelBins, "mel bins")
	fs.Float64Var(&c.LowFreq, "low-freq", c.LowFreq, "lowest mel frequency, Hz")
	fs.Float64Var(&c.HighFreq, "high-freq", c.HighFreq, "highest mel frequency, Hz (≤ 0: Nyquist + value)")
	fs.IntVar(&c.DeltaOrder, "delta-order", c.DeltaOrder, "0: statics, 1: +Δ, 2: +Δ+ΔΔ")
	fs.Float64Var(&c.NoiseSubtraction, "noise-subtraction", c.NoiseSubtraction, "mel-domain noise over-subtraction α (0: off)")
	fs.BoolVar(&c.FeatureWarp, "warp", c.FeatureWarp, "Gaussianise features over each utterance instead of CMN")
	fs.Float64Var(&c.FrameSNRDB, "frame-snr", c.FrameSNRDB, "keep speech frames at least this many dB above the noise (0: all)")
	fs.Float64Var(&c.NoiseFloor, "noise-floor", c.NoiseFloor, "mel-domain noise floor β (with --noise-subtraction)")
	fs.IntVar(&c.Components, "components", c.Components, "UBM components (a power of two times --parents)")
	fs.IntVar(&c.Parents, "parents", c.Parents, "selector GMM components")
	fs.IntVar(&c.TopParents, "top-parents", c.TopParents, "selector components kept per frame")
	fs.IntVar(&c.TopN, "top-n", c.TopN, "UBM components kept per frame")
	fs.Float64Var(&c.Relevance, "relevance", c.Relevance, "MAP relevance factor")
	fs.IntVar(&c.NAPRank, "nap", c.NAPRank, "nuisance directions removed")
	fs.IntVar(&c.CohortTop, "cohort-top", c.CohortTop, "adaptive s-norm: top cohort scores used")
	fs.IntVar(&tc.NAPCrops, "nap-crops", tc.NAPCrops, "NAP also learns from the 3-s pieces of this many channels (0–4: clean, telephone, noise, 8 kHz)")
	fs.IntVar(&tc.Rooms, "rooms", tc.Rooms, "NAP also learns from copies of each training utterance in this many simulated rooms of the speaker's own (0–4: reverberation and a microphone's colouration)")
	fs.BoolVar(&tc.Fusion, "fusion", tc.Fusion, "train a second, plain-CMN branch (and, with --mean-weight, a mean branch) and fuse them")
	fs.Float64Var(&tc.MeanWeight, "mean-weight", tc.MeanWeight, "weight of a third, mean branch (un-normalised frames, one Gaussian) in the fused score (with --fusion; 0: no mean branch)")
	fs.Float64Var(&tc.CMNRelevance, "cmn-relevance", tc.CMNRelevance, "MAP relevance factor of the plain-CMN branch (with --fusion)")
	fs.IntVar(&tc.CohortEvery, "cohort-every", tc.CohortEvery, "the s-norm cohort takes every Nth training speaker (1: all 200)")
	fs.IntVar(&tc.CohortSpeakers, "cohort-speakers", tc.CohortSpeakers, "keep this many training speakers in the s-norm cohort, spread evenly (0: all)")
	fs.IntVar(&tc.Multilingual, "multilingual", tc.Multilingual, "recordings of each model-half multilingual speaker (every other speaker folder of DATA/multilingual/*) in the cohort, whose non-target pairs the calibration also holds (0: LibriSpeech only)")
	fs.BoolVar(&tc.Domains, "domains", tc.Domains, "NAP of the two large branches also removes each multilingual corpus's offset: the mean voiceprint of its model-half recordings less the English speakers' (inter-dataset variability compensation)")
	fs.IntVar(&tc.DomainEvery, "domain-every", tc.DomainEvery, "with --domains, learn the offsets from one in this many speakers of each corpus's model half (1: all; the rest can stand for a venue the model never learned from)")
	fs.Float64Var(&tc.CalibConfidence, "calib-confidence", tc.CalibConfidence, "each verification threshold holds its false-accept rate with this confidence over draws of the training speakers (a bootstrap); 0: the training speakers' own thresholds, as before 2026-11-30")
	fs.Float64Var(&tc.ContentWeight, "content-weight", tc.ContentWeight, "content matching: the voiceprint gets a content part (which sounds of speech the recording holds) and each score gives back this many times the two sides' content overlap above the calibration pairs' mean (0: none, the shipped recipe; research)")
	fs.Float64Var(&tc.NeuralWeight, "neural-weight", tc.NeuralWeight, "weight of the neural branch (a small x-vector TDNN trained here, in Go, on the training speakers' frames in the recipe's channels) in the fused score (with --fusion; 0: none, the model before 2026-12-01)")
	fs.IntVar(&tc.Neural.Width, "neural-width", tc.Neural.Width, "channels of the neural branch's first four layers")
	fs.IntVar(&tc.Neural.Dim, "neural-dim", tc.Neural.Dim, "values of the neural branch's embedding (its part of the voiceprint)")
	fs.IntVar(&tc.Neural.Steps, "neural-steps", tc.Neural.Steps, "training steps of the neural branch's network (its calibration folds' networks take half)")
	fs.Func("neural-speeds", "speed perturbations of the neural branch's training voices, in percent, comma-separated (\"90,110\"), each speed's voices speakers of their own (\"\": none)", func(v string) error {
		tc.Neural.Speeds = nil
		for _, f := range strings.Split(v, ",") {
			if f = strings.TrimSpace(f); f == "" {
				continue
			}
			p, err := strconv.Atoi(f)
			if err != nil {
				return fmt.Errorf("speed %q: a whole percentage", f) // train.Config.Validate checks the range
			}
			tc.Neural.Speeds = append(tc.Neural.Speeds, p)
		}
		return nil
	})
	fs.BoolVar(&tc.Compact, "compact", tc.Compact, "store NAP directions as int8 and cohort voiceprints as 4-bit values (false: the cohort as float16, NAP as float32)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return usagef("unexpected arguments %q", pos)
	}
	tc.Log = sio.err
	m, err := train.Train(ctx, tc)
	if errors.Is(err, train.ErrConfig) {
		return usagef("%v", err)
	} else if err != nil {
		return err
	}
	b, err := m.MarshalBinary()
	if err != nil {
		return err
	}
	if err := os.WriteFile(*out, b, 0o644); err != nil {
		return fmt.Errorf("write model: %w", err)
	}
	fmt.Fprintf(sio.out, "{\"model\":%q,\"bytes\":%d,\"out\":%q}\n", m.Config.ID, len(b), *out)
	return nil
}
