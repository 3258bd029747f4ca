package eval

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/voxward/voxward/capture"
	"github.com/voxward/voxward/dsp/voiceprint"
	"github.com/voxward/voxward/internal/parallel"
	"github.com/voxward/voxward/internal/progress"
)

// ErrOptions is wrapped by the errors of options that do not fit the model
// or the run (a research override out of range, an unknown channel).
var ErrOptions = errors.New("eval: invalid options")

// Channels are the names Options.Augment accepts besides "" and "none":
// "telephone" (300–3400 Hz band, G.711 μ-law), "noise10" and "noise20"
// (seeded pink-ish noise at 10 or 20 dB SNR), "reverb" (a simulated room,
// RT60 0.5 s, each recording its own), "hall" (the same, one room for
// every recording: a box in a single hall) and "narrowband" (an 8 kHz
// recording).
var Channels = []string{"telephone", "noise10", "noise20", "reverb", "hall", "narrowband"}

// hallSeed is the room of the "hall" channel.
const hallSeed = 12345

// Options say where a trial list's audio is and what is done to it.
type Options struct {
	AudioRoot    string    // the trial list's paths are relative to it
	Augment      string    // channel the test side goes through ("" or "none": as recorded)
	AugmentEnrol bool      // the enrolment side goes through the channel too
	TestSamples  int       // cut each test file to its first TestSamples samples before the channel (0: whole)
	Jobs         int       // parallel workers (< 1: one)
	Progress     io.Writer // progress bars; nil draws none
	// FAR is the false-accept rate whose calibrated threshold the model's
	// decisions are measured at (0: DefaultFAR, what "voxward score"
	// decides with).
	FAR float64
	// Cohort lists recordings of other speakers from the trials' own
	// conditions (relative to AudioRoot) whose voiceprints join the
	// model's s-norm cohort and set its thresholds when they hold enough
	// different-speaker pairs (voiceprint.Scorer.WithVenueSides; speakers
	// are the recordings' folders, SpeakerOf): each made as an enrolment
	// side is (through the channel with AugmentEnrol) and, when the test
	// side is made otherwise (through the channel without AugmentEnrol,
	// or cut by TestSamples), as a test side too, and then only pairs of
	// an enrolment and a test copy count. Their speakers must not be in
	// the trials (WithoutSpeakers).
	Cohort []string
}

// DefaultFAR is the false-accept rate "voxward score" calibrates its
// same_speaker decision for by default, and the one eval measures the
// decision at.
const DefaultFAR = 0.01

// Validate checks the channel name. Its errors wrap ErrOptions.
func (o Options) Validate() error {
	switch o.Augment {
	case "", "none":
		return nil
	}
	for _, c := range Channels {
		if o.Augment == c {
			return nil
		}
	}
	return fmt.Errorf("%w: channel must be one of %s, not %q", ErrOptions, strings.Join(Channels, ", "), o.Augment)
}

func (o Options) jobs() int { return max(o.Jobs, 1) }

