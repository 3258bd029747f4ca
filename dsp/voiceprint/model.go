package voiceprint

import (
	"bytes"
	"embed"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"

	"github.com/voxward/voxward/dsp/voiceprint/tdnn"
	"github.com/voxward/voxward/internal/compact"
)

// ErrInvalidModel means voiceprint model parameters are malformed or
// inconsistent.
var ErrInvalidModel = errors.New("voiceprint: invalid model")

// modelMagic opens a serialised voiceprint model; the JSON header follows.
const modelMagic = "VXVPMDL1"

// Limits on a serialised model, checked before anything is allocated.
const (
	maxModelHeader = 1 << 20
	maxModelFloats = 64 << 20
)

// ModelConfig is the recipe of a voiceprint model: its front end, its
// background model and its back end. It is the JSON header of a
// serialised Model.
type ModelConfig struct {
	ID         string  `json:"id"`       // model id written into every template
	NumCeps    int     `json:"num_ceps"` // MFCCs, C0 included
	NumMelBins int     `json:"num_mel_bins"`
	LowFreq    float64 `json:"low_freq"`
	HighFreq   float64 `json:"high_freq"`
	// NoiseSubtraction (α) and NoiseFloor (β), when α > 0, subtract the
	// noise in the mel domain before the cepstrum: E' = max(E - α·N, β·N)
	// per mel bin, N the mean energy of the non-speech frames.
	NoiseSubtraction float64 `json:"noise_subtraction,omitempty"`
	NoiseFloor       float64 `json:"noise_floor,omitempty"`
	// FrameSNRDB, when > 0, keeps only speech frames at least that far
	// above the utterance's noise level for the voiceprint.
	FrameSNRDB float64 `json:"frame_snr_db,omitempty"`
	// FeatureWarp Gaussianises each feature over the utterance's speech
	// frames instead of subtracting the mean (CMN).
	FeatureWarp bool `json:"feature_warp,omitempty"`
	// KeepMeans leaves the speech frames as they are: neither feature
	// warping nor CMN. Mean normalisation removes each utterance's
	// long-term mean of the cepstra, which carries the shape of the
	// speaker's vocal tract (and the channel); a one-component branch with
	// KeepMeans keeps it, as the fused model's third part. Such a branch is
	// s-normalised against its own cohort only (voices a scorer adds do
	// not join it).
	KeepMeans   bool    `json:"keep_means,omitempty"`
	DeltaOrder  int     `json:"delta_order"`  // 0, 1 or 2
	DeltaWindow int     `json:"delta_window"` // Kaldi's default 2
	Components  int     `json:"components"`   // UBM components C
	Parents     int     `json:"parents"`      // selector GMM components
	TopParents  int     `json:"top_parents"`
	TopN        int     `json:"top_n"`
	Relevance   float64 `json:"relevance"` // MAP relevance factor r
	NAPRank     int     `json:"nap_rank"`  // nuisance directions removed
	CohortSize  int     `json:"cohort_size"`
	CohortTop   int     `json:"cohort_top"` // adaptive s-norm: top-K cohort scores
	// Calibration maps false-accept rates to s-normalised score
	// thresholds, measured on non-target trials of the training speakers.
	Calibration []CalibrationPoint `json:"calibration"`
	// IdentifyCalibration maps session sizes and false-accept rates of an
	// unknown voice to thresholds on the best score, from simulated
	// sessions of training speakers.
	IdentifyCalibration []IdentifyCalibrationPoint `json:"identify_calibration,omitempty"`
	// BandLimited, when set, calibrates comparisons whose both sides are
	// band-limited (Analysis.BandLimited: speech that reaches no higher
	// than NarrowBandHz, as from an 8 kHz recording). Different voices
	// both limited to 4 kHz share more of their spectrum than voices
	// recorded in full and score higher, so they need their own
	// thresholds (Scorer.Thresholds). Without it every comparison takes
	// Calibration's.
	BandLimited *ConditionCalibration `json:"band_limited,omitempty"`
	// CohortLabels names the training speaker of each cohort voiceprint
	// (so evaluations can leave a speaker's own entry out).
	CohortLabels []string `json:"cohort_labels,omitempty"`
	// LearnedFrom, in the header of a fused model, names the speakers
	// outside the cohort whose recordings the model learned from (voxward
	// train --domains: the multilingual model half), so evaluations can
	// leave their trials out too (TrainingSpeakers).
	LearnedFrom []string `json:"learned_from,omitempty"`
	// CohortFloat16 stores the cohort as IEEE half-precision floats (the
	// model holds their values, rounded, as float32).
	CohortFloat16 bool `json:"cohort_float16,omitempty"`
	// CompactRows stores each NAP direction as int8 values and each cohort
	// voiceprint as 4-bit values, each row with a power-of-two float32
	// scale (the model holds their values, rounded, as float32): what keeps
	// a fused model of two 15,360-value branches (and a 60-value mean
	// branch) and 200-speaker cohorts within 4 MiB. The rounding error of a cohort score is about 0.2/√dim
	// of a cosine, far below the spread s-norm measures.
	CompactRows bool `json:"compact_rows,omitempty"`
	// ParamsFloat16 stores the UBM's and the selector's means and
	// variances and the centre as IEEE half-precision floats (the model
	// holds their values, rounded, as float32): 100 KB less in a branch of
	// 15,360 values, which makes room in 4 MiB for a neural branch.
	ParamsFloat16 bool `json:"params_float16,omitempty"`
	// ForeignFrom, when above 0, marks the cohort entries from that index
	// on as voices of other languages and recordings than the training
	// speakers' (the multilingual model half): a voiceprint closer to one
	// of them than to any other cohort entry by more than ForeignMargin (a
	// cosine difference, averaged over the branches of a fused model) is
	// "foreign" (CohortNorm.Foreign), and each foreign side of a pair
	// lowers its score by half of ForeignShift. Such pairs are normalised
	// against few voices like them and score higher; the shift, calibrated
	// with the thresholds, lets one threshold hold the false-accept rate
	// for them without raising it for everyone else. The shipped model
	// has none (voxward train --multilingual makes such models).
	ForeignFrom   int     `json:"foreign_from,omitempty"`
	ForeignMargin float64 `json:"foreign_margin,omitempty"`
	ForeignShift  float64 `json:"foreign_shift,omitempty"`
	// Branches, in the header of a fused model, is the number of branch
	// models whose s-normalised scores are averaged (see NewFusedModel).
	Branches int `json:"branches,omitempty"`
	// BranchWeights, in the header of a fused model, weighs the branches'
	// s-normalised scores: one positive weight a branch, summing to 1
	// (nil: equal weights).
	BranchWeights []float64 `json:"branch_weights,omitempty"`
	// ContentWeight, in the header of a fused model, makes a score
	// account for how alike the two recordings' phonetic content is
	// (content matching): each voiceprint ends with a content part, the
	// square roots of the share of speech frames each component of branch
	// 0's UBM took, and a pair's score is lowered by ContentWeight times
	// the dot product of the two content parts (their Bhattacharyya
	// coefficient: 1 for the same spread over the sounds of speech) less
	// ContentCentre. Two recordings of the same words score higher
	// whoever speaks them; this takes back what the overlap adds to
	// different speakers' scores. The weight is the training recipe's
	// (voxward train --content-weight), the centre the calibration
	// pairs' mean overlap. 0: no content part (the shipped model: a
	// research option, measured and not kept).
	ContentWeight float64 `json:"content_weight,omitempty"`
	ContentCentre float64 `json:"content_centre,omitempty"`
	// Neural, in the header of a neural branch (NewNeuralModel), is the
	// shape of its network; the branch has no UBM, and its voiceprint has
	// Neural.Dim values.
	Neural   *tdnn.Config `json:"neural,omitempty"`
	Training string       `json:"training,omitempty"` // how it was trained, data attribution
}

