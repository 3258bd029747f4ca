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
// its false-accept rate far: the threshold accepts the k highest of the
// venue's N different-speaker pairs, k the largest count such that, were
// the rate exactly far, N independent pairs would show k or fewer
// accepted with probability at most 1 - venueConfidence (a one-sided
// binomial bound; pairs that share a voice are not independent, so the
// confidence is nominal).
const venueConfidence = 0.9

// maxVenueVoices bounds the voiceprints WithVenue scores in pairs (the
// first ones given): 512 voiceprints make 130,816 pairs, enough for rates
// down to 0.01 %, in about a second on one core with the shipped model
// (BenchmarkWithVenue).
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
// speaker whose voiceprints the new scorer will compare. The voices'
// bands are unknown, so every pair counts for the general threshold
// (WithVenueOf knows them).
func (s *Scorer) WithVenue(vps [][]float32, speaker []string) (*Scorer, error) {
	return s.WithVenueSides(vps, nil, speaker, nil)
}

// WithVenueSides is WithVenue for a venue whose enrolments and probes are
// taken in different conditions (a kiosk microphone and a telephone line,
// say): enrol holds its voices as enrolments are recorded and probe as
// probes are, and only pairs of an enrolment and a probe of different
// people count. Both join the cohort. With probe empty, enrol stands for
// both sides, as in WithVenue. Speakers are named across both lists: a
// name in both is one person. At most maxVenueVoices voiceprints (half
// of them from each side when there are two) are scored in pairs.
func (s *Scorer) WithVenueSides(enrol, probe [][]float32, enrolSpeaker, probeSpeaker []string) (*Scorer, error) {
	return s.WithVenueOf(VenueSide{Voiceprints: enrol, Speakers: enrolSpeaker}, VenueSide{Voiceprints: probe, Speakers: probeSpeaker})
}

// VenueSide is one side of a venue (WithVenueOf): its voiceprints, the
// person each is of, and which are band-limited (Voiceprint.BandLimited;
// nil: none is).
type VenueSide struct {
	Voiceprints [][]float32
	Speakers    []string
	BandLimited []bool
}

// WithVenueOf is WithVenueSides with the band of each voice known. The
// venue's pairs are then split by condition: those whose both sides are
// band-limited measure the threshold of band-limited comparisons
// (Thresholds.BandLimited), the others the general one, each when its
// pairs suffice for the rate asked; a condition whose pairs do not keep
// the model's threshold (the band-limited one never below the venue's
// general one). A venue of 8 kHz voices thus sets its own band-limited
// threshold, and a wide-band venue does not lower that of 8 kHz pairs.
func (s *Scorer) WithVenueOf(enrol, probe VenueSide) (*Scorer, error) {
	for _, side := range []VenueSide{enrol, probe} {
		if len(side.Speakers) != len(side.Voiceprints) || side.BandLimited != nil && len(side.BandLimited) != len(side.Voiceprints) {
			return nil, fmt.Errorf("voiceprint: %d venue voiceprints, %d speakers, %d bands", len(side.Voiceprints), len(side.Speakers), len(side.BandLimited))
		}
	}
	out, err := s.WithCohort(append(slices.Clip(enrol.Voiceprints), probe.Voiceprints...))
	if err != nil {
		return nil, err
	}
	ids := map[string]int{}
	id := func(name string) int {
		if v, ok := ids[name]; ok {
			return v
		}
		ids[name] = len(ids)
		return ids[name]
	}
	// Every added voiceprint's speaker (the pairs leave them out of each
	// other's cohorts) and band, and which take part in pairs.
	n := len(enrol.Voiceprints) + len(probe.Voiceprints)
	spk, bl := make([]int, 0, n), make([]bool, 0, n)
	for _, side := range []VenueSide{enrol, probe} {
		for i, name := range side.Speakers {
			spk = append(spk, id(name))
			bl = append(bl, side.BandLimited != nil && side.BandLimited[i])
		}
	}
	limit := maxVenueVoices
	if len(probe.Voiceprints) > 0 {
		limit /= 2
	}
	pe, pp := min(len(enrol.Voiceprints), limit), min(len(probe.Voiceprints), limit)
	first := len(s.extraOf(0)) / s.branchModels()[0].Config.EmbeddingDim()
	out.venue = out.venueScores(first, spk, bl, pe, len(enrol.Voiceprints), pp)
	return out, nil
}

