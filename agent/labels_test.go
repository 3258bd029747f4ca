package agent_test

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/voxward/voxward/agent"
	"github.com/voxward/voxward/dsp/voiceprint"
	vpeval "github.com/voxward/voxward/dsp/voiceprint/eval"
	"github.com/voxward/voxward/internal/clocktest"
	"github.com/voxward/voxward/internal/modeltest"
	"github.com/voxward/voxward/vault"
)

// speakersDir holds the LibriSpeech slice the labelling tests play
// (testdata/speakers/README.md: its sources and licence).
var speakersDir = filepath.Join("..", "testdata", "speakers")

// enrol posts a WAV file as a subject's enrolment.
func (d *daemon) enrol(t *testing.T, token string, id vault.ID, wav []byte) reply {
	t.Helper()
	req, err := http.NewRequest("POST", d.base+"/v1/subjects/"+id.String()+"/enrollments", bytes.NewReader(wav))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "audio/wav")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return reply{code: resp.StatusCode, body: b, hdr: resp.Header}
}

// events subscribes to a session's Server-Sent Events; turns arrive on the
// channel, which closes at "event: end" or when the stream breaks.
func (d *daemon) events(t *testing.T, token, session string) <-chan agent.TurnEvent {
	t.Helper()
	req, err := http.NewRequest("GET", d.base+"/v1/sessions/"+session+"/events", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
	out := make(chan agent.TurnEvent, 64)
	go func() {
		defer close(out)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		var event string
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "event: "):
				event = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: ") && event == "turn":
				var ev agent.TurnEvent
				if json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &ev) == nil {
					out <- ev
				}
			case strings.HasPrefix(line, "data: ") && event == "end":
				return
			}
		}
	}()
	return out
}

// retentionTimers is how many timers the daemon keeps pending on its
// clock whatever it does: the retention job's next run and the sync
// job's next seal.
const retentionTimers = 2

// playUntil advances the fake clock in 100 ms steps, each once the
// pipeline waits on it (the source's pacing timer beside the retention
// job's), until cond holds (at most steps).
func playUntil(t *testing.T, clk *clocktest.Fake, steps int, cond func() bool) {
	t.Helper()
	playUntilWaiters(t, clk, retentionTimers+1, steps, cond)
}

// playUntilWaiters is playUntil when waiters timers (the source's pacing
// and others) must be pending before each step.
func playUntilWaiters(t *testing.T, clk *clocktest.Fake, waiters, steps int, cond func() bool) {
	t.Helper()
	for i := 0; i < steps && !cond(); i++ {
		giveUp := make(chan struct{})
		timer := time.AfterFunc(2*time.Second, func() { close(giveUp) })
		waiting := clk.BlockUntil(waiters, giveUp)
		timer.Stop()
		if !waiting && cond() {
			return // the work ended on its own (the source closed)
		}
		require.True(t, waiting, "the pipeline stopped waiting on the clock")
		clk.Advance(100 * time.Millisecond)
	}
	require.True(t, cond(), "condition not reached after %d steps of 100 ms", steps)
}

