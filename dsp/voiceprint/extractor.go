package voiceprint

import (
	"fmt"
	"math"
	"slices"

	"github.com/voxward/voxward/dsp"

	"github.com/voxward/voxward/dsp/voiceprint/tdnn"
)

// Analysis describes one stretch of audio as the extractor saw it: the
// figures enrolment quality gates are made of.
type Analysis struct {
	Seconds         float64 // duration of the audio
	SpeechSeconds   float64 // frames the VAD kept, times the frame shift
	SpeechFrames    int
	ClippedFraction float64 // samples at or beyond ±32700
	SNRDB           float64 // mean speech-frame level over the noise level, dB
	LevelDB         float64 // mean speech-frame level, dB re full scale
	// LevelSpreadDB is the standard deviation, in dB, of the frame levels
	// over every frame above -60 dBFS: speech, with its syllables and
	// pauses, spreads over 5–15 dB; a steady tone, hum or noise stays
	// within a dB or two (SpeechCheck).
	LevelSpreadDB float64
	// SpectralFlux is the mean frame-to-frame change of the cepstrum
	// (c1…c12, RMS) over consecutive speech frames: speech changes its
	// spectrum all the time; a beeping tone or a noise that comes and goes
	// barely does (SpeechCheck).
	SpectralFlux float64
	// BandwidthHz is how far up the spectrum the speech reaches: the
	// upper edge of the highest 250-Hz band whose power over the speech
	// frames is within 70 dB of the strongest band's (8000 for wide-band
	// audio; about 4000 for audio made at 8 kHz, whatever the box
	// resampled it to; 0 without speech frames).
	BandwidthHz float64
}

// BandLimited reports whether the audio holds no speech energy above
// NarrowBandHz: it was made at 8 kHz (a telephone line, a phone or
// conference recorder), so its voiceprint misses what the wide band
// carries.
func (a Analysis) BandLimited() bool { return a.BandwidthHz > 0 && a.BandwidthHz <= NarrowBandHz }

// Extractor turns 16 kHz samples into voiceprints with a Model:
//
//	samples → VAD → MFCC (+Δ, ΔΔ) → speech frames → CMN
//	  → Baum-Welch statistics against the UBM (top-N Gaussian selection)
//	  → MAP-adapted mean supervector, normalised by √w_c/σ_c
//	  → centring, nuisance projection (NAP), length normalisation.
//
// The result is a unit vector compared by cosine. For a fused model the
// extractor runs one such chain per branch and concatenates the results.
// An Extractor owns its scratch space and is not safe for concurrent use;
// results are deterministic.
type Extractor struct {
	m        *Model
	fe       *SpeechFeatures
	sel      *SelectorGMM
	st       *GMMStats
	branches []*Extractor
	shared   bool         // fused: the branches share one front end up to normalisation
	buf      []float32    // fused, shared: one branch's copy of the frames
	scratch  tdnn.Scratch // a neural branch's buffers
}

// SpeechFeatures is the extractor's front end: VAD, MFCC with deltas,
// speech-frame selection and mean normalisation. It owns its scratch
// space and is not safe for concurrent use.
type SpeechFeatures struct {
	cfg    ModelConfig
	mfcc   *dsp.MFCC
	fbank  *dsp.Fbank // when the model subtracts noise: log mel energies
	dct    []float32  // NumCeps×NumMelBins, liftered, for the noise path
	noise  []float64  // per mel bin
	col    []float64
	logmel []float32
	vad    *dsp.VAD
	ceps   []float32
	feats  []float32
	speech []float32
	dec    []bool
	levels []float64
	sorted []float64
	keys   []uint64
	keyTmp []uint64
	gauss  []float32
	// bandwidth's scratch (bandwidth.go)
	bwFFT                 *dsp.RealFFT
	bwWin, bwFrame, bwPow []float32
	bwBand                []float64
}

