package agent

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/voxward/voxward/dsp/voiceprint"
	"github.com/voxward/voxward/vault"
)

// eventBuffer is how many turn events a slow subscriber may fall behind
// before further events are dropped for it (counted).
const eventBuffer = 64

// sseKeepAlive is how often an idle event stream gets a comment line, so
// that proxies and clients see the connection alive.
const sseKeepAlive = 15 * time.Second

// hub fans a session's turn events out to its subscribers. Publishing
// never blocks: a subscriber whose buffer is full misses the event.
type hub struct {
	mu      sync.Mutex
	subs    map[chan TurnEvent]struct{}
	closed  bool
	dropped atomic.Uint64
}

func newHub() *hub { return &hub{subs: map[chan TurnEvent]struct{}{}} }

// subscribe returns a channel of the events published from now on; it is
// closed when the session ends. ok is false when it already has.
func (h *hub) subscribe() (ch chan TurnEvent, ok bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, false
	}
	ch = make(chan TurnEvent, eventBuffer)
	h.subs[ch] = struct{}{}
	return ch, true
}

func (h *hub) unsubscribe(ch chan TurnEvent) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.subs[ch]; ok {
		delete(h.subs, ch)
		close(ch)
	}
}

func (h *hub) publish(ev TurnEvent) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for ch := range h.subs {
		select {
		case ch <- ev:
		default:
			h.dropped.Add(1)
		}
	}
}

// close ends every subscription (the session stopped).
func (h *hub) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for ch := range h.subs {
		delete(h.subs, ch)
		close(ch)
	}
}

// labelStats count the live labelling's work for status and metrics.
type labelStats struct {
	segments, tooShort, matches, unknown atomic.Uint64
	enrolments, withdrawals              atomic.Uint64
	refusals                             *prometheus.CounterVec // by reason
	latency                              prometheus.Histogram
}

func newLabelStats() *labelStats {
	return &labelStats{refusals: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "voxward_enrolment_refusals_total",
		Help: "Enrolments refused by a quality gate, by reason (too_short, no_voice, clipped, too_noisy); nothing was stored.",
	}, []string{"reason"}), latency: prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "voxward_label_latency_seconds",
		Help:    "Time from the end of a speaker turn (its last sample's arrival) to its label being published.",
		Buckets: []float64{0.05, 0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 3, 5},
	})}
}

// handleEvents streams a live session's speaker turns as Server-Sent
// Events ("event: turn", data a TurnEvent) until the session ends ("event:
// end") or the client goes away.
func (a *App) handleEvents(w http.ResponseWriter, r *http.Request) {
	id, err := vault.ParseID(r.PathValue("id"))
	if err != nil {
		writeError(w, http.StatusNotFound, "not_found", "no such live session")
		return
	}
	h := a.sess.hubOf(id)
	if h == nil {
		writeError(w, http.StatusNotFound, "not_found", "no such live session")
		return
	}
	ch, ok := h.subscribe()
	if !ok {
		writeError(w, http.StatusNotFound, "not_found", "the session has ended")
		return
	}
	defer h.unsubscribe(ch)
	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(time.Time{}) // a stream outlives the server's write timeout
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	fmt.Fprintf(w, ": session %s\n\n", id)
	if err := rc.Flush(); err != nil {
		return
	}
	keep := time.NewTicker(sseKeepAlive)
	defer keep.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-keep.C:
			fmt.Fprint(w, ": keep-alive\n\n")
		case ev, open := <-ch:
			if !open {
				fmt.Fprint(w, "event: end\ndata: {}\n\n")
				_ = rc.Flush()
				return
			}
			b, err := json.Marshal(ev)
			if err != nil {
				a.log.Error("encode turn event", "err", err)
				continue
			}
			fmt.Fprintf(w, "event: turn\ndata: %s\n\n", b)
		}
		if err := rc.Flush(); err != nil {
			return
		}
	}
}

// collectors are the live labelling's metrics.
func (l *labelStats) collectors(a *App) []prometheus.Collector {
	counter := func(name, help string, v *atomic.Uint64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, func() float64 { return float64(v.Load()) })
	}
	return []prometheus.Collector{
		counter("voxward_label_segments_total", "Speaker turns cut from live audio and embedded (in memory).", &l.segments),
		counter("voxward_label_segments_too_short_total", "Turns that are no voice sample (under 1.25 s of speech, or a tone, hum or noise): not labelled.", &l.tooShort),
		counter("voxward_label_matches_total", "Turn labels naming an enrolled participant (one per turn and live session).", &l.matches),
		counter("voxward_label_unknown_total", "Turn labels for voices that are no enrolled participant's (their embeddings dropped at once).", &l.unknown),
		counter("voxward_enrolments_total", "Voiceprints stored by enrolment.", &l.enrolments),
		counter("voxward_withdrawals_total", "Consents withdrawn at the kiosk (each erased the subject).", &l.withdrawals),
		l.refusals,
		l.latency,
	}
}

// SpeakerStatus is what status shows of enrolment and live labelling:
// counts since start, never a name or an id.
type SpeakerStatus struct {
	Model      string `json:"model"`
	Segments   uint64 `json:"segments"`
	TooShort   uint64 `json:"too_short"`
	Matches    uint64 `json:"matches"`
	Unknown    uint64 `json:"unknown"`
	Enrolments uint64 `json:"enrolments"`
	Withdrawn  uint64 `json:"withdrawals"`
}

func (l *labelStats) status(sm *speakerModel) SpeakerStatus {
	model := "none: " + voiceprint.ErrNoModel.Error()
	if sm != nil {
		model = sm.m.Config.ID
	}
	return SpeakerStatus{
		Model: model, Segments: l.segments.Load(), TooShort: l.tooShort.Load(), Matches: l.matches.Load(),
		Unknown: l.unknown.Load(), Enrolments: l.enrolments.Load(), Withdrawn: l.withdrawals.Load(),
	}
}