// The product end to end on loopback: two speakers consent and enrol
// (a 1-second recording is refused as too short), a session plays a
// recording in which they alternate with a third, unenrolled voice, and
// the event stream names them in order with null for the stranger;
// withdrawal of the last consenting participant closes the gate at once.
func TestLiveLabelsEndToEnd(t *testing.T) {
	modeltest.Model(t) // enrolment and labels need it
	st := newState(t)
	clk := clocktest.New(time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC))
	cfg := st.config()
	cfg.Source = "wav:" + filepath.Join(speakersDir, "conversation.wav")
	cfg.SessionMax = 0
	d := start(t, cfg, agent.WithClock(clk))
	kiosk, tech := st.tokens[vault.RoleKiosk], st.tokens[vault.RoleTechnician]

	// Consent at the kiosk.
	disc := disclosureOf(t, d, kiosk)
	ids := map[string]vault.ID{}
	for _, name := range []string{"Speaker 1688", "Speaker 1998"} {
		r := d.do(t, "POST", "/v1/subjects", kiosk, consentBody(t, name, disc.SHA256, true, name, "recognition"))
		require.Equal(t, http.StatusCreated, r.code, "%s", r.body)
		var c agent.SubjectCreated
		r.json(t, &c)
		id, err := vault.ParseID(c.SubjectID)
		require.NoError(t, err)
		ids[name] = id
	}
	// No session, no audio: the source has never been opened.
	assert.Zero(t, d.status(t, tech).Capture.Opens)

	// Enrolment: a 1-second take is refused with the reason and figures.
	a, err := os.ReadFile(filepath.Join(speakersDir, "enrol-1688.wav"))
	require.NoError(t, err)
	short := append([]byte(nil), a[:44+2*16000]...)
	copy(short[40:44], []byte{0x00, 0x7d, 0x00, 0x00}) // data chunk: 32,000 bytes
	copy(short[4:8], []byte{0x24, 0x7d, 0x00, 0x00})
	r := d.enrol(t, tech, ids["Speaker 1688"], short)
	require.Equal(t, http.StatusUnprocessableEntity, r.code, "%s", r.body)
	var refusal struct {
		Error   struct{ Code, Message string }
		Quality agent.EnrollQuality
	}
	r.json(t, &refusal)
	assert.Equal(t, "quality", refusal.Error.Code)
	assert.Contains(t, refusal.Quality.Issues, "too_short")
	require.Len(t, refusal.Quality.Samples, 1)
	assert.InDelta(t, 1.0, refusal.Quality.Samples[0].Seconds, 0.01)
	assert.Equal(t, 8.0, refusal.Quality.Required.SpeechSeconds)
	assert.Zero(t, d.status(t, tech).Vault.Records["template"], "a refused enrolment stored a template")

	for name, file := range map[string]string{"Speaker 1688": "enrol-1688.wav", "Speaker 1998": "enrol-1998.wav"} {
		wav, err := os.ReadFile(filepath.Join(speakersDir, file))
		require.NoError(t, err)
		r := d.enrol(t, tech, ids[name], wav)
		require.Equal(t, http.StatusCreated, r.code, "%s: %s", name, r.body)
		var e agent.Enrollment
		r.json(t, &e)
		assert.GreaterOrEqual(t, e.Quality.SpeechSeconds, 8.0, name)
		assert.Empty(t, e.Quality.Issues)
		assert.Equal(t, 8000.0, e.Quality.Samples[0].BandwidthHz, "%s: wide-band audio", name)
	}
	assert.Zero(t, d.status(t, tech).Capture.Opens, "enrolment from a file opened the source")

	// The session: the stream subscribes before any audio plays.
	r = d.do(t, "POST", "/v1/sessions", tech, sessionBody(t, "panel", ids["Speaker 1688"], ids["Speaker 1998"]))
	require.Equal(t, http.StatusCreated, r.code, "%s", r.body)
	var sr agent.SessionResponse
	r.json(t, &sr)
	s := d.status(t, tech)
	require.Len(t, s.Sessions, 1)
	assert.Equal(t, 2, s.Sessions[0].Enrolled)
	// Nobody else is enrolled on the box: no venue, the model's threshold.
	assert.Zero(t, s.Sessions[0].VenueVoices)
	assert.Equal(t, "model", s.Sessions[0].ThresholdFrom)
	thr, err := voiceprint.NewScorer(modeltest.Model(t)).IdentifyThreshold(agent.LabelFAR, 2)
	require.NoError(t, err)
	require.NotNil(t, s.Sessions[0].LabelThreshold)
	assert.InDelta(t, thr, *s.Sessions[0].LabelThreshold, 0.0005)
	evs := d.events(t, tech, sr.SessionID)

	got := playTurns(t, d, clk, tech, evs, 6)
	var labels []string
	for _, ev := range got {
		name := "unknown"
		if ev.DisplayName != nil {
			name = *ev.DisplayName
			require.NotNil(t, ev.SubjectID)
			assert.Equal(t, ids[name].String(), *ev.SubjectID)
		}
		labels = append(labels, name)
		assert.True(t, ev.End.After(ev.Start), "%+v", ev)
		t.Logf("turn %s–%s: %s (score %v, %.2f s of speech)", ev.Start.Format("15:04:05.0"), ev.End.Format("15:04:05.0"), name, deref(ev.Score), ev.SpeechSeconds)
	}
	assert.Equal(t, []string{"Speaker 1688", "Speaker 1998", "unknown", "Speaker 1688", "Speaker 1998", "unknown"}, labels)

	// Labels arrive within 1.5 s of the end of the turn (the clock is the
	// source's pace here, so this is the latency a live room would see).
	m := d.do(t, "GET", "/metrics", tech, "")
	assert.Contains(t, string(m.body), "voxward_label_matches_total 4")
	assert.Contains(t, string(m.body), "voxward_label_unknown_total 2")
	assert.Contains(t, string(m.body), `voxward_label_latency_seconds_bucket{le="1.5"} 6`)

	// Withdrawal: 1998 first (1688 still consents: open), then 1688.
	r = d.do(t, "POST", "/v1/subjects/"+ids["Speaker 1998"].String()+"/withdraw", kiosk, "")
	require.Equal(t, http.StatusOK, r.code, "%s", r.body)
	s = d.status(t, tech)
	assert.True(t, s.Capture.Open)
	require.Len(t, s.Sessions, 1)
	assert.Equal(t, 1, s.Sessions[0].Enrolled, "a withdrawn speaker's voiceprint is still matched")
	r = d.do(t, "POST", "/v1/subjects/"+ids["Speaker 1688"].String()+"/withdraw", kiosk, "")
	require.Equal(t, http.StatusOK, r.code, "%s", r.body)
	s = d.status(t, tech)
	assert.False(t, s.Capture.Open, "the gate is open with nobody consenting")
	assert.Equal(t, agent.SpeakerStatus{Model: s.Speakers.Model, Segments: s.Speakers.Segments, TooShort: s.Speakers.TooShort,
		Matches: 4, Unknown: 2, Enrolments: 2, Withdrawn: 2}, s.Speakers)
	assert.Equal(t, s.Speakers.Segments, s.Speakers.TooShort+6)
	_, open := <-evs
	assert.False(t, open, "the event stream did not end with the session")
}

