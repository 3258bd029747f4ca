package voiceprint

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"

	"github.com/voxward/voxward/dsp/voiceprint/tdnn"
	"github.com/voxward/voxward/internal/compact"
)

// A neural branch: the branch of a fused model whose voiceprint comes from
// a small neural extractor (package tdnn) instead of a UBM. It reads the
// front end's speech frames as they are (KeepMeans: the network was
// trained on them so), pools the network's last layer over them, maps the
// pooled statistics to the network's embedding, and centres it and scales
// it to unit length. Its statistics (GMMStats with one "component": N[0]
// the output frames, F the sums and the sums of squares of the pooled
// channels) add up across recordings as a UBM's do, so an enrolment of
// several recordings pools all their speech. Scoring is every branch's:
// cosine, adaptive s-norm against the branch's own cohort.
//
// Serialised as a single model: the magic, the JSON header (with Neural
// set), then the centre (float32), the network's compact form (a uint32
// length and tdnn's MarshalCompact bytes) and the cohort (CompactRows'
// 4-bit rows, float16 or float32).

// NewNeuralModel builds a neural branch from its configuration (Neural
// set to net's shape, KeepMeans set, the front end's settings, cohort
// size and calibration), the network, the centre and the cohort
// (CohortSize unit voiceprints). The model holds the network as its
// compact form stores it (8-bit weights) and the cohort as its
// configuration stores it, so that what it computes survives
// MarshalBinary and ParseModel bit for bit; the caller's network is left
// as it was. Errors wrap ErrInvalidModel.
func NewNeuralModel(cfg ModelConfig, net *tdnn.Net, center, cohort []float32) (*Model, error) {
	if net == nil || cfg.Neural == nil || *cfg.Neural != net.Config {
		return nil, fmt.Errorf("%w: a neural branch whose header does not describe its network", ErrInvalidModel)
	}
	if cfg.ID == "" || cfg.NumCeps < 2 || cfg.NumMelBins < cfg.NumCeps || cfg.DeltaOrder < 0 || cfg.DeltaOrder > 2 || cfg.DeltaWindow < 1 ||
		!cfg.KeepMeans || cfg.FeatureWarp || cfg.FeatureDim() != net.Input ||
		cfg.Components != 0 || cfg.Parents != 0 || cfg.TopParents != 0 || cfg.TopN != 0 || cfg.Relevance != 0 || cfg.NAPRank != 0 ||
		cfg.CohortSize < 0 || cfg.CohortTop < 0 || cfg.CohortTop > cfg.CohortSize ||
		(cfg.CohortLabels != nil && len(cfg.CohortLabels) != cfg.CohortSize) || !validForeign(cfg) ||
		cfg.Branches != 0 || cfg.BranchWeights != nil || cfg.ContentWeight != 0 || cfg.ContentCentre != 0 || cfg.ParamsFloat16 ||
		cfg.CohortFloat16 && cfg.CompactRows {
		return nil, fmt.Errorf("%w: neural branch config %+v", ErrInvalidModel, cfg)
	}
	ed := cfg.EmbeddingDim()
	if len(center) != ed || len(cohort) != cfg.CohortSize*ed {
		return nil, fmt.Errorf("%w: neural branch centre of %d values, cohort of %d, for dim %d and %d entries", ErrInvalidModel, len(center), len(cohort), ed, cfg.CohortSize)
	}
	for _, v := range center {
		if !finite(float64(v)) {
			return nil, fmt.Errorf("%w: non-finite centre", ErrInvalidModel)
		}
	}
	b, err := net.MarshalCompact()
	if err != nil {
		return nil, err
	}
	stored, err := tdnn.Unmarshal(b)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidModel, err)
	}
	return newNeural(cfg, stored, center, cohort)
}

// newNeural finishes NewNeuralModel and parseNeural: the cohort as
// stored.
func newNeural(cfg ModelConfig, net *tdnn.Net, center, cohort []float32) (*Model, error) {
	ed := cfg.EmbeddingDim()
	switch {
	case cfg.CompactRows:
		cohort = compact.RoundRows(cohort, ed, cohortBits)
	case cfg.CohortFloat16:
		cohort = compact.RoundHalf(cohort)
	}
	for _, v := range cohort {
		if !finite(float64(v)) {
			return nil, fmt.Errorf("%w: non-finite cohort", ErrInvalidModel)
		}
	}
	return &Model{Config: cfg, Net: net, Center: center, Cohort: cohort}, nil
}

