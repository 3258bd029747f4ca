package agent

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"net/http"
	"slices"
	"time"

	capturepkg "github.com/voxward/voxward/capture"
	"github.com/voxward/voxward/dsp/voiceprint"
	"github.com/voxward/voxward/vault"
)

// SampleQuality is one enrolment sample's figures, as the technician sees
// them before anything is stored.
type SampleQuality struct {
	Seconds         float64 `json:"seconds"`
	SpeechSeconds   float64 `json:"speech_seconds"`
	SNRDB           float64 `json:"snr_db"`
	ClippedFraction float64 `json:"clipped_fraction"`
	LevelDBFS       float64 `json:"level_dbfs"`
	// BandwidthHz is how far up the spectrum the speech reaches: 8000
	// for a wide-band microphone, about 4000 for audio made at 8 kHz (a
	// telephone line, a phone recorder). Not a gate: a voice enrolled from
	// band-limited audio is still enrolled, but matches wide-band live
	// speech less well.
	BandwidthHz float64 `json:"bandwidth_hz"`
}

// EnrollQuality is the verdict on an enrolment: the figures of each
// sample, the net speech counted (with the subject's earlier samples),
// what the gates require, and the reasons for a refusal (too_short,
// no_voice, clipped, too_noisy).
type EnrollQuality struct {
	Samples       []SampleQuality `json:"samples"`
	SpeechSeconds float64         `json:"speech_seconds"`
	Required      RequiredQuality `json:"required"`
	Issues        []string        `json:"issues,omitempty"`
}

// RequiredQuality states the enrolment gates.
type RequiredQuality struct {
	SpeechSeconds      float64 `json:"speech_seconds"`
	SNRDB              float64 `json:"snr_db"`
	MaxClippedFraction float64 `json:"max_clipped_fraction"`
}

// Enrollment is the answer to a successful enrolment.
type Enrollment struct {
	SubjectID  string        `json:"subject_id"`
	TemplateID string        `json:"template_id"`
	Model      string        `json:"model"`
	Quality    EnrollQuality `json:"quality"`
	// Replaced counts earlier voiceprints this one (which includes their
	// speech) replaced.
	Replaced int `json:"replaced"`
}

// enrollRefusal is a 422 answer: the error and the figures behind it.
type enrollRefusal struct {
	Error   apiErrorBody  `json:"error"`
	Quality EnrollQuality `json:"quality"`
}

func round3(x float64) float64 {
	if math.IsInf(x, 0) || math.IsNaN(x) {
		return 0
	}
	return math.Round(x*1000) / 1000
}

func (sm *speakerModel) quality(q voiceprint.EnrollQuality) EnrollQuality {
	out := EnrollQuality{
		SpeechSeconds: round3(q.SpeechSeconds), Issues: q.Issues,
		Required: RequiredQuality{SpeechSeconds: sm.enroll.MinSpeechSeconds, SNRDB: sm.enroll.MinSNRDB, MaxClippedFraction: sm.enroll.MaxClippedFraction},
	}
	for _, a := range q.Samples {
		out.Samples = append(out.Samples, SampleQuality{
			Seconds: round3(a.Seconds), SpeechSeconds: round3(a.SpeechSeconds), SNRDB: round3(a.SNRDB),
			ClippedFraction: round3(a.ClippedFraction), LevelDBFS: round3(a.LevelDB), BandwidthHz: a.BandwidthHz,
		})
	}
	return out
}

// isWAV reports whether a Content-Type names WAV audio.
func isWAV(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && slices.Contains([]string{"audio/wav", "audio/x-wav", "audio/wave", "audio/vnd.wave"}, mt)
}

