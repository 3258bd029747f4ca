package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/voxward/voxward/capture"
	"github.com/voxward/voxward/dsp"
)

func init() {
	register(&command{name: "train", summary: "train the voiceprint model from speech data", run: runTrain})
}

const trainHelp = `Trains the voiceprint model from the training speakers of a speech data
folder and writes it as one file that dsp embeds (dsp/model/voiceprint.bin).
The defaults make the shipped model: "make voiceprint-model".

The recipe, deterministic for a given data folder and flags (any --jobs),
runs steps 1–3 once per branch: with --fusion (the default) a
feature-warped branch (MAP relevance --relevance, 8) and a plain-CMN branch
(cepstral mean subtraction, relevance --cmn-relevance, 16), otherwise the
flags' single recipe:
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
    copies (telephone and 8 kHz for every speaker) give the centre and,
    with those of its 3-second pieces
    (--nap-crops 1: clean pieces), the nuisance (channel, session and
    short-segment) directions removed by NAP (--nap, 20); a cohort of one
    voiceprint per speaker (channels alternating; stored as float16 in a
    fused model) for adaptive s-norm (top 100);
 4. the branches are fused: the voiceprint is the branch voiceprints side by
    side, the score the mean of their s-normalised scores (equal weights,
    not tuned);
 5. thresholds are calibrated on the fused scores of non-target pairs of
    training speakers in the same channel — an enrolment (a whole utterance
    of at least 8 s) against each of the first four 3-second pieces of
    another speaker's utterance — for verification, and on simulated
    open-set sessions (1–50 enrolled, 25 draws per probe) for
    identification, in three channels (clean, telephone, noise at 15 dB);
    each threshold is the strictest of the channels', so the false-accept
    rate holds in each. The scores are cross-fitted: the speakers are split
    in two folds, and each fold is scored with a NAP learned from the other
    fold only, as the shipped model meets voices it was not trained on.`

type trainConfig struct {
	data, out       string
	frames, jobs    int
	iters, splitIts int
	varFloor        float64
	cfg             dsp.ModelConfig
	fars            []float64
	fusion          bool    // add a plain-CMN branch and fuse
	napCrops        int     // calibration channels whose 3-s pieces join the NAP variants
	cmnRelevance    float64 // MAP relevance of the CMN branch
}

// branchID derives a single model's id from its recipe.
func branchID(c dsp.ModelConfig, napCrops int) string {
	ns := ""
	if c.NoiseSubtraction > 0 {
		ns = fmt.Sprintf("-ns%g", c.NoiseSubtraction)
	}
	if c.FeatureWarp {
		ns += "-warp"
	}
	if c.FrameSNRDB > 0 {
		ns += fmt.Sprintf("-fs%g", c.FrameSNRDB)
	}
	if c.CohortFloat16 { // a fusion branch: name its normalisation and relevance
		if !c.FeatureWarp {
			ns += "-cmn"
		}
		ns += fmt.Sprintf("-r%g", c.Relevance)
	}
	nap := fmt.Sprintf("nap%d", c.NAPRank)
	if napCrops > 0 {
		nap += fmt.Sprintf("s%d", napCrops) // NAP also learned from 3-s pieces
	}
	// v2: the band-limited training copies include 8 kHz recordings.
	return fmt.Sprintf("gsv-ubm%d-mfcc%dd%d%s-%s-v2", c.Components, c.NumCeps, c.DeltaOrder, ns, nap)
}

// branches returns the configuration of each branch: the flags' recipe,
// and with --fusion the same with CMN instead of feature warping and MAP
// relevance --cmn-relevance.
func (tc trainConfig) branches() []dsp.ModelConfig {
	if !tc.fusion {
		return []dsp.ModelConfig{tc.cfg}
	}
	a := tc.cfg
	a.CohortFloat16 = true
	a.ID = branchID(a, tc.napCrops)
	b := a
	b.FeatureWarp = false
	b.Relevance = tc.cmnRelevance
	b.ID = branchID(b, tc.napCrops)
	return []dsp.ModelConfig{a, b}
}