func (m *Model) marshalNeural(b *bytes.Buffer) ([]byte, error) {
	_ = binary.Write(b, binary.LittleEndian, m.Center)
	nb, err := m.Net.MarshalCompact()
	if err != nil {
		return nil, err
	}
	_ = binary.Write(b, binary.LittleEndian, uint32(len(nb)))
	b.Write(nb)
	ed := m.Config.EmbeddingDim()
	switch {
	case m.Config.CompactRows:
		compact.WriteRows(b, m.Cohort, ed, cohortBits)
	case m.Config.CohortFloat16:
		_ = binary.Write(b, binary.LittleEndian, compact.Halves(m.Cohort))
	default:
		_ = binary.Write(b, binary.LittleEndian, m.Cohort)
	}
	return b.Bytes(), nil
}

// parseNeural decodes what follows a neural branch's header.
func parseNeural(cfg ModelConfig, b []byte) (*Model, error) {
	if cfg.Neural.Dim < 1 || cfg.Neural.Dim > 1<<12 || cfg.CohortSize < 0 || cfg.CohortSize > 1<<16 {
		return nil, fmt.Errorf("%w: neural branch sizes out of range", ErrInvalidModel)
	}
	ed := cfg.EmbeddingDim()
	if len(b) < 4*ed+4 {
		return nil, fmt.Errorf("%w: neural branch truncated", ErrInvalidModel)
	}
	center := make([]float32, ed)
	for i := range center {
		center[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	b = b[4*ed:]
	k := binary.LittleEndian.Uint32(b)
	b = b[4:]
	if uint64(k) > uint64(len(b)) {
		return nil, fmt.Errorf("%w: a network of %d bytes, %d left", ErrInvalidModel, k, len(b))
	}
	net, err := tdnn.Unmarshal(b[:k])
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidModel, err)
	}
	b = b[k:]
	var cohort []float32
	switch n := cfg.CohortSize; {
	case cfg.CompactRows:
		if len(b) != n*compact.RowBytes(ed, cohortBits) {
			return nil, fmt.Errorf("%w: a cohort of %d bytes, the header needs %d", ErrInvalidModel, len(b), n*compact.RowBytes(ed, cohortBits))
		}
		cohort, _ = compact.ReadRows(b, n, ed, cohortBits)
	case cfg.CohortFloat16:
		if len(b) != 2*n*ed {
			return nil, fmt.Errorf("%w: a cohort of %d bytes, the header needs %d", ErrInvalidModel, len(b), 2*n*ed)
		}
		cohort = make([]float32, n*ed)
		for i := range cohort {
			cohort[i] = compact.FromHalf(binary.LittleEndian.Uint16(b[2*i:]))
		}
	default:
		if len(b) != 4*n*ed {
			return nil, fmt.Errorf("%w: a cohort of %d bytes, the header needs %d", ErrInvalidModel, len(b), 4*n*ed)
		}
		cohort = make([]float32, n*ed)
		for i := range cohort {
			cohort[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
		}
	}
	return NewNeuralModel(cfg, net, center, cohort)
}

// neuralStats returns empty statistics for a neural branch.
func (m *Model) neuralStats() *GMMStats {
	return NewGMMStats(1, 2*m.Net.PoolDim())
}

// accumulateNeural adds the pooled statistics of speech frames to st,
// with the caller's scratch buffers.
func (m *Model) accumulateNeural(st *GMMStats, frames []float32, s *tdnn.Scratch) {
	p := m.Net.PoolDim()
	if len(st.N) != 1 || len(st.F) != 2*p {
		panic("voiceprint: statistics do not fit the neural branch")
	}
	if len(frames) == 0 {
		return
	}
	n, err := m.Net.AccumulateWith(s, st.F[:p], st.F[p:], frames)
	if err != nil {
		panic(fmt.Sprintf("voiceprint: %v", err)) // the front end's frames always fit the network (NewNeuralModel)
	}
	st.N[0] += float64(n)
	st.Frames += len(frames) / m.Net.Input
}

// neuralRaw writes the network's embedding of st, before centring, to dst
// (allocated when short). Statistics of no frames give the embedding of
// zero means and deviations at the pooling floor.
func (m *Model) neuralRaw(dst []float32, st *GMMStats) []float32 {
	p := m.Net.PoolDim()
	if len(st.N) != 1 || len(st.F) != 2*p {
		panic("voiceprint: statistics do not fit the neural branch")
	}
	count := max(int(st.N[0]), 1)
	return m.Net.FromStats(dst, st.F[:p], st.F[p:], count)
}
