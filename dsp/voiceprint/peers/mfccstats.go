package peers

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/voxward/voxward/dsp/voiceprint"
	"github.com/voxward/voxward/dsp/voiceprint/eval"
)

// frontEnd is the peers' front end: Kaldi MFCC as dsp computes it (20
// cepstra incl. C0 from 40 mel bins, 20 Hz to Nyquist, lifter 22),
// Δ + ΔΔ (window 2), on the frames dsp's VAD keeps — the front end of the
// shipped model's plain-CMN branch, without its UBM and back end.
func frontEnd() voiceprint.ModelConfig {
	return voiceprint.ModelConfig{NumCeps: 20, NumMelBins: 40, LowFreq: 20, HighFreq: 0, DeltaOrder: 2, DeltaWindow: 2}
}

// rawFrames returns the speech frames of samples before mean
// normalisation (mfcc-stats needs the means).
func rawFrames(fe *voiceprint.SpeechFeatures, samples []float32) []float32 {
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

// MFCCStats scores trials with the mfcc-stats peer: the cosine of
// the untrained statistics vectors of the enrolment set (frames of all
// its files pooled) and of the test file (through the channel).
func MFCCStats(ctx context.Context, trials []eval.Trial, o eval.Options) (*eval.Result, error) {
	jobs := max(o.Jobs, 1)
	start := time.Now()
	cfg := frontEnd()
	enrolKeys, testKeys := eval.TrialKeys(trials)
	fes := make([]*voiceprint.SpeechFeatures, jobs)
	for w := range fes {
		var err error
		if fes[w], err = voiceprint.NewSpeechFeatures(cfg); err != nil {
			return nil, fmt.Errorf("peer front end: %w", err)
		}
	}
	vecs := make([][]float64, len(enrolKeys)+len(testKeys))
	err := eval.ReadSides(ctx, enrolKeys, testKeys, o, "mfcc-stats vectors", func(w, i int, files [][]float32) error {
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
	return eval.NewResult(trials, eval.ScoreTrials(trials, enrolKeys, testKeys, vecs, cosine), start)
}