// NewSpeechFeatures returns the front end that cfg describes.
func NewSpeechFeatures(c ModelConfig) (*SpeechFeatures, error) {
	o := dsp.DefaultMFCCOptions()
	o.NumCeps = c.NumCeps
	o.Mel.NumBins = c.NumMelBins
	o.Mel.LowFreq = c.LowFreq
	o.Mel.HighFreq = c.HighFreq
	mf, err := dsp.NewMFCC(o)
	if err != nil {
		return nil, fmt.Errorf("voiceprint: front end: %w", err)
	}
	sf := &SpeechFeatures{cfg: c, mfcc: mf}
	if c.NoiseSubtraction > 0 {
		fo := dsp.DefaultFbankOptions()
		fo.Mel = o.Mel
		if sf.fbank, err = dsp.NewFbank(fo); err != nil {
			return nil, fmt.Errorf("voiceprint: front end: %w", err)
		}
		nm, nc := c.NumMelBins, c.NumCeps
		sf.dct = make([]float32, nc*nm)
		for k := 0; k < nc; k++ {
			scale := math.Sqrt(2 / float64(nm))
			if k == 0 {
				scale = math.Sqrt(1 / float64(nm))
			}
			scale *= 1 + 0.5*o.CepstralLifter*math.Sin(math.Pi*float64(k)/o.CepstralLifter)
			for m := 0; m < nm; m++ {
				sf.dct[k*nm+m] = float32(scale * math.Cos(math.Pi/float64(nm)*(float64(m)+0.5)*float64(k)))
			}
		}
		sf.noise = make([]float64, nm)
	}
	if c.DeltaOrder < 0 || c.DeltaOrder > 2 || c.DeltaWindow < 1 {
		return nil, fmt.Errorf("%w: deltas of order %d window %d", ErrInvalidModel, c.DeltaOrder, c.DeltaWindow)
	}
	v, err := dsp.NewVAD(dsp.DefaultVADOptions())
	if err != nil {
		return nil, err
	}
	sf.vad = v
	return sf, nil
}

// NewExtractor returns an extractor for m.
func NewExtractor(m *Model) (*Extractor, error) {
	if len(m.Branches) > 0 {
		e := &Extractor{m: m, st: m.NewStats()}
		for _, b := range m.Branches {
			be, err := NewExtractor(b)
			if err != nil {
				return nil, err
			}
			e.branches = append(e.branches, be)
		}
		e.shared = true
		for _, b := range m.Branches[1:] {
			e.shared = e.shared && sameFrontEnd(m.Branches[0].Config, b.Config)
		}
		return e, nil
	}
	c := m.Config
	fe, err := NewSpeechFeatures(c)
	if err != nil {
		return nil, err
	}
	if m.Net != nil {
		return &Extractor{m: m, fe: fe, st: m.neuralStats()}, nil
	}
	sel, err := NewSelectorGMM(m.UBM, m.Parent, m.Children, min(c.TopParents, c.Parents), c.TopN)
	if err != nil {
		return nil, err
	}
	return &Extractor{m: m, fe: fe, sel: sel, st: NewGMMStats(c.Components, c.FeatureDim())}, nil
}

// Model returns the extractor's model.
func (e *Extractor) Model() *Model { return e.m }

// MinSpeechFrames is the fewest speech frames a voiceprint is made from;
// with fewer, the VAD's decision is ignored and the loudest frames used.
const MinSpeechFrames = 30

// Features returns the normalised feature frames of the speech in samples
// (row-major, FeatureDim values each; valid until the next call) and the
// analysis of the audio. For a fused model they are the first branch's.
func (e *Extractor) Features(samples []float32) ([]float32, Analysis) {
	if len(e.branches) > 0 {
		return e.branches[0].Features(samples)
	}
	return e.fe.Compute(samples)
}

// Compute returns the normalised feature frames of the speech in samples
// (row-major, FeatureDim values each; valid until the next call) and the
// analysis of the audio.
func (e *SpeechFeatures) Compute(samples []float32) ([]float32, Analysis) {
	f, a := e.ComputeRaw(samples)
	e.normalise(f)
	return f, a
}