// playTurns plays the session's source on clk and collects the turn
// events of evs until it has want of them or the source ended (and what
// was queued is drained).
func playTurns(t *testing.T, d *daemon, clk *clocktest.Fake, tech string, evs <-chan agent.TurnEvent, want int) []agent.TurnEvent {
	t.Helper()
	var got []agent.TurnEvent
	playUntil(t, clk, 400, func() bool {
		for {
			select {
			case ev := <-evs:
				got = append(got, ev)
				continue
			default:
			}
			return len(got) >= want || d.status(t, tech).Pipeline.State == "source ended" && len(got) > 0 && drained(evs, &got)
		}
	})
	return got
}

// drained moves what is already queued on evs to got; it reports true.
func drained(evs <-chan agent.TurnEvent, got *[]agent.TurnEvent) bool {
	time.Sleep(50 * time.Millisecond) // the stream's last lines in flight
	for {
		select {
		case ev, ok := <-evs:
			if !ok {
				return true
			}
			*got = append(*got, ev)
		default:
			return true
		}
	}
}

func deref(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}

// An open event stream does not hold up shutdown: it ends when shutdown
// starts, and Run returns well within shutdown_timeout.
func TestShutdownEndsEventStreams(t *testing.T) {
	st := newState(t)
	cfg := st.config()
	cfg.ShutdownTimeout = agent.Duration(30 * time.Second)
	speaker := st.consenting(t)
	d := start(t, cfg)
	tech := st.tokens[vault.RoleTechnician]
	r := d.do(t, "POST", "/v1/sessions", tech, sessionBody(t, "streamed", speaker))
	require.Equal(t, http.StatusCreated, r.code, "%s", r.body)
	var sr agent.SessionResponse
	r.json(t, &sr)
	evs := d.events(t, tech, sr.SessionID)
	begin := time.Now()
	require.NoError(t, d.stop(t))
	assert.Less(t, time.Since(begin), 10*time.Second, "an event stream held shutdown for its timeout")
	_, open := <-evs
	assert.False(t, open)
}

