package train_test

import (
	"context"
	"errors"
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
	require.Equal(t, "gsvfuse-ubm256-mfcc20d2-warp-r8+cmn-r16-nap20s1-v3", c.ModelID())
	c.CohortEvery = 2
	require.Equal(t, "gsvfuse-ubm256-mfcc20d2-warp-r8+cmn-r16-nap20s1-c1of2-v3", c.ModelID(), "a cohort of part of the speakers is named")
	c.CohortEvery, c.Compact = 1, false
	require.Equal(t, "gsvfuse-ubm256-mfcc20d2-warp-r8+cmn-r16-nap20s1-v2", c.ModelID(), "the float16-cohort recipe keeps its v2 id")
	require.Equal(t, "gsv-ubm256-mfcc20d2-warp-nap20s1-v2", func() string { c.Fusion = false; return c.ModelID() }())
}

func TestConfigValidate(t *testing.T) {
	for name, mod := range map[string]func(*train.Config){
		"fusion without warping":  func(c *train.Config) { c.Model.FeatureWarp = false },
		"nap crops out of range":  func(c *train.Config) { c.NAPCrops = 4 },
		"components not multiple": func(c *train.Config) { c.Model.Components = 100 },
		"no workers":              func(c *train.Config) { c.Jobs = 0 },
		"too few frames":          func(c *train.Config) { c.Frames = 10 },
		"no false-accept rates":   func(c *train.Config) { c.FARs = nil },
		"parents larger than ubm": func(c *train.Config) { c.Model.Parents = 512 },
		"fusion with frame snr":   func(c *train.Config) { c.Model.FrameSNRDB = 3 },
		"fusion with subtraction": func(c *train.Config) { c.Model.NoiseSubtraction = 1 },
		"negative nap crops":      func(c *train.Config) { c.NAPCrops = -1 },
		"zero parents":            func(c *train.Config) { c.Model.Parents = 0 },
		"negative workers":        func(c *train.Config) { c.Jobs = -3 },
		"no cohort speakers":      func(c *train.Config) { c.CohortEvery = 0 },
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

func TestListUtterancesNeedsData(t *testing.T) {
	_, err := train.ListUtterances(t.TempDir())
	require.ErrorContains(t, err, "no WAV files under")
}
