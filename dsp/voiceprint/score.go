package voiceprint

import (
	"errors"
	"fmt"
	"math"
	"slices"
)

// ErrDimMismatch means two voiceprints (or a voiceprint and a model)
// differ in dimension or model.
var ErrDimMismatch = errors.New("voiceprint: dimension does not match the model")

// Cosine returns the cosine similarity of two voiceprints; for unit
// vectors it is their dot product. It panics if the lengths differ.
func Cosine(a, b []float32) float64 {
	if len(a) != len(b) {
		panic(fmt.Sprintf("voiceprint: cosine of %d and %d values", len(a), len(b)))
	}
	return float64(dotf(a, b))
}

// CohortNorm is a voiceprint's adaptive s-norm statistics: the mean and
// standard deviation of its top-K cosine scores against the cohort. For a
// fused model Branches holds the statistics of each branch's part.
type CohortNorm struct {
	Mean, Std float64
	Branches  []CohortNorm
	// Margin is how much closer the voiceprint is to the model's closest
	// foreign cohort entry (ModelConfig.ForeignFrom) than to its closest
	// other one (a cosine difference; the mean over the branches of a
	// fused model; -Inf without foreign entries), and Foreign whether it
	// exceeds the model's ForeignMargin.
	Margin  float64
	Foreign bool
}

// Scorer compares voiceprints of one model with adaptive symmetric score
// normalisation (AS-norm) against the model's cohort:
//
//	s = ½·((cos - μ_e)/σ_e + (cos - μ_t)/σ_t),
//
// where μ and σ are taken over the CohortTop highest cohort scores of
// each side. Normalised scores of non-target pairs are comparable across
// voiceprints, so one threshold (from the model's calibration, or from a
// venue's voices: WithVenue) serves every enrolled speaker. For a fused
// model the score is the weighted mean of the branches' normalised scores
// (ModelConfig.BranchWeights; equal without). A Scorer is safe for
// concurrent use.
type Scorer struct {
	m *Model
	// extra holds, per branch (one slice for a single model), the unit
	// voiceprints WithCohort added to the model's cohort, row after row.
	extra [][]float32
	// cohort is the int8 copy of the model's cohort rows, shared by the
	// scorers WithCohort derives.
	cohort *int8Cohort
	// venue holds, per condition of a pair (venueAny, venueBandLimited),
	// the different-speaker pairs of the voiceprints WithVenue added, which
	// that condition's threshold is then measured on (venue.go).
	venue [2]venuePairs
}

// venuePairs are the sorted normalised scores of a venue's pairs of
// different people in one condition, how many pairs of people they are
// of, how many people, and their mean and standard deviation (venueFit).
type venuePairs struct {
	scores   []float64
	people   int
	persons  int
	mean, sd float64
}

// Conditions of a venue's pairs: the index of Scorer.venue.
const (
	venueAny         = 0 // at least one side not band-limited
	venueBandLimited = 1 // both sides band-limited
)

// NewScorer returns a scorer for m.
func NewScorer(m *Model) *Scorer { return &Scorer{m: m, cohort: &int8Cohort{}} }

// Model returns the scorer's model.
func (s *Scorer) Model() *Model { return s.m }