// CalibrationPoint is a false-accept rate and the threshold reaching it.
type CalibrationPoint struct {
	FAR       float64 `json:"far"`
	Threshold float64 `json:"threshold"`
}

// ConditionCalibration holds the thresholds of one condition of a
// comparison, as ModelConfig.Calibration and IdentifyCalibration hold the
// general ones.
type ConditionCalibration struct {
	Calibration         []CalibrationPoint         `json:"calibration"`
	IdentifyCalibration []IdentifyCalibrationPoint `json:"identify_calibration,omitempty"`
}

// IdentifyCalibrationPoint is the threshold on the best normalised score
// at which an unknown voice is accepted with probability FAR when
// Enrolled voiceprints are in the session.
type IdentifyCalibrationPoint struct {
	Enrolled  int     `json:"enrolled"`
	FAR       float64 `json:"far"`
	Threshold float64 `json:"threshold"`
}

// TrainingSpeakers names every speaker the model learned from: its
// cohort's and LearnedFrom's. An evaluation on voices the model never met
// leaves their trials out.
func (c ModelConfig) TrainingSpeakers() []string {
	return append(slices.Clone(c.CohortLabels), c.LearnedFrom...)
}

// FeatureDim is the dimension of the frames the UBM models.
func (c ModelConfig) FeatureDim() int { return c.NumCeps * (c.DeltaOrder + 1) }