// handleEnroll enrols a subject's voice from an uploaded WAV body, or from
// JSON {"capture_seconds": N}, recorded from the live source. The
// quality gates are judged before anything is stored; a refusal is a 422
// with the reasons and the figures. A subject enrolled before has the new
// sample combined with its voiceprint (speech-weighted), which replaces
// the old one. The audio itself is not kept.
func (a *App) handleEnroll(w http.ResponseWriter, r *http.Request) {
	id, err := vault.ParseID(r.PathValue("id"))
	if err != nil {
		writeError(w, http.StatusNotFound, "not_found", "no such subject")
		return
	}
	var body []byte
	var capture captureRequest
	switch ct := r.Header.Get("Content-Type"); {
	case isWAV(ct):
		var err error
		body, err = io.ReadAll(r.Body)
		var tooBig *http.MaxBytesError
		switch {
		case errors.As(err, &tooBig):
			writeError(w, http.StatusRequestEntityTooLarge, "body_too_large", fmt.Sprintf("the recording is larger than %d bytes", tooBig.Limit))
			return
		case err != nil:
			writeError(w, http.StatusBadRequest, "bad_body", "reading the body failed")
			return
		}
		defer clear(body)
	default:
		if !decodeJSON(w, r, &capture, false) {
			return
		}
		if !(capture.Seconds >= minCaptureSeconds && capture.Seconds <= maxCaptureSeconds) {
			writeError(w, http.StatusUnprocessableEntity, "invalid",
				fmt.Sprintf("capture_seconds must be %g to %g (or send a recording as audio/wav)", minCaptureSeconds, maxCaptureSeconds))
			return
		}
	}
	if a.speakers == nil {
		writeError(w, http.StatusServiceUnavailable, "no_model", voiceprint.ErrNoModel.Error())
		return
	}
	store := a.vaultStore()
	actor := callerFrom(r.Context()).actor("enrolment")
	sub, err := store.Subject(actor, id)
	if errors.Is(err, vault.ErrNotFound) {
		writeError(w, http.StatusNotFound, "not_found", "no such subject")
		return
	} else if err != nil {
		a.writeVaultError(w, "enrol", err)
		return
	}
	hist, err := store.Consents(actor, id)
	if err != nil {
		a.writeVaultError(w, "enrol", err)
		return
	}
	if sub.Status != vault.StatusActive || !slices.Contains(vault.Purposes(hist), vault.PurposeRecognition) {
		writeError(w, http.StatusUnprocessableEntity, "no_consent", fmt.Sprintf("subject %s is %s or has no recognition consent in force", id, sub.Status))
		return
	}
	var x []float32
	if body != nil {
		if x, err = capturepkg.DecodeWAV16k(bytes.NewReader(body), 0); err != nil {
			writeError(w, http.StatusBadRequest, "bad_wav", err.Error())
			return
		}
	} else if x, err = a.recordEnrolment(r.Context(), id, capture.Seconds); err != nil {
		writeError(w, http.StatusServiceUnavailable, "capture_unavailable", err.Error())
		return
	}
	defer clear(x)
	prev, err := a.currentVoiceprint(store, actor, id)
	if err != nil {
		a.writeVaultError(w, "enrol", err)
		return
	}
	defer clear(prev.Embedding)
	ex := a.speakers.extractor()
	en := voiceprint.NewEnroller(ex, a.speakers.enroll)
	var vp voiceprint.Voiceprint
	var q voiceprint.EnrollQuality
	if prev.Embedding != nil {
		vp, q, err = en.Update(prev, x)
	} else {
		vp, q, err = en.Enroll(x)
	}
	a.speakers.release(ex)
	defer clear(vp.Embedding)
	eq := a.speakers.quality(q)
	if prev.Embedding != nil {
		eq.SpeechSeconds = round3(prev.SpeechSeconds + q.SpeechSeconds)
	}
	if errors.Is(err, voiceprint.ErrEnrollQuality) {
		for _, issue := range q.Issues {
			a.labels.refusals.WithLabelValues(issue).Inc()
		}
		var b apiErrorBody
		b.Code, b.Message = "quality", fmt.Sprintf("enrolment refused: %v; nothing was stored", q.Issues)
		writeJSON(w, http.StatusUnprocessableEntity, enrollRefusal{Error: b, Quality: eq})
		return
	} else if err != nil {
		a.log.Error("enrol", "err", err)
		writeError(w, http.StatusInternalServerError, "internal", "enrolment failed")
		return
	}
	minSNR, maxClip := math.Inf(1), 0.0
	for _, s := range q.Samples {
		minSNR, maxClip = min(minSNR, s.SNRDB), max(maxClip, s.ClippedFraction)
	}
	tpl, replaced, err := store.SetTemplate(actor, id, vault.Template{
		Embedding: vp.Embedding, ModelID: vp.Model,
		Quality: map[string]float64{"speech_seconds": vp.SpeechSeconds, "snr_db": round3(minSNR), "clipped_fraction": round3(maxClip),
			"bandwidth_hz": vp.BandwidthHz},
	})
	if err != nil {
		a.writeVaultError(w, "store voiceprint", err)
		return
	}
	a.labels.enrolments.Add(1)
	a.log.Info("enrolled", "subject", id.String(), "speech_seconds", round3(vp.SpeechSeconds), "replaced", replaced)
	writeJSON(w, http.StatusCreated, Enrollment{SubjectID: id.String(), TemplateID: tpl.ID.String(), Model: vp.Model, Quality: eq, Replaced: replaced})
}