func runTrain(ctx context.Context, sio *stdio, args []string) error {
	fs := newFlags(sio, "train", "train [--data DIR] [--out FILE] [flags]", trainHelp)
	var tc trainConfig
	fs.StringVar(&tc.data, "data", filepath.Join("..", "shared", "data"), "speech data folder (holds librispeech/train-clean-100)")
	fs.StringVar(&tc.out, "out", filepath.Join("dsp", "model", "voiceprint.bin"), "model file to write")
	fs.IntVar(&tc.frames, "frames", 240000, "speech frames sampled for the UBM")
	fs.IntVar(&tc.jobs, "jobs", runtime.NumCPU(), "parallel workers")
	fs.IntVar(&tc.iters, "iters", 8, "EM iterations at the final size")
	fs.IntVar(&tc.splitIts, "split-iters", 4, "EM iterations after each split")
	fs.Float64Var(&tc.varFloor, "var-floor", 0.01, "variance floor as a fraction of the global variance")
	c := &tc.cfg
	fs.StringVar(&c.ID, "id", "", "model id (default: derived from the recipe)")
	fs.IntVar(&c.NumCeps, "num-ceps", 20, "MFCCs (C0 included)")
	fs.IntVar(&c.NumMelBins, "num-mel-bins", 40, "mel bins")
	fs.Float64Var(&c.LowFreq, "low-freq", 20, "lowest mel frequency, Hz")
	fs.Float64Var(&c.HighFreq, "high-freq", 0, "highest mel frequency, Hz (≤ 0: Nyquist + value)")
	fs.IntVar(&c.DeltaOrder, "delta-order", 2, "0: statics, 1: +Δ, 2: +Δ+ΔΔ")
	fs.Float64Var(&c.NoiseSubtraction, "noise-subtraction", 0, "mel-domain noise over-subtraction α (0: off)")
	fs.BoolVar(&c.FeatureWarp, "warp", true, "Gaussianise features over each utterance instead of CMN")
	fs.Float64Var(&c.FrameSNRDB, "frame-snr", 0, "keep speech frames at least this many dB above the noise (0: all)")
	fs.Float64Var(&c.NoiseFloor, "noise-floor", 0.1, "mel-domain noise floor β (with --noise-subtraction)")
	fs.IntVar(&c.Components, "components", 256, "UBM components (a power of two times --parents)")
	fs.IntVar(&c.Parents, "parents", 32, "selector GMM components")
	fs.IntVar(&c.TopParents, "top-parents", 4, "selector components kept per frame")
	fs.IntVar(&c.TopN, "top-n", 10, "UBM components kept per frame")
	fs.Float64Var(&c.Relevance, "relevance", 8, "MAP relevance factor")
	fs.IntVar(&c.NAPRank, "nap", 20, "nuisance directions removed")
	fs.IntVar(&c.CohortTop, "cohort-top", 100, "adaptive s-norm: top cohort scores used")
	fs.IntVar(&tc.napCrops, "nap-crops", 1, "NAP also learns from the 3-s pieces of this many channels (0–3: clean, telephone, noise)")
	fs.BoolVar(&tc.fusion, "fusion", true, "train a second, plain-CMN branch and fuse the two (equal weights); cohorts stored as float16")
	fs.Float64Var(&tc.cmnRelevance, "cmn-relevance", 16, "MAP relevance factor of the plain-CMN branch (with --fusion)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return usagef("unexpected arguments %q", pos)
	}
	c.DeltaWindow = 2
	if c.ID == "" {
		c.ID = branchID(*c, tc.napCrops)
		if tc.fusion {
			bs := tc.branches()
			c.ID = strings.Replace(bs[0].ID, "gsv-", "gsvfuse-", 1)
			c.ID = strings.Replace(c.ID, "-nap", fmt.Sprintf("+cmn-r%g-nap", tc.cmnRelevance), 1)
		}
	}
	if tc.fusion && (!c.FeatureWarp || c.NoiseSubtraction > 0 || c.FrameSNRDB > 0) {
		return usagef("--fusion pairs a feature-warped branch with a plain-CMN one: it needs --warp, no --noise-subtraction or --frame-snr")
	}
	if tc.napCrops < 0 || tc.napCrops > calibChannels {
		return usagef("--nap-crops must be 0 to %d", calibChannels)
	}
	if c.Components < c.Parents || c.Components%c.Parents != 0 || c.Parents < 1 || tc.jobs < 1 || tc.frames < 1000 {
		return usagef("--components must be a multiple of --parents, --jobs ≥ 1, --frames ≥ 1000")
	}
	tc.fars = []float64{0.0001, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05}
	m, err := train(ctx, sio.err, tc)
	if err != nil {
		return err
	}
	b, err := m.MarshalBinary()
	if err != nil {
		return err
	}
	if err := os.WriteFile(tc.out, b, 0o644); err != nil {
		return fmt.Errorf("write model: %w", err)
	}
	fmt.Fprintf(sio.out, "{\"model\":%q,\"bytes\":%d,\"out\":%q}\n", m.Config.ID, len(b), tc.out)
	return nil
}