// Result is what an evaluation measures; it is voxward eval's JSON output.
type Result struct {
	Trials         int     `json:"trials"`
	Targets        int     `json:"targets"`
	Nontargets     int     `json:"nontargets"`
	EER            float64 `json:"eer"`
	MinDCF         float64 `json:"min_dcf"`
	ThresholdAtEER float64 `json:"threshold_at_eer"`
	Seconds        float64 `json:"seconds"`

	// The shipped decision: the model's calibrated threshold for the
	// false-accept rate Options.FAR, and the fractions of different-speaker
	// trials it accepts and of same-speaker trials it rejects. Unset for
	// systems without a calibration (the peers).
	//
	// Threshold holds every trial with a side that is not band-limited;
	// ThresholdBandLimited holds the BandLimitedTrials whose both sides
	// are (voiceprint.Thresholds).
	Threshold            *float64 `json:"threshold,omitempty"`
	ThresholdBandLimited *float64 `json:"threshold_band_limited,omitempty"`
	BandLimitedTrials    int      `json:"band_limited_trials"`
	FARAtThreshold       *float64 `json:"far_at_threshold,omitempty"`
	FRRAtThreshold       *float64 `json:"frr_at_threshold,omitempty"`
	// Speakers counts the speakers the trials name (SpeakerOf). With at
	// least five, EERCI90, FARAtThresholdCI90 and FRRAtThresholdCI90 are
	// 90 % confidence intervals from a bootstrap over the speakers (the
	// trials of a list share their speakers' voices, so they are not
	// independent; see SpeakerBootstrap).
	Speakers           int       `json:"speakers"`
	EERCI90            *Interval `json:"eer_ci90,omitempty"`
	FARAtThresholdCI90 *Interval `json:"far_at_threshold_ci90,omitempty"`
	FRRAtThresholdCI90 *Interval `json:"frr_at_threshold_ci90,omitempty"`
	// CohortFiles counts the recordings that joined the s-norm cohort
	// (Options.Cohort).
	CohortFiles int `json:"cohort_files,omitempty"`
	// VenuePairs counts the different-speaker pairs of cohort recordings
	// the threshold was measured on (voiceprint.Scorer.WithVenue): with a
	// cohort that holds enough of them, the decision is the venue's, not
	// the model's calibration.
	VenuePairs int `json:"venue_pairs,omitempty"`
	// ThresholdFrom says where Threshold comes from: "model" (its
	// calibration), "venue" (the cohort's pairs, when they are of enough
	// people for the rate; voiceprint.Scorer.VenueCalibrated) or
	// "venue-fit" (a bound from a normal fit to too few such pairs, where
	// the fit lies above the model's; voiceprint.Scorer.ThresholdsFrom).
	ThresholdFrom string `json:"threshold_from,omitempty"`
	// ThresholdBandLimitedFrom is the same for ThresholdBandLimited.
	ThresholdBandLimitedFrom string `json:"threshold_band_limited_from,omitempty"`
	// TrainingTrialsLeftOut counts the trials left out because one of
	// their speakers is one the model was trained with (its cohort labels
	// name them), for every system, so that figures are measured on voices
	// the model never met.
	TrainingTrialsLeftOut int `json:"training_trials_left_out,omitempty"`
	// TrainingCohortFilesLeftOut counts the cohort recordings left out of
	// the venue because the model learned from their speakers.
	TrainingCohortFilesLeftOut int `json:"training_cohort_files_left_out,omitempty"`
	// Against compares the EER with other systems' on the same trials
	// (Compare; voxward eval --against).
	Against []Comparison `json:"against,omitempty"`

	// The scores of the same-speaker and different-speaker trials, for
	// plots (PlotDET).
	TargetScores    []float64 `json:"-"`
	NontargetScores []float64 `json:"-"`

	// Every trial's label and score, in the order of the trial list.
	targets []bool
	scores  []float64
	boot    *SpeakerBootstrap // nil: too few speakers for intervals
}

// Augment applies a channel (one of Channels; anything else leaves x as
// it is) to x; the seed of the noisy channels is derived from the file's
// path so that runs repeat.
func Augment(x []float32, channel, path string) []float32 {
	h := fnv.New64a()
	h.Write([]byte(path))
	switch channel {
	case "telephone":
		return Telephone(nil, x)
	case "noise10":
		return AddNoise(nil, x, 10, h.Sum64())
	case "noise20":
		return AddNoise(nil, x, 20, h.Sum64())
	case "reverb":
		return Reverb(nil, x, 0.5, h.Sum64())
	case "hall":
		return Reverb(nil, x, 0.5, hallSeed)
	case "narrowband":
		return NarrowBand(nil, x)
	}
	return x
}

// SpeakerOf is the speaker a trial path names: its folder's name, as in
// every dev list (speaker/file.wav).
func SpeakerOf(path string) string { return filepath.Base(filepath.Dir(filepath.Clean(path))) }

// WithoutSpeakers returns the trials in which no enrolment or test file is
// of a speaker of paths (SpeakerOf), and how many it left out: a speaker
// in the s-norm cohort must not be scored.
func WithoutSpeakers(trials []Trial, paths []string) ([]Trial, int) {
	names := make([]string, len(paths))
	for i, p := range paths {
		names[i] = SpeakerOf(p)
	}
	return WithoutSpeakerNames(trials, names)
}

// PathsWithoutSpeakerNames returns the paths not of a speaker in names
// (SpeakerOf), and how many it left out: a venue cohort must not hold
// voices the model learned from, whose pairs would score as no stranger's
// do on a box.
func PathsWithoutSpeakerNames(paths, names []string) ([]string, int) {
	spk := speakerSet(names)
	out := slices.DeleteFunc(slices.Clone(paths), func(p string) bool { return spk[SpeakerOf(p)] })
	return out, len(paths) - len(out)
}

// speakerSet is names as a set.
func speakerSet(names []string) map[string]bool {
	spk := make(map[string]bool, len(names))
	for _, n := range names {
		spk[n] = true
	}
	return spk
}

