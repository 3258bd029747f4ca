package train_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/voxward/voxward/dsp/voiceprint/train"
	"github.com/voxward/voxward/internal/modeltest"
)

// The default recipe is the shipped model's: its derived id is the id the
// shipped file carries.
func TestDefaultConfigNamesTheShippedModel(t *testing.T) {
	m := modeltest.Model(t)
	c := train.DefaultConfig()
	require.NoError(t, c.Validate())
	require.Equal(t, m.Config.ID, c.ModelID())
	require.Equal(t, "gsvfuse-ubm256-mfcc20d2-warp-r8+cmn-r16+means-w0.2+tdnn64-w0.4-nap20s1-room4-idvc2-h16-v3", c.ModelID())
	require.Equal(t, "gsv-ubm1-mfcc20d2-means-r16-room-h16-v3", m.Branches[2].Config.ID, "the mean branch has no NAP, so no corpus directions")
	require.Equal(t, "tdnn64-e256-mfcc20d2-room4-s2000-v1", m.Branches[3].Config.ID)
	require.Equal(t, []float64{0.24, 0.24, 0.12, 0.4}, roundWeights(m.Config.BranchWeights))
	for _, b := range m.Branches[:2] {
		require.Equal(t, 22, b.Config.NAPRank, "%s: 20 learned directions and one per multilingual corpus", b.Config.ID)
	}
	require.Len(t, m.Config.LearnedFrom, 14, "one in three of the model half's 41 speakers, whose trials and venue recordings evaluations leave out")
	c.NeuralWeight = 0
	require.Equal(t, "gsvfuse-ubm256-mfcc20d2-warp-r8+cmn-r16+means-w0.2-nap20s1-room4-idvc2-v3", c.ModelID(), "the recipe without the neural branch keeps the id of the model before it")
	c.DomainEvery = 1
	require.Equal(t, "gsvfuse-ubm256-mfcc20d2-warp-r8+cmn-r16+means-w0.2-nap20s1-room4-idvc2e1-v3", c.ModelID(), "offsets learned from another share of the model half are named")
	c.Domains = false
	require.Equal(t, "gsvfuse-ubm256-mfcc20d2-warp-r8+cmn-r16+means-w0.2-nap20s1-room4-v3", c.ModelID(), "the recipe without corpus offsets keeps the id of the model before them")
	c.CohortSpeakers, c.Multilingual = 160, 1
	require.Equal(t, "gsvfuse-ubm256-mfcc20d2-warp-r8+cmn-r16+means-w0.2-nap20s1-room4-c160-ml1-v4", c.ModelID(), "a multilingual cohort is named")
	c.CohortSpeakers, c.Multilingual = 0, 0
	c.CohortEvery = 2
	require.Equal(t, "gsvfuse-ubm256-mfcc20d2-warp-r8+cmn-r16+means-w0.2-nap20s1-room4-c1of2-v3", c.ModelID(), "a cohort of part of the speakers is named")
	c.CohortEvery, c.Rooms = 1, 0
	require.Equal(t, "gsvfuse-ubm256-mfcc20d2-warp-r8+cmn-r16+means-w0.2-nap20s1-v3", c.ModelID(), "the recipe without rooms keeps the id of the model before them")
	c.CohortEvery, c.MeanWeight = 1, 0
	require.Equal(t, "gsvfuse-ubm256-mfcc20d2-warp-r8+cmn-r16-nap20s1-v3", c.ModelID(), "the recipe without a mean branch keeps the v3 id")
	c.MeanWeight, c.Compact = 0.2, false
	require.Equal(t, "gsvfuse-ubm256-mfcc20d2-warp-r8+cmn-r16+means-w0.2-nap20s1-v2", c.ModelID(), "the float16-cohort recipe keeps its v2 id")
	require.Equal(t, "gsv-ubm256-mfcc20d2-warp-nap20s1-v2", func() string { c.Fusion = false; return c.ModelID() }())
}

// roundWeights rounds branch weights to 12 decimals, for comparing.
func roundWeights(w []float64) []float64 {
	out := make([]float64, len(w))
	for i, x := range w {
		out[i] = math.Round(x*1e12) / 1e12
	}
	return out
}