// trainUtt is one training utterance: its speaker index and file.
type trainUtt struct {
	spk  int
	path string
}

// variants of an utterance used by the back end.
const (
	vClean = iota
	vTel
	vNoise
	vHalfA
	vHalfB
	vHalfATel
	vHalfBNoise
	vNarrow                       // through an 8 kHz recording: nothing above 4 kHz
	napVariants                   // the variants above give the nuisance directions
	vTail       = napVariants     // the last 3 s: a probe, clean
	vTailTel    = napVariants + 1 // the same through the telephone channel
	vHead       = napVariants + 2 // all but the last 3 s: an enrolment, clean
	vHeadTel    = napVariants + 3 // the same through the telephone channel
	vNoise15    = napVariants + 4 // the whole utterance at 15 dB SNR: an enrolment in the noisy calibration channel
	vCrop       = napVariants + 5 // calibCrops 3-s pieces from the start in each calibration channel (clean, telephone, noise 15 dB)
	numVariants = vCrop + calibChannels*calibCrops
)

// calibChannels are the channels calibration holds the false-accept rate
// in: clean, telephone, and noise at 15 dB SNR (just above the enrolment
// quality gate's 12 dB).
const calibChannels = 3

// calibEnrolment is the variant that serves as an enrolment in each
// calibration channel.
var calibEnrolment = [calibChannels]int{vClean, vTel, vNoise15}

// cropSamples is the length of the short test segments calibration uses:
// thresholds are set where they are hardest, on 3-second probes.
const cropSamples = 3 * 16000

// calibCrops is how many consecutive 3-second pieces of each training
// utterance serve as non-target probes in calibration.
const calibCrops = 4

// cropOf returns the c-th 3-second piece of x, or nil if x is too short.
func cropOf(x []float32, c int) []float32 {
	if (c+1)*cropSamples > len(x) {
		return nil
	}
	return x[c*cropSamples : (c+1)*cropSamples]
}

func variantAudio(x []float32, spk, v int) []float32 {
	h := len(x) / 2
	snr := []float64{5, 10, 20}[spk%3]
	switch {
	case v == vClean:
		return x
	case v == vTel:
		return dsp.Telephone(nil, x)
	case v == vNoise:
		return dsp.AddNoise(nil, x, snr, uint64(spk))
	case v == vHalfA:
		return x[:h]
	case v == vHalfB:
		return x[h:]
	case v == vHalfATel:
		return dsp.Telephone(nil, x[:h])
	case v == vHalfBNoise:
		return dsp.AddNoise(nil, x[h:], 15, uint64(spk)+7777)
	case v == vNarrow:
		return dsp.NarrowBand(nil, x)
	case v == vTail:
		return x[max(0, len(x)-cropSamples):]
	case v == vTailTel:
		return dsp.Telephone(nil, x[max(0, len(x)-cropSamples):])
	case v == vHead:
		return x[:max(0, len(x)-cropSamples)]
	case v == vHeadTel:
		return dsp.Telephone(nil, x[:max(0, len(x)-cropSamples)])
	case v == vNoise15:
		return dsp.AddNoise(nil, x, 15, uint64(spk)+31337)
	case v >= vCrop && v < numVariants:
		ch, c := (v-vCrop)/calibCrops, (v-vCrop)%calibCrops
		piece := cropOf(x, c)
		switch {
		case piece == nil || ch == 0:
			return piece
		case ch == 1:
			return dsp.Telephone(nil, piece)
		default:
			return dsp.AddNoise(nil, piece, 15, uint64(spk*calibCrops+c)+4242)
		}
	}
	panic("voxward: unknown variant")
}

