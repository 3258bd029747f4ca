package agent

import (
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/voxward/voxward/capture"
	"github.com/voxward/voxward/dsp"
	"github.com/voxward/voxward/dsp/voiceprint"
)

// Live labelling figures.
const (
	// LabelFAR is the open-set false-accept rate live labels are held to:
	// the probability that a voice of someone not enrolled in the session
	// is given a participant's name, per turn (the model's calibration).
	LabelFAR = 0.01
	// turnEndSilence ends a turn after this much non-speech.
	turnEndSilence = 500 * time.Millisecond
	// turnMax cuts a turn that runs on, so that its label arrives.
	turnMax = 20 * time.Second
	// turnPreRoll keeps this much audio before the VAD's onset.
	turnPreRoll = 300 * time.Millisecond
)

// speakerModel is the shipped voiceprint model with what the daemon needs
// of it: a scorer (safe for concurrent use) and a pool of extractors
// (each owns its scratch).
type speakerModel struct {
	m      *voiceprint.Model
	sc     *voiceprint.Scorer
	pool   sync.Pool
	enroll voiceprint.EnrollOptions
}

func newSpeakerModel(m *voiceprint.Model) *speakerModel {
	sm := &speakerModel{m: m, sc: voiceprint.NewScorer(m), enroll: voiceprint.DefaultEnrollOptions()}
	sm.pool.New = func() any {
		ex, err := voiceprint.NewExtractor(m)
		if err != nil {
			panic("agent: extractor for a parsed model: " + err.Error()) // NewExtractor fails only on an invalid model
		}
		return ex
	}
	return sm
}

func (sm *speakerModel) extractor() *voiceprint.Extractor {
	return sm.pool.Get().(*voiceprint.Extractor)
}
func (sm *speakerModel) release(ex *voiceprint.Extractor) { sm.pool.Put(ex) }

// current reports whether a template of model modelID with dim values is
// one the running model matches; none is without a model. A template of
// another model (enrolled before an upgrade) is never matched: its
// subject must enrol again.
func (sm *speakerModel) current(modelID string, dim int) bool {
	return sm != nil && modelID == sm.m.Config.ID && dim == sm.m.EmbeddingDim()
}

// turn is one stretch of speech cut from the live stream: its samples and
// when it started and ended.
type turn struct {
	samples    []float32
	start, end time.Time
}

// segmenter cuts the live stream into speaker turns with dsp's VAD: a
// turn starts at the VAD's onset (with turnPreRoll before it) and ends
// after turnEndSilence of non-speech, or is cut at turnMax. It is fed
// from the pipeline goroutine only.
type segmenter struct {
	vad  *dsp.VAD
	dec  []bool
	hop  int // samples per VAD frame
	buf  []float32
	base int64 // stream position of buf[0]
	pos  int64 // stream position after the last sample fed
	// the clock time of stream position pos, to date turns
	posTime time.Time

	frame     int64 // next VAD frame index
	inTurn    bool
	turnStart int64 // stream position
	lastVoice int64 // last speech frame index
}

func newSegmenter() (*segmenter, error) {
	o := dsp.DefaultVADOptions()
	v, err := dsp.NewVAD(o)
	if err != nil {
		return nil, fmt.Errorf("agent: VAD: %w", err)
	}
	return &segmenter{vad: v, hop: int(o.SampleRate * o.FrameShift / 1000)}, nil
}

// reset forgets the stream (the gate closed): a partial turn is dropped
// and its samples cleared.
func (s *segmenter) reset() {
	s.vad.Reset()
	clear(s.buf)
	s.buf, s.base, s.pos, s.frame, s.inTurn = s.buf[:0], 0, 0, 0, false
}

func samplesOf(d time.Duration) int64 { return int64(d.Seconds() * capture.SampleRate) }

// timeOf dates stream position p by the time the latest samples arrived.
func (s *segmenter) timeOf(p int64) time.Time {
	return s.posTime.Add(-time.Duration(float64(s.pos-p) / capture.SampleRate * float64(time.Second)))
}

