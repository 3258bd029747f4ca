package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/voxward/voxward/dsp/voiceprint"
	"github.com/voxward/voxward/dsp/voiceprint/eval"
	"github.com/voxward/voxward/dsp/voiceprint/peers"
)

func init() {
	register(&command{name: "eval", summary: "measure voiceprint EER and minDCF on a trial list", run: runEval})
}

const evalHelp = `Scores every trial of a trial list and prints one JSON object:
  {"trials","targets","nontargets","eer","min_dcf","threshold_at_eer","seconds",
   "threshold","far_at_threshold","frr_at_threshold","speakers","eer_ci90",
   "far_at_threshold_ci90","frr_at_threshold_ci90","training_trials_left_out",
   "cohort_files","training_cohort_files_left_out","venue_pairs","threshold_from",
   "against"}
"eer" is a fraction (0.0123 = 1.23 %), "min_dcf" the normalised minimum
detection cost at p_target 0.01, "threshold_at_eer" the score there
(normalised for voxward, raw for the peers), "seconds" the wall time. A
progress bar runs on stderr.

Trials with a speaker the model was trained with (a voice its s-norm
cohort names, or one it learned from otherwise: the shipped model's cohort
holds English training speakers, none in a dev list, and its NAP learned
the multilingual corpora's offsets from 14 of their speakers, whom the
model names in "learned_from") are left out, for the peers too, and counted in
"training_trials_left_out": every figure is for voices the model never
met.

--cohort FILE lists recordings of other speakers from the trials' own
conditions (language, microphones), one path a line relative to
--audio-root: their voiceprints join the model's s-norm cohort, as the
daemon's own enrolled voices do on a box (adaptive s-norm then normalises
each voiceprint against the cohort members closest to it), and every trial
with one of their speakers (the folder a path names) is left out, for the
peers too, so that all systems score the same trials. The cohort also
sets the decision, as the daemon's does: every pair of its recordings of
different speakers is scored, and when there are enough pairs for the
rate (about 230 pairs of people, 22 people, for 1 %) the threshold is
the one that accepts at most 1 % of them with 90 % confidence. A venue
too small for that but of at least five people (ten pairs of people),
whose pairs a normal fit puts above the model's threshold at the rate
(their mean plus 2.33 standard deviations at 1 %), raises the threshold
to the bound that lies above that point with 90 % confidence for so few
people (a one-sided tolerance bound: mean plus 4.4 standard deviations
with five people, 3.4 with ten): for voices that score far above the
model's training speakers against each other. "venue_pairs" counts the
pairs, and "threshold_from" says "venue", "venue-fit" or "model".
Recordings of speakers the model was trained with are left out of the
cohort (counted in "training_cohort_files_left_out"): a box never holds
its model's training voices, and a venue of them would set its threshold
on pairs the model has learned.
With --augment (and no --augment-enrol) or --test-seconds, each cohort
recording joins twice, as an enrolment side is made and as a test side
is, and only pairs of one of each count.

"threshold" is the decision the product ships: the model's calibrated
threshold (or, with --cohort, the venue's) for a false-accept rate of 1 %
(what "voxward score" decides same_speaker with by default);
"far_at_threshold" is the fraction of different-speaker trials it accepts
and "frr_at_threshold" the fraction of same-speaker trials it rejects.
Trials whose both sides are band-limited (speech up to 4,500 Hz, as from
8 kHz recordings; "band_limited_trials" counts them) are held to the
model's band-limited threshold, "threshold_band_limited", as "voxward
score" and the daemon hold them. An EER only says how well the scores rank;
these say whether the shipped decision keeps its promise on this list and
channel. The peers have no calibration: the three are left out for them.

"speakers" counts the speakers the trials name (each path's folder). The
trials of a list are not independent: every trial of two speakers shares
their two voices, and ten speakers make only 45 pairs of people, so a rate
over their 4,500 trials is far less certain than 4,500 independent trials
would make it. With at least five speakers, "eer_ci90",
"far_at_threshold_ci90" and "frr_at_threshold_ci90" are [low, high] 90 %
confidence intervals from a bootstrap over the speakers: 1,000 seeded
rounds (fewer for lists over 200,000 trials, 100 at least) each draw as
many speakers as the list has, with replacement, and weigh every trial by
how often its speakers were drawn (a trial of two speakers by the product
of their counts). The same list gives the same rounds to every system.
Read a figure against its interval before calling one system better than
another, or a promise kept or broken.

Two systems are compared on the same trials, not by their two intervals:
--scores FILE writes every trial scored (after the leaving out above)
with its score, one a line, "LABEL SCORE ENROLL TEST", after the lines
"# system NAME" (the --system, or for voxward the model's id) and
"# condition TEXT" (the channel, --augment-enrol, --test-seconds): two
models can be compared as two systems are. --against FILE, which may be
repeated, reads such a file of another system and checks, before
scoring, that it holds this run's trials in this order and condition
(same list, --cohort, model and channel). "against" then lists, for
each file, {"system","eer","eer_diff","eer_diff_ci90",
"lower_eer_rounds"}: its EER, this run's EER less it (below 0: this
run's is lower), and, with at least five speakers, the difference's
90 % interval and the fraction of rounds in which this run's EER was the
lower, both from the same speaker bootstrap, each round taking both
EERs on one draw of speakers (a paired bootstrap: the voices both
systems heard do not widen the interval of the difference, as two
separate intervals would). An interval that holds 0
says the list cannot tell the two apart. "make voiceprint-peers" reports
the model against the better peer this way.

A trial list has one trial a line, "LABEL ENROLL TEST": LABEL 1 (same
speaker) or 0; ENROLL one WAV path or several joined by commas, enrolled
together as one voiceprint; TEST one WAV path; paths relative to
--audio-root; lines starting with # are comments.

--augment re-evaluates with the test side through a channel: "telephone"
(300–3400 Hz band, G.711 μ-law), "noise10" or "noise20" (seeded noise at 10
or 20 dB SNR), "reverb" (a simulated room, RT60 0.5 s, each recording
its own), "hall" (the same room for every recording, as a box in a
single hall hears its voices), "narrowband" (an 8 kHz recording:
resampled to 8 kHz and back, nothing above 4 kHz);
--augment-enrol puts the enrolment side through the same channel, as in a
corpus recorded over one channel. --test-seconds N
first cuts each test file to its first N seconds, to measure short probes
(3 s: what open-set identification decides on). --det writes the DET
curve as SVG or PNG (by extension).

--system picks what is measured:
  voxward     the shipped voiceprint model (or --model): the default.
  mfcc-stats  a classical baseline, untrained: per utterance, the mean of
              c1–c19 over the speech frames before any mean normalisation,
              then the standard deviation of each of the 60 MFCC+Δ+ΔΔ
              features (20 Kaldi MFCCs incl. C0, 40 mel bins, on the
              frames dsp's VAD keeps, as the model's front end); the 79
              values are used as they are — no centring, scaling or
              length normalisation learnt from data — and the score is
              their cosine. An enrolment set pools the frames of its files.
  gmm-ubm     a classical baseline: a 256-component diagonal UBM trained by
              EM with binary splitting on the clean speech frames of
              DATA/librispeech/train-clean-100 (--data; 20 MFCC + Δ + ΔΔ,
              CMN per utterance), means MAP-adapted to the enrolment
              (relevance 16, enrolment files' statistics pooled), score the
              average frame log-likelihood ratio of the test frames, target
              model against UBM, over each frame's 10 best UBM components
              (--ubm-select exact: all 256 scored; "selector" uses dsp's
              two-level selector as the model does — faster, but on the
              dev list it doubles this system's EER). No score
              normalisation. Training is deterministic (any --jobs) and
              takes ~20–30 s on 2 cores; --ubm FILE caches the UBM (reused
              when it was trained with the same recipe on the same files,
              else retrained and rewritten).
The peers run in the same process, on the same trials and through the same
--augment channels as the model, so that their figures can be compared
with it; they are for measurement only, not products — nothing else in
voxward uses them. "make voiceprint-peers" tabulates the three per channel.`