// WithCohort returns a scorer whose s-norm cohort is the model's plus
// voiceprints of other speakers from the conditions the scores will be
// taken in (the venue's microphones and languages: for the daemon, the
// other enrolled voices of the box). The top-K selection of adaptive
// s-norm then picks, for each voiceprint, the cohort members closest to
// it, so that scores of two voices from a corpus, language or channel the
// model never saw are normalised against that condition rather than
// against its read English training speakers. The thresholds stay the
// model's (WithVenue measures them on the added voices too; the scorer
// WithCohort returns has no venue thresholds, even when s had). None of
// the voiceprints may be of a speaker whose voiceprints the new scorer
// will compare: a speaker in the cohort lowers their own scores. vps are
// copied; each must be a voiceprint of this model. The mean branch of a
// fused model stays normalised against the model's cohort alone
// (ownCohortOnly).
func (s *Scorer) WithCohort(vps [][]float32) (*Scorer, error) {
	ed := s.m.EmbeddingDim()
	var pbuf [maxParts]int
	parts := s.parts(pbuf[:0])
	out := &Scorer{m: s.m, extra: make([][]float32, len(parts)), cohort: s.cohort}
	for b, n := range parts {
		out.extra[b] = append(make([]float32, 0, len(s.extraOf(b))+len(vps)*n), s.extraOf(b)...)
	}
	for i, v := range vps {
		if len(v) != ed {
			return nil, fmt.Errorf("%w: cohort voiceprint %d has %d values, the model %d", ErrDimMismatch, i, len(v), ed)
		}
		off := 0
		for b, n := range parts {
			start := len(out.extra[b])
			out.extra[b] = append(out.extra[b], v[off:off+n]...)
			if b < len(s.branchModels()) { // the content part is kept as it is
				normalize(out.extra[b][start:])
			}
			off += n
		}
	}
	return out, nil
}

// Wipe zeroes the voiceprints WithCohort added (the model's cohort is
// untouched), so that no copy outlives the consent it was held under; the
// scorer must not be used afterwards.
func (s *Scorer) Wipe() {
	for _, e := range s.extra {
		clear(e)
	}
	for _, v := range s.venue {
		clear(v.scores)
	}
}

// Wiped reports whether the scorer holds no values of the voiceprints
// WithCohort or WithVenue added, nor of its venue's pair scores (true
// after Wipe, and for a scorer that added none).
func (s *Scorer) Wiped() bool {
	for _, e := range s.extra {
		if slices.ContainsFunc(e, func(x float32) bool { return x != 0 }) {
			return false
		}
	}
	for _, v := range s.venue {
		if slices.ContainsFunc(v.scores, func(x float64) bool { return x != 0 }) {
			return false
		}
	}
	return true
}

// CohortSize is the number of voiceprints s-norm draws its top-K from: the
// model's cohort and what WithCohort added.
func (s *Scorer) CohortSize() int {
	ed := s.m.EmbeddingDim()
	if len(s.m.Branches) > 0 {
		ed = s.m.Branches[0].Config.EmbeddingDim()
		return s.m.Branches[0].Config.CohortSize + len(s.extraOf(0))/ed
	}
	return s.m.Config.CohortSize + len(s.extraOf(0))/ed
}

func (s *Scorer) extraOf(b int) []float32 {
	if b < len(s.extra) {
		return s.extra[b]
	}
	return nil
}

// normExtra is the extra cohort rows part b's s-norm draws on: those
// WithCohort added, or none for a part normalised against the model's
// cohort alone (ownCohortOnly). The added rows are still kept for that
// part: WithVenue scores pairs of them.
func (s *Scorer) normExtra(b int) []float32 {
	if s.branchModels()[b].ownCohortOnly() {
		return nil
	}
	return s.extraOf(b)
}

// CohortNorm returns v's cohort statistics (zero mean and unit deviation
// when the model has no cohort).
func (s *Scorer) CohortNorm(v []float32) CohortNorm {
	return s.CohortNormExcluding(v, nil)
}

