package train

import "github.com/voxward/voxward/dsp/voiceprint"

// BranchWeights exposes branchWeights to the external tests.
func (tc Config) BranchWeights() []float64 { return tc.branchWeights() }

// Branches exposes branches to the external tests.
func (tc Config) Branches() []voiceprint.ModelConfig { return tc.branches() }