// EmbeddingDim is the dimension of a voiceprint: one block per component,
// or the network's embedding in a neural branch.
func (c ModelConfig) EmbeddingDim() int {
	if c.Neural != nil {
		return c.Neural.Dim
	}
	return c.Components * c.FeatureDim()
}

// Model holds every parameter of a voiceprint extractor and its scorer.
// Build one with NewModel, NewFusedModel or ParseModel; it is immutable
// and safe for concurrent use.
//
// A fused model has Branches: complete single models (own front end, UBM,
// back end and cohort) run side by side. Its voiceprint is the
// concatenation of the branch voiceprints, each scaled by 1/√B so that the
// whole has unit length, and its score is the mean of the branches'
// s-normalised scores. Its Config holds the id, the calibration and the
// cohort labels; the other fields are zero.
type Model struct {
	Config   ModelConfig
	Branches []*Model
	UBM      *GMM
	Parent   *GMM
	Children [][]int32
	Center   []float32 // mean supervector of the training data
	NAP      []float32 // NAPRank×EmbeddingDim orthonormal rows
	Cohort   []float32 // CohortSize×EmbeddingDim unit voiceprints
	// Net is a neural branch's network (NewNeuralModel); such a branch
	// has no UBM, selector or NAP.
	Net *tdnn.Net
}

// ModelParams are the raw arrays of a Model.
type ModelParams struct {
	UBMWeights, UBMMeans, UBMVars          []float32
	ParentWeights, ParentMeans, ParentVars []float32
	ParentOf                               []int32 // C: the parent of each UBM component
	Center, NAP, Cohort                    []float32
}