// feed adds samples that arrived at now and calls emit for each turn that
// ended; the turn's samples are only valid during the call.
func (s *segmenter) feed(samples []float32, now time.Time, emit func(turn)) {
	s.buf = append(s.buf, samples...)
	s.pos += int64(len(samples))
	s.posTime = now
	s.dec = s.vad.Accept(s.dec[:0], samples)
	endFrames := int64(turnEndSilence / (10 * time.Millisecond))
	for _, speech := range s.dec {
		f := s.frame
		s.frame++
		fpos := f * int64(s.hop)
		switch {
		case speech && !s.inTurn:
			s.inTurn, s.lastVoice = true, f
			s.turnStart = max(s.base, fpos-samplesOf(turnPreRoll))
		case speech:
			s.lastVoice = f
		case s.inTurn && f-s.lastVoice >= endFrames:
			end := min(s.pos, (s.lastVoice+1)*int64(s.hop)+samplesOf(100*time.Millisecond))
			s.cut(s.turnStart, end, emit)
			s.inTurn = false
		}
		if s.inTurn && fpos-s.turnStart >= samplesOf(turnMax) {
			end := min(s.pos, fpos)
			s.cut(s.turnStart, end, emit)
			s.turnStart = end
		}
	}
	// Keep what a turn may still need: from its start, or the pre-roll.
	keep := s.pos - samplesOf(turnPreRoll)
	if s.inTurn {
		keep = s.turnStart
	}
	if drop := keep - s.base; drop > 0 && drop <= int64(len(s.buf)) {
		clear(s.buf[:drop])
		s.buf = append(s.buf[:0], s.buf[drop:]...)
		s.base = keep
	}
}

func (s *segmenter) cut(from, to int64, emit func(turn)) {
	if to <= from {
		return
	}
	emit(turn{samples: s.buf[from-s.base : to-s.base], start: s.timeOf(from), end: s.timeOf(to)})
}

// TurnEvent is one speaker turn as GET /v1/sessions/{id}/events streams
// it. SubjectID and DisplayName are null when the voice is not one of the
// session's enrolled participants; Score is the best normalised score
// (null when nobody in the session is enrolled).
type TurnEvent struct {
	Start         time.Time `json:"start"`
	End           time.Time `json:"end"`
	SubjectID     *string   `json:"subject_id"`
	DisplayName   *string   `json:"display_name"`
	Score         *float64  `json:"score"`
	SpeechSeconds float64   `json:"speech_seconds"`
}

// labelTurn embeds a turn once and matches it, in memory, against the
// enrolled participants of every live session; the embedding is cleared
// before it returns (an unknown voice is never kept: PRIVACY.md rule 5).
// It returns whether the turn held enough speech to be labelled.
func (a *App) labelTurn(ex *voiceprint.Extractor, emb []float32, t turn) ([]float32, bool) {
	emb, an := ex.Embed(emb, t.samples)
	defer clear(emb)
	a.labels.segments.Add(1)
	// A turn that is no voice sample (under 1.25 s of speech: a cough, a
	// "yes"; or a tone, hum or noise the VAD let through) gets no event.
	if voiceprint.DefaultSpeechGate().Check(an) != "" {
		a.labels.tooShort.Add(1)
		return emb, false
	}
	a.sess.forEachLive(func(ls *liveSession) {
		ev := TurnEvent{Start: t.start.UTC(), End: t.end.UTC(), SpeechSeconds: an.SpeechSeconds}
		if len(ls.cands) > 0 && ls.sc != nil {
			thr, err := ls.sc.IdentifyThresholds(LabelFAR, len(ls.cands))
			if err != nil {
				thr = voiceprint.Thresholds{Any: math.Inf(1), BandLimited: math.Inf(1)} // an uncalibrated model names nobody
			}
			m := ls.sc.IdentifyIn(emb, ls.sc.CohortNorm(emb), an.BandLimited(), ls.cands, thr)
			if !math.IsInf(m.Score, 0) && !math.IsNaN(m.Score) {
				score := math.Round(m.Score*1000) / 1000
				ev.Score = &score
			}
			if m.Known {
				id, name := m.ID, ls.names[m.ID]
				ev.SubjectID, ev.DisplayName = &id, &name
				a.labels.matches.Add(1)
			} else {
				a.labels.unknown.Add(1)
			}
		} else {
			a.labels.unknown.Add(1)
		}
		ls.events.publish(ev)
		a.labels.latency.Observe(a.clock.Now().Sub(t.end).Seconds())
	})
	return emb, true
}