// WithoutSpeakerNames is WithoutSpeakers for speaker names (folder names,
// as SpeakerOf gives them): for instance a model's cohort labels, which
// name the speakers it was trained with.
func WithoutSpeakerNames(trials []Trial, names []string) ([]Trial, int) {
	if len(names) == 0 {
		return trials, 0
	}
	spk := speakerSet(names)
	var out []Trial
	for _, t := range trials {
		if spk[SpeakerOf(t.Test)] || slices.ContainsFunc(t.Enroll, func(p string) bool { return spk[SpeakerOf(p)] }) {
			continue
		}
		out = append(out, t)
	}
	return out, len(trials) - len(out)
}

// TrialKeys lists, in first-seen order, the distinct enrolment sets (their
// paths joined by commas) and test files of trials.
func TrialKeys(trials []Trial) (enrolKeys, testKeys []string) {
	seenE, seenT := map[string]bool{}, map[string]bool{}
	for _, t := range trials {
		k := strings.Join(t.Enroll, ",")
		if !seenE[k] {
			seenE[k] = true
			enrolKeys = append(enrolKeys, k)
		}
		if !seenT[t.Test] {
			seenT[t.Test] = true
			testKeys = append(testKeys, t.Test)
		}
	}
	return enrolKeys, testKeys
}

// ReadSides reads, on o.Jobs workers, each enrolment set (side i <
// len(enrolKeys): the samples of each of its files, through the channel
// with AugmentEnrol) and each test file (side len(enrolKeys)+j:
// testKeys[j], cut and through the channel), and hands them to fn with
// the worker's index. A progress bar named what counts the sides.
func ReadSides(ctx context.Context, enrolKeys, testKeys []string, o Options, what string,
	fn func(worker, side int, files [][]float32) error) error {
	bar := progress.New(o.Progress, len(enrolKeys)+len(testKeys), what)
	return parallel.For(ctx, len(enrolKeys)+len(testKeys), o.jobs(), func(w, i int) error {
		var files [][]float32
		if i < len(enrolKeys) {
			for _, p := range strings.Split(enrolKeys[i], ",") {
				x, err := capture.ReadWAVFile16k(filepath.Join(o.AudioRoot, p), 0)
				if err != nil {
					return err
				}
				if o.AugmentEnrol {
					x = Augment(x, o.Augment, p)
				}
				files = append(files, x)
			}
		} else {
			p := testKeys[i-len(enrolKeys)]
			x, err := capture.ReadWAVFile16k(filepath.Join(o.AudioRoot, p), 0)
			if err != nil {
				return err
			}
			if o.TestSamples > 0 {
				x = x[:min(len(x), o.TestSamples)]
			}
			files = append(files, Augment(x, o.Augment, p))
		}
		if err := fn(w, i, files); err != nil {
			return err
		}
		bar.Step()
		return nil
	})
}

// ScoreTrials scores each trial with score(enrolment side, test side),
// where sides holds one value per enrolment key, then one per test key
// (the order ReadSides uses).
func ScoreTrials[T, R any](trials []Trial, enrolKeys, testKeys []string, sides []T, score func(a, b T) R) []R {
	idx := make(map[string]int, len(enrolKeys)+len(testKeys))
	for i, k := range enrolKeys {
		idx["e:"+k] = i
	}
	for i, k := range testKeys {
		idx["t:"+k] = len(enrolKeys) + i
	}
	scores := make([]R, len(trials))
	for i, t := range trials {
		scores[i] = score(sides[idx["e:"+strings.Join(t.Enroll, ",")]], sides[idx["t:"+t.Test]])
	}
	return scores
}

// NewResult splits scores (one per trial) by label and computes the EER,
// the threshold there and the minimum DCF; Seconds is the time since
// start. With trials of at least five speakers it also gives the EER's
// confidence interval (EERCI90, a bootstrap over the speakers). It
// returns an error wrapping ErrNoTrials without both kinds of trial.
func NewResult(trials []Trial, scores []float64, start time.Time) (*Result, error) {
	res := &Result{Trials: len(trials), scores: scores, targets: make([]bool, len(trials))}
	for i, t := range trials {
		res.targets[i] = t.Target
		if t.Target {
			res.TargetScores = append(res.TargetScores, scores[i])
		} else {
			res.NontargetScores = append(res.NontargetScores, scores[i])
		}
	}
	res.Targets, res.Nontargets = len(res.TargetScores), len(res.NontargetScores)
	var err error
	res.EER, res.ThresholdAtEER, err = EER(res.TargetScores, res.NontargetScores)
	if err != nil {
		return nil, fmt.Errorf("trial list: %w", err)
	}
	if res.MinDCF, _, err = MinDCF(res.TargetScores, res.NontargetScores, DefaultDCF); err != nil {
		return nil, err
	}
	res.Seconds = time.Since(start).Seconds() // the scoring's, not the intervals'
	boot := trialBootstrap(trials)
	if res.Speakers = boot.speakers; res.Speakers >= minCISpeakers {
		res.boot = boot
		if iv, ok := boot.eerInterval(res.targets, scores); ok {
			res.EERCI90 = &iv
		}
	}
	return res, nil
}

