package main

// Classical speaker-verification baselines, measured by "voxward eval
// --system mfcc-stats|gmm-ubm" in the same run, on the same trials and
// through the same --augment channels as the shipped model. They are
// peers for measurement, not products: nothing else in voxward uses them.

import (
	"context"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"strings"
	"time"

	"github.com/voxward/voxward/dsp"
)

// Evaluated systems.
const (
	sysVoxward   = "voxward"
	sysMFCCStats = "mfcc-stats"
	sysGMMUBM    = "gmm-ubm"
)

// peerFrontEnd is the peers' front end: Kaldi MFCC as dsp computes it (20
// cepstra incl. C0 from 40 mel bins, 20 Hz to Nyquist, lifter 22),
// Δ + ΔΔ (window 2), on the frames dsp's VAD keeps — the front end of the
// shipped model's plain-CMN branch, without its UBM and back end.
func peerFrontEnd() dsp.ModelConfig {
	return dsp.ModelConfig{NumCeps: 20, NumMelBins: 40, LowFreq: 20, HighFreq: 0, DeltaOrder: 2, DeltaWindow: 2}
}

// rawFrames returns the speech frames of samples before mean
// normalisation (mfcc-stats needs the means).
func rawFrames(fe *dsp.SpeechFeatures, samples []float32) []float32 {
	f, _ := fe.ComputeRaw(samples)
	return f
}

// frameStats are the pooled sufficient statistics of speech frames: count,
// Σx and Σx² per dimension.
type frameStats struct {
	n       int
	sum, sq []float64
}

func newFrameStats(dim int) *frameStats {
	return &frameStats{sum: make([]float64, dim), sq: make([]float64, dim)}
}

func (s *frameStats) add(frames []float32) {
	dim := len(s.sum)
	for t := 0; t+dim <= len(frames); t += dim {
		for d, v := range frames[t : t+dim] {
			s.sum[d] += float64(v)
			s.sq[d] += float64(v) * float64(v)
		}
		s.n++
	}
}

// statsVector is the mfcc-stats vector: the mean of c1…c(nc-1) over the
// pooled speech frames, before any mean normalisation, then the standard
// deviation of every one of the dim features (statics, Δ, ΔΔ; C0
// included). No scaling, no centring: the vector is untrained.
func (s *frameStats) statsVector(nc int) []float64 {
	dim := len(s.sum)
	v := make([]float64, nc-1+dim)
	if s.n == 0 {
		return v
	}
	n := float64(s.n)
	for d := 1; d < nc; d++ {
		v[d-1] = s.sum[d] / n
	}
	for d := 0; d < dim; d++ {
		m := s.sum[d] / n
		v[nc-1+d] = math.Sqrt(max(s.sq[d]/n-m*m, 0))
	}
	return v
}

// cosine returns the cosine of a and b (0 when either is zero).
func cosine(a, b []float64) float64 {
	var ab, aa, bb float64
	for i := range a {
		ab += a[i] * b[i]
		aa += a[i] * a[i]
		bb += b[i] * b[i]
	}
	if aa == 0 || bb == 0 {
		return 0
	}
	return ab / math.Sqrt(aa*bb)
}