func TestConfigValidate(t *testing.T) {
	for name, mod := range map[string]func(*train.Config){
		"fusion without warping":    func(c *train.Config) { c.Model.FeatureWarp = false },
		"nap crops out of range":    func(c *train.Config) { c.NAPCrops = 5 },
		"components not multiple":   func(c *train.Config) { c.Model.Components = 100 },
		"no workers":                func(c *train.Config) { c.Jobs = 0 },
		"too few frames":            func(c *train.Config) { c.Frames = 10 },
		"no false-accept rates":     func(c *train.Config) { c.FARs = nil },
		"parents larger than ubm":   func(c *train.Config) { c.Model.Parents = 512 },
		"fusion with frame snr":     func(c *train.Config) { c.Model.FrameSNRDB = 3 },
		"fusion with subtraction":   func(c *train.Config) { c.Model.NoiseSubtraction = 1 },
		"negative nap crops":        func(c *train.Config) { c.NAPCrops = -1 },
		"rooms out of range":        func(c *train.Config) { c.Rooms = 5 },
		"speed as recorded":         func(c *train.Config) { c.Neural.Speeds = []int{90, 100} },
		"speed too fast":            func(c *train.Config) { c.Neural.Speeds = []int{300} },
		"negative rooms":            func(c *train.Config) { c.Rooms = -1 },
		"zero parents":              func(c *train.Config) { c.Model.Parents = 0 },
		"negative workers":          func(c *train.Config) { c.Jobs = -3 },
		"no cohort speakers":        func(c *train.Config) { c.CohortEvery = 0 },
		"negative multilingual":     func(c *train.Config) { c.Multilingual = -1 },
		"domains from no speakers":  func(c *train.Config) { c.DomainEvery = 0 },
		"cohort speakers and every": func(c *train.Config) { c.CohortEvery, c.CohortSpeakers = 2, 160 },
		"negative cohort speakers":  func(c *train.Config) { c.CohortSpeakers = -1 },
		"mean weight of 1":          func(c *train.Config) { c.MeanWeight = 1 },
		"negative mean weight":      func(c *train.Config) { c.MeanWeight = -0.1 },
		"mean weight NaN":           func(c *train.Config) { c.MeanWeight = math.NaN() },
		"keep means in the config":  func(c *train.Config) { c.Model.KeepMeans = true },
		"confidence of 1":           func(c *train.Config) { c.CalibConfidence = 1 },
		"negative confidence":       func(c *train.Config) { c.CalibConfidence = -0.5 },
		"confidence NaN":            func(c *train.Config) { c.CalibConfidence = math.NaN() },
		"neural weight of 1":        func(c *train.Config) { c.NeuralWeight = 1 },
		"negative neural weight":    func(c *train.Config) { c.NeuralWeight = -0.1 },
		"neural of no width":        func(c *train.Config) { c.NeuralWeight, c.Neural.Width = 0.4, 0 },
		"neural crops too short":    func(c *train.Config) { c.NeuralWeight, c.Neural.Frames = 0.4, 10 },
		"neural learning rate NaN":  func(c *train.Config) { c.NeuralWeight, c.Neural.LR = 0.4, math.NaN() },
	} {
		c := train.DefaultConfig()
		mod(&c)
		err := c.Validate()
		require.ErrorIs(t, err, train.ErrConfig, name)
		// Train refuses the same recipe before reading any data.
		_, err = train.Train(context.Background(), c)
		require.True(t, errors.Is(err, train.ErrConfig), "%s: Train = %v, want ErrConfig", name, err)
	}
}

// A neural branch is named in the fused id and takes its weight from the
// others.
func TestNeuralBranchRecipe(t *testing.T) {
	c := train.DefaultConfig()
	c.NeuralWeight = 0.4
	require.NoError(t, c.Validate())
	require.Equal(t, "gsvfuse-ubm256-mfcc20d2-warp-r8+cmn-r16+means-w0.2+tdnn64-w0.4-nap20s1-room4-idvc2-h16-v3", c.ModelID())
	w := c.BranchWeights()
	require.Len(t, w, 4)
	for i, want := range []float64{0.24, 0.24, 0.12, 0.4} {
		require.InDelta(t, want, w[i], 1e-12, "branch %d", i)
	}
	bs := c.Branches()
	require.Len(t, bs, 4)
	n := bs[3]
	require.NotNil(t, n.Neural)
	require.Equal(t, 60, n.Neural.Input, "the front end's 20 MFCC + Δ + ΔΔ")
	require.True(t, n.KeepMeans, "the network reads the frames as they are")
	require.Equal(t, 256, n.EmbeddingDim())
	require.Equal(t, "tdnn64-e256-mfcc20d2-room4-s2000-v1", n.ID)
	for _, b := range bs[:3] {
		require.True(t, b.ParamsFloat16, "%s: the GMM branches make room in 4 MiB", b.ID)
	}
	require.Equal(t, "gsv-ubm256-mfcc20d2-warp-r8-nap20s1-room4-idvc2-h16-v3", bs[0].ID)
	c.MeanWeight = 0
	require.Equal(t, []float64{0.3, 0.3, 0.4}, c.BranchWeights(), "without a mean branch")
}

func TestListUtterancesNeedsData(t *testing.T) {
	_, err := train.ListUtterances(t.TempDir())
	require.ErrorContains(t, err, "no WAV files under")
}

// The model half of the multilingual speakers is every other speaker
// folder of each corpus, sorted; the other half is never listed.
func TestListMultilingualTakesEveryOtherSpeaker(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{
		"arabic_commands/s1/u2.wav", "arabic_commands/s1/u1.wav", "arabic_commands/s2/u1.wav", "arabic_commands/s3/u1.wav",
		"malayalam_msc/B/x.wav", "malayalam_msc/a/y.wav", "malayalam_msc/c/z.wav",
	} {
		p := filepath.Join(dir, "multilingual", f)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, nil, 0o644))
	}
	got, err := train.ListMultilingual(dir, 200)
	require.NoError(t, err)
	var rel []string
	for _, u := range got {
		r, _ := filepath.Rel(filepath.Join(dir, "multilingual"), u.Path)
		rel = append(rel, fmt.Sprintf("%d %s %s", u.Speaker, u.Corpus, r))
	}
	require.Equal(t, []string{
		"200 arabic_commands arabic_commands/s1/u1.wav", "200 arabic_commands arabic_commands/s1/u2.wav",
		"201 arabic_commands arabic_commands/s3/u1.wav",
		"202 malayalam_msc malayalam_msc/B/x.wav", // byte order: "B" < "a" < "c"
		"203 malayalam_msc malayalam_msc/c/z.wav",
	}, rel)
	none, err := train.ListMultilingual(t.TempDir(), 0)
	require.NoError(t, err)
	require.Empty(t, none)
}