// ComputeRaw is Compute without the final normalisation (feature warping
// or CMN) of the speech frames: the frames the VAD keeps (or, with too
// little speech, the MinSpeechFrames loudest), valid until the next call.
func (e *SpeechFeatures) ComputeRaw(samples []float32) ([]float32, Analysis) {
	c := e.cfg
	a := Analysis{Seconds: float64(len(samples)) / 16000}
	var clipped int
	for _, x := range samples {
		if x >= 32700 || x <= -32700 {
			clipped++
		}
	}
	if len(samples) > 0 {
		a.ClippedFraction = float64(clipped) / float64(len(samples))
	}
	nc := c.NumCeps
	var n int
	if e.fbank == nil {
		e.ceps = e.mfcc.Compute(e.ceps[:0], samples)
		n = len(e.ceps) / nc
	} else {
		e.logmel = e.fbank.Compute(e.logmel[:0], samples)
		n = len(e.logmel) / c.NumMelBins
	}
	if n == 0 {
		return e.speech[:0], a
	}
	e.dec = e.vad.Decide(e.dec, samples)
	if e.fbank != nil {
		e.denoisedCepstra(n)
	}
	e.levels = e.vad.FrameLevels()
	if len(e.levels) != n || len(e.dec) != n {
		panic(fmt.Sprintf("voiceprint: VAD gave %d decisions, %d levels for %d feature frames", len(e.dec), len(e.levels), n))
	}
	dim := c.FeatureDim()
	if c.DeltaOrder > 0 {
		e.feats = dsp.Deltas(e.feats, e.ceps, nc, c.DeltaOrder, c.DeltaWindow)
	} else {
		e.feats = append(e.feats[:0], e.ceps...)
	}
	var sp, ns float64
	var nsp, nns int
	for t := 0; t < n; t++ {
		if e.dec[t] {
			sp += e.levels[t]
			nsp++
		} else {
			ns += e.levels[t]
			nns++
		}
	}
	a.SpeechFrames = nsp
	a.SpeechSeconds = float64(nsp) * 0.01
	a.LevelSpreadDB = levelSpread(e.levels)
	a.SpectralFlux = cepstralFlux(e.ceps, nc, e.dec)
	a.BandwidthHz = e.bandwidth(samples, e.dec)
	var noise float64
	if nns >= 20 {
		noise = ns / float64(nns)
	} else {
		e.sorted = append(e.sorted[:0], e.levels...)
		slices.Sort(e.sorted)
		noise = e.sorted[len(e.sorted)/20]
	}
	if nsp > 0 {
		a.LevelDB = sp / float64(nsp)
		a.SNRDB = a.LevelDB - noise
	}
	// Speech frames whose level stands out of the noise by FrameSNRDB
	// (all of them when that leaves too few).
	minLevel := noise + c.FrameSNRDB
	if c.FrameSNRDB <= 0 {
		minLevel = math.Inf(-1)
	}
	var kept int
	for t := 0; t < n; t++ {
		if e.dec[t] && e.levels[t] >= minLevel {
			kept++
		}
	}
	if kept < MinSpeechFrames {
		minLevel = math.Inf(-1)
	}
	e.speech = e.speech[:0]
	for t := 0; t < n; t++ {
		if e.dec[t] && e.levels[t] >= minLevel {
			e.speech = append(e.speech, e.feats[t*dim:(t+1)*dim]...)
		}
	}
	if nsp < MinSpeechFrames {
		// Too little speech for the VAD: take the loudest frames so that a
		// voiceprint still exists (quality gates reject it for enrolment).
		order := make([]int, n)
		for i := range order {
			order[i] = i
		}
		slices.SortStableFunc(order, func(x, y int) int {
			switch {
			case e.levels[x] > e.levels[y]:
				return -1
			case e.levels[x] < e.levels[y]:
				return 1
			}
			return 0
		})
		order = order[:min(n, MinSpeechFrames)]
		slices.Sort(order)
		e.speech = e.speech[:0]
		for _, t := range order {
			e.speech = append(e.speech, e.feats[t*dim:(t+1)*dim]...)
		}
	}
	return e.speech, a
}

// normalise warps or mean-normalises speech frames in place, as the
// configuration says (KeepMeans: neither).
func (e *SpeechFeatures) normalise(feats []float32) {
	dim := e.cfg.FeatureDim()
	if e.cfg.KeepMeans {
		return
	}
	if e.cfg.FeatureWarp {
		e.warp(feats, dim)
	} else {
		dsp.CMVN(feats, dim, false)
	}
}

// sameFrontEnd reports whether a and b make the same frames before their
// normalisation.
func sameFrontEnd(a, b ModelConfig) bool {
	return a.NumCeps == b.NumCeps && a.NumMelBins == b.NumMelBins && a.LowFreq == b.LowFreq && a.HighFreq == b.HighFreq &&
		a.NoiseSubtraction == b.NoiseSubtraction && a.NoiseFloor == b.NoiseFloor && a.FrameSNRDB == b.FrameSNRDB &&
		a.DeltaOrder == b.DeltaOrder && a.DeltaWindow == b.DeltaWindow
}