// NewModel checks a configuration against its parameters and builds the
// model. It returns an error wrapping ErrInvalidModel.
func NewModel(cfg ModelConfig, p ModelParams) (*Model, error) {
	if cfg.ID == "" || cfg.NumCeps < 2 || cfg.NumMelBins < cfg.NumCeps || cfg.DeltaOrder < 0 || cfg.DeltaOrder > 2 ||
		cfg.DeltaWindow < 1 || cfg.Components < 1 || cfg.Parents < 1 || cfg.TopParents < 1 || cfg.TopN < 1 ||
		!(cfg.Relevance > 0) || cfg.NAPRank < 0 || cfg.CohortSize < 0 || cfg.CohortTop < 0 || cfg.CohortTop > cfg.CohortSize ||
		(cfg.CohortLabels != nil && len(cfg.CohortLabels) != cfg.CohortSize) || !validForeign(cfg) {
		return nil, fmt.Errorf("%w: config %+v", ErrInvalidModel, cfg)
	}
	dim, ed := cfg.FeatureDim(), cfg.EmbeddingDim()
	if cfg.ParamsFloat16 {
		p.UBMMeans, p.UBMVars = compact.RoundHalf(p.UBMMeans), compact.RoundHalf(p.UBMVars)
		p.ParentMeans, p.ParentVars = compact.RoundHalf(p.ParentMeans), compact.RoundHalf(p.ParentVars)
		p.Center = compact.RoundHalf(p.Center)
	}
	ubm, err := NewGMM(dim, p.UBMWeights, p.UBMMeans, p.UBMVars)
	if err != nil {
		return nil, fmt.Errorf("UBM: %w", err)
	}
	par, err := NewGMM(dim, p.ParentWeights, p.ParentMeans, p.ParentVars)
	if err != nil {
		return nil, fmt.Errorf("selector: %w", err)
	}
	if ubm.Components() != cfg.Components || par.Components() != cfg.Parents || len(p.ParentOf) != cfg.Components {
		return nil, fmt.Errorf("%w: %d UBM components, %d parents, %d parent links for config %d/%d",
			ErrInvalidModel, ubm.Components(), par.Components(), len(p.ParentOf), cfg.Components, cfg.Parents)
	}
	children := make([][]int32, cfg.Parents)
	for c, pa := range p.ParentOf {
		if pa < 0 || int(pa) >= cfg.Parents {
			return nil, fmt.Errorf("%w: component %d has parent %d of %d", ErrInvalidModel, c, pa, cfg.Parents)
		}
		children[pa] = append(children[pa], int32(c))
	}
	if len(p.Center) != ed || len(p.NAP) != cfg.NAPRank*ed || len(p.Cohort) != cfg.CohortSize*ed {
		return nil, fmt.Errorf("%w: back end arrays %d/%d/%d for embedding dim %d", ErrInvalidModel, len(p.Center), len(p.NAP), len(p.Cohort), ed)
	}
	if cfg.Branches != 0 {
		return nil, fmt.Errorf("%w: a single model with %d branches", ErrInvalidModel, cfg.Branches)
	}
	if cfg.FeatureWarp && cfg.KeepMeans {
		return nil, fmt.Errorf("%w: feature_warp and keep_means both set", ErrInvalidModel)
	}
	if cfg.BranchWeights != nil {
		return nil, fmt.Errorf("%w: branch weights in a single model", ErrInvalidModel)
	}
	if cfg.ContentWeight != 0 || cfg.ContentCentre != 0 {
		return nil, fmt.Errorf("%w: content matching in a single model", ErrInvalidModel)
	}
	if cfg.CohortFloat16 && cfg.CompactRows {
		return nil, fmt.Errorf("%w: cohort_float16 and compact_rows both set", ErrInvalidModel)
	}
	if cfg.CohortFloat16 {
		p.Cohort = compact.RoundHalf(p.Cohort)
	}
	if cfg.CompactRows {
		p.NAP, p.Cohort = compact.RoundRows(p.NAP, ed, napBits), compact.RoundRows(p.Cohort, ed, cohortBits)
	}
	for _, arr := range [][]float32{p.Center, p.NAP, p.Cohort} {
		for _, v := range arr {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return nil, fmt.Errorf("%w: non-finite back-end parameter", ErrInvalidModel)
			}
		}
	}
	if _, err := NewSelectorGMM(ubm, par, children, min(cfg.TopParents, cfg.Parents), cfg.TopN); err != nil {
		return nil, err
	}
	return &Model{Config: cfg, UBM: ubm, Parent: par, Children: children, Center: p.Center, NAP: p.NAP, Cohort: p.Cohort}, nil
}

// Params returns the model's raw arrays (shared, not copied); a neural
// branch has only its centre and cohort.
func (m *Model) Params() ModelParams {
	if m.Net != nil {
		return ModelParams{Center: m.Center, Cohort: m.Cohort}
	}
	parentOf := make([]int32, m.Config.Components)
	for p, ks := range m.Children {
		for _, k := range ks {
			parentOf[k] = int32(p)
		}
	}
	return ModelParams{
		UBMWeights: m.UBM.Weights, UBMMeans: m.UBM.Means, UBMVars: m.UBM.Vars,
		ParentWeights: m.Parent.Weights, ParentMeans: m.Parent.Means, ParentVars: m.Parent.Vars,
		ParentOf: parentOf, Center: m.Center, NAP: m.NAP, Cohort: m.Cohort,
	}
}