// CohortNormExcluding is CohortNorm without the cohort entries for which
// skip returns true (used in training, where a voiceprint's own speaker is
// in the cohort).
//
// For a fused model, entry k names the same training speaker in every
// branch's cohort.
func (s *Scorer) CohortNormExcluding(v []float32, skip func(k int) bool) CohortNorm {
	if len(v) != s.m.EmbeddingDim() {
		panic(fmt.Sprintf("voiceprint: of %d values for dim %d", len(v), s.m.EmbeddingDim()))
	}
	rows := s.cohort.get(s.m)
	if len(s.m.Branches) == 0 {
		n := cohortNorm(s.m, rows[0], s.normExtra(0), v, 1, skip, s.m.Config.ForeignFrom)
		n.Foreign = s.m.Config.ForeignFrom > 0 && n.Margin > s.m.Config.ForeignMargin
		return n
	}
	n := CohortNorm{Mean: 0, Std: 1}
	inv := 1 / float64(s.m.branchScale())
	off := 0
	for i, b := range s.m.Branches {
		ed := b.Config.EmbeddingDim()
		bn := cohortNorm(b, rows[i], s.normExtra(i), v[off:off+ed], inv, skip, s.m.Config.ForeignFrom)
		n.Margin += bn.Margin / float64(len(s.m.Branches))
		n.Branches = append(n.Branches, bn)
		off += ed
	}
	n.Foreign = s.m.Config.ForeignFrom > 0 && n.Margin > s.m.Config.ForeignMargin
	return n
}

// cohortNorm is CohortNormExcluding for a single model m and the extra
// cohort rows (unit voiceprints of m, WithCohort), on v·scale. When q is
// not nil it is m's cohort as int8 rows, holding the same values exactly,
// and is read instead (a quarter of the memory traffic, the same bits).
//
// Margin is the highest cohort score among entries foreignFrom and later
// of m's cohort less the highest among the others and the extra rows
// (-Inf with foreignFrom 0); Foreign is left to the caller.
func cohortNorm(m *Model, q *int8Rows, extra, v []float32, scale float64, skip func(k int) bool, foreignFrom int) CohortNorm {
	c := m.Config
	ed := c.EmbeddingDim()
	if c.CohortSize == 0 || c.CohortTop == 0 {
		return CohortNorm{Mean: 0, Std: 1, Margin: math.Inf(-1)} // no cohort: nothing foreign
	}
	sc := make([]float64, 0, c.CohortSize+len(extra)/ed)
	// dotRows gives dotf's bits, eight rows a call.
	var rows [batch][]float32
	var out [batch]float32
	// The highest scores so far among foreign entries and the others.
	bestF, bestH := math.Inf(-1), math.Inf(-1)
	keep := func(x float32, f bool) {
		s := scale * float64(x)
		sc = append(sc, s)
		if f {
			bestF = max(bestF, s)
		} else {
			bestH = max(bestH, s)
		}
	}
	var rowForeign, qForeign [batch]bool
	n := 0
	add := func(row []float32, f bool) {
		rows[n], rowForeign[n] = row, f
		if n++; n == batch {
			dotRows(&out, v, &rows, n)
			for i, x := range out[:n] {
				keep(x, rowForeign[i])
			}
			n = 0
		}
	}
	var qrows [batch][]int8
	var qscales [batch]float32
	nq := 0
	addInt8 := func(k int, f bool) {
		qrows[nq], qscales[nq], qForeign[nq] = q.q[k*ed:(k+1)*ed], q.scales[k], f
		if nq++; nq == batch {
			dotRowsInt8(&out, v, &qrows, &qscales, nq)
			for i, x := range out[:nq] {
				keep(x, qForeign[i])
			}
			nq = 0
		}
	}
	for k := 0; k < c.CohortSize; k++ {
		f := foreignFrom > 0 && k >= foreignFrom
		switch {
		case skip != nil && skip(k):
		case q != nil:
			addInt8(k, f)
		default:
			add(m.Cohort[k*ed:(k+1)*ed], f)
		}
	}
	for off := 0; off+ed <= len(extra); off += ed {
		add(extra[off:off+ed], false)
	}
	dotRows(&out, v, &rows, n)
	for i, x := range out[:n] {
		keep(x, rowForeign[i])
	}
	dotRowsInt8(&out, v, &qrows, &qscales, nq)
	for i, x := range out[:nq] {
		keep(x, qForeign[i])
	}
	mean, std := topStats(sc, c.CohortTop)
	margin := math.Inf(-1)
	if foreignFrom > 0 && !math.IsInf(bestF, -1) && !math.IsInf(bestH, -1) {
		margin = bestF - bestH
	}
	return CohortNorm{Mean: mean, Std: std, Margin: margin}
}