// warp Gaussianises every column of feats over the utterance (feature
// warping, Pelecanos & Sridharan 2001, over the whole utterance): the
// value of rank r among n becomes Φ⁻¹((r + ½)/n), so each dimension is
// standard normal whatever the channel did to its distribution.
func (e *SpeechFeatures) warp(feats []float32, dim int) {
	n := len(feats) / dim
	if n == 0 {
		return
	}
	e.gauss = grow(e.gauss, n)
	for r := 0; r < n; r++ {
		e.gauss[r] = float32(math.Sqrt2 * math.Erfinv(2*(float64(r)+0.5)/float64(n)-1))
	}
	if cap(e.keys) < n {
		e.keys = make([]uint64, n)
	}
	if cap(e.keyTmp) < n {
		e.keyTmp = make([]uint64, n)
	}
	keys := e.keys[:n]
	for d := 0; d < dim; d++ {
		for t := 0; t < n; t++ {
			keys[t] = uint64(orderedBits(feats[t*dim+d]))<<32 | uint64(t)
		}
		for r, k := range sortKeys(keys, e.keyTmp[:n]) {
			feats[int(uint32(k))*dim+d] = e.gauss[r]
		}
	}
}

// sortKeys sorts keys (a value's orderedBits above its frame index, so
// no two are equal) ascending, using tmp (as long) as scratch, and
// returns whichever of the two holds the result. It is a least
// significant digit radix sort on the upper 32 bits, a byte a pass (the
// four bytes' counts taken in one read), skipping the bytes every key
// shares: stable, so keys equal above keep their index order, which is
// where a comparison sort puts them too (TestSortKeysMatchesSort).
func sortKeys(keys, tmp []uint64) []uint64 {
	var count [4][256]int32
	for _, k := range keys {
		h := uint32(k >> 32)
		count[0][byte(h)]++
		count[1][byte(h>>8)]++
		count[2][byte(h>>16)]++
		count[3][byte(h>>24)]++
	}
	for p := range count {
		shift := 32 + 8*uint(p)
		c := &count[p]
		if int(c[byte(keys[0]>>shift)]) == len(keys) {
			continue
		}
		var pos int32
		for i, n := range c {
			c[i] = pos
			pos += n
		}
		for _, k := range keys {
			b := byte(k >> shift)
			tmp[c[b]] = k
			c[b]++
		}
		keys, tmp = tmp, keys
	}
	return keys
}

// orderedBits maps a float32 to a uint32 with the same order.
func orderedBits(x float32) uint32 {
	b := math.Float32bits(x)
	if b&(1<<31) != 0 {
		return ^b
	}
	return b | 1<<31
}

// denoisedCepstra estimates each mel bin's noise energy from the
// non-speech frames (or, with fewer than 20 of them, the quietest tenth of
// all frames), subtracts it with over-subtraction α and floor β, and takes
// the liftered DCT of the log, as MFCC does.
func (e *SpeechFeatures) denoisedCepstra(n int) {
	c := e.cfg
	nm, nc := c.NumMelBins, c.NumCeps
	var nns int
	for _, d := range e.dec {
		if !d {
			nns++
		}
	}
	clear(e.noise)
	if nns >= 20 {
		for t := 0; t < n; t++ {
			if e.dec[t] {
				continue
			}
			row := e.logmel[t*nm : (t+1)*nm]
			for m, l := range row {
				e.noise[m] += math.Exp(float64(l))
			}
		}
		for m := range e.noise {
			e.noise[m] /= float64(nns)
		}
	} else {
		for m := 0; m < nm; m++ {
			e.col = e.col[:0]
			for t := 0; t < n; t++ {
				e.col = append(e.col, float64(e.logmel[t*nm+m]))
			}
			slices.Sort(e.col)
			e.noise[m] = math.Exp(e.col[len(e.col)/10])
		}
	}
	alpha, beta := c.NoiseSubtraction, c.NoiseFloor
	e.ceps = grow(e.ceps, n*nc)
	for t := 0; t < n; t++ {
		row := e.logmel[t*nm : (t+1)*nm]
		for m, l := range row {
			en := math.Exp(float64(l))
			row[m] = float32(math.Log(max(en-alpha*e.noise[m], beta*e.noise[m], 1e-10)))
		}
		out := e.ceps[t*nc : (t+1)*nc]
		for k := range out {
			out[k] = dotf(e.dct[k*nm:(k+1)*nm], row)
		}
	}
}

