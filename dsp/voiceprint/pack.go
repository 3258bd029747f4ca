package voiceprint

import (
	"math"
	"slices"
	"sync"

	"github.com/voxward/voxward/internal/compact"
)

// packedVoiceprint is the compact copy of an enrolled voiceprint that
// identification reads: each part (the whole voiceprint of a single
// model, each branch's part of a fused one) as int8 values q with one
// float32 scale, max|x|/127, standing for float32(q)·scale. It takes a
// quarter of the float32 voiceprint's memory and memory traffic (31,036
// bytes and four scales for the shipped model against 124,144 bytes).
type packedVoiceprint struct {
	q      []int8
	scales []float32 // one per part
}

// fits reports whether p is a compact copy for voiceprints whose parts
// have the lengths parts (false for nil).
func (p *packedVoiceprint) fits(parts []int) bool {
	if p == nil || len(p.scales) != len(parts) {
		return false
	}
	n := 0
	for _, l := range parts {
		n += l
	}
	return len(p.q) == n
}

// parts appends to dst the lengths of the parts of s's voiceprints: one
// for a single model, one per branch for a fused one and then its content
// part, if it has one.
func (s *Scorer) parts(dst []int) []int {
	if len(s.m.Branches) == 0 {
		return append(dst, s.m.EmbeddingDim())
	}
	for _, b := range s.m.Branches {
		dst = append(dst, b.Config.EmbeddingDim())
	}
	if cd := s.m.contentDim(); cd > 0 {
		dst = append(dst, cd)
	}
	return dst
}

// packVoiceprint quantises v, parts of the lengths parts, to int8 values
// with one scale per part (max|x|/127; values rounded to the nearest
// step).
func packVoiceprint(v []float32, parts []int) *packedVoiceprint {
	p := &packedVoiceprint{q: make([]int8, len(v)), scales: make([]float32, len(parts))}
	off := 0
	for i, n := range parts {
		x := v[off : off+n]
		var m float32
		for _, e := range x {
			m = max(m, float32(math.Abs(float64(e))))
		}
		sc := m / 127
		p.scales[i] = sc
		if sc > 0 {
			q := p.q[off : off+n]
			for k, e := range x {
				q[k] = int8(max(-127, min(127, math.Round(float64(e)/float64(sc)))))
			}
		}
		off += n
	}
	return p
}

// NewCandidate returns emb (a voiceprint of the scorer's model, not
// copied) as a candidate for identification: its cohort statistics with
// this scorer and a compact copy, int8 values with one scale per branch
// part, which IdentifyWithNorm reads instead of the float32 values: a
// quarter of the memory traffic per match. The compact copy changes a
// score by up to about 0.04 (TestCandidateScoreError measures it on real
// voiceprints), where thresholds lie near 3; IdentifyWithNorm rescores
// from Emb the candidates near the best, so matches keep the float32
// scores. Wipe clears both copies.
func (s *Scorer) NewCandidate(id string, emb []float32) Candidate {
	return s.Prepare(Candidate{ID: id, Emb: emb})
}

// Prepare returns c as NewCandidate would make it with this scorer: its
// ID, Emb and BandLimited kept, its cohort statistics and compact copy
// made anew (c's own compact copy is not touched). A session whose
// scorer changes prepares its candidates again.
func (s *Scorer) Prepare(c Candidate) Candidate {
	var pbuf [maxParts]int
	c.Norm, c.packed = s.CohortNorm(c.Emb), packVoiceprint(c.Emb, s.parts(pbuf[:0]))
	return c
}

// Wipe zeroes the candidate's voiceprint: Emb and the compact copy
// NewCandidate made of it (copies of c share them).
func (c Candidate) Wipe() {
	clear(c.Emb)
	if c.packed != nil {
		clear(c.packed.q)
		clear(c.packed.scales)
	}
}

// Wiped reports whether the candidate holds no voiceprint values: its
// Emb and its compact copy all zero, as Wipe leaves them.
func (c Candidate) Wiped() bool {
	nonzero := func(x float32) bool { return x != 0 }
	if slices.ContainsFunc(c.Emb, nonzero) {
		return false
	}
	return c.packed == nil || !slices.ContainsFunc(c.packed.q, func(x int8) bool { return x != 0 }) &&
		!slices.ContainsFunc(c.packed.scales, nonzero)
}

// int8Cohort is the int8 copy of a model's cohort rows, made on first
// use: per branch (one entry for a single model), the rows as int8 values
// with a power-of-two scale each, or nil where the rows are not exactly
// such values. A CompactRows model's cohort is stored in 4 bits with
// power-of-two row scales, so int8 holds it exactly, and dotRowsInt8 then
// gives cohortNorm the same bits as the float32 rows (TestCohortNormBitIdentical).
type int8Cohort struct {
	once sync.Once
	rows []*int8Rows
}

// int8Rows are rows of int8 values, row k standing for float32(q)·scales[k].
type int8Rows struct {
	q      []int8
	scales []float32
}

// get returns the int8 copy of m's cohort rows (m must be the model the
// cohort was first asked for: a Scorer's).
func (c *int8Cohort) get(m *Model) []*int8Rows {
	c.once.Do(func() {
		if len(m.Branches) == 0 {
			c.rows = []*int8Rows{exactInt8Rows(m)}
			return
		}
		for _, b := range m.Branches {
			c.rows = append(c.rows, exactInt8Rows(b))
		}
	})
	return c.rows
}

// exactInt8Rows returns m's cohort as int8 rows if that holds every value
// exactly (a CompactRows model), else nil.
func exactInt8Rows(m *Model) *int8Rows {
	ed := m.Config.EmbeddingDim()
	if !m.Config.CompactRows || m.Config.CohortSize == 0 || len(m.Cohort) != m.Config.CohortSize*ed {
		return nil
	}
	r := &int8Rows{q: make([]int8, len(m.Cohort)), scales: make([]float32, m.Config.CohortSize)}
	for k := range r.scales {
		x, q := m.Cohort[k*ed:(k+1)*ed], r.q[k*ed:(k+1)*ed]
		sc := compact.QuantRow(q, x, 8)
		for i, v := range x {
			if math.Float32bits(float32(q[i])*sc) != math.Float32bits(v) {
				return nil
			}
		}
		r.scales[k] = sc
	}
	return r
}