// topStats sorts sc and returns the mean and standard deviation (at
// least 1e-6) of its top highest values: adaptive s-norm's statistics.
func topStats(sc []float64, top int) (mean, std float64) {
	slices.Sort(sc)
	t := sc[max(0, len(sc)-top):]
	var sq float64
	for _, x := range t {
		mean += x
	}
	mean /= float64(max(len(t), 1))
	for _, x := range t {
		sq += (x - mean) * (x - mean)
	}
	std = math.Sqrt(sq / float64(max(len(t), 1)))
	if !(std > 1e-6) {
		std = 1e-6
	}
	return mean, std
}

// NormScore s-normalises the cosine score of two voiceprints of a single
// (not fused) model with their cohort statistics, without the foreign
// shift (ModelConfig.ForeignShift); ScoreWithNorms works for every model
// and applies it.
func (s *Scorer) NormScore(cos float64, a, b CohortNorm) float64 {
	return 0.5 * ((cos-a.Mean)/a.Std + (cos-b.Mean)/b.Std)
}

// ScoreWithNorms returns the normalised score of voiceprints a and b
// whose cohort statistics (from CohortNorm) are na and nb: for a fused
// model, the weighted mean over branches of each branch's s-normalised
// cosine.
func (s *Scorer) ScoreWithNorms(a, b []float32, na, nb CohortNorm) float64 {
	if len(a) != len(b) {
		panic(fmt.Sprintf("voiceprint: cosine of %d and %d values", len(a), len(b)))
	}
	if len(s.m.Branches) == 0 {
		return s.scoreDots([]float32{dotf(a, b)}, na, nb)
	}
	if len(a) != s.m.EmbeddingDim() {
		panic("voiceprint: voiceprints or cohort statistics do not fit the fused model")
	}
	var buf [maxParts]float32
	var pbuf [maxParts]int
	dots := buf[:0]
	off := 0
	for _, n := range s.parts(pbuf[:0]) {
		dots = append(dots, dotf(a[off:off+n], b[off:off+n]))
		off += n
	}
	return s.scoreDots(dots, na, nb)
}

// maxParts is how many voiceprint parts (branches and the content part)
// scoring handles without allocating.
const maxParts = 4

// scoreDots is ScoreWithNorms from the dot products of the two voiceprints'
// parts (one for a single model, one per branch for a fused one and one
// for its content part, if it has one).
func (s *Scorer) scoreDots(dots []float32, na, nb CohortNorm) float64 {
	shift := 0.0 // half the foreign shift for each foreign side
	if na.Foreign {
		shift += s.m.Config.ForeignShift / 2
	}
	if nb.Foreign {
		shift += s.m.Config.ForeignShift / 2
	}
	if len(s.m.Branches) == 0 {
		return s.NormScore(float64(dots[0]), na, nb) - shift
	}
	if len(na.Branches) != len(s.m.Branches) || len(nb.Branches) != len(s.m.Branches) {
		panic("voiceprint: voiceprints or cohort statistics do not fit the fused model")
	}
	sc := float64(s.m.branchScale())
	inv := 1 / (sc * sc)
	var sum float64
	for i, d := range dots[:len(s.m.Branches)] {
		cos := inv * float64(d)
		sum += s.m.branchWeight(i) * s.NormScore(cos, na.Branches[i], nb.Branches[i])
	}
	if len(dots) > len(s.m.Branches) {
		sum -= s.m.contentTerm(float64(dots[len(s.m.Branches)]))
	}
	return sum - shift
}