// PRIVACY.md rules 10 and 12: after consent, enrolment and a labelled
// session, neither the vault file, nor a backup of it, nor the temporary
// directory holds a speaker's name, contact or signature in clear, or any
// 16-byte run of a voiceprint's float32 bytes.
func TestNoPlaintextIdentifiersOrTemplates(t *testing.T) {
	modeltest.Model(t) // enrolment and labels need it
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	st := newState(t)
	clk := clocktest.New(time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC))
	cfg := st.config()
	cfg.Source = "wav:" + filepath.Join(speakersDir, "conversation.wav")
	cfg.SessionMax = 0 // the source's pacing is the only timer: the test steps it
	d := start(t, cfg, agent.WithClock(clk))
	kiosk, tech := st.tokens[vault.RoleKiosk], st.tokens[vault.RoleTechnician]
	disc := disclosureOf(t, d, kiosk)
	markers := []string{"Qwxz Marker Ada", "Qwxz Marker Ben"}
	var ids []vault.ID
	for i, name := range markers {
		body, err := json.Marshal(map[string]any{"display_name": name, "contact": name + "@contact.example",
			"consent": map[string]any{"disclosure_sha256": disc.SHA256, "agreed": true, "signature": name + " signed", "purposes": []string{"recognition"}}})
		require.NoError(t, err)
		r := d.do(t, "POST", "/v1/subjects", kiosk, string(body))
		require.Equal(t, http.StatusCreated, r.code, "%s", r.body)
		var c agent.SubjectCreated
		r.json(t, &c)
		id, err := vault.ParseID(c.SubjectID)
		require.NoError(t, err)
		ids = append(ids, id)
		wav, err := os.ReadFile(filepath.Join(speakersDir, []string{"enrol-1688.wav", "enrol-1998.wav"}[i]))
		require.NoError(t, err)
		require.Equal(t, http.StatusCreated, d.enrol(t, tech, id, wav).code)
	}
	r := d.do(t, "POST", "/v1/sessions", tech, sessionBody(t, "Qwxz Marker Title", ids...))
	require.Equal(t, http.StatusCreated, r.code, "%s", r.body)
	playUntil(t, clk, 400, func() bool { return d.status(t, tech).Pipeline.State == "source ended" })
	require.NoError(t, d.stop(t))

	// The templates, read back through the vault, and a backup of it.
	v := st.openVault(t)
	var needles [][]byte
	for _, id := range ids {
		ts, err := v.Templates(vault.SystemActor, id)
		require.NoError(t, err)
		require.Len(t, ts, 1)
		raw := make([]byte, 4*len(ts[0].Embedding))
		for i, x := range ts[0].Embedding {
			binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(x))
		}
		for off := 0; off+16 <= len(raw); off += 64 { // a 16-byte run every 16 values
			if distinct(raw[off:off+16]) >= 8 { // not a run of zeros (unused components) that any file has
				needles = append(needles, raw[off:off+16])
			}
		}
		require.Greater(t, len(needles), 1000)
	}
	backup := filepath.Join(tmp, "vault.backup")
	_, err := v.BackupFile(backup)
	require.NoError(t, err)
	require.NoError(t, v.Close())
	for _, m := range markers {
		needles = append(needles, []byte(m))
	}
	needles = append(needles, []byte("Qwxz Marker Title"))

	scanned := scanFiles(t, []string{st.dir, tmp}, func(p string, b []byte) {
		for _, n := range needles {
			if i := bytes.Index(b, n); i >= 0 {
				t.Errorf("%s holds %q in clear at offset %d", p, n, i)
			}
		}
	})
	assert.GreaterOrEqual(t, scanned, 3, "vault, backup and keys scanned")
}

