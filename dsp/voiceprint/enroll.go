package voiceprint

import (
	"errors"
	"fmt"
)

// ErrEnrollQuality means enrolment audio failed a quality gate; the
// returned EnrollQuality says which and why.
var ErrEnrollQuality = errors.New("voiceprint: enrolment audio failed a quality gate")

// Reasons an enrolment is refused, as EnrollQuality.Issues lists them.
const (
	IssueTooShort = "too_short" // less net speech than EnrollOptions.MinSpeechSeconds
	IssueNoVoice  = "no_voice"  // a sample holds (almost) no speech
	IssueClipped  = "clipped"   // a sample is clipped
	IssueTooNoisy = "too_noisy" // a sample's speech is too close to its noise
	// IssueNotSpeech (speechgate.go): a sample is a tone, hum or noise.
)

// EnrollOptions are the quality gates of enrolment. DefaultEnrollOptions
// returns the documented defaults.
type EnrollOptions struct {
	MinSpeechSeconds   float64 // net speech over all samples; default 8
	MinVoiceSeconds    float64 // below this a sample is no_voice; default 0.5
	MaxClippedFraction float64 // samples at full scale; default 0.001
	MinSNRDB           float64 // speech over noise; default 12 dB
}

// DefaultEnrollOptions returns the defaults documented on EnrollOptions.
func DefaultEnrollOptions() EnrollOptions {
	return EnrollOptions{MinSpeechSeconds: 8, MinVoiceSeconds: 0.5, MaxClippedFraction: 0.001, MinSNRDB: 12}
}

// EnrollQuality is the verdict on enrolment audio: the analysis of each
// sample, the net speech, and the issues found (empty when accepted).
type EnrollQuality struct {
	Samples       []Analysis `json:"samples"`
	SpeechSeconds float64    `json:"speech_seconds"`
	BandwidthHz   float64    `json:"bandwidth_hz"` // the widest of the samples that count
	Issues        []string   `json:"issues,omitempty"`
}

// OK reports whether no gate failed.
func (q EnrollQuality) OK() bool { return len(q.Issues) == 0 }

// Voiceprint is an enrolled speaker's template: the model it belongs to,
// the unit embedding, the net speech it was made from (the weight of
// later incremental updates) and the widest bandwidth of its samples
// (Analysis.BandwidthHz; 0 when unknown).
type Voiceprint struct {
	Model         string    `json:"model"`
	Embedding     []float32 `json:"embedding"`
	SpeechSeconds float64   `json:"speech_seconds"`
	BandwidthHz   float64   `json:"bandwidth_hz,omitempty"`
}

// BandLimited reports whether every sample of the voiceprint was
// band-limited (Analysis.BandLimited); false when its bandwidth is
// unknown.
func (v Voiceprint) BandLimited() bool { return Analysis{BandwidthHz: v.BandwidthHz}.BandLimited() }

// Enroller makes voiceprints from enrolment samples and checks their
// quality. It is not safe for concurrent use.
type Enroller struct {
	ex *Extractor
	o  EnrollOptions
	st *GMMStats
}

// NewEnroller returns an enroller using ex.
func NewEnroller(ex *Extractor, o EnrollOptions) *Enroller {
	return &Enroller{ex: ex, o: o, st: ex.NewStats()}
}

// check analyses samples into st and returns the verdict; minSpeech is
// the net speech required.
func (e *Enroller) check(samples [][]float32, minSpeech float64) EnrollQuality {
	var q EnrollQuality
	seen := map[string]bool{}
	add := func(issue string) {
		if !seen[issue] {
			seen[issue] = true
			q.Issues = append(q.Issues, issue)
		}
	}
	e.st.Reset()
	for _, x := range samples {
		one := e.ex.NewStats()
		a := e.ex.Accumulate(one, x)
		q.Samples = append(q.Samples, a)
		switch {
		case a.SpeechSeconds < e.o.MinVoiceSeconds:
			add(IssueNoVoice)
			continue // no speech: contributes nothing
		case a.ClippedFraction > e.o.MaxClippedFraction:
			add(IssueClipped)
		case a.SNRDB < e.o.MinSNRDB:
			add(IssueTooNoisy)
		case DefaultSpeechGate().Check(a) == IssueNotSpeech:
			add(IssueNotSpeech)
			continue // a tone, hum or noise: contributes nothing
		}
		e.st.Add(one)
		q.SpeechSeconds += a.SpeechSeconds
		q.BandwidthHz = max(q.BandwidthHz, a.BandwidthHz)
	}
	if len(samples) == 0 {
		add(IssueNoVoice)
	}
	if q.SpeechSeconds < minSpeech {
		add(IssueTooShort)
	}
	return q
}

// Enroll makes one voiceprint from several samples: their statistics are
// pooled, so each weighs by its speech. When a gate fails it returns the
// verdict and an error wrapping ErrEnrollQuality, and no voiceprint.
func (e *Enroller) Enroll(samples ...[]float32) (Voiceprint, EnrollQuality, error) {
	q := e.check(samples, e.o.MinSpeechSeconds)
	if !q.OK() {
		return Voiceprint{}, q, fmt.Errorf("%w: %v", ErrEnrollQuality, q.Issues)
	}
	m := e.ex.Model()
	return Voiceprint{Model: m.Config.ID, Embedding: m.Voiceprint(nil, e.st), SpeechSeconds: q.SpeechSeconds, BandwidthHz: q.BandwidthHz}, q, nil
}

// Update adds samples to an existing voiceprint: the new samples must
// pass the gates (their own speech counting towards the minimum together
// with vp's), and the result is the speech-weighted mean of the old and
// the new voiceprint, renormalised:
//
//	v = normalise(s_old·v_old + s_new·v_new).
//
// Its bandwidth is the wider of the two, or unknown (0) when vp's is.
// vp must come from the same model (else ErrDimMismatch).
func (e *Enroller) Update(vp Voiceprint, samples ...[]float32) (Voiceprint, EnrollQuality, error) {
	m := e.ex.Model()
	if vp.Model != m.Config.ID || len(vp.Embedding) != m.EmbeddingDim() {
		return Voiceprint{}, EnrollQuality{}, fmt.Errorf("%w: voiceprint of model %q, extractor model %q", ErrDimMismatch, vp.Model, m.Config.ID)
	}
	q := e.check(samples, e.o.MinSpeechSeconds-vp.SpeechSeconds)
	if !q.OK() {
		return Voiceprint{}, q, fmt.Errorf("%w: %v", ErrEnrollQuality, q.Issues)
	}
	nv := m.Voiceprint(nil, e.st)
	wo, wn := float32(vp.SpeechSeconds), float32(q.SpeechSeconds)
	for i, v := range vp.Embedding {
		nv[i] = wo*v + wn*nv[i]
	}
	m.Normalize(nv)
	bw := 0.0 // a voiceprint of unknown bandwidth stays so
	if vp.BandwidthHz > 0 {
		bw = max(vp.BandwidthHz, q.BandwidthHz)
	}
	return Voiceprint{Model: m.Config.ID, Embedding: nv, SpeechSeconds: vp.SpeechSeconds + q.SpeechSeconds, BandwidthHz: bw}, q, nil
}