// contentTerm is what content matching (ModelConfig.ContentWeight) takes
// from the score of a pair whose content parts have the dot product bc.
func (m *Model) contentTerm(bc float64) float64 {
	return m.Config.ContentWeight * (bc - m.Config.ContentCentre)
}

// Score returns the normalised score of two voiceprints.
func (s *Scorer) Score(a, b []float32) float64 {
	return s.ScoreWithNorms(a, b, s.CohortNorm(a), s.CohortNorm(b))
}

// Threshold returns the normalised-score threshold at which the model's
// calibration expects a false-accept rate of far: the calibrated point
// with the largest FAR not above far (the strictest point when far is
// below them all), or 0 with an error if the model is not calibrated.
// A scorer made by WithVenue whose venue holds enough pairs for far
// returns the venue's threshold instead (see WithVenue). It is the
// threshold of every comparison except one of two band-limited sides
// (Thresholds).
func (s *Scorer) Threshold(far float64) (float64, error) {
	t, err := s.Thresholds(far)
	return t.Any, err
}

// Thresholds returns the thresholds for the false-accept rate far, one
// per condition of a comparison: Any as Threshold, BandLimited from the
// model's band-limited calibration (ModelConfig.BandLimited), never below
// Any; a model without that calibration has one threshold for both. A
// scorer made by WithVenue takes each condition's threshold from the
// venue's pairs in that condition when they suffice (see WithVenueOf).
func (s *Scorer) Thresholds(far float64) (Thresholds, error) {
	t, _, err := s.thresholds(far)
	return t, err
}

// thresholds is Thresholds, and where each comes from (withVenue).
func (s *Scorer) thresholds(far float64) (Thresholds, [2]string, error) {
	model, err := s.modelThresholds(far)
	return s.withVenue(model, err, far)
}

// modelThresholds is Thresholds from the model's calibration alone.
func (s *Scorer) modelThresholds(far float64) (Thresholds, error) {
	cal := s.m.Config.Calibration
	if len(cal) == 0 {
		return Thresholds{}, fmt.Errorf("voiceprint: model %s has no calibration", s.m.Config.ID)
	}
	t := pickCalibration(cal, far)
	out := Thresholds{Any: t, BandLimited: t}
	if bl := s.m.Config.BandLimited; bl != nil && len(bl.Calibration) > 0 {
		out.BandLimited = max(t, pickCalibration(bl.Calibration, far))
	}
	return out, nil
}

// Where a threshold comes from (Scorer.ThresholdsFrom,
// Scorer.IdentifyThresholdsFrom).
const (
	FromModel    = "model"     // the model's calibration
	FromVenue    = "venue"     // the venue's pairs of different people (WithVenue)
	FromVenueFit = "venue-fit" // a bound from a normal fit to too few such pairs for their own, where the fit lies above the model's (venueFit)
)

// withVenue replaces the model's thresholds (or its error err) with the
// venue's, for a rate of far per pair, in each condition whose venue
// pairs suffice, and says where each threshold comes from (FromModel,
// FromVenue, FromVenueFit; general, then band-limited). A band-limited
// threshold the venue cannot set is the model's, never below the venue's
// general one; with a model that has no band-limited calibration it is
// the general one. A condition whose venue is too small for its own
// threshold but large enough for a fit (venueFit), where the fit's point
// for the rate lies above the threshold it would otherwise have, takes
// the fit's bound.
func (s *Scorer) withVenue(model Thresholds, err error, far float64) (Thresholds, [2]string, error) {
	from := [2]string{FromModel, FromModel}
	ta, okA := s.venueThreshold(venueAny, far)
	tb, okB := s.venueThreshold(venueBandLimited, far)
	if err != nil && !okA {
		return model, from, err
	}
	out := model
	if okA {
		out.Any, from[0] = ta, FromVenue
	} else if fit, bound, ok := s.venueFit(venueAny, far); ok && fit > out.Any {
		out.Any, from[0] = bound, FromVenueFit
	}
	switch {
	case okB:
		out.BandLimited, from[1] = tb, FromVenue
		return out, from, nil
	case err != nil || s.m.Config.BandLimited == nil:
		out.BandLimited, from[1] = out.Any, from[0]
	case out.Any > model.BandLimited:
		out.BandLimited, from[1] = out.Any, from[0]
	}
	if fit, bound, ok := s.venueFit(venueBandLimited, far); ok && fit > out.BandLimited {
		out.BandLimited, from[1] = bound, FromVenueFit
	}
	return out, from, nil
}