// distinct counts the different byte values in b.
func distinct(b []byte) int {
	var seen [256]bool
	n := 0
	for _, c := range b {
		if !seen[c] {
			seen[c], n = true, n+1
		}
	}
	return n
}

// Enrolment from the live source: {"capture_seconds": N} takes a lease for
// that subject (the source opens only for it), records N seconds in memory
// and judges them like an uploaded file; the source closes again after.
func TestEnrolFromLiveSource(t *testing.T) {
	modeltest.Model(t) // enrolment and labels need it
	st := newState(t)
	clk := clocktest.New(time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC))
	cfg := st.config()
	cfg.Source = "wav:" + filepath.Join(speakersDir, "enrol-1688.wav")
	speaker := st.consenting(t)
	d := start(t, cfg, agent.WithClock(clk))
	tech := st.tokens[vault.RoleTechnician]

	for _, bad := range []string{`{"capture_seconds":2}`, `{"capture_seconds":600}`, `{"seconds":10}`} {
		r := d.do(t, "POST", "/v1/subjects/"+speaker.String()+"/enrollments", tech, bad)
		assert.True(t, r.code == http.StatusUnprocessableEntity || r.code == http.StatusBadRequest, "%s: %d %s", bad, r.code, r.body)
	}
	assert.Zero(t, d.status(t, tech).Capture.Opens)

	done := make(chan reply, 1)
	go func() {
		done <- d.do(t, "POST", "/v1/subjects/"+speaker.String()+"/enrollments", tech, `{"capture_seconds":11}`)
	}()
	var r reply
	// The source's pacing and the recording's deadline, beside retention's.
	playUntilWaiters(t, clk, retentionTimers+2, 200, func() bool {
		select {
		case r = <-done:
			return true
		default:
			return false
		}
	})
	require.Equal(t, http.StatusCreated, r.code, "%s", r.body)
	var e agent.Enrollment
	r.json(t, &e)
	require.Len(t, e.Quality.Samples, 1)
	assert.InDelta(t, 11.0, e.Quality.Samples[0].Seconds, 0.01)
	assert.GreaterOrEqual(t, e.Quality.SpeechSeconds, 8.0)
	s := d.status(t, tech)
	assert.False(t, s.Capture.Open, "the source stayed open after the enrolment")
	assert.Equal(t, uint64(1), s.Capture.Opens)
	assert.Equal(t, 1, s.Vault.Records["template"])
}

// An enrolment from audio made at 8 kHz (here LibriSpeech through an
// 8 kHz recording, as a 16 kHz WAV) is accepted, and its quality says how
// far up the spectrum the speech reaches.
func TestEnrolBandLimited(t *testing.T) {
	modeltest.Model(t) // enrolment needs it
	st := newState(t)
	speaker := st.consenting(t)
	d := start(t, st.config())
	tech := st.tokens[vault.RoleTechnician]
	r := d.enrol(t, tech, speaker, narrowWAV(t, filepath.Join(speakersDir, "enrol-1688.wav")))
	require.Equal(t, http.StatusCreated, r.code, "%s", r.body)
	var e agent.Enrollment
	r.json(t, &e)
	require.Len(t, e.Quality.Samples, 1)
	assert.LessOrEqual(t, e.Quality.Samples[0].BandwidthHz, float64(voiceprint.NarrowBandHz))
	assert.Greater(t, e.Quality.Samples[0].BandwidthHz, 3000.0)
	assert.Empty(t, e.Quality.Issues, "band-limited audio is no quality refusal")
}