// Evaluated systems.
const (
	sysVoxward   = "voxward"
	sysMFCCStats = "mfcc-stats"
	sysGMMUBM    = "gmm-ubm"
)

func runEval(ctx context.Context, sio *stdio, args []string) error {
	fs := newFlags(sio, "eval", "eval --trials FILE --audio-root DIR [--system voxward|mfcc-stats|gmm-ubm] [--det OUT.svg|OUT.png] [--augment telephone|noise10|noise20|reverb|hall|narrowband [--augment-enrol]] [--test-seconds N]", evalHelp)
	trialsPath := fs.String("trials", "", "trial list")
	var o eval.Options
	fs.StringVar(&o.AudioRoot, "audio-root", "", "folder the trial list's paths are relative to")
	det := fs.String("det", "", "write the DET curve to this .svg or .png file")
	fs.StringVar(&o.Augment, "augment", "", "channel for the test side: telephone, noise10, noise20, reverb, hall or narrowband")
	fs.BoolVar(&o.AugmentEnrol, "augment-enrol", false, "put the enrolment side through the --augment channel too (a matched channel, as in a telephone corpus)")
	testSeconds := fs.Float64("test-seconds", 0, "cut each test file to its first N seconds (0: whole), before --augment")
	modelPath := fs.String("model", "", "voiceprint model file (default: the shipped model)")
	fs.IntVar(&o.Jobs, "jobs", runtime.NumCPU(), "parallel workers")
	quiet := fs.Bool("quiet", false, "no progress bar")
	cohortTop := fs.Int("cohort-top", -1, "research: override the model's adaptive s-norm top-K (0: no normalisation)")
	napRank := fs.Int("nap", -1, "research: keep only the first N of the model's nuisance directions")
	topParents := fs.Int("top-parents", -1, "research: override the model's selector top parents per frame (its parents count: exact top-N)")
	cohortList := fs.String("cohort", "", "file listing recordings (paths relative to --audio-root, one a line) of other speakers in the trials' conditions, whose voiceprints join the s-norm cohort; trials of their speakers are left out, for every --system")
	system := fs.String("system", sysVoxward, "what to measure: voxward (the model), or the peers mfcc-stats or gmm-ubm")
	data := fs.String("data", filepath.Join("..", "shared", "data"), "gmm-ubm: speech data folder (holds librispeech/train-clean-100)")
	ubmCache := fs.String("ubm", "", "gmm-ubm: UBM cache file (read when it fits, else trained and written)")
	recipe := peers.DefaultUBMRecipe()
	fs.IntVar(&recipe.Components, "ubm-components", recipe.Components, "gmm-ubm, tests: UBM components (a power of two times --ubm-parents)")
	selector := fs.String("ubm-select", "exact", "gmm-ubm: how each frame's top 10 UBM components are found: exact (all 256 scored) or selector (the two-level selector, as the model does)")
	fs.IntVar(&recipe.Parents, "ubm-parents", recipe.Parents, "gmm-ubm, tests: components of the selector stage")
	scoresPath := fs.String("scores", "", "write every trial's score to `FILE` (\"LABEL SCORE ENROLL TEST\"), for another run's --against")
	var against pathsFlag
	fs.Var(&against, "against", "compare the EER with the scores in `FILE` (another system's --scores of the same trials; repeatable): \"against\" in the output")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 || *trialsPath == "" || o.AudioRoot == "" {
		return usagef("need --trials FILE and --audio-root DIR, no arguments")
	}
	if err := o.Validate(); err != nil {
		return usagef("--augment must be telephone, noise10, noise20, reverb, hall or narrowband, not %q", o.Augment)
	}
	if *det != "" && !strings.HasSuffix(*det, ".svg") && !strings.HasSuffix(*det, ".png") {
		return usagef("--det must name a .svg or .png file")
	}
	if o.Jobs < 1 {
		return usagef("--jobs must be at least 1")
	}
	if !(*testSeconds >= 0 && *testSeconds <= 3600) {
		return usagef("--test-seconds must be between 0 (whole files) and 3600")
	}
	o.TestSamples = int(*testSeconds * 16000)
	switch *system {
	case sysVoxward:
	case sysMFCCStats, sysGMMUBM:
		if *modelPath != "" || *cohortTop >= 0 || *napRank >= 0 || *topParents >= 0 {
			return usagef("--model, --cohort-top, --nap and --top-parents apply to --system voxward only")
		}
		if !peers.ValidUBMRecipe(recipe) {
			return usagef("--ubm-components must be a power of two times --ubm-parents (itself a power of two), at most 4096")
		}
		if *selector != "exact" && *selector != "selector" {
			return usagef("--ubm-select must be exact or selector, not %q", *selector)
		}
	default:
		return usagef("--system must be voxward, mfcc-stats or gmm-ubm, not %q", *system)
	}
	trials, err := eval.ReadTrials(*trialsPath)
	if err != nil {
		return err
	}
	// Trials of speakers the model was trained with are left out, for the
	// peers too: the figures are for voices it never met.
	m, err := loadModel(*modelPath)
	if err != nil && (*system == sysVoxward || !errors.Is(err, voiceprint.ErrNoModel)) {
		return err
	}
	var trained, learned int
	var trainedOn []string
	if m != nil {
		trainedOn = m.Config.TrainingSpeakers()
		if trials, trained = eval.WithoutSpeakerNames(trials, trainedOn); len(trials) == 0 {
			return fmt.Errorf("%s: every trial has a speaker the model %s was trained with", *trialsPath, m.Config.ID)
		}
		if trained > 0 {
			fmt.Fprintf(sio.err, "model %s: %d trials of its training speakers left out\n", m.Config.ID, trained)
		}
	}
	if *cohortList != "" {
		if o.Cohort, err = readPathList(*cohortList); err != nil {
			return err
		}
		if m != nil {
			// A box never holds its model's training voices: a venue of
			// them would set a threshold on pairs the model has learned.
			if o.Cohort, learned = eval.PathsWithoutSpeakerNames(o.Cohort, trainedOn); len(o.Cohort) == 0 {
				return fmt.Errorf("%s: every cohort recording is of a speaker the model %s was trained with", *cohortList, m.Config.ID)
			}
			if learned > 0 {
				fmt.Fprintf(sio.err, "cohort: %d recordings of the model's training speakers left out\n", learned)
			}
		}
		var dropped int
		trials, dropped = eval.WithoutSpeakers(trials, o.Cohort)
		if len(trials) == 0 {
			return fmt.Errorf("%s: every trial has a speaker of the cohort", *cohortList)
		}
		fmt.Fprintf(sio.err, "cohort: %d recordings; %d trials of their speakers left out, %d scored\n", len(o.Cohort), dropped, len(trials))
		if *system != sysVoxward {
			o.Cohort = nil // the peers have no score normalisation: same trials, no cohort
		}
	}
	// The other systems' scores are read, and checked to be of these
	// trials in this condition, before the scoring.
	condition := fmt.Sprintf("channel=%s augment-enrol=%t test-seconds=%g", cmp.Or(o.Augment, "clean"), o.AugmentEnrol, *testSeconds)
	others := make([]*eval.ScoreFile, len(against))
	for i, path := range against {
		if others[i], err = eval.ReadScores(path); err != nil {
			return err
		}
		if err := others[i].Matches(trials); err != nil {
			return fmt.Errorf("--against %s: %w (score every system on the same list with the same --cohort and model)", path, err)
		}
		if c := others[i].Condition; c != condition {
			return fmt.Errorf("--against %s: %s was scored in %q, this run is %q", path, others[i].System, c, condition)
		}
	}
	if !*quiet {
		o.Progress = sio.err
	}
	var res *eval.Result
	var title string
	switch *system {
	case sysMFCCStats:
		title = "mfcc-stats (peer)"
		res, err = peers.MFCCStats(ctx, trials, o)
	case sysGMMUBM:
		title = "gmm-ubm (peer)"
		var ubm *voiceprint.Model
		if ubm, err = peers.LoadOrTrainUBM(ctx, o.Progress, *data, *ubmCache, recipe, o.Jobs); err != nil {
			return err
		}
		res, err = peers.GMMUBM(ctx, ubm, *selector == "exact", trials, o)
	default:
		if m, err = eval.Override(m, *cohortTop, *napRank, *topParents); errors.Is(err, eval.ErrOptions) {
			return usagef("%s", strings.TrimPrefix(err.Error(), eval.ErrOptions.Error()+": "))
		} else if err != nil {
			return err
		}
		title = m.Config.ID
		res, err = eval.Model(ctx, m, trials, o)
	}
	if err != nil {
		return err
	}
	res.TrainingTrialsLeftOut, res.TrainingCohortFilesLeftOut = trained, learned
	for _, other := range others {
		if err := res.Compare(trials, other); err != nil {
			return err
		}
	}
	if *scoresPath != "" {
		// The model's id, and the research overrides, name it, so that two
		// models can be compared.
		name := *system
		if *system == sysVoxward {
			name = m.Config.ID
			for _, o := range []struct {
				flag string
				v    int
			}{{"cohort-top", *cohortTop}, {"nap", *napRank}, {"top-parents", *topParents}} {
				if o.v >= 0 {
					name += fmt.Sprintf("+%s=%d", o.flag, o.v)
				}
			}
		}
		sf := &eval.ScoreFile{System: name, Condition: condition, Trials: trials, Scores: res.Scores()}
		var b bytes.Buffer
		if err := sf.Write(&b); err != nil {
			return err
		}
		if err := os.WriteFile(*scoresPath, b.Bytes(), 0o644); err != nil {
			return fmt.Errorf("write scores: %w", err)
		}
	}
	if *det != "" {
		b, err := eval.PlotDET(res.TargetScores, res.NontargetScores, fmt.Sprintf("%s — EER %.2f%%", title, 100*res.EER), strings.HasSuffix(*det, ".png"))
		if err != nil {
			return err
		}
		if err := os.WriteFile(*det, b, 0o644); err != nil {
			return fmt.Errorf("write DET plot: %w", err)
		}
	}
	if err := json.NewEncoder(sio.out).Encode(res); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	return nil
}

// pathsFlag is a flag that may be given several times, each a path.
type pathsFlag []string

func (p *pathsFlag) String() string { return strings.Join(*p, ",") }

func (p *pathsFlag) Set(v string) error {
	if v == "" {
		return errors.New("empty path")
	}
	*p = append(*p, v)
	return nil
}

// readPathList reads a file of paths, one a line; blank lines and lines
// starting with # are skipped.
func readPathList(path string) ([]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read cohort list: %w", err)
	}
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		l = strings.TrimSpace(l)
		if l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no recordings listed", path)
	}
	return out, nil
}