// trialKeys lists, in first-seen order, the distinct enrolment sets (their
// paths joined by commas) and test files of trials.
func trialKeys(trials []dsp.Trial) (enrolKeys, testKeys []string) {
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

// trialAudio is where eval finds a trial list's audio and what it does to
// it: the test side goes through the augment channel, after being cut to
// its first testSamples samples (0: whole); with enrolToo the enrolment
// side goes through the channel too.
type trialAudio struct {
	root, augment string
	enrolToo      bool
	testSamples   int
}

// read reads, on jobs workers, each enrolment set (side i <
// len(enrolKeys): the samples of each of its files) and each test file
// (side len(enrolKeys)+j: testKeys[j], cut and through the channel) and
// hands them to fn; it steps bar after each side.
func (ta trialAudio) read(ctx context.Context, enrolKeys, testKeys []string, jobs int, bar *progressBar,
	fn func(w, i int, files [][]float32) error) error {
	return parallel(ctx, len(enrolKeys)+len(testKeys), jobs, func(w, i int) error {
		var files [][]float32
		if i < len(enrolKeys) {
			for _, p := range strings.Split(enrolKeys[i], ",") {
				x, err := readWAV16k(filepath.Join(ta.root, p))
				if err != nil {
					return err
				}
				if ta.enrolToo {
					x = augmentAudio(x, ta.augment, p)
				}
				files = append(files, x)
			}
		} else {
			p := testKeys[i-len(enrolKeys)]
			x, err := readWAV16k(filepath.Join(ta.root, p))
			if err != nil {
				return err
			}
			if ta.testSamples > 0 {
				x = x[:min(len(x), ta.testSamples)]
			}
			files = append(files, augmentAudio(x, ta.augment, p))
		}
		if err := fn(w, i, files); err != nil {
			return err
		}
		bar.step()
		return nil
	})
}

// scoreTrials scores each trial with score(enrolment side, test side),
// where sides holds one value per enrolment key, then one per test key
// (the order trialAudio.read uses).
func scoreTrials[T any](trials []dsp.Trial, enrolKeys, testKeys []string, sides []T, score func(a, b T) float64) []float64 {
	idx := make(map[string]int, len(enrolKeys)+len(testKeys))
	for i, k := range enrolKeys {
		idx["e:"+k] = i
	}
	for i, k := range testKeys {
		idx["t:"+k] = len(enrolKeys) + i
	}
	scores := make([]float64, len(trials))
	for i, t := range trials {
		scores[i] = score(sides[idx["e:"+strings.Join(t.Enroll, ",")]], sides[idx["t:"+t.Test]])
	}
	return scores
}

// finishResult splits scores (one per trial) by label and computes the
// EER, the threshold there and the minimum DCF.
func finishResult(trials []dsp.Trial, scores []float64, start time.Time) (*evalResult, error) {
	res := &evalResult{Trials: len(trials)}
	for i, t := range trials {
		if t.Target {
			res.targetScores = append(res.targetScores, scores[i])
		} else {
			res.nontargetScores = append(res.nontargetScores, scores[i])
		}
	}
	res.Targets, res.Nontargets = len(res.targetScores), len(res.nontargetScores)
	var err error
	res.EER, res.ThresholdAtEER, err = dsp.EER(res.targetScores, res.nontargetScores)
	if err != nil {
		return nil, fmt.Errorf("trial list: %w", err)
	}
	if res.MinDCF, _, err = dsp.MinDCF(res.targetScores, res.nontargetScores, dsp.DefaultDCF); err != nil {
		return nil, err
	}
	res.Seconds = time.Since(start).Seconds()
	return res, nil
}

// evaluateMFCCStats scores trials with the mfcc-stats peer: the cosine of
// the untrained statistics vectors of the enrolment set (frames of all
// its files pooled) and of the test file (through the --augment channel).
func evaluateMFCCStats(ctx context.Context, trials []dsp.Trial, ta trialAudio, jobs int, progress io.Writer) (*evalResult, error) {
	start := time.Now()
	cfg := peerFrontEnd()
	enrolKeys, testKeys := trialKeys(trials)
	fes := make([]*dsp.SpeechFeatures, jobs)
	for w := range fes {
		var err error
		if fes[w], err = dsp.NewSpeechFeatures(cfg); err != nil {
			return nil, fmt.Errorf("peer front end: %w", err)
		}
	}
	bar := &progressBar{w: progress, n: len(enrolKeys) + len(testKeys), what: "mfcc-stats vectors", start: start}
	vecs := make([][]float64, len(enrolKeys)+len(testKeys))
	err := ta.read(ctx, enrolKeys, testKeys, jobs, bar, func(w, i int, files [][]float32) error {
		st := newFrameStats(cfg.FeatureDim())
		for _, x := range files {
			st.add(rawFrames(fes[w], x))
		}
		vecs[i] = st.statsVector(cfg.NumCeps)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return finishResult(trials, scoreTrials(trials, enrolKeys, testKeys, vecs, cosine), start)
}