// A template of another model (enrolled before an upgrade) with the
// running model's dimension, as the previous model's are, is shown as
// not current and not matched: a live session holds no voiceprint of its
// subject. Enrolling again replaces it with a current one, which the next
// session uses.
func TestEnrolAgainAfterModelUpgrade(t *testing.T) {
	m := modeltest.Model(t)
	st := newState(t)
	const previous = "gsvfuse-ubm256-mfcc20d2-warp-r8+cmn-r16+means-w0.2-nap20s1-v3" // the model before rooms
	id := st.consenting(t)
	func() {
		s := st.openVault(t)
		defer s.Close()
		old := make([]float32, m.EmbeddingDim())
		for i := range old {
			old[i] = float32(i%7) - 3
		}
		_, err := s.AddTemplate(vault.Actor{TokenID: "test", Role: vault.RoleKiosk}, id,
			vault.Template{Embedding: old, ModelID: previous})
		require.NoError(t, err)
	}()
	require.NotEqual(t, previous, m.Config.ID)
	d := start(t, st.config())
	tech := st.tokens[vault.RoleTechnician]
	view := func() agent.SubjectView {
		r := d.do(t, "GET", "/v1/subjects/"+id.String(), tech, "")
		require.Equal(t, http.StatusOK, r.code, "%s", r.body)
		var v agent.SubjectView
		r.json(t, &v)
		return v
	}
	enrolledInSession := func() int {
		r := d.do(t, "POST", "/v1/sessions", tech, sessionBody(t, "", id))
		require.Equal(t, http.StatusCreated, r.code, "%s", r.body)
		var sr agent.SessionResponse
		r.json(t, &sr)
		s := d.status(t, tech)
		require.Len(t, s.Sessions, 1)
		n := s.Sessions[0].Enrolled
		r = d.do(t, "POST", "/v1/sessions/"+sr.SessionID+"/stop", tech, "")
		require.Equal(t, http.StatusOK, r.code, "%s", r.body)
		return n
	}
	v := view()
	require.Len(t, v.Templates, 1)
	assert.Equal(t, m.EmbeddingDim(), v.Templates[0].Dim)
	assert.False(t, v.Templates[0].Current, "a template of another model reported as matched")
	assert.Zero(t, enrolledInSession(), "a session holds a template of another model")

	wav, err := os.ReadFile(filepath.Join(speakersDir, "enrol-1688.wav"))
	require.NoError(t, err)
	r := d.enrol(t, tech, id, wav)
	require.Equal(t, http.StatusCreated, r.code, "%s", r.body)
	var e agent.Enrollment
	r.json(t, &e)
	assert.Equal(t, 1, e.Replaced, "the old model's template is replaced")
	v = view()
	require.Len(t, v.Templates, 1)
	assert.Equal(t, m.Config.ID, v.Templates[0].ModelID)
	assert.True(t, v.Templates[0].Current, "the new template is not reported as matched")
	assert.Equal(t, 1, enrolledInSession(), "a session does not hold the new template")
}

// narrowWAV reads a canonical 16-bit mono WAV (a 44-byte header) and
// returns it as an 8 kHz recording would have made it (nothing above
// 4 kHz), still at 16 kHz.
func narrowWAV(t *testing.T, path string) []byte {
	t.Helper()
	wav, err := os.ReadFile(path)
	require.NoError(t, err)
	x := make([]float32, (len(wav)-44)/2)
	for i := range x {
		x[i] = float32(int16(binary.LittleEndian.Uint16(wav[44+2*i:])))
	}
	for i, v := range vpeval.NarrowBand(nil, x) {
		binary.LittleEndian.PutUint16(wav[44+2*i:], uint16(int16(max(-32768, min(32767, math.Round(float64(v)))))))
	}
	return wav
}