func listTrain(data string) ([]trainUtt, error) {
	dir := filepath.Join(data, "librispeech", "train-clean-100")
	files, err := filepath.Glob(filepath.Join(dir, "*", "*.wav"))
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no WAV files under %s", dir)
	}
	sort.Strings(files)
	spk := map[string]int{}
	var out []trainUtt
	for _, f := range files {
		s := filepath.Base(filepath.Dir(f))
		if _, ok := spk[s]; !ok {
			spk[s] = len(spk)
		}
		out = append(out, trainUtt{spk: spk[s], path: f})
	}
	return out, nil
}

func readWAV16k(path string) ([]float32, error) { return readWAV16kChannel(path, 0) }

// readWAV16kChannel reads one channel of a WAV file as 16 kHz samples on
// the int16 scale, resampling other rates (8 kHz telephone recordings,
// 44.1 or 48 kHz) with dsp's polyphase resampler, delay removed.
func readWAV16kChannel(path string, channel int) ([]float32, error) {
	x, f, err := capture.ReadWAVFile(path, channel)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if f.SampleRate == 16000 {
		return x, nil
	}
	r, err := dsp.NewResampler(f.SampleRate, 16000)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	y := make([]float32, 0, r.MaxOut(len(x))+r.Delay()+1)
	y = r.Process(y, x)
	y = r.Flush(y)
	want := int(int64(len(x)) * 16000 / int64(f.SampleRate))
	y = y[min(r.Delay(), len(y)):]
	return y[:min(want, len(y))], nil
}

// parallel runs fn(i) for i in [0,n) on jobs goroutines and returns the
// first error.
func parallel(ctx context.Context, n, jobs int, fn func(worker, i int) error) error {
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	next := make(chan int)
	for w := 0; w < jobs; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := fn(w, i); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
				}
			}
		}()
	}
	for i := 0; i < n; i++ {
		if ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	if first == nil {
		first = ctx.Err()
	}
	return first
}

// ubmRecipe is how a UBM is grown: binary splits up to components, with
// splitIters EM iterations after each split and iters at the parents'
// size (the selector) and the final size; variances are floored at
// varFloor of the global variance.
type ubmRecipe struct {
	components, parents int
	splitIters, iters   int
	varFloor            float64
}

// trainUBM trains a diagonal GMM on pool (frames of dim values) by EM
// with binary splitting, and returns it with its parents-sized stage.
// The EM statistics are summed over a fixed number of chunks in a fixed
// order: the result depends on neither jobs nor scheduling.
func trainUBM(ctx context.Context, say func(string, ...any), pool []float32, dim int, r ubmRecipe, jobs int) (ubm, parent *dsp.GMM, err error) {
	ubm, floor, err := dsp.SingleGaussian(pool, dim, r.varFloor)
	if err != nil {
		return nil, nil, err
	}
	const chunks = 16
	per := (len(pool)/dim + chunks - 1) / chunks * dim
	em := func(g *dsp.GMM, iters int) (*dsp.GMM, error) {
		for it := 0; it < iters; it++ {
			accs := make([]*dsp.GMMAccumulator, chunks)
			err := parallel(ctx, chunks, jobs, func(_, i int) error {
				accs[i] = dsp.NewGMMAccumulator(g)
				lo, hi := min(i*per, len(pool)), min((i+1)*per, len(pool))
				g.EStep(accs[i], pool[lo:hi])
				return nil
			})
			if err != nil {
				return nil, err
			}
			for _, a := range accs[1:] {
				accs[0].Add(a)
			}
			if g, err = g.MStep(accs[0], floor); err != nil {
				return nil, err
			}
			say("UBM %3d components, iteration %d: average log-likelihood %.4f", g.Components(), it+1, accs[0].LogLik/float64(accs[0].Frames))
		}
		return g, nil
	}
	for ubm.Components() < r.components {
		if ubm, err = ubm.Split(); err != nil {
			return nil, nil, err
		}
		iters := r.splitIters
		if ubm.Components() == r.components || ubm.Components() == r.parents {
			iters = r.iters
		}
		if ubm, err = em(ubm, iters); err != nil {
			return nil, nil, err
		}
		if ubm.Components() == r.parents {
			parent = ubm
		}
	}
	if parent == nil {
		parent = ubm
	}
	return ubm, parent, nil
}

