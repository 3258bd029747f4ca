package voiceprint

import (
	"fmt"
	"math"
	"slices"
)

// Venue calibration: thresholds measured on the voices a scorer's cohort
// was extended with, rather than on the model's training speakers.
//
// The model's calibrated thresholds hold the false-accept rate for voices
// like its training speakers (read English). A venue cohort (WithCohort)
// moves the normalised scores of every other condition towards those of
// its own voices, but by an amount the model's calibration does not know:
// on the multilingual dev speakers, half of them as the cohort, the 1 %
// threshold then accepts 0.4 % of the other half's impostor pairs and
// misses 42 % of their same-speaker pairs. The venue's own voices are a
// sample of the impostors the box will meet, so WithVenue scores every
// pair of them that are different people, each side normalised as a probe
// from outside the cohort would be, and sets its thresholds on those
// scores.

// venueConfidence is the confidence with which a venue threshold keeps
// its false-accept rate: the threshold admits k of the venue's N
// different-speaker pairs, k the largest count that N independent trials
// at exactly that rate would not exceed with probability 1 - venueConfidence
// (a one-sided binomial bound; pairs sharing a voice are not independent,
// so the confidence is nominal).
const venueConfidence = 0.9

// maxVenueVoices bounds the voiceprints WithVenue scores in pairs (the
// first ones given): 512 voiceprints make 130,816 pairs, enough for rates
// down to 0.01 %, and take a few seconds.
const maxVenueVoices = 512

// venueBlock is how many venue voiceprints venueScores takes through each
// batch of cohort rows while it is in cache.
const venueBlock = 16

// WithVenue returns a scorer whose cohort is s's plus vps, as WithCohort,
// and whose thresholds (Threshold, IdentifyThreshold) are measured on vps
// whenever they hold enough pairs for the rate asked (VenuePairs):
// speaker[i] names the person vps[i] is of, and only pairs of different
// people count. Otherwise the thresholds stay the model's. The same
// restriction as WithCohort's holds: none of the voiceprints may be of a
// speaker whose voiceprints the new scorer will compare.
func (s *Scorer) WithVenue(vps [][]float32, speaker []string) (*Scorer, error) {
	if len(speaker) != len(vps) {
		return nil, fmt.Errorf("voiceprint: %d venue voiceprints, %d speakers", len(vps), len(speaker))
	}
	out, err := s.WithCohort(vps)
	if err != nil {
		return nil, err
	}
	prev := (len(s.extraOf(0)) / max(s.branchModels()[0].Config.EmbeddingDim(), 1))
	ids := map[string]int{}
	var spk []int
	for _, name := range speaker[:min(len(speaker), maxVenueVoices)] {
		id, ok := ids[name]
		if !ok {
			id = len(ids)
			ids[name] = id
		}
		spk = append(spk, id)
	}
	for i, r := range out.venueScores(prev, spk) {
		for _, x := range r[i+1:] {
			if !math.IsNaN(x) {
				out.venue = append(out.venue, x)
			}
		}
	}
	slices.Sort(out.venue)
	return out, nil
}

// VenuePairs is the number of different-speaker pairs WithVenue measured
// the scorer's thresholds on (0 for a scorer without a venue).
func (s *Scorer) VenuePairs() int { return len(s.venue) }

// venueThreshold returns the threshold at which at most far of the venue's
// different-speaker pairs are accepted, with venueConfidence, and whether
// the venue holds enough pairs for that.
func (s *Scorer) venueThreshold(far float64) (float64, bool) {
	n := len(s.venue)
	k := binomialLowerCount(n, far, 1-venueConfidence)
	if k < 0 {
		return 0, false
	}
	// Accept the k highest pairs: the threshold lies just above the
	// (k+1)-th highest score.
	return math.Nextafter(s.venue[n-1-k], math.Inf(1)), true
}

// binomialLowerCount returns the largest k such that P(X ≤ k) ≤ alpha for
// X ~ Binomial(n, p), or -1 if even P(X = 0) exceeds alpha (or n is 0).
func binomialLowerCount(n int, p, alpha float64) int {
	if n <= 0 || !(p > 0) || p >= 1 {
		return -1
	}
	// Terms in the log domain: log P(X = 0) = n·log(1-p), and
	// P(X = i+1)/P(X = i) = (n-i)/(i+1) · p/(1-p).
	logTerm := float64(n) * math.Log1p(-p)
	ratio := math.Log(p) - math.Log1p(-p)
	cdf := 0.0
	k := -1
	for i := 0; i <= n; i++ {
		cdf += math.Exp(logTerm)
		if cdf > alpha {
			return k
		}
		k = i
		logTerm += math.Log(float64(n-i)) - math.Log(float64(i+1)) + ratio
	}
	return k
}

