package train

import (
	"context"

	"github.com/voxward/voxward/dsp/voiceprint"
	"github.com/voxward/voxward/internal/parallel"
)

// UBMRecipe is how a UBM is grown: binary splits up to Components, with
// SplitIters EM iterations after each split and Iters at the Parents'
// size (the selector) and the final size; variances are floored at
// VarFloor of the global variance.
type UBMRecipe struct {
	Components, Parents int
	SplitIters, Iters   int
	VarFloor            float64
}

// TrainUBM trains a diagonal GMM on pool (frames of dim values) by EM
// with binary splitting, and returns it with its parents-sized stage.
// The EM statistics are summed over a fixed number of chunks in a fixed
// order: the result depends on neither jobs nor scheduling.
func TrainUBM(ctx context.Context, say func(string, ...any), pool []float32, dim int, r UBMRecipe, jobs int) (ubm, parent *voiceprint.GMM, err error) {
	ubm, floor, err := SingleGaussian(pool, dim, r.VarFloor)
	if err != nil {
		return nil, nil, err
	}
	const chunks = 16
	per := (len(pool)/dim + chunks - 1) / chunks * dim
	em := func(g *voiceprint.GMM, iters int) (*voiceprint.GMM, error) {
		for it := 0; it < iters; it++ {
			accs := make([]*Accumulator, chunks)
			err := parallel.For(ctx, chunks, jobs, func(_, i int) error {
				accs[i] = NewAccumulator(g)
				lo, hi := min(i*per, len(pool)), min((i+1)*per, len(pool))
				EStep(g, accs[i], pool[lo:hi])
				return nil
			})
			if err != nil {
				return nil, err
			}
			for _, a := range accs[1:] {
				accs[0].Add(a)
			}
			if g, err = MStep(g, accs[0], floor); err != nil {
				return nil, err
			}
			say("UBM %3d components, iteration %d: average log-likelihood %.4f", g.Components(), it+1, accs[0].LogLik/float64(accs[0].Frames))
		}
		return g, nil
	}
	for ubm.Components() < r.Components {
		if ubm, err = Split(ubm); err != nil {
			return nil, nil, err
		}
		iters := r.SplitIters
		if ubm.Components() == r.Components || ubm.Components() == r.Parents {
			iters = r.Iters
		}
		if ubm, err = em(ubm, iters); err != nil {
			return nil, nil, err
		}
		if ubm.Components() == r.Parents {
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