// Thresholds are the decision thresholds for one false-accept rate, one
// per condition of a comparison (Scorer.Thresholds,
// Scorer.IdentifyThresholds).
type Thresholds struct {
	Any         float64 // a comparison with at least one side not band-limited, or of unknown band
	BandLimited float64 // both sides band-limited (Analysis.BandLimited)
}

// For returns the threshold of a comparison whose sides are, or are not,
// band-limited.
func (t Thresholds) For(aBandLimited, bBandLimited bool) float64 {
	if aBandLimited && bBandLimited {
		return t.BandLimited
	}
	return t.Any
}

// pickCalibration returns the threshold of the point with the largest FAR
// not above far, or of the strictest point when far is below them all.
func pickCalibration(cal []CalibrationPoint, far float64) float64 {
	pts := slices.Clone(cal)
	slices.SortFunc(pts, func(a, b CalibrationPoint) int {
		switch {
		case a.FAR < b.FAR:
			return -1
		case a.FAR > b.FAR:
			return 1
		}
		return 0
	})
	best := pts[0]
	for _, p := range pts {
		if p.FAR <= far {
			best = p
		}
	}
	return best.Threshold
}

// Candidate is an enrolled voiceprint offered to open-set identification.
// Scorer.NewCandidate builds one with its cohort statistics and a compact
// copy that identification reads instead of Emb (see there); a Candidate
// made as a literal, with Emb and Norm alone, is matched in float32.
type Candidate struct {
	ID   string
	Emb  []float32
	Norm CohortNorm // from Scorer.CohortNorm, computed once at enrolment
	// BandLimited says the enrolment is band-limited
	// (Voiceprint.BandLimited): against a band-limited voice it takes
	// that condition's threshold (Thresholds.For).
	BandLimited bool
	// packed is the compact copy of Emb, or nil.
	packed *packedVoiceprint
}

// Match is the outcome of open-set identification: the best candidate's
// id, score and threshold, and whether it passed. When Known is false
// the voice is someone not enrolled ("unknown"); ID and Score still name
// the closest candidate. With thresholds that differ by condition, the
// best candidate is the one whose score is furthest above (or least
// below) its own threshold.
type Match struct {
	ID        string
	Score     float64
	Threshold float64
	Known     bool
}

// IdentifyThreshold returns the threshold for open-set identification
// against n enrolled voiceprints such that an unknown voice is accepted
// with probability at most far. It uses the model's identification
// calibration for the smallest calibrated session size ≥ n (larger
// sessions need higher thresholds, so this errs on the safe side) and the
// largest calibrated FAR ≤ far; beyond the calibrated sizes it falls back
// to the union bound, Threshold(far/n).
//
// A scorer made by WithVenue whose venue holds enough pairs returns the
// venue's threshold for the rate 1-(1-far)^(1/n) per enrolled voice (the
// Šidák bound: the n scores of one voice are positively dependent, so an
// unknown voice then passes with probability at most far).
//
// It is the threshold of every candidate except a band-limited one
// against a band-limited voice (IdentifyThresholds).
func (s *Scorer) IdentifyThreshold(far float64, n int) (float64, error) {
	t, err := s.IdentifyThresholds(far, n)
	return t.Any, err
}

// IdentifyThresholds is IdentifyThreshold for each condition of a
// comparison, as Thresholds is for Threshold.
func (s *Scorer) IdentifyThresholds(far float64, n int) (Thresholds, error) {
	t, _, err := s.identifyThresholds(far, n)
	return t, err
}