// Bounds of an enrolment recorded from the live source.
const (
	minCaptureSeconds float64 = 5
	maxCaptureSeconds float64 = 60
)

// captureRequest is the JSON body of an enrolment from the live source.
type captureRequest struct {
	Seconds float64 `json:"capture_seconds"`
}

// recordEnrolment records seconds of the live source for subject: it takes
// a consent lease for that subject (opening the source if it was closed),
// collects the samples the pipeline reads, in memory, and releases the
// lease. It fails if the source cannot be opened or the audio does not
// arrive within seconds plus 5 s.
func (a *App) recordEnrolment(ctx context.Context, subject vault.ID, seconds float64) ([]float32, error) {
	d := time.Duration(seconds * float64(time.Second))
	t := a.pipe.addTap(int(seconds * capturepkg.SampleRate))
	lease, err := a.gate.Acquire(ctx, "enrolment of subject "+subject.String(), 0) // released below, at the latest after the deadline
	if err != nil {
		clear(a.pipe.removeTap(t))
		return nil, fmt.Errorf("the source could not be opened: %v", err)
	}
	a.sess.notify()
	defer func() {
		lease.Release()
		a.sess.notify()
	}()
	select {
	case <-t.done:
		return a.pipe.removeTap(t), nil
	case <-ctx.Done():
		clear(a.pipe.removeTap(t))
		return nil, ctx.Err()
	case <-a.clock.After(d + 5*time.Second):
		got := a.pipe.removeTap(t)
		clear(got)
		return nil, fmt.Errorf("the source delivered %.1f s of the %g s asked for", float64(len(got))/capturepkg.SampleRate, seconds)
	}
}

// templateBandLimited reports whether a template was enrolled from
// band-limited speech only (voiceprint.Voiceprint.BandLimited); a template
// enrolled before its bandwidth was kept is not.
func templateBandLimited(t vault.Template) bool {
	return voiceprint.Voiceprint{BandwidthHz: t.Quality["bandwidth_hz"]}.BandLimited()
}

// currentVoiceprint returns the subject's voiceprint of the shipped model
// (zero when it has none), with the speech it was made from.
func (a *App) currentVoiceprint(store *vault.Store, actor vault.Actor, id vault.ID) (voiceprint.Voiceprint, error) {
	ts, err := store.Templates(actor, id)
	if err != nil {
		return voiceprint.Voiceprint{}, err
	}
	var out voiceprint.Voiceprint
	for _, t := range ts {
		if a.speakers.current(t.ModelID, len(t.Embedding)) && out.Embedding == nil {
			out = voiceprint.Voiceprint{Model: t.ModelID, Embedding: t.Embedding, SpeechSeconds: t.Quality["speech_seconds"], BandwidthHz: t.Quality["bandwidth_hz"]}
			continue
		}
		clear(t.Embedding)
	}
	return out, nil
}