// Accumulate adds the statistics of the speech in samples to st (made by
// NewStats) and returns the analysis of the audio.
func (e *Extractor) Accumulate(st *GMMStats, samples []float32) Analysis {
	if len(e.branches) > 0 {
		if len(st.Branches) != len(e.branches) {
			panic("voiceprint: statistics do not fit the fused model")
		}
		var a Analysis
		if e.shared {
			// VAD, MFCC and deltas once; each branch normalises its copy.
			var raw []float32
			raw, a = e.branches[0].fe.ComputeRaw(samples)
			for i, b := range e.branches {
				f := raw
				if i < len(e.branches)-1 {
					e.buf = append(e.buf[:0], raw...)
					f = e.buf
				}
				b.fe.normalise(f)
				b.accumulateFrames(st.Branches[i], f)
			}
		} else {
			for i, b := range e.branches {
				ba := b.Accumulate(st.Branches[i], samples)
				if i == 0 {
					a = ba
				}
			}
		}
		st.Frames = st.Branches[0].Frames
		return a
	}
	f, a := e.Features(samples)
	e.accumulateFrames(st, f)
	return a
}

// accumulateFrames adds the statistics of a single model's normalised
// speech frames to st: the UBM's, or a neural branch's pooled ones.
func (e *Extractor) accumulateFrames(st *GMMStats, f []float32) {
	if e.m.Net != nil {
		e.m.accumulateNeural(st, f, &e.scratch)
		return
	}
	e.sel.Accumulate(st, f)
}

// NewStats returns empty statistics for the extractor's model.
func (e *Extractor) NewStats() *GMMStats { return e.m.NewStats() }

// NewStats returns empty statistics for m: one set per branch for a fused
// model.
func (m *Model) NewStats() *GMMStats {
	if m.Net != nil {
		return m.neuralStats()
	}
	if len(m.Branches) == 0 {
		return NewGMMStats(m.Config.Components, m.Config.FeatureDim())
	}
	st := &GMMStats{}
	for _, b := range m.Branches {
		st.Branches = append(st.Branches, b.NewStats())
	}
	return st
}

// Embed returns the voiceprint of samples (16 kHz, int16 scale) in dst
// (allocated when short) and the analysis of the audio.
func (e *Extractor) Embed(dst, samples []float32) ([]float32, Analysis) {
	e.st.Reset()
	a := e.Accumulate(e.st, samples)
	return e.m.Voiceprint(dst, e.st), a
}

// RawSupervector writes the MAP-adapted mean supervector of st, before
// centring and projection, to dst (allocated when short):
//
//	s_c = √w_c·(F_c - N_c·μ_c) / ((N_c + r)·σ_c).
//
// For a neural branch it is the network's embedding, before centring.
func (m *Model) RawSupervector(dst []float32, st *GMMStats) []float32 {
	if m.Net != nil {
		return m.neuralRaw(dst, st)
	}
	c := m.Config
	d := c.FeatureDim()
	if len(st.N) != c.Components || len(st.F) != c.Components*d {
		panic("voiceprint: statistics do not fit the model")
	}
	dst = grow(dst, c.EmbeddingDim())
	for k := 0; k < c.Components; k++ {
		nk := st.N[k]
		sw := math.Sqrt(float64(m.UBM.Weights[k])) / (nk + c.Relevance)
		for j := 0; j < d; j++ {
			i := k*d + j
			dst[i] = float32(sw * (st.F[i] - nk*float64(m.UBM.Means[i])) / math.Sqrt(float64(m.UBM.Vars[i])))
		}
	}
	return dst
}

// Project centres a raw supervector, removes the nuisance directions and
// scales it to unit length, in place. m must be a single (not fused)
// model.
func (m *Model) Project(v []float32) {
	ed := m.Config.EmbeddingDim()
	if len(v) != ed {
		panic(fmt.Sprintf("voiceprint: supervector of %d values for dim %d", len(v), ed))
	}
	for i, c := range m.Center {
		v[i] -= c
	}
	for r := 0; r < m.Config.NAPRank; r++ {
		u := m.NAP[r*ed : (r+1)*ed]
		p := dotf(u, v)
		for i, x := range u {
			v[i] -= p * x
		}
	}
	normalize(v)
}