// trainedBranch is one branch model (centre, NAP and cohort, not yet
// calibrated); folds[f] is the same with a NAP learned without the
// speakers of fold f (speaker index mod 2), and the projected voiceprints
// of the training variants in it, which calibration scores fold f's
// speakers with.
type trainedBranch struct {
	m          *dsp.Model
	uttSamples []int
	cohortIdx  []int
	folds      [2]struct {
		m    *dsp.Model
		proj func(i, v int) []float32
	}
}

// trainBranch runs steps 1–3 of the recipe for one branch configuration.
func trainBranch(ctx context.Context, say func(string, ...any), tc trainConfig, cfg dsp.ModelConfig, utts []trainUtt) (*trainedBranch, error) {
	var err error
	dim := cfg.FeatureDim()
	say("branch %s", cfg.ID)

	// 1–2: pooled speech frames of clean, telephone and noisy copies.
	feats := make([][]float32, len(utts))
	fes := make([]*dsp.SpeechFeatures, tc.jobs)
	for w := range fes {
		if fes[w], err = dsp.NewSpeechFeatures(cfg); err != nil {
			return nil, err
		}
	}
	err = parallel(ctx, len(utts), tc.jobs, func(w, i int) error {
		x, err := readWAV16k(utts[i].path)
		if err != nil {
			return err
		}
		var all []float32
		// Band-limited speech is a third of the pool: half the speakers
		// through the telephone channel, half as 8 kHz recordings.
		band := vTel
		if utts[i].spk%2 == 1 {
			band = vNarrow
		}
		for _, v := range []int{vClean, band, vNoise} {
			f, _ := fes[w].Compute(variantAudio(x, utts[i].spk, v))
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
	step := max(1, total/tc.frames)
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

	ubm, parent, err := trainUBM(ctx, say, pool, dim, ubmRecipe{
		components: cfg.Components, parents: cfg.Parents,
		splitIters: tc.splitIts, iters: tc.iters, varFloor: tc.varFloor,
	}, tc.jobs)
	if err != nil {
		return nil, err
	}
	pool = nil

	// 3: supervectors of every variant.
	base := cfg
	base.NAPRank, base.CohortSize, base.CohortTop, base.Calibration = 0, 0, 0, nil
	ed := cfg.EmbeddingDim()
	m0, err := dsp.NewModel(base, dsp.ModelParams{
		UBMWeights: ubm.Weights, UBMMeans: ubm.Means, UBMVars: ubm.Vars,
		ParentWeights: parent.Weights, ParentMeans: parent.Means, ParentVars: parent.Vars,
		ParentOf: dsp.AssignParents(ubm, parent), Center: make([]float32, ed),
	})
	if err != nil {
		return nil, err
	}
	exs := make([]*dsp.Extractor, tc.jobs)
	for w := range exs {
		if exs[w], err = dsp.NewExtractor(m0); err != nil {
			return nil, err
		}
	}
	raw := make([][]float32, len(utts)*numVariants)
	uttSamples := make([]int, len(utts))
	err = parallel(ctx, len(utts), tc.jobs, func(w, i int) error {
		x, err := readWAV16k(utts[i].path)
		if err != nil {
			return err
		}
		uttSamples[i] = len(x)
		for v := 0; v < numVariants; v++ {
			st := exs[w].NewStats()
			exs[w].Accumulate(st, variantAudio(x, utts[i].spk, v))
			raw[i*numVariants+v] = m0.RawSupervector(nil, st)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	say("supervectors of %d utterances × %d variants", len(utts), numVariants)
	center := make([]float32, ed)
	for i := range raw {
		if i%numVariants >= napVariants {
			continue
		}
		for j, v := range raw[i] {
			center[j] += v / float32(len(utts)*napVariants)
		}
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
			for v := range napVariants {
				vs = append(vs, v)
			}
			for ch := range tc.napCrops {
				for c := 0; c < calibCrops && (c+1)*cropSamples <= uttSamples[i]; c++ {
					vs = append(vs, vCrop+ch*calibCrops+c)
				}
			}
			mean := make([]float32, ed)
			us := make([][]float32, len(vs))
			for k, v := range vs {
				r := raw[i*numVariants+v]
				var n float64
				for j := range r {
					d := float64(r[j] - center[j])
					n += d * d
				}
				s := float32(1 / math.Sqrt(max(n, 1e-20)))
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
		return topDirections(ctx, dev, cfg.NAPRank, tc.jobs)
	}
	nap, err := napFrom(func(int) bool { return true })
	if err != nil {
		return nil, err
	}
	say("NAP: %d nuisance directions", cfg.NAPRank)

	// Cohort: one voiceprint per speaker (its first utterance), channels
	// alternating.
	first := make([]bool, len(utts))
	seen := map[int]bool{}
	for i, u := range utts {
		first[i] = !seen[u.spk]
		seen[u.spk] = true
	}
	for i, u := range utts {
		if !first[i] {
			continue
		}
		cfg.CohortLabels = append(cfg.CohortLabels, filepath.Base(filepath.Dir(u.path)))
	}
	cfg.Training = fmt.Sprintf("voxward train: %d utterances of LibriSpeech train-clean-100 (CC BY 4.0, (c) 2014 Vassil Panayotov et al.) "+
		"with telephone and noise copies; UBM on %d frames, %d EM iterations", len(utts), tc.frames, tc.iters)
	build := func(nap []float32) (*dsp.Model, func(i, v int) []float32, []int, error) {
		withNAP := cfg
		withNAP.CohortSize, withNAP.CohortTop, withNAP.CohortLabels, withNAP.Calibration = 0, 0, nil, nil
		p := m0.Params()
		p.Center, p.NAP = center, nap
		m1, err := dsp.NewModel(withNAP, p)
		if err != nil {
			return nil, nil, nil, err
		}
		proj := func(i, v int) []float32 {
			out := append([]float32(nil), raw[i*numVariants+v]...)
			m1.Project(out)
			return out
		}
		var cohortIdx []int
		for i, u := range utts {
			if !first[i] {
				continue
			}
			p.Cohort = append(p.Cohort, proj(i, []int{vClean, vTel, vNoise}[u.spk%3])...)
			cohortIdx = append(cohortIdx, u.spk)
		}
		c := cfg
		c.CohortSize = len(cohortIdx)
		c.CohortTop = min(c.CohortTop, max(c.CohortSize-2, 0))
		m, err := dsp.NewModel(c, p)
		return m, proj, cohortIdx, err
	}
	out := &trainedBranch{uttSamples: uttSamples}
	if out.m, _, out.cohortIdx, err = build(nap); err != nil {
		return nil, err
	}
	// Cross-fitted models for calibration: fold f's speakers are scored
	// with a NAP learned without them, as the shipped model meets voices
	// it was not trained on.
	for f := range out.folds {
		foldNAP, err := napFrom(func(i int) bool { return utts[i].spk%2 != f })
		if err != nil {
			return nil, err
		}
		if out.folds[f].m, out.folds[f].proj, _, err = build(foldNAP); err != nil {
			return nil, err
		}
	}
	say("NAP of each calibration fold: %d directions from half the speakers", cfg.NAPRank)
	return out, nil
}

// train runs the recipe: one branch, or with --fusion a feature-warped and
// a plain-CMN branch fused with equal weights; then the calibration.
func train(ctx context.Context, log io.Writer, tc trainConfig) (*dsp.Model, error) {
	start := time.Now()
	say := func(format string, a ...any) {
		fmt.Fprintf(log, "[%6.1fs] "+format+"\n", append([]any{time.Since(start).Seconds()}, a...)...)
	}
	utts, err := listTrain(tc.data)
	if err != nil {
		return nil, err
	}
	cfgs := tc.branches()
	cfg := tc.cfg
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
		spkOf[i] = u.spk
	}
	uttSamples, cohortIdx := brs[0].uttSamples, brs[0].cohortIdx
	// build assembles the shipped model (fold -1) or a calibration fold's
	// from the branches.
	build := func(c dsp.ModelConfig, fold int) (*dsp.Model, error) {
		ms := make([]*dsp.Model, len(brs))
		for k, br := range brs {
			ms[k] = br.m
			if fold >= 0 {
				ms[k] = br.folds[fold].m
			}
		}
		if len(ms) == 1 {
			bc := ms[0].Config
			bc.Calibration, bc.IdentifyCalibration = c.Calibration, c.IdentifyCalibration
			return dsp.NewModel(bc, ms[0].Params())
		}
		return dsp.NewFusedModel(c, ms)
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
	var scs [2]*dsp.Scorer
	for f := range scs {
		m, err := build(dsp.ModelConfig{ID: cfg.ID}, f)
		if err != nil {
			return nil, err
		}
		scs[f] = dsp.NewScorer(m)
	}
	type side struct {
		emb  []float32
		spk  int
		norm dsp.CohortNorm
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
	err = parallel(ctx, len(as), tc.jobs, func(_, ai int) error {
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
	for _, far := range tc.fars {
		thr, err := strictestThreshold(non[:], far)
		if err != nil {
			return nil, err
		}
		cfg.Calibration = append(cfg.Calibration, dsp.CalibrationPoint{FAR: far, Threshold: thr})
	}
	if cfg.IdentifyCalibration, err = identifyCalibration(len(as), len(bs), func(a, b int) float64 {
		return scores[a*len(bs)+b]
	}); err != nil {
		return nil, err
	}
	say("open-set calibration: %d session sizes", len(identifySizes))
	say("calibration: %d enrolments, %d probes of 3 s, %d non-target pairs in each of %d channels", len(as), len(bs), len(non[0]), calibChannels)
	for i, far := range tc.fars {
		var per []string
		for ch := range non {
			t, _ := dsp.ThresholdForFAR(non[ch], far)
			per = append(per, fmt.Sprintf("%.3f", t))
		}
		say("  FAR %g: threshold %.3f (clean, telephone, noise: %s)", far, cfg.Calibration[i].Threshold, strings.Join(per, ", "))
	}
	if eer, _, err := dsp.EER(tar, non[0]); err == nil {
		say("training speakers, enrolment against their last 3 s: %d targets, EER %.2f%%", len(tar), 100*eer)
	}
	cfg.Training = fmt.Sprintf("voxward train: %d branches (%s), s-normalised scores averaged with equal weights; "+
		"%d utterances of LibriSpeech train-clean-100 (CC BY 4.0, (c) 2014 Vassil Panayotov et al.) "+
		"with telephone and noise copies; UBM on %d frames, %d EM iterations", len(brs), branchIDs(brs), len(utts), tc.frames, tc.iters)
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

// identifySizes are the session sizes (enrolled voiceprints) open-set
// identification is calibrated for.
var identifySizes = []int{1, 2, 3, 5, 10, 20, 50}

// identifyFARs are the per-probe false-accept rates calibrated.
var identifyFARs = []float64{0.001, 0.005, 0.01, 0.02, 0.05}

// strictestThreshold returns the highest of the thresholds that accept
// the fraction far of each set of non-target scores.
func strictestThreshold(sets [][]float64, far float64) (float64, error) {
	thr := math.Inf(-1)
	for _, s := range sets {
		t, err := dsp.ThresholdForFAR(s, far)
		if err != nil {
			return 0, err
		}
		thr = max(thr, t)
	}
	return thr, nil
}

// identifyCalibration simulates open-set sessions on the training
// speakers: for each probe b (a 3-second piece) and session size n, 25
// seeded draws of n enrolments a of other speakers in the same channel
// (score(a, b) is NaN where a and b are not such a pair; index %
// calibChannels is the channel); the best score of each draw is what an
// unknown voice would reach. Thresholds are the quantiles of those maxima,
// the strictest of the channels'.
func identifyCalibration(na, nb int, score func(a, b int) float64) ([]dsp.IdentifyCalibrationPoint, error) {
	const draws = 25
	r := rand.New(rand.NewPCG(2026, 11))
	var out []dsp.IdentifyCalibrationPoint
	pool := make([]int, 0, na)
	for _, n := range identifySizes {
		var maxima [calibChannels][]float64
		for b := range nb {
			pool = pool[:0]
			for a := range na {
				if !math.IsNaN(score(a, b)) {
					pool = append(pool, a)
				}
			}
			if len(pool) < n {
				continue
			}
			for range draws {
				best := math.Inf(-1)
				for k := 0; k < n; k++ { // partial Fisher-Yates: n distinct enrolments
					j := k + r.IntN(len(pool)-k)
					pool[k], pool[j] = pool[j], pool[k]
					best = max(best, score(pool[k], b))
				}
				maxima[b%calibChannels] = append(maxima[b%calibChannels], best)
			}
		}
		if slices.ContainsFunc(maxima[:], func(m []float64) bool { return len(m) == 0 }) {
			continue
		}
		for _, far := range identifyFARs {
			thr, err := strictestThreshold(maxima[:], far)
			if err != nil {
				return nil, err
			}
			out = append(out, dsp.IdentifyCalibrationPoint{Enrolled: n, FAR: far, Threshold: thr})
		}
	}
	return out, nil
}

// topDirections returns the k leading principal directions (orthonormal
// rows, flattened) of the rows of x, through the eigenvectors of their
// Gram matrix found by subspace iteration.
func topDirections(ctx context.Context, x [][]float32, k, jobs int) ([]float32, error) {
	if k == 0 {
		return nil, nil
	}
	n := len(x)
	if n == 0 || k > n {
		return nil, errors.New("train: too few supervectors for NAP")
	}
	d := len(x[0])
	g := make([]float64, n*n)
	err := parallel(ctx, n, jobs, func(_, i int) error {
		for j := 0; j <= i; j++ {
			var s float64
			for t, v := range x[i] {
				s += float64(v) * float64(x[j][t])
			}
			g[i*n+j], g[j*n+i] = s, s
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	// Subspace iteration on G with a fixed start: V ← orth(G·V).
	v := make([][]float64, k)
	for a := range v {
		v[a] = make([]float64, n)
		for i := range v[a] {
			v[a][i] = math.Sin(float64((a+1)*(i+1)) * 0.7071)
		}
	}
	orth := func() {
		for a := range v {
			for b := 0; b < a; b++ {
				var p float64
				for i := range v[a] {
					p += v[a][i] * v[b][i]
				}
				for i := range v[a] {
					v[a][i] -= p * v[b][i]
				}
			}
			var s float64
			for _, q := range v[a] {
				s += q * q
			}
			s = 1 / math.Sqrt(max(s, 1e-300))
			for i := range v[a] {
				v[a][i] *= s
			}
		}
	}
	orth()
	for it := 0; it < 100; it++ {
		for a := range v {
			w := make([]float64, n)
			for i := 0; i < n; i++ {
				var s float64
				row := g[i*n : (i+1)*n]
				for j, q := range v[a] {
					s += row[j] * q
				}
				w[i] = s
			}
			v[a] = w
		}
		orth()
	}
	// Directions in feature space: u_a = Xᵀv_a, normalised.
	out := make([]float32, k*d)
	for a := 0; a < k; a++ {
		u := make([]float64, d)
		for i, q := range v[a] {
			for t, xv := range x[i] {
				u[t] += q * float64(xv)
			}
		}
		// Re-orthogonalise against earlier rows for numerical safety.
		for b := 0; b < a; b++ {
			var p float64
			for t := range u {
				p += u[t] * float64(out[b*d+t])
			}
			for t := range u {
				u[t] -= p * float64(out[b*d+t])
			}
		}
		var s float64
		for _, q := range u {
			s += q * q
		}
		s = 1 / math.Sqrt(max(s, 1e-300))
		for t := range u {
			out[a*d+t] = float32(u[t] * s)
		}
	}
	return out, nil
}
