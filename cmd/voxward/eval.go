package main

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/voxward/voxward/dsp"
)

func init() {
	register(&command{name: "eval", summary: "measure voiceprint EER and minDCF on a trial list", run: runEval})
}

const evalHelp = `Scores every trial of a trial list and prints one JSON object:
  {"trials","targets","nontargets","eer","min_dcf","threshold_at_eer","seconds"}
"eer" is a fraction (0.0123 = 1.23 %), "min_dcf" the normalised minimum
detection cost at p_target 0.01, "threshold_at_eer" the score there
(normalised for voxward, raw for the peers), "seconds" the wall time. A
progress bar runs on stderr.

A trial list has one trial a line, "LABEL ENROLL TEST": LABEL 1 (same
speaker) or 0; ENROLL one WAV path or several joined by commas, enrolled
together as one voiceprint; TEST one WAV path; paths relative to
--audio-root; lines starting with # are comments.

--augment re-evaluates with the test side through a channel: "telephone"
(300–3400 Hz band, G.711 μ-law), "noise10" or "noise20" (seeded noise at 10
or 20 dB SNR), "reverb" (a simulated room, RT60 0.5 s), "narrowband" (an
8 kHz recording: resampled to 8 kHz and back, nothing above 4 kHz);
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

// evalResult is eval's JSON output.
type evalResult struct {
	Trials         int     `json:"trials"`
	Targets        int     `json:"targets"`
	Nontargets     int     `json:"nontargets"`
	EER            float64 `json:"eer"`
	MinDCF         float64 `json:"min_dcf"`
	ThresholdAtEER float64 `json:"threshold_at_eer"`
	Seconds        float64 `json:"seconds"`

	targetScores, nontargetScores []float64
}

func runEval(ctx context.Context, sio *stdio, args []string) error {
	fs := newFlags(sio, "eval", "eval --trials FILE --audio-root DIR [--system voxward|mfcc-stats|gmm-ubm] [--det OUT.svg|OUT.png] [--augment telephone|noise10|noise20|reverb|narrowband [--augment-enrol]] [--test-seconds N]", evalHelp)
	trialsPath := fs.String("trials", "", "trial list")
	root := fs.String("audio-root", "", "folder the trial list's paths are relative to")
	det := fs.String("det", "", "write the DET curve to this .svg or .png file")
	augment := fs.String("augment", "", "channel for the test side: telephone, noise10, noise20, reverb or narrowband")
	augmentBoth := fs.Bool("augment-enrol", false, "put the enrolment side through the --augment channel too (a matched channel, as in a telephone corpus)")
	testSeconds := fs.Float64("test-seconds", 0, "cut each test file to its first N seconds (0: whole), before --augment")
	modelPath := fs.String("model", "", "voiceprint model file (default: the shipped model)")
	jobs := fs.Int("jobs", runtime.NumCPU(), "parallel workers")
	quiet := fs.Bool("quiet", false, "no progress bar")
	cohortTop := fs.Int("cohort-top", -1, "research: override the model's adaptive s-norm top-K (0: no normalisation)")
	napRank := fs.Int("nap", -1, "research: keep only the first N of the model's nuisance directions")
	topParents := fs.Int("top-parents", -1, "research: override the model's selector top parents per frame (its parents count: exact top-N)")
	system := fs.String("system", sysVoxward, "what to measure: voxward (the model), or the peers mfcc-stats or gmm-ubm")
	data := fs.String("data", filepath.Join("..", "shared", "data"), "gmm-ubm: speech data folder (holds librispeech/train-clean-100)")
	ubmCache := fs.String("ubm", "", "gmm-ubm: UBM cache file (read when it fits, else trained and written)")
	recipe := defaultPeerUBMRecipe()
	fs.IntVar(&recipe.components, "ubm-components", recipe.components, "gmm-ubm, tests: UBM components (a power of two times --ubm-parents)")
	selector := fs.String("ubm-select", "exact", "gmm-ubm: how each frame's top 10 UBM components are found: exact (all 256 scored) or selector (dsp's two-level selector, as the model does)")
	fs.IntVar(&recipe.parents, "ubm-parents", recipe.parents, "gmm-ubm, tests: components of the selector stage")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 || *trialsPath == "" || *root == "" {
		return usagef("need --trials FILE and --audio-root DIR, no arguments")
	}
	switch *augment {
	case "", "none", "telephone", "noise10", "noise20", "reverb", "narrowband":
	default:
		return usagef("--augment must be telephone, noise10, noise20, reverb or narrowband, not %q", *augment)
	}
	if *det != "" && !strings.HasSuffix(*det, ".svg") && !strings.HasSuffix(*det, ".png") {
		return usagef("--det must name a .svg or .png file")
	}
	if *jobs < 1 {
		return usagef("--jobs must be at least 1")
	}
	if !(*testSeconds >= 0 && *testSeconds <= 3600) {
		return usagef("--test-seconds must be between 0 (whole files) and 3600")
	}
	ta := trialAudio{root: *root, augment: *augment, enrolToo: *augmentBoth, testSamples: int(*testSeconds * 16000)}
	switch *system {
	case sysVoxward:
	case sysMFCCStats, sysGMMUBM:
		if *modelPath != "" || *cohortTop >= 0 || *napRank >= 0 || *topParents >= 0 {
			return usagef("--model, --cohort-top, --nap and --top-parents apply to --system voxward only")
		}
		if r := recipe; r.parents < 1 || r.components < r.parents || r.components%r.parents != 0 || r.components > 4096 ||
			(r.components/r.parents)&(r.components/r.parents-1) != 0 || r.parents&(r.parents-1) != 0 {
			return usagef("--ubm-components must be a power of two times --ubm-parents (itself a power of two), at most 4096")
		}
		if *selector != "exact" && *selector != "selector" {
			return usagef("--ubm-select must be exact or selector, not %q", *selector)
		}
	default:
		return usagef("--system must be voxward, mfcc-stats or gmm-ubm, not %q", *system)
	}
	f, err := os.Open(*trialsPath)
	if err != nil {
		return fmt.Errorf("open trial list: %w", err)
	}
	trials, err := dsp.ParseTrials(f)
	f.Close()
	if err != nil {
		return fmt.Errorf("%s: %w", *trialsPath, err)
	}
	var progress io.Writer = sio.err
	if *quiet {
		progress = nil
	}
	var res *evalResult
	var title string
	switch *system {
	case sysMFCCStats:
		title = "mfcc-stats (peer)"
		res, err = evaluateMFCCStats(ctx, trials, ta, *jobs, progress)
	case sysGMMUBM:
		title = "gmm-ubm (peer)"
		var ubm *dsp.Model
		if ubm, err = loadOrTrainUBM(ctx, progress, *data, *ubmCache, recipe, *jobs); err != nil {
			return err
		}
		res, err = evaluateGMMUBM(ctx, ubm, *selector == "exact", trials, ta, *jobs, progress)
	default:
		var m *dsp.Model
		if m, err = loadModel(*modelPath); err != nil {
			return err
		}
		if m, err = overrideModel(m, *cohortTop, *napRank, *topParents); err != nil {
			return err
		}
		title = m.Config.ID
		res, err = evaluate(ctx, m, trials, ta, *jobs, progress)
	}
	if err != nil {
		return err
	}
	if *det != "" {
		if err := writeDET(*det, res.targetScores, res.nontargetScores, fmt.Sprintf("%s — EER %.2f%%", title, 100*res.EER)); err != nil {
			return err
		}
	}
	if err := json.NewEncoder(sio.out).Encode(res); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	return nil
}

// overrideModel returns m with its s-norm top-K, NAP rank and selector
// top parents replaced (negative values keep the model's).
func overrideModel(m *dsp.Model, cohortTop, napRank, topParents int) (*dsp.Model, error) {
	if cohortTop < 0 && napRank < 0 && topParents < 0 {
		return m, nil
	}
	if len(m.Branches) > 0 {
		var bs []*dsp.Model
		for _, b := range m.Branches {
			nb, err := overrideModel(b, cohortTop, napRank, topParents)
			if err != nil {
				return nil, err
			}
			bs = append(bs, nb)
		}
		return dsp.NewFusedModel(m.Config, bs)
	}
	cfg, p := m.Config, m.Params()
	if cohortTop >= 0 {
		if cohortTop > cfg.CohortSize {
			return nil, usagef("--cohort-top %d exceeds the cohort of %d", cohortTop, cfg.CohortSize)
		}
		cfg.CohortTop = cohortTop
	}
	if topParents >= 0 {
		if topParents < 1 || topParents > cfg.Parents {
			return nil, usagef("--top-parents must be 1 to the model's %d parents", cfg.Parents)
		}
		cfg.TopParents = topParents
	}
	if napRank >= 0 {
		if napRank > cfg.NAPRank {
			return nil, usagef("--nap %d exceeds the model's %d directions", napRank, cfg.NAPRank)
		}
		p.NAP = p.NAP[:napRank*cfg.EmbeddingDim()]
		cfg.NAPRank = napRank
	}
	return dsp.NewModel(cfg, p)
}

// augmentAudio applies an --augment channel to x; the seed is derived
// from the file's path so that runs repeat.
func augmentAudio(x []float32, augment, path string) []float32 {
	h := fnv.New64a()
	h.Write([]byte(path))
	switch augment {
	case "telephone":
		return dsp.Telephone(nil, x)
	case "noise10":
		return dsp.AddNoise(nil, x, 10, h.Sum64())
	case "noise20":
		return dsp.AddNoise(nil, x, 20, h.Sum64())
	case "reverb":
		return dsp.Reverb(nil, x, 0.5, h.Sum64())
	case "narrowband":
		return dsp.NarrowBand(nil, x)
	}
	return x
}

// progressBar draws "[#####.....] k/n what" on w, at most every 100 ms.
type progressBar struct {
	mu    sync.Mutex
	w     io.Writer
	n, k  int
	what  string
	last  time.Time
	start time.Time
}

func (p *progressBar) step() {
	if p == nil || p.w == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.k++
	if p.k < p.n && time.Since(p.last) < 100*time.Millisecond {
		return
	}
	p.last = time.Now()
	const width = 30
	full := width * p.k / max(p.n, 1)
	fmt.Fprintf(p.w, "\r[%s%s] %d/%d %s %.1fs", strings.Repeat("#", full), strings.Repeat(".", width-full), p.k, p.n, p.what, time.Since(p.start).Seconds())
	if p.k == p.n {
		fmt.Fprintln(p.w)
	}
}

// evaluate embeds every file a trial list names (enrolment sets by their
// pooled statistics, test files through the --augment channel) and
// scores every trial with the model's normalised score.
func evaluate(ctx context.Context, m *dsp.Model, trials []dsp.Trial, ta trialAudio, jobs int, progress io.Writer) (*evalResult, error) {
	start := time.Now()
	type vp struct {
		emb  []float32
		norm dsp.CohortNorm
	}
	sc := dsp.NewScorer(m)
	enrolKeys, testKeys := trialKeys(trials)
	exs := make([]*dsp.Extractor, jobs)
	for w := range exs {
		var err error
		if exs[w], err = dsp.NewExtractor(m); err != nil {
			return nil, err
		}
	}
	bar := &progressBar{w: progress, n: len(enrolKeys) + len(testKeys), what: "voiceprints", start: start}
	results := make([]*vp, len(enrolKeys)+len(testKeys))
	err := ta.read(ctx, enrolKeys, testKeys, jobs, bar, func(w, i int, files [][]float32) error {
		st := exs[w].NewStats()
		for _, x := range files {
			exs[w].Accumulate(st, x)
		}
		e := m.Voiceprint(nil, st)
		results[i] = &vp{emb: e, norm: sc.CohortNorm(e)}
		return nil
	})
	if err != nil {
		return nil, err
	}
	scores := scoreTrials(trials, enrolKeys, testKeys, results, func(a, b *vp) float64 {
		return sc.ScoreWithNorms(a.emb, b.emb, a.norm, b.norm)
	})
	return finishResult(trials, scores, start)
}