// Scores returns every trial's score, in the order of the trial list
// (for WriteScores).
func (r *Result) Scores() []float64 { return r.scores }

// AtThresholds records the decision at thresholds thr: a trial is
// accepted when its score reaches its condition's threshold, as
// voiceprint.Scorer decides; bandLimited[i] says trial i's sides are both
// band-limited (nil: none is).
// With enough speakers (NewResult) it gives the rates' confidence
// intervals too.
func (r *Result) AtThresholds(thr voiceprint.Thresholds, bandLimited []bool) {
	var tm, nm []float64 // each trial's score less its threshold
	accepted := make([]bool, len(r.scores))
	r.BandLimitedTrials = 0
	for i, s := range r.scores {
		bl := i < len(bandLimited) && bandLimited[i]
		if bl {
			r.BandLimitedTrials++
		}
		m := s - thr.For(bl, bl)
		accepted[i] = m >= 0
		if r.targets[i] {
			tm = append(tm, m)
		} else {
			nm = append(nm, m)
		}
	}
	far, frr := RatesAt(tm, nm, 0)
	r.Threshold, r.ThresholdBandLimited, r.FARAtThreshold, r.FRRAtThreshold = &thr.Any, &thr.BandLimited, &far, &frr
	r.FARAtThresholdCI90, r.FRRAtThresholdCI90 = nil, nil
	if r.boot != nil {
		if farCI, frrCI, ok := r.boot.rateIntervals(r.targets, accepted); ok {
			r.FARAtThresholdCI90, r.FRRAtThresholdCI90 = &farCI, &frrCI
		}
	}
}

// Model embeds every file a trial list names (enrolment sets by their
// pooled statistics, test files through the channel) and scores every
// trial with the model's normalised score.
func Model(ctx context.Context, m *voiceprint.Model, trials []Trial, o Options) (*Result, error) {
	start := time.Now()
	type vp struct {
		emb         []float32
		norm        voiceprint.CohortNorm
		bandLimited bool // every file of the side is (Analysis.BandLimited)
	}
	sc := voiceprint.NewScorer(m)
	enrolKeys, testKeys := TrialKeys(trials)
	exs := make([]*voiceprint.Extractor, o.jobs())
	for w := range exs {
		var err error
		if exs[w], err = voiceprint.NewExtractor(m); err != nil {
			return nil, err
		}
	}
	if len(o.Cohort) > 0 {
		// Each cohort recording as the enrolment side is made and, when
		// the test side is made otherwise (a channel on it alone, a cut),
		// as the test side is too: the venue's pairs are then of an
		// enrolment and a probe.
		channel := o.Augment
		if channel == "none" {
			channel = ""
		}
		twoSides := (channel != "" && !o.AugmentEnrol) || o.TestSamples > 0
		enrol := make([][]float32, len(o.Cohort))
		enrolBL := make([]bool, len(o.Cohort))
		var probe [][]float32
		var probeBL []bool
		if twoSides {
			probe, probeBL = make([][]float32, len(o.Cohort)), make([]bool, len(o.Cohort))
		}
		bar := progress.New(o.Progress, len(o.Cohort), "cohort")
		err := parallel.For(ctx, len(o.Cohort), o.jobs(), func(w, i int) error {
			p := o.Cohort[i]
			x, err := capture.ReadWAVFile16k(filepath.Join(o.AudioRoot, p), 0)
			if err != nil {
				return err
			}
			e := x
			if o.AugmentEnrol {
				e = Augment(x, channel, p)
			}
			var a voiceprint.Analysis
			enrol[i], a = exs[w].Embed(nil, e)
			enrolBL[i] = a.BandLimited()
			if twoSides {
				if o.TestSamples > 0 {
					x = x[:min(len(x), o.TestSamples)]
				}
				probe[i], a = exs[w].Embed(nil, Augment(x, channel, p))
				probeBL[i] = a.BandLimited()
			}
			bar.Step()
			return nil
		})
		if err != nil {
			return nil, err
		}
		speakers := make([]string, len(o.Cohort))
		for i, p := range o.Cohort {
			speakers[i] = SpeakerOf(p)
		}
		venue := voiceprint.VenueSide{Voiceprints: enrol, Speakers: speakers, BandLimited: enrolBL}
		if sc, err = sc.WithVenueOf(venue, voiceprint.VenueSide{Voiceprints: probe, Speakers: speakers[:len(probe)], BandLimited: probeBL}); err != nil {
			return nil, err
		}
	}
	results := make([]*vp, len(enrolKeys)+len(testKeys))
	err := ReadSides(ctx, enrolKeys, testKeys, o, "voiceprints", func(w, i int, files [][]float32) error {
		st := exs[w].NewStats()
		bl := true
		for _, x := range files {
			bl = exs[w].Accumulate(st, x).BandLimited() && bl
		}
		e := m.Voiceprint(nil, st)
		results[i] = &vp{emb: e, norm: sc.CohortNorm(e), bandLimited: bl}
		return nil
	})
	if err != nil {
		return nil, err
	}
	scores := ScoreTrials(trials, enrolKeys, testKeys, results, func(a, b *vp) float64 {
		return sc.ScoreWithNorms(a.emb, b.emb, a.norm, b.norm)
	})
	res, err := NewResult(trials, scores, start)
	if err != nil {
		return nil, err
	}
	res.CohortFiles = len(o.Cohort)
	res.VenuePairs = sc.VenuePairs()
	far := o.FAR
	if far == 0 {
		far = DefaultFAR
	}
	if thr, err := sc.Thresholds(far); err == nil {
		bandLimited := ScoreTrials(trials, enrolKeys, testKeys, results, func(a, b *vp) bool { return a.bandLimited && b.bandLimited })
		res.AtThresholds(thr, bandLimited)
		res.ThresholdFrom, res.ThresholdBandLimitedFrom = sc.ThresholdsFrom(far)
	}
	return res, nil
}