// VenuePairs is the number of different-speaker pairs WithVenue measured
// the scorer's thresholds on, in both conditions (0 for a scorer without
// a venue).
func (s *Scorer) VenuePairs() int {
	return len(s.venue[venueAny].scores) + len(s.venue[venueBandLimited].scores)
}

// VenueCalibrated reports whether IdentifyThreshold(far, n), and for n =
// 1 Threshold(far), is the venue's (WithVenue) rather than the model's:
// the general threshold (IdentifyThresholds(far, n).Any).
func (s *Scorer) VenueCalibrated(far float64, n int) bool {
	_, ok := s.venueThreshold(venueAny, perVoiceFAR(far, n))
	return ok
}

// VenueCalibratedBandLimited is VenueCalibrated for the threshold of
// two band-limited sides (IdentifyThresholds(far, n).BandLimited).
func (s *Scorer) VenueCalibratedBandLimited(far float64, n int) bool {
	_, ok := s.venueThreshold(venueBandLimited, perVoiceFAR(far, n))
	return ok
}

// perVoiceFAR is the false-accept rate each of n enrolled voices may have
// for an unknown voice to pass open-set identification with probability
// at most far, when their scores are independent or positively dependent
// (the Šidák bound 1-(1-far)^(1/n)).
func perVoiceFAR(far float64, n int) float64 {
	return -math.Expm1(math.Log1p(-far) / float64(max(n, 1)))
}