// identifyThresholds is IdentifyThresholds, and where each comes from
// (withVenue).
func (s *Scorer) identifyThresholds(far float64, n int) (Thresholds, [2]string, error) {
	n = max(n, 1)
	model, err := s.modelIdentifyThresholds(far, n)
	return s.withVenue(model, err, perVoiceFAR(far, n))
}

// ThresholdsFrom says where Thresholds(far) come from, the general one
// and the band-limited one: FromModel, FromVenue or FromVenueFit.
func (s *Scorer) ThresholdsFrom(far float64) (general, bandLimited string) {
	_, from, _ := s.thresholds(far)
	return from[0], from[1]
}

// IdentifyThresholdsFrom is ThresholdsFrom for IdentifyThresholds(far, n).
func (s *Scorer) IdentifyThresholdsFrom(far float64, n int) (general, bandLimited string) {
	_, from, _ := s.identifyThresholds(far, n)
	return from[0], from[1]
}

// modelIdentifyThresholds is IdentifyThresholds from the model's
// calibration alone.
func (s *Scorer) modelIdentifyThresholds(far float64, n int) (Thresholds, error) {
	t, ok := identifyCalibrated(s.m.Config.IdentifyCalibration, far, n)
	if !ok {
		return s.modelThresholds(far / float64(n))
	}
	out := Thresholds{Any: t, BandLimited: t}
	if bl := s.m.Config.BandLimited; bl != nil {
		if tb, ok := identifyCalibrated(bl.IdentifyCalibration, far, n); ok {
			out.BandLimited = max(t, tb)
		} else if len(bl.Calibration) > 0 {
			out.BandLimited = max(t, pickCalibration(bl.Calibration, far/float64(n)))
		}
	}
	return out, nil
}

// identifyCalibrated returns the threshold of an identification
// calibration for the smallest calibrated session size ≥ n and the
// largest calibrated FAR ≤ far, and false when no size is that large.
func identifyCalibrated(cal []IdentifyCalibrationPoint, far float64, n int) (float64, bool) {
	size := -1
	for _, p := range cal {
		if p.Enrolled >= n && (size < 0 || p.Enrolled < size) {
			size = p.Enrolled
		}
	}
	if size < 0 {
		return 0, false
	}
	var pts []CalibrationPoint
	for _, p := range cal {
		if p.Enrolled == size {
			pts = append(pts, CalibrationPoint{FAR: p.FAR, Threshold: p.Threshold})
		}
	}
	return pickCalibration(pts, far), true
}

// Identify compares test against every candidate and returns the best
// match, Known only if its normalised score reaches threshold. With no
// candidates it returns an unknown match with score -Inf.
func (s *Scorer) Identify(test []float32, cands []Candidate, threshold float64) Match {
	if len(cands) == 0 {
		return Match{Score: math.Inf(-1)}
	}
	return s.IdentifyWithNorm(test, s.CohortNorm(test), cands, threshold)
}

// IdentifyWithNorm is Identify with the test voiceprint's cohort
// statistics already computed. Candidates whose voiceprint is not as long
// as test are skipped. A candidate made with Emb alone is scored in
// float32, as ScoreWithNorms would, bit for bit. One made by NewCandidate
// is first scored through its compact copy; those within rescoreMargin of
// the best such score are then scored again from Emb, so that the match
// and its score are those of the float32 path (the compact scores differ
// from them by a few hundredths at most: TestCandidateScoreError). A
// candidate whose Emb is gone (nil) keeps its compact score.
func (s *Scorer) IdentifyWithNorm(test []float32, tn CohortNorm, cands []Candidate, threshold float64) Match {
	return s.IdentifyIn(test, tn, false, cands, Thresholds{Any: threshold, BandLimited: threshold})
}