// Override returns m with its s-norm top-K, NAP rank and selector top
// parents replaced (negative values keep the model's): research knobs to
// measure what each part of the back end gives (voxward eval's
// --cohort-top, --nap and --top-parents; errors name them so). Out-of-range
// values give an error wrapping ErrOptions. In a fused model each branch
// keeps at most its own NAP directions and parents.
func Override(m *voiceprint.Model, cohortTop, napRank, topParents int) (*voiceprint.Model, error) {
	if cohortTop < 0 && napRank < 0 && topParents < 0 {
		return m, nil
	}
	if len(m.Branches) > 0 {
		// A branch with fewer directions or parents than asked (the mean
		// branch has no NAP and one component) keeps its own; asking for
		// more than every branch has is an error.
		var mostNAP, mostParents int
		for _, b := range m.Branches {
			mostNAP, mostParents = max(mostNAP, b.Config.NAPRank), max(mostParents, b.Config.Parents)
		}
		if napRank > mostNAP {
			return nil, fmt.Errorf("%w: nap %d exceeds the model's %d directions", ErrOptions, napRank, mostNAP)
		}
		if topParents > mostParents {
			return nil, fmt.Errorf("%w: top-parents %d: must be 1 to the model's %d parents", ErrOptions, topParents, mostParents)
		}
		var bs []*voiceprint.Model
		for _, b := range m.Branches {
			nap, top := napRank, topParents
			if nap > b.Config.NAPRank {
				nap = b.Config.NAPRank
			}
			if top > b.Config.Parents {
				top = b.Config.Parents
			}
			nb, err := Override(b, cohortTop, nap, top)
			if err != nil {
				return nil, err
			}
			bs = append(bs, nb)
		}
		return voiceprint.NewFusedModel(m.Config, bs)
	}
	cfg, p := m.Config, m.Params()
	if cohortTop >= 0 {
		if cohortTop > cfg.CohortSize {
			return nil, fmt.Errorf("%w: cohort-top %d exceeds the cohort of %d", ErrOptions, cohortTop, cfg.CohortSize)
		}
		cfg.CohortTop = cohortTop
	}
	if m.Net != nil { // a neural branch: no NAP, no selector
		return voiceprint.NewNeuralModel(cfg, m.Net, m.Center, m.Cohort)
	}
	if topParents >= 0 {
		if topParents < 1 || topParents > cfg.Parents {
			return nil, fmt.Errorf("%w: top-parents %d: must be 1 to the model's %d parents", ErrOptions, topParents, cfg.Parents)
		}
		cfg.TopParents = topParents
	}
	if napRank >= 0 {
		if napRank > cfg.NAPRank {
			return nil, fmt.Errorf("%w: nap %d exceeds the model's %d directions", ErrOptions, napRank, cfg.NAPRank)
		}
		p.NAP = p.NAP[:napRank*cfg.EmbeddingDim()]
		cfg.NAPRank = napRank
	}
	return voiceprint.NewModel(cfg, p)
}