// MarshalBinary serialises the model: the magic "VXVPMDL1", the length of
// the JSON header (uint32, little-endian), the header (ModelConfig), then
// every array as little-endian float32 (int32 for the parent links) in
// the order of ModelParams' fields.
//
// A fused model is the magic "VXVPFUS1", the length and JSON of its
// header, then each branch as a uint32 length and its MarshalBinary bytes.
func (m *Model) MarshalBinary() ([]byte, error) {
	if len(m.Branches) > 0 {
		return m.marshalFused()
	}
	hdr, err := json.Marshal(m.Config)
	if err != nil {
		return nil, fmt.Errorf("voiceprint: encode model header: %w", err)
	}
	var b bytes.Buffer
	b.WriteString(modelMagic)
	_ = binary.Write(&b, binary.LittleEndian, uint32(len(hdr)))
	b.Write(hdr)
	if m.Net != nil {
		return m.marshalNeural(&b)
	}
	p := m.Params()
	// params writes the arrays ParamsFloat16 may halve.
	params := func(a []float32) {
		if m.Config.ParamsFloat16 {
			_ = binary.Write(&b, binary.LittleEndian, compact.Halves(a))
			return
		}
		_ = binary.Write(&b, binary.LittleEndian, a)
	}
	_ = binary.Write(&b, binary.LittleEndian, p.UBMWeights)
	params(p.UBMMeans)
	params(p.UBMVars)
	_ = binary.Write(&b, binary.LittleEndian, p.ParentWeights)
	params(p.ParentMeans)
	params(p.ParentVars)
	_ = binary.Write(&b, binary.LittleEndian, p.ParentOf)
	params(p.Center)
	if m.Config.CompactRows {
		ed := m.Config.EmbeddingDim()
		compact.WriteRows(&b, p.NAP, ed, napBits)
		compact.WriteRows(&b, p.Cohort, ed, cohortBits)
		return b.Bytes(), nil
	}
	_ = binary.Write(&b, binary.LittleEndian, p.NAP)
	if m.Config.CohortFloat16 {
		_ = binary.Write(&b, binary.LittleEndian, compact.Halves(p.Cohort))
	} else {
		_ = binary.Write(&b, binary.LittleEndian, p.Cohort)
	}
	return b.Bytes(), nil
}

// ParseModel decodes a model serialised by MarshalBinary. Errors wrap
// ErrInvalidModel; sizes are checked before anything large is allocated.
func ParseModel(b []byte) (*Model, error) {
	if len(b) >= len(fusedMagic) && string(b[:len(fusedMagic)]) == fusedMagic {
		return parseFused(b)
	}
	if len(b) < len(modelMagic)+4 || string(b[:len(modelMagic)]) != modelMagic {
		return nil, fmt.Errorf("%w: bad magic", ErrInvalidModel)
	}
	cfg, b, err := parseModelHeader(b[len(modelMagic):])
	if err != nil {
		return nil, err
	}
	if cfg.Neural != nil {
		return parseNeural(cfg, b)
	}
	if cfg.NumCeps < 1 || cfg.NumCeps > 1000 || cfg.DeltaOrder < 0 || cfg.DeltaOrder > 2 || cfg.Components < 1 || cfg.Components > 1<<16 ||
		cfg.Parents < 1 || cfg.Parents > 1<<16 || cfg.NAPRank < 0 || cfg.NAPRank > 1<<12 || cfg.CohortSize < 0 || cfg.CohortSize > 1<<16 {
		return nil, fmt.Errorf("%w: header sizes out of range", ErrInvalidModel)
	}
	dim, ed := cfg.FeatureDim(), cfg.EmbeddingDim()
	sizes := []int{cfg.Components, cfg.Components * dim, cfg.Components * dim, cfg.Parents, cfg.Parents * dim, cfg.Parents * dim,
		cfg.Components, ed, cfg.NAPRank * ed, cfg.CohortSize * ed}
	total := 0
	for _, s := range sizes {
		total += s
	}
	nbytes := 4 * total
	switch {
	case cfg.CompactRows:
		nbytes -= 4*(sizes[8]+sizes[9]) - compact.RowBytes(ed, napBits)*cfg.NAPRank - compact.RowBytes(ed, cohortBits)*cfg.CohortSize
	case cfg.CohortFloat16:
		nbytes -= 2 * sizes[9]
	}
	if cfg.ParamsFloat16 {
		nbytes -= 2 * (sizes[1] + sizes[2] + sizes[4] + sizes[5] + sizes[7])
	}
	if total > maxModelFloats || nbytes != len(b) {
		return nil, fmt.Errorf("%w: %d bytes of parameters, header needs %d", ErrInvalidModel, len(b), nbytes)
	}
	f := func(k int) []float32 {
		out := make([]float32, k)
		for i := range out {
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
		}
		b = b[4*k:]
		return out
	}
	half := func(k int) []float32 {
		out := make([]float32, k)
		for i := range out {
			out[i] = compact.FromHalf(binary.LittleEndian.Uint16(b[2*i:]))
		}
		b = b[2*k:]
		return out
	}
	params := f
	if cfg.ParamsFloat16 {
		params = half
	}
	var p ModelParams
	p.UBMWeights, p.UBMMeans, p.UBMVars = f(sizes[0]), params(sizes[1]), params(sizes[2])
	p.ParentWeights, p.ParentMeans, p.ParentVars = f(sizes[3]), params(sizes[4]), params(sizes[5])
	p.ParentOf = make([]int32, sizes[6])
	for i := range p.ParentOf {
		p.ParentOf[i] = int32(binary.LittleEndian.Uint32(b[4*i:]))
	}
	b = b[4*sizes[6]:]
	p.Center = params(sizes[7])
	if cfg.CompactRows {
		p.NAP, b = compact.ReadRows(b, cfg.NAPRank, ed, napBits)
		p.Cohort, _ = compact.ReadRows(b, cfg.CohortSize, ed, cohortBits)
		return NewModel(cfg, p)
	}
	p.NAP = f(sizes[8])
	if cfg.CohortFloat16 {
		p.Cohort = half(sizes[9])
	} else {
		p.Cohort = f(sizes[9])
	}
	return NewModel(cfg, p)
}