// IdentifyIn is IdentifyWithNorm with a threshold for each condition of a
// comparison: a candidate is held to thr.For(c.BandLimited,
// testBandLimited), and the best candidate is the one furthest above its
// threshold.
func (s *Scorer) IdentifyIn(test []float32, tn CohortNorm, testBandLimited bool, cands []Candidate, thr Thresholds) Match {
	m := Match{Score: math.Inf(-1), Threshold: thr.Any}
	// Candidates rank by their score less how far their threshold is
	// above thr.Any, so the best is the one furthest above its own; with
	// one threshold for all, by their score.
	raise := 0.0
	if t := thr.For(true, testBandLimited); t != thr.Any {
		raise = t - thr.Any
	}
	rank := func(c Candidate, sc float64) float64 {
		if c.BandLimited {
			return sc - raise
		}
		return sc
	}
	best := math.Inf(-1) // the match's rank
	pick := func(c Candidate, sc float64) {
		if r := rank(c, sc); r > best {
			best, m.ID, m.Score, m.Threshold = r, c.ID, sc, thr.For(c.BandLimited, testBandLimited)
		}
	}
	var pbuf [maxParts]int
	parts := s.parts(pbuf[:0])
	if len(test) != s.m.EmbeddingDim() || len(parts) > maxParts {
		for _, c := range cands { // one ScoreWithNorms each, in float32
			if len(c.Emb) != len(test) {
				continue
			}
			pick(c, s.ScoreWithNorms(c.Emb, test, c.Norm, tn))
		}
		m.Known = m.Score >= m.Threshold
		return m
	}
	scores := make([]float64, len(cands))
	bestPacked := math.Inf(-1) // the best rank of a compact score, of a candidate with Emb
	var dots [batch][maxParts]float32
	for start := 0; start < len(cands); start += batch {
		group := cands[start:min(start+batch, len(cands))]
		// Each part: the float rows and the packed rows, eight a call.
		var frows [batch][]float32
		var qrows [batch][]int8
		var scales [batch]float32
		var fidx, qidx [batch]int
		var out [batch]float32
		off := 0
		for p, n := range parts {
			nf, nq := 0, 0
			for j, c := range group {
				switch {
				case c.packed.fits(parts):
					qrows[nq], scales[nq], qidx[nq] = c.packed.q[off:off+n], c.packed.scales[p], j
					nq++
				case len(c.Emb) == len(test):
					frows[nf], fidx[nf] = c.Emb[off:off+n], j
					nf++
				}
			}
			t := test[off : off+n]
			if nf > 0 {
				dotRows(&out, t, &frows, nf)
				for r := range nf {
					dots[fidx[r]][p] = out[r]
				}
			}
			if nq > 0 {
				dotRowsInt8(&out, t, &qrows, &scales, nq)
				for r := range nq {
					dots[qidx[r]][p] = out[r]
				}
			}
			off += n
		}
		for j, c := range group {
			sc := math.Inf(-1)
			if c.packed.fits(parts) || len(c.Emb) == len(test) {
				sc = s.scoreDots(dots[j][:len(parts)], c.Norm, tn)
			}
			if c.packed.fits(parts) && len(c.Emb) == len(test) {
				bestPacked = max(bestPacked, rank(c, sc))
			}
			scores[start+j] = sc
		}
	}
	for i, c := range cands {
		sc := scores[i]
		if c.packed.fits(parts) && len(c.Emb) == len(test) && rank(c, sc) >= bestPacked-rescoreMargin {
			sc = s.ScoreWithNorms(c.Emb, test, c.Norm, tn)
		}
		pick(c, sc)
	}
	m.Known = m.Score >= m.Threshold
	return m
}

// rescoreMargin is how far below the best compact score IdentifyWithNorm
// rescores candidates from their float32 voiceprints: six times the
// largest difference between a compact and a float32 score measured on
// real voiceprints (0.041), so that the float32 best is always among them.
const rescoreMargin = 0.25