// venueScores returns the normalised scores of every pair of the extra
// cohort voiceprints from index first on whose speakers differ: speaker[i]
// names the person of voiceprint first+i, and row i of the result holds
// voiceprint first+i's scores with the others (NaN for itself and its own
// speaker's; the rows are symmetric). Each side of a pair
// is normalised against the model's cohort and every other extra
// voiceprint but those of the pair's two speakers, as a probe and an
// enrolled voice from outside the cohort are; scores are otherwise as
// ScoreWithNorms gives them, foreign shift included.
func (s *Scorer) venueScores(first int, speaker []int) [][]float64 {
	parts := s.branchModels()
	m := len(speaker)
	if m < 2 {
		return nil
	}
	foreignFrom := s.m.Config.ForeignFrom
	// For each part and venue voiceprint: its cosines with the model's
	// cohort rows, then with the extra rows, and their order from the
	// highest.
	type row struct {
		sc    []float64
		order []int32
	}
	rows := make([][]row, len(parts))
	for p, bm := range parts {
		c := bm.Config
		ed := c.EmbeddingDim()
		extra := s.extraOf(p)
		all := make([][]float32, 0, c.CohortSize+len(extra)/ed)
		for k := 0; k < c.CohortSize; k++ {
			all = append(all, bm.Cohort[k*ed:(k+1)*ed])
		}
		for off := 0; off+ed <= len(extra); off += ed {
			all = append(all, extra[off:off+ed])
		}
		// The cosines, a block of venue voiceprints at a time, so that
		// each batch of rows is read from memory once a block; a cosine
		// of two venue voiceprints is computed once (dotf is symmetric,
		// bit for bit).
		vrow := c.CohortSize + first // all's index of venue voiceprint 0
		sc := make([][]float64, m)
		for i := range sc {
			sc[i] = make([]float64, len(all))
		}
		var br [batch][]float32
		var out [batch]float32
		for i0 := 0; i0 < m; i0 += venueBlock {
			i1 := min(i0+venueBlock, m)
			for start := 0; start < len(all); start += batch {
				end := min(start+batch, len(all))
				if start >= vrow && end <= vrow+i0 {
					continue // rows of earlier blocks: mirrored below
				}
				k := copy(br[:], all[start:end])
				for i := i0; i < i1; i++ {
					dotRows(&out, all[vrow+i], &br, k)
					for r := range k {
						sc[i][start+r] = float64(out[r])
					}
				}
			}
		}
		for i := range m {
			for j := range i {
				sc[i][vrow+j] = sc[j][vrow+i]
			}
		}
		rows[p] = make([]row, m)
		for i, sc := range sc {
			order := make([]int32, len(sc))
			for k := range order {
				order[k] = int32(k)
			}
			slices.SortStableFunc(order, func(a, b int32) int {
				switch {
				case sc[a] > sc[b]:
					return -1
				case sc[a] < sc[b]:
					return 1
				}
				return 0
			})
			rows[p][i] = row{sc, order}
		}
	}
	top := make([]float64, 0, 256)
	// norm is the cohort statistics of venue voiceprint i's part p
	// without the venue rows of speakers a and b, and its foreign margin.
	norm := func(p, i, a, b int) (mean, std, margin float64) {
		c := parts[p].Config
		r := rows[p][i]
		top = top[:0]
		bestF, bestH := math.Inf(-1), math.Inf(-1)
		for _, k := range r.order {
			k := int(k)
			if k >= c.CohortSize+first && k < c.CohortSize+first+m {
				if sp := speaker[k-c.CohortSize-first]; sp == a || sp == b {
					continue
				}
			}
			if len(top) < c.CohortTop {
				top = append(top, r.sc[k])
			}
			if foreignFrom > 0 && k >= foreignFrom && k < c.CohortSize {
				bestF = max(bestF, r.sc[k])
			} else {
				bestH = max(bestH, r.sc[k])
			}
			if len(top) == c.CohortTop && (foreignFrom == 0 || (!math.IsInf(bestF, -1) && !math.IsInf(bestH, -1))) {
				break
			}
		}
		mean, std = topStats(top, c.CohortTop)
		margin = math.Inf(-1)
		if foreignFrom > 0 && !math.IsInf(bestF, -1) && !math.IsInf(bestH, -1) {
			margin = bestF - bestH
		}
		return mean, std, margin
	}
	out := make([][]float64, m)
	for i := range out {
		out[i] = make([]float64, m)
		for j := range out[i] {
			out[i][j] = math.NaN()
		}
	}
	for i := range m {
		for j := i + 1; j < m; j++ {
			a, b := speaker[i], speaker[j]
			if a == b {
				continue
			}
			var sum, marginI, marginJ float64
			for p, bm := range parts {
				c := bm.Config
				cos := rows[p][i].sc[c.CohortSize+first+j]
				if c.CohortSize == 0 || c.CohortTop == 0 {
					sum += cos
					marginI, marginJ = math.Inf(-1), math.Inf(-1)
					continue
				}
				mi, si, fi := norm(p, i, a, b)
				mj, sj, fj := norm(p, j, a, b)
				sum += 0.5 * ((cos-mi)/si + (cos-mj)/sj)
				marginI += fi / float64(len(parts))
				marginJ += fj / float64(len(parts))
			}
			score := sum / float64(len(parts))
			for _, mg := range []float64{marginI, marginJ} {
				if foreignFrom > 0 && mg > s.m.Config.ForeignMargin {
					score -= s.m.Config.ForeignShift / 2
				}
			}
			out[i][j], out[j][i] = score, score
		}
	}
	return out
}

// branchModels returns the single models whose parts make up a
// voiceprint of s's model: its branches, or the model itself.
func (s *Scorer) branchModels() []*Model {
	if len(s.m.Branches) > 0 {
		return s.m.Branches
	}
	return []*Model{s.m}
}