// ErrNoModel means this binary was built without the voiceprint model:
// the model (4.0 MiB) is not kept in the repository but made from the
// shared speech data by "make voiceprint-model" (deterministic, a few
// minutes), and embedded by the next build.
var ErrNoModel = errors.New(`voiceprint: this build has no voiceprint model: run "make voiceprint-model" (it needs the shared speech data, ../shared/data) and build again`)

// modelDir holds the model file when "make voiceprint-model" made it, and
// always its README (so that the embed pattern matches in a clone
// without the model).
//
//go:embed model
var modelDir embed.FS

// ModelFile is the model's file name in dsp/voiceprint/model.
const ModelFile = "voiceprint.bin"

var defaultModel = sync.OnceValues(func() (*Model, error) {
	b, err := modelDir.ReadFile("model/" + ModelFile)
	if err != nil {
		return nil, ErrNoModel
	}
	return ParseModel(b)
})

// DefaultModel returns the voiceprint model embedded in this build (made
// by "make voiceprint-model" from the shared speech data;
// dsp/voiceprint/model/README.md has the recipe, the data's attribution and
// the SHA-256 the file must have). It returns ErrNoModel when the build had
// none.
func DefaultModel() (*Model, error) { return defaultModel() }

// fusedMagic opens a serialised fused model.
const fusedMagic = "VXVPFUS1"

// maxBranches bounds the branches of a fused model.
const maxBranches = 8