// venueThreshold returns the threshold at which at most far of the venue's
// different-speaker pairs in condition cond are accepted, with
// venueConfidence, and whether the venue is large enough for that. Its
// pairs of recordings measure the rate, but its people are the sample:
// the venue must hold enough pairs of different people that, counted as
// independent trials, they could show the rate at all
// (binomialLowerCount ≥ 0: 230 pairs of people, 22 people, for 1 %). Five
// people with ten recordings each make 1,000 pairs of recordings but ten
// pairs of people, too few.
func (s *Scorer) venueThreshold(cond int, far float64) (float64, bool) {
	v := s.venue[cond]
	n := len(v.scores)
	k := binomialLowerCount(n, far, 1-venueConfidence)
	if k < 0 || binomialLowerCount(v.people, far, 1-venueConfidence) < 0 {
		return 0, false
	}
	// Accept the k highest pairs: the threshold lies just above the
	// (k+1)-th highest score.
	return math.Nextafter(v.scores[n-1-k], math.Inf(1)), true
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

// venueScores returns the normalised scores of the venue's pairs of
// different people, sorted, and how many pairs of people they are of,
// split by condition: both sides band-limited (bl of each venue
// voiceprint) or not.
// The venue is the extra cohort voiceprints from index first on,
// voiceprint first+i of the person speaker[i]. The pairs are those of the
// first ne with each other when np is 0, and otherwise those of one of the
// first ne (enrolments) with one of the np from first+probeStart on
// (probes). Each side of a pair is normalised against the model's cohort
// and every other extra voiceprint but those of the pair's two speakers,
// as a probe and an enrolled voice from outside the cohort are; scores
// are otherwise as ScoreWithNorms gives them, foreign shift included.
func (s *Scorer) venueScores(first int, speaker []int, bl []bool, ne, probeStart, np int) (out [2]venuePairs) {
	// The venue voiceprints that take part in pairs: vs[i] is the index
	// (from first) of the i-th; pairs index vs.
	var vs []int
	for i := range ne {
		vs = append(vs, i)
	}
	for i := range np {
		vs = append(vs, probeStart+i)
	}
	var pairs [][2]int
	for i := range ne {
		if np == 0 {
			for j := i + 1; j < ne; j++ {
				pairs = append(pairs, [2]int{i, j})
			}
			continue
		}
		for j := ne; j < ne+np; j++ {
			pairs = append(pairs, [2]int{i, j})
		}
	}
	pairs = slices.DeleteFunc(pairs, func(p [2]int) bool { return speaker[vs[p[0]]] == speaker[vs[p[1]]] })
	if len(pairs) == 0 {
		return out
	}
	cond := func(p [2]int) int {
		if bl[vs[p[0]]] && bl[vs[p[1]]] {
			return venueBandLimited
		}
		return venueAny
	}
	var of [2]map[[2]int]bool
	for _, p := range pairs {
		a, b, c := speaker[vs[p[0]]], speaker[vs[p[1]]], cond(p)
		if of[c] == nil {
			of[c] = map[[2]int]bool{}
		}
		of[c][[2]int{min(a, b), max(a, b)}] = true
	}
	parts := s.branchModels()
	foreignFrom := s.m.Config.ForeignFrom
	// For each part and venue voiceprint of vs: its cosines with the
	// model's cohort rows, then with every extra row, and their order from
	// the highest.
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
		// each batch of rows is read from memory once a block.
		vrow := c.CohortSize + first // all's index of venue voiceprint 0
		sc := make([][]float64, len(vs))
		for i := range sc {
			sc[i] = make([]float64, len(all))
		}
		var br [batch][]float32
		var out [batch]float32
		for i0 := 0; i0 < len(vs); i0 += venueBlock {
			i1 := min(i0+venueBlock, len(vs))
			for start := 0; start < len(all); start += batch {
				k := copy(br[:], all[start:min(start+batch, len(all))])
				for i := i0; i < i1; i++ {
					dotRows(&out, all[vrow+vs[i]], &br, k)
					for r := range k {
						sc[i][start+r] = float64(out[r])
					}
				}
			}
		}
		rows[p] = make([]row, len(vs))
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
	// norm is the cohort statistics of the part p of venue voiceprint
	// vs[i] without the venue rows of speakers a and b, and its foreign
	// margin.
	norm := func(p, i, a, b int) (mean, std, margin float64) {
		c := parts[p].Config
		r := rows[p][i]
		vrow := c.CohortSize + first
		top = top[:0]
		bestF, bestH := math.Inf(-1), math.Inf(-1)
		for _, k := range r.order {
			k := int(k)
			if k >= c.CohortSize && parts[p].ownCohortOnly() {
				continue
			}
			if k >= vrow && k < vrow+len(speaker) {
				if sp := speaker[k-vrow]; sp == a || sp == b {
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
	// A part normalised against the model's cohort alone (ownCohortOnly)
	// has the same statistics whatever the pair: once per voiceprint.
	type stats struct{ mean, std, margin float64 }
	fixed := make([][]stats, len(parts))
	for p, bm := range parts {
		if !bm.ownCohortOnly() {
			continue
		}
		fixed[p] = make([]stats, len(vs))
		for i := range vs {
			m, sd, f := norm(p, i, -1, -1)
			fixed[p][i] = stats{m, sd, f}
		}
	}
	pairNorm := func(p, i, a, b int) (mean, std, margin float64) {
		if fixed[p] != nil {
			f := fixed[p][i]
			return f.mean, f.std, f.margin
		}
		return norm(p, i, a, b)
	}
	for _, pr := range pairs {
		i, j := pr[0], pr[1]
		a, b := speaker[vs[i]], speaker[vs[j]]
		var sum, marginI, marginJ float64
		for p, bm := range parts {
			c := bm.Config
			cos := rows[p][i].sc[c.CohortSize+first+vs[j]]
			if c.CohortSize == 0 || c.CohortTop == 0 {
				sum += s.m.branchWeight(p) * cos
				marginI, marginJ = math.Inf(-1), math.Inf(-1)
				continue
			}
			mi, si, fi := pairNorm(p, i, a, b)
			mj, sj, fj := pairNorm(p, j, a, b)
			sum += s.m.branchWeight(p) * 0.5 * ((cos-mi)/si + (cos-mj)/sj)
			marginI += fi / float64(len(parts))
			marginJ += fj / float64(len(parts))
		}
		score := sum
		if cd := s.m.contentDim(); cd > 0 {
			ce := s.extraOf(len(parts)) // the content parts, in the extra rows' order
			ri, rj := (first+vs[i])*cd, (first+vs[j])*cd
			score -= s.m.contentTerm(float64(dotf(ce[ri:ri+cd], ce[rj:rj+cd])))
		}
		if foreignFrom > 0 && marginI > s.m.Config.ForeignMargin {
			score -= s.m.Config.ForeignShift / 2
		}
		if foreignFrom > 0 && marginJ > s.m.Config.ForeignMargin {
			score -= s.m.Config.ForeignShift / 2
		}
		c := cond(pr)
		out[c].scores = append(out[c].scores, score)
	}
	for c := range out {
		slices.Sort(out[c].scores)
		out[c].people = len(of[c])
		persons := map[int]bool{}
		for pp := range of[c] {
			persons[pp[0]], persons[pp[1]] = true, true
		}
		out[c].persons = len(persons)
		out[c].mean, out[c].sd = meanSD(out[c].scores)
	}
	return out
}

// meanSD returns the mean and the sample standard deviation of xs (0 and
// 0 with fewer than two).
func meanSD(xs []float64) (mean, sd float64) {
	if len(xs) < 2 {
		return 0, 0
	}
	for _, x := range xs {
		mean += x
	}
	mean /= float64(len(xs))
	var ss float64
	for _, x := range xs {
		ss += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(ss / float64(len(xs)-1))
}

// minFitPairs is how many pairs of different people a venue condition
// needs for venueFit: those of five people. With four (six pairs) of the two
// multilingual corpora, their pairs split by corpus, and the fit's point
// (with an earlier model) put the threshold where 71 % of same-speaker
// pairs failed. With five, the bound venueFit gives is strict: on small
// multilingual boxes of the dev list, 85–88 % of the enrolled speakers'
// recordings go unnamed where it applies (the model README's "Small
// venues").
const minFitPairs = 10

// venueFit fits a normal distribution to the venue's different-speaker
// pairs in condition cond and returns its point for the rate far (their
// mean plus z(1-far) standard deviations) and a bound: the one-sided
// normal tolerance bound that lies above the distribution's own point
// for the rate with confidence venueConfidence, given that the pairs are
// of only so many people (mean plus toleranceFactor standard deviations;
// 4.4 for five people and 1 %, 3.4 for ten). It returns false when the pairs are of fewer than
// minFitPairs pairs of people. It serves a venue too small to show the
// rate itself (venueThreshold: 22 people for 1 %), whose voices may still
// score far above the model's training speakers against each other, as
// the multilingual dev speakers do (the model README's "Small venues").
// withVenue takes the bound where the point lies above the model's
// threshold: the point says the venue's voices score higher than the
// model's calibration expects; how much higher, five to 21 people cannot
// say within a normal's spread. The point alone, used before, accepted
// 1.6–4.3 % of strangers' recordings on small multilingual boxes where
// 1 % was asked (their pairs' upper tail is heavier than a normal one);
// the bound 0.00–0.99 %.
func (s *Scorer) venueFit(cond int, far float64) (point, bound float64, ok bool) {
	v := s.venue[cond]
	if v.people < minFitPairs || !(far > 0 && far < 1) {
		return 0, 0, false
	}
	z := math.Sqrt2 * math.Erfcinv(2*far)
	return v.mean + z*v.sd, v.mean + toleranceFactor(v.persons, far, venueConfidence)*v.sd, true
}

// toleranceFactor is k of the one-sided normal tolerance bound mean + k·sd,
// from a sample of n, that lies above the 1-p quantile of the population
// with confidence conf (Natrella's approximation, Experimental
// Statistics, NBS Handbook 91, 1963, 2-15; it errs a little low for very
// small n). n must be at least 2.
func toleranceFactor(n int, p, conf float64) float64 {
	zp := math.Sqrt2 * math.Erfcinv(2*p)
	zg := math.Sqrt2 * math.Erfcinv(2*(1-conf))
	a := 1 - zg*zg/(2*float64(n-1))
	b := zp*zp - zg*zg/float64(n)
	return (zp + math.Sqrt(zp*zp-a*b)) / a
}

// branchModels returns the single models whose parts make up a
// voiceprint of s's model: its branches, or the model itself.
func (s *Scorer) branchModels() []*Model {
	if len(s.m.Branches) > 0 {
		return s.m.Branches
	}
	return []*Model{s.m}
}