// A session whose audio comes over an 8 kHz line: Speaker 1998 enrolled
// from an 8 kHz recording, Speaker 1688 at a wide-band microphone, and the
// conversation (1688's turns, 1998's and a stranger's) played as an 8 kHz
// recording. Every turn is band-limited: against 1998 it is held to the
// model's band-limited threshold, against 1688 to the general one, as the
// session's status reports both. A named turn reaches its speaker's
// threshold; an unknown one stays below the band-limited threshold, and
// some stay between the two: the general threshold would have put 1998's
// name on them. (The first turn, 1688's, is named 1998: over the line,
// 1688's voice is closer to the 8 kHz enrolment than to its own wide-band
// one. A box enrols voices in the conditions it hears them in.)
func TestLiveLabelsBandLimited(t *testing.T) {
	m := modeltest.Model(t)
	thr, err := voiceprint.NewScorer(m).IdentifyThresholds(agent.LabelFAR, 2)
	require.NoError(t, err)
	if m.Config.BandLimited == nil {
		t.Fatalf("the model %s has no band-limited calibration", m.Config.ID)
	}
	require.Greater(t, thr.BandLimited, thr.Any)
	st := newState(t)
	clk := clocktest.New(time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC))
	cfg := st.config()
	conv := filepath.Join(t.TempDir(), "conversation-8k.wav")
	require.NoError(t, os.WriteFile(conv, narrowWAV(t, filepath.Join(speakersDir, "conversation.wav")), 0o600))
	cfg.Source = "wav:" + conv
	cfg.SessionMax = 0
	line, mic := st.consenting(t), st.consenting(t) // 1998 and 1688
	d := start(t, cfg, agent.WithClock(clk))
	tech := st.tokens[vault.RoleTechnician]
	r := d.enrol(t, tech, line, narrowWAV(t, filepath.Join(speakersDir, "enrol-1998.wav")))
	require.Equal(t, http.StatusCreated, r.code, "%s", r.body)
	wide, err := os.ReadFile(filepath.Join(speakersDir, "enrol-1688.wav"))
	require.NoError(t, err)
	r = d.enrol(t, tech, mic, wide)
	require.Equal(t, http.StatusCreated, r.code, "%s", r.body)
	r = d.do(t, "POST", "/v1/sessions", tech, sessionBody(t, "line", line, mic))
	require.Equal(t, http.StatusCreated, r.code, "%s", r.body)
	var sr agent.SessionResponse
	r.json(t, &sr)
	s := d.status(t, tech)
	require.Len(t, s.Sessions, 1)
	require.NotNil(t, s.Sessions[0].LabelThreshold)
	require.NotNil(t, s.Sessions[0].LabelThresholdBandLimited)
	assert.InDelta(t, thr.Any, *s.Sessions[0].LabelThreshold, 0.0005)
	assert.InDelta(t, thr.BandLimited, *s.Sessions[0].LabelThresholdBandLimited, 0.0005)
	got := playTurns(t, d, clk, tech, d.events(t, tech, sr.SessionID), 6)
	require.Len(t, got, 6, "the conversation's six turns")
	between := 0 // unknown turns the general threshold would have named
	for i, ev := range got {
		require.NotNil(t, ev.Score)
		name := "unknown"
		switch {
		case ev.SubjectID == nil:
			assert.Less(t, *ev.Score, thr.BandLimited, "turn %d", i)
			if *ev.Score >= thr.Any {
				between++
			}
		case *ev.SubjectID == line.String():
			name = "1998 (8 kHz)"
			assert.GreaterOrEqual(t, *ev.Score, thr.BandLimited, "turn %d", i)
		default:
			name = "1688 (wide-band)"
			assert.GreaterOrEqual(t, *ev.Score, thr.Any, "turn %d", i)
		}
		t.Logf("turn %s–%s: %s (score %v, %.2f s of speech)", ev.Start.Format("15:04:05.0"), ev.End.Format("15:04:05.0"), name, *ev.Score, ev.SpeechSeconds)
	}
	for _, i := range []int{1, 4} {
		require.NotNil(t, got[i].SubjectID, "1998's turn %d", i)
		assert.Equal(t, line.String(), *got[i].SubjectID, "1998's turn %d", i)
	}
	assert.Positive(t, between, "no unknown turn scored between the general threshold %.3f and the band-limited one %.3f", thr.Any, thr.BandLimited)
}