// NewFusedModel builds a model that runs branches side by side and
// averages their s-normalised scores, with equal weights or
// cfg.BranchWeights (one positive, finite weight a branch, summing to 1
// within 1e-9). cfg gives the id, weights,
// calibration and training note; its cohort size and labels are taken
// from the branches, which must share them (the same training speakers in
// the same order), so that a cohort entry names one speaker in every
// branch. Errors wrap ErrInvalidModel.
func NewFusedModel(cfg ModelConfig, branches []*Model) (*Model, error) {
	if cfg.ID == "" || len(branches) < 2 || len(branches) > maxBranches {
		return nil, fmt.Errorf("%w: fused model %q of %d branches", ErrInvalidModel, cfg.ID, len(branches))
	}
	b0 := branches[0].Config
	for i, b := range branches {
		bc := b.Config
		if len(b.Branches) > 0 || bc.CohortSize != b0.CohortSize ||
			len(bc.CohortLabels) != len(b0.CohortLabels) {
			return nil, fmt.Errorf("%w: branch %d (%s) does not fit branch 0 (%s)", ErrInvalidModel, i, bc.ID, b0.ID)
		}
		for k, l := range bc.CohortLabels {
			if l != b0.CohortLabels[k] {
				return nil, fmt.Errorf("%w: branch %d cohort entry %d is %q, branch 0 has %q", ErrInvalidModel, i, k, l, b0.CohortLabels[k])
			}
		}
	}
	if !validWeights(cfg.BranchWeights, len(branches)) {
		return nil, fmt.Errorf("%w: fused model %q: branch weights %v for %d branches", ErrInvalidModel, cfg.ID, cfg.BranchWeights, len(branches))
	}
	fc := ModelConfig{ID: cfg.ID, Calibration: cfg.Calibration, IdentifyCalibration: cfg.IdentifyCalibration, BandLimited: cfg.BandLimited,
		CohortSize: b0.CohortSize, CohortLabels: b0.CohortLabels, Branches: len(branches), Training: cfg.Training,
		ForeignFrom: cfg.ForeignFrom, ForeignMargin: cfg.ForeignMargin, ForeignShift: cfg.ForeignShift,
		BranchWeights: slices.Clone(cfg.BranchWeights), LearnedFrom: slices.Clone(cfg.LearnedFrom),
		ContentWeight: cfg.ContentWeight, ContentCentre: cfg.ContentCentre}
	if !finite(cfg.ContentWeight) || !finite(cfg.ContentCentre) || cfg.ContentWeight < 0 {
		return nil, fmt.Errorf("%w: fused model %q: content weight %g, centre %g", ErrInvalidModel, cfg.ID, cfg.ContentWeight, cfg.ContentCentre)
	}
	if !validForeign(fc) {
		return nil, fmt.Errorf("%w: fused model %q: foreign cohort from %d of %d, shift %g", ErrInvalidModel, cfg.ID, cfg.ForeignFrom, fc.CohortSize, cfg.ForeignShift)
	}
	return &Model{Config: fc, Branches: slices.Clone(branches)}, nil
}

// validWeights checks a fused model's branch weights: none (equal), or n
// positive finite weights summing to 1.
func validWeights(w []float64, n int) bool {
	if w == nil {
		return true
	}
	if len(w) != n {
		return false
	}
	var sum float64
	for _, x := range w {
		if !(x > 0) || math.IsInf(x, 0) {
			return false
		}
		sum += x
	}
	return math.Abs(sum-1) <= 1e-9
}

// branchWeight is the weight of part i's s-normalised score in the
// model's score: the branch's in a fused model, 1 for a single model.
func (m *Model) branchWeight(i int) float64 {
	switch {
	case len(m.Branches) == 0:
		return 1
	case m.Config.BranchWeights != nil:
		return m.Config.BranchWeights[i]
	}
	return 1 / float64(len(m.Branches))
}

// ownCohortOnly reports whether the model (a branch) is s-normalised
// against its own cohort alone, never against voices a scorer adds
// (WithCohort, WithVenue): the mean branch (KeepMeans). Its voiceprint is
// the long-term mean, which a channel moves: added voices recorded in a
// probe's channel share that channel's mean, would fill the probe's top-K
// and pull its same-speaker scores down (on the multilingual dev list
// with an 8 kHz test side and a venue of such copies, EER 11.03 % became
// 23.25 % before this rule).
func (m *Model) ownCohortOnly() bool { return m.Config.KeepMeans }

// validForeign checks ForeignFrom, ForeignMargin and ForeignShift: a
// cohort index (0: none), a finite margin and a finite shift of at least
// 0, both unset without a foreign part.
func validForeign(c ModelConfig) bool {
	if c.ForeignFrom == 0 {
		return c.ForeignShift == 0 && c.ForeignMargin == 0
	}
	return c.ForeignFrom > 0 && c.ForeignFrom < c.CohortSize && c.ForeignShift >= 0 && finite(c.ForeignShift) && finite(c.ForeignMargin)
}

// finite reports whether x is neither infinite nor NaN.
func finite(x float64) bool { return !math.IsInf(x, 0) && !math.IsNaN(x) }