// Voiceprint returns the unit voiceprint of st in dst (allocated when
// short).
func (m *Model) Voiceprint(dst []float32, st *GMMStats) []float32 {
	if len(m.Branches) == 0 {
		dst = m.RawSupervector(dst, st)
		m.Project(dst)
		return dst
	}
	if len(st.Branches) != len(m.Branches) {
		panic("voiceprint: statistics do not fit the fused model")
	}
	dst = grow(dst, m.EmbeddingDim())
	off := 0
	for i, b := range m.Branches {
		n := b.Config.EmbeddingDim()
		b.Voiceprint(dst[off:off+n], st.Branches[i])
		off += n
	}
	sc := m.branchScale()
	for i := range dst[:off] {
		dst[i] *= sc
	}
	if cd := m.contentDim(); cd > 0 {
		Content(dst[off:off+cd], st.Branches[0].N)
	}
	return dst
}

// Content returns in dst (allocated when short) the content part of a
// voiceprint (ModelConfig.ContentWeight) for the zeroth-order statistics
// n of branch 0 (GMMStats.N): √(n_c/Σn), a unit vector (all zero
// without frames).
func Content(dst []float32, n []float64) []float32 {
	dst = grow(dst, len(n))
	var sum float64
	for _, x := range n {
		sum += x
	}
	for c, x := range n {
		dst[c] = 0
		if sum > 0 {
			dst[c] = float32(math.Sqrt(x / sum))
		}
	}
	return dst
}

// Normalize scales v, a weighted sum of voiceprints of m, back to a
// voiceprint: unit length, or for a fused model each branch's part to
// length 1/√B and the content part to unit length.
func (m *Model) Normalize(v []float32) {
	if len(v) != m.EmbeddingDim() {
		panic(fmt.Sprintf("voiceprint: of %d values for dim %d", len(v), m.EmbeddingDim()))
	}
	if len(m.Branches) == 0 {
		normalize(v)
		return
	}
	sc := m.branchScale()
	off := 0
	for _, b := range m.Branches {
		part := v[off : off+b.Config.EmbeddingDim()]
		normalize(part)
		for i := range part {
			part[i] *= sc
		}
		off += len(part)
	}
	if cd := m.contentDim(); cd > 0 {
		normalize(v[off : off+cd])
	}
}

// dotf is the dot product of a and b[:len(a)] in four chains (see dot.go,
// whose batched kernels give the same bits). The explicit float32
// conversions stop the compiler fusing multiply and add (it did on arm64;
// it does elsewhere for GOAMD64=v3), so the sums round the same on every
// architecture: amd64 code is unchanged by them.
func dotf(a, b []float32) float32 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(a); i += 4 {
		s0 += float32(a[i] * b[i])
		s1 += float32(a[i+1] * b[i+1])
		s2 += float32(a[i+2] * b[i+2])
		s3 += float32(a[i+3] * b[i+3])
	}
	for ; i < len(a); i++ {
		s0 += float32(a[i] * b[i])
	}
	return (s0 + s1) + (s2 + s3)
}

// normalize scales v to unit length; a zero vector stays zero.
func normalize(v []float32) {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	if s == 0 {
		return
	}
	inv := float32(1 / math.Sqrt(s))
	for i := range v {
		v[i] *= inv
	}
}

// grow returns s resliced to n elements, allocating if its capacity is short.
func grow(s []float32, n int) []float32 {
	if cap(s) < n {
		return make([]float32, n)
	}
	return s[:n]
}

// levelSpread returns the standard deviation of the frame levels (dB) of
// the frames above -60 dBFS (0 when fewer than two are).
func levelSpread(levels []float64) float64 {
	var n int
	var sum, sq float64
	for _, l := range levels {
		if l > -60 {
			n++
			sum += l
			sq += l * l
		}
	}
	if n < 2 {
		return 0
	}
	m := sum / float64(n)
	return math.Sqrt(max(sq/float64(n)-m*m, 0))
}

// cepstralFlux returns the mean RMS change of c1…c12 between consecutive
// frames that are both speech (0 without such pairs).
func cepstralFlux(ceps []float32, nc int, speech []bool) float64 {
	k := min(nc, 13)
	var sum float64
	var n int
	for t := 1; t < len(speech) && (t+1)*nc <= len(ceps); t++ {
		if !speech[t] || !speech[t-1] {
			continue
		}
		var d float64
		for j := 1; j < k; j++ {
			x := float64(ceps[t*nc+j] - ceps[(t-1)*nc+j])
			d += x * x
		}
		sum += math.Sqrt(d / float64(k-1))
		n++
	}
	if n == 0 {
		return 0
	}
	return sum / float64(n)
}