// EmbeddingDim is the dimension of the model's voiceprints.
func (m *Model) EmbeddingDim() int {
	if len(m.Branches) == 0 {
		return m.Config.EmbeddingDim()
	}
	n := m.contentDim()
	for _, b := range m.Branches {
		n += b.Config.EmbeddingDim()
	}
	return n
}

// contentDim is the length of a voiceprint's content part
// (ModelConfig.ContentWeight): one value per component of branch 0's UBM,
// or 0 for a model without one.
func (m *Model) contentDim() int {
	if len(m.Branches) == 0 || m.Config.ContentWeight == 0 {
		return 0
	}
	return m.Branches[0].Config.Components
}

// branchScale is the factor each branch voiceprint of a fused model is
// multiplied by: 1/√B.
func (m *Model) branchScale() float32 { return float32(1 / math.Sqrt(float64(len(m.Branches)))) }

func (m *Model) marshalFused() ([]byte, error) {
	cfg := m.Config
	cfg.CohortLabels = nil // the branches hold them
	cfg.CohortSize = 0
	hdr, err := json.Marshal(cfg)
	if err != nil {
		return nil, fmt.Errorf("voiceprint: encode model header: %w", err)
	}
	var b bytes.Buffer
	b.WriteString(fusedMagic)
	_ = binary.Write(&b, binary.LittleEndian, uint32(len(hdr)))
	b.Write(hdr)
	for _, br := range m.Branches {
		bb, err := br.MarshalBinary()
		if err != nil {
			return nil, err
		}
		_ = binary.Write(&b, binary.LittleEndian, uint32(len(bb)))
		b.Write(bb)
	}
	return b.Bytes(), nil
}

// parseModelHeader decodes a little-endian uint32 length and that many
// bytes of JSON ModelConfig (unknown fields rejected) and returns the
// config and the bytes after it.
func parseModelHeader(b []byte) (ModelConfig, []byte, error) {
	var cfg ModelConfig
	if len(b) < 4 {
		return cfg, nil, fmt.Errorf("%w: truncated header", ErrInvalidModel)
	}
	n := binary.LittleEndian.Uint32(b)
	b = b[4:]
	if n > maxModelHeader || int(n) > len(b) {
		return cfg, nil, fmt.Errorf("%w: header of %d bytes", ErrInvalidModel, n)
	}
	dec := json.NewDecoder(bytes.NewReader(b[:n]))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cfg); err != nil {
		return cfg, nil, fmt.Errorf("%w: header: %w", ErrInvalidModel, err)
	}
	return cfg, b[n:], nil
}

func parseFused(b []byte) (*Model, error) {
	cfg, b, err := parseModelHeader(b[len(fusedMagic):])
	if err != nil {
		return nil, err
	}
	if cfg.Branches < 2 || cfg.Branches > maxBranches {
		return nil, fmt.Errorf("%w: fused model of %d branches", ErrInvalidModel, cfg.Branches)
	}
	var branches []*Model
	for i := 0; i < cfg.Branches; i++ {
		if len(b) < 4 {
			return nil, fmt.Errorf("%w: branch %d truncated", ErrInvalidModel, i)
		}
		k := binary.LittleEndian.Uint32(b)
		b = b[4:]
		if uint64(k) > uint64(len(b)) {
			return nil, fmt.Errorf("%w: branch %d of %d bytes, %d left", ErrInvalidModel, i, k, len(b))
		}
		if len(b) >= len(fusedMagic) && string(b[:len(fusedMagic)]) == fusedMagic {
			return nil, fmt.Errorf("%w: branch %d is itself fused", ErrInvalidModel, i)
		}
		br, err := ParseModel(b[:k])
		if err != nil {
			return nil, fmt.Errorf("branch %d: %w", i, err)
		}
		branches = append(branches, br)
		b = b[k:]
	}
	if len(b) != 0 {
		return nil, fmt.Errorf("%w: %d bytes after the branches", ErrInvalidModel, len(b))
	}
	return NewFusedModel(cfg, branches)
}

// Bits of a value in a CompactRows model's rows (stored as
// internal/compact rows).
const (
	napBits    = 8
	cohortBits = 4
)
