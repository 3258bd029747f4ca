package agent

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/voxward/voxward/capture"
	"github.com/voxward/voxward/dsp/voiceprint"
	"github.com/voxward/voxward/vault"
)

// Session errors.
var (
	// ErrNoSession means no live session has that id (never started here,
	// or already stopped).
	ErrNoSession = errors.New("agent: no such live session")
	// ErrParticipant means a participant is not an active subject with a
	// recognition consent in force.
	ErrParticipant = errors.New("agent: participant has no recognition consent in force")
	// ErrCapture means the capture device could not be opened.
	ErrCapture = errors.New("agent: capture unavailable")
)

// MaxParticipants caps a session's participant list.
const MaxParticipants = 256

// sessions are the live sessions: each holds one consent lease on the
// gate, so the source is open exactly while at least one runs.
type sessions struct {
	gate     *capture.Gate
	clock    Clock
	max      time.Duration
	log      *slog.Logger
	speakers *speakerModel
	// changed wakes the pipeline when a session starts or stops.
	changed chan struct{}

	mu     sync.Mutex
	live   map[vault.ID]*liveSession
	starts uint64
	drops  uint64 // bumped by every drop: a start that overlapped one re-checks its participants

	// afterChecks, when set (tests), runs between start's consent checks
	// and the session going live, with the session as built so far (its
	// scorer included).
	afterChecks func(*liveSession)
	// duringRebuild, when set (tests), runs in rescoreLive outside the
	// lock, before the scorer is built; afterRebuild, under the lock, with
	// the scorer built and whether it was installed (else it was wiped).
	duringRebuild func(*liveSession)
	afterRebuild  func(ls *liveSession, sc *voiceprint.Scorer, installed bool)

	// onStart and onStop, when set, hear of each session that went live
	// and each stop recorded in the vault (the sync outbox's records).
	onStart func(vault.ID)
	onStop  func(sess vault.Session, enrolled int)
}

type liveSession struct {
	id           vault.ID
	started      time.Time
	participants int
	consenting   map[vault.ID]bool // participants whose consent is still in force
	lease        *capture.Lease
	// cands are the enrolled participants' voiceprints, in memory only,
	// and names their display names by subject id; both lose a subject
	// the moment its consent ends (drop). Guarded by sessions.mu.
	cands  []voiceprint.Candidate
	names  map[string]string
	events *hub
	// sc scores this session's turns: the model's cohort plus cohort, the
	// voiceprints of the box's other enrolled voices (subjects in force
	// with recognition consent who are not participants), which adapt
	// score normalisation to the venue's microphones and languages and,
	// once they make enough pairs of different people, set the labelling
	// threshold (voiceprint.Scorer.WithVenue: for three participants at
	// LabelFAR, about 38 such voices). A subject whose consent ends leaves
	// it at once (drop). Guarded by sessions.mu.
	// While a drop builds the scorer again without a voice that left the
	// cohort, sc is nil and the session names nobody.
	sc     *voiceprint.Scorer
	cohort map[vault.ID]voiceprint.Candidate
	// cohortGen counts the cohort's changes (guarded by sessions.mu): a
	// scorer built from an older cohort is never installed. rebuild
	// serialises the scorer's rebuilds outside the lock (rescoreLive) and
	// the final wipe, which read and clear the cohort's voiceprints.
	cohortGen uint64
	rebuild   sync.Mutex
}

// venueSide lists the cohort's voiceprints in a fixed order (by subject
// id). The slices are the cohort's own, not copies.
func (ls *liveSession) venueSide() voiceprint.VenueSide {
	ids := slices.SortedFunc(maps.Keys(ls.cohort), func(a, b vault.ID) int { return bytes.Compare(a[:], b[:]) })
	var venue voiceprint.VenueSide
	for _, id := range ids {
		venue.Voiceprints = append(venue.Voiceprints, ls.cohort[id].Emb)
		venue.Speakers = append(venue.Speakers, id.String())
		venue.BandLimited = append(venue.BandLimited, ls.cohort[id].BandLimited)
	}
	return venue
}

// rescore rebuilds the session's scorer from its cohort and installs it.
func (ls *liveSession) rescore(base *voiceprint.Scorer) error {
	sc, err := base.WithVenueOf(ls.venueSide(), voiceprint.VenueSide{})
	if err != nil {
		return err
	}
	ls.install(sc)
	return nil
}

// install makes sc the session's scorer and gives the candidates their
// cohort statistics with it, wiping the old scorer's copies.
func (ls *liveSession) install(sc *voiceprint.Scorer) {
	if ls.sc != nil {
		ls.sc.Wipe()
	}
	ls.sc = sc
	for i, c := range ls.cands {
		// The candidate's cohort statistics with the new scorer, and its
		// compact copy for matching; the old compact copy is wiped (the
		// float32 voiceprint carries over).
		ls.cands[i] = sc.Prepare(c)
		c.Emb = nil
		c.Wipe()
	}
}

// wipe clears every voiceprint the session holds.
func (ls *liveSession) wipe() {
	for _, c := range ls.cands {
		c.Wipe()
	}
	for _, v := range ls.cohort {
		clear(v.Emb)
	}
	if ls.sc != nil {
		ls.sc.Wipe()
	}
}

func newSessions(g *capture.Gate, c Clock, max time.Duration, sm *speakerModel, log *slog.Logger) *sessions {
	return &sessions{gate: g, clock: c, max: max, speakers: sm, log: log, changed: make(chan struct{}, 1), live: map[vault.ID]*liveSession{}}
}

func (s *sessions) notify() {
	select {
	case s.changed <- struct{}{}:
	default:
	}
}

// start checks that the session has participants and that every one is
// an active (not restricted, not withdrawn) subject whose consent grants
// recognition (ErrParticipant): a session with nobody consenting never
// opens the source (PRIVACY.md rule 1). It then records the session in
// the vault and takes a consent lease, which opens the source if it was
// closed (ErrCapture when it cannot be opened; the session is then
// recorded as stopped).
func (s *sessions) start(ctx context.Context, store *vault.Store, actor vault.Actor, title string, participants []vault.ID) (vault.Session, error) {
	if len(participants) == 0 {
		return vault.Session{}, fmt.Errorf("%w: a session needs at least one participant whose consent grants recognition", ErrParticipant)
	}
	s.mu.Lock()
	gen := s.drops
	s.mu.Unlock()
	names := make(map[string]string, len(participants))
	for _, id := range participants {
		sub, err := store.Subject(actor, id)
		if errors.Is(err, vault.ErrNotFound) {
			return vault.Session{}, fmt.Errorf("%w: subject %s does not exist", ErrParticipant, id)
		} else if err != nil {
			return vault.Session{}, err
		}
		if sub.Status != vault.StatusActive {
			return vault.Session{}, fmt.Errorf("%w: subject %s is %s", ErrParticipant, id, sub.Status)
		}
		hist, err := store.Consents(actor, id)
		if err != nil {
			return vault.Session{}, err
		}
		if !slices.Contains(vault.Purposes(hist), vault.PurposeRecognition) {
			return vault.Session{}, fmt.Errorf("%w: subject %s did not grant recognition", ErrParticipant, id)
		}
		names[id.String()] = sub.DisplayName
	}
	cands, err := s.loadCandidates(store, actor, participants)
	if err != nil {
		return vault.Session{}, err
	}
	ls := &liveSession{participants: len(participants), cands: cands, names: names}
	if ls.cohort, err = s.loadCohort(store, actor, participants); err != nil {
		ls.wipe()
		return vault.Session{}, err
	}
	// The session's scorer is built before the lock: with hundreds of
	// other enrolled voices WithVenue takes about a second, which live
	// sessions' turns would otherwise wait for. A consent that ends
	// meanwhile is caught under the lock below.
	if s.speakers != nil {
		if err := ls.rescore(s.speakers.sc); err != nil {
			ls.wipe()
			return vault.Session{}, err
		}
	}
	sess, err := store.CreateSession(actor, title, participants)
	if err != nil {
		ls.wipe()
		return vault.Session{}, err
	}
	lease, err := s.gate.Acquire(ctx, "session "+sess.ID.String(), s.max)
	if err != nil {
		ls.wipe()
		if _, serr := store.StopSession(actor, sess.ID, nil); serr != nil {
			s.log.Warn("record failed session", "session", sess.ID.String(), "err", serr)
		}
		return vault.Session{}, fmt.Errorf("%w: %v", ErrCapture, err)
	}
	if s.afterChecks != nil {
		s.afterChecks(ls)
	}
	consenting := make(map[vault.ID]bool, len(participants))
	for _, id := range participants {
		consenting[id] = true
	}
	ls.id, ls.started, ls.consenting, ls.lease, ls.events = sess.ID, sess.Started, consenting, lease, newHub()
	s.mu.Lock()
	if s.drops != gen {
		// A consent ended (withdrawal, restriction, erasure) while this
		// session was being set up, after its checks: check again, under
		// the lock, so that no later drop can be missed either.
		for _, id := range participants {
			if sub, err := store.Subject(actor, id); err == nil && sub.Status == vault.StatusActive {
				continue
			}
			delete(consenting, id)
			delete(ls.names, id.String())
			ls.cands = slices.DeleteFunc(ls.cands, func(c voiceprint.Candidate) bool {
				if c.ID == id.String() {
					c.Wipe()
					return true
				}
				return false
			})
		}
		changed := false
		for id, v := range ls.cohort { // the same check for the cohort's voices
			if sub, err := store.Subject(actor, id); err != nil || sub.Status != vault.StatusActive {
				clear(v.Emb)
				delete(ls.cohort, id)
				changed = true
			}
		}
		// Rare: the scorer is built again without them, under the lock.
		if changed && s.speakers != nil {
			if err := ls.rescore(s.speakers.sc); err != nil {
				ls.wipe()
				s.mu.Unlock()
				lease.Release()
				if _, serr := store.StopSession(actor, sess.ID, nil); serr != nil {
					s.log.Warn("record refused session", "session", sess.ID.String(), "err", serr)
				}
				return vault.Session{}, err
			}
		}
	}
	if len(consenting) == 0 {
		ls.wipe()
		s.mu.Unlock()
		lease.Release()
		if _, serr := store.StopSession(actor, sess.ID, nil); serr != nil {
			s.log.Warn("record refused session", "session", sess.ID.String(), "err", serr)
		}
		return vault.Session{}, fmt.Errorf("%w: every participant's consent ended while the session started", ErrParticipant)
	}
	s.live[sess.ID] = ls
	s.starts++
	s.mu.Unlock()
	if s.onStart != nil {
		s.onStart(sess.ID)
	}
	s.notify()
	s.log.Info("session started", "session", sess.ID.String(), "participants", len(participants))
	return sess, nil
}

// stop releases the session's lease (the source closes at once when it
// was the last) and records the stop in the vault.
func (s *sessions) stop(store *vault.Store, actor vault.Actor, id vault.ID) (vault.Session, error) {
	s.mu.Lock()
	ls, ok := s.live[id]
	delete(s.live, id)
	s.mu.Unlock()
	if !ok {
		return vault.Session{}, fmt.Errorf("%w: %s", ErrNoSession, id)
	}
	ls.lease.Release()
	ls.events.close()
	ls.rebuild.Lock() // no rebuild reads the cohort while it is wiped
	ls.wipe()
	ls.rebuild.Unlock()
	s.notify()
	s.log.Info("session stopped", "session", id.String())
	// Speaker turns arrive with voiceprints; none are counted yet.
	sess, err := store.StopSession(actor, id, nil)
	if err == nil && s.onStop != nil {
		s.onStop(sess, len(ls.cands))
	}
	return sess, err
}

// drop takes a subject out of every live session at once, because their
// consent ended (withdrawal, restriction, erasure). A session left with
// nobody consenting is stopped: its lease is released, so the source
// closes when it was the last. It returns the sessions it stopped.
func (s *sessions) drop(store *vault.Store, subject vault.ID) []vault.ID {
	s.mu.Lock()
	s.drops++
	var empty []vault.ID
	var rebuild []*liveSession
	var gone [][]float32
	for id, ls := range s.live {
		if v, ok := ls.cohort[subject]; ok {
			// The voice leaves the cohort at once, and the scorer with its
			// copy of it is wiped: the session names nobody until a scorer
			// is built without it, outside the lock (with hundreds of venue
			// voices that takes about a second, which every live session's
			// turns would otherwise wait for).
			delete(ls.cohort, subject)
			ls.cohortGen++
			if ls.sc != nil {
				ls.sc.Wipe()
				ls.sc = nil
			}
			rebuild, gone = append(rebuild, ls), append(gone, v.Emb)
		}
		if !ls.consenting[subject] {
			continue
		}
		delete(ls.consenting, subject)
		ls.cands = slices.DeleteFunc(ls.cands, func(c voiceprint.Candidate) bool {
			if c.ID == subject.String() {
				c.Wipe()
				return true
			}
			return false
		})
		delete(ls.names, subject.String())
		if len(ls.consenting) == 0 {
			empty = append(empty, id)
		}
	}
	s.mu.Unlock()
	for _, id := range empty {
		if _, err := s.stop(store, vault.SystemActor, id); err != nil && !errors.Is(err, ErrNoSession) {
			s.log.Warn("stop session with nobody consenting", "session", id.String(), "err", err)
		}
	}
	// After the stops: a stopped session's scorer is not built again.
	for i, ls := range rebuild {
		s.rescoreLive(ls, gone[i])
	}
	return empty
}

// rescoreLive builds a live session's scorer again after a voice left its
// cohort (drop), outside the sessions' lock, and installs it unless the
// session stopped or its cohort changed again meanwhile (that change's
// own rebuild, which waits for this one, installs its scorer). gone, the
// copy of the voice that left, is wiped first: no rebuild reads it any
// more.
func (s *sessions) rescoreLive(ls *liveSession, gone []float32) {
	ls.rebuild.Lock()
	defer ls.rebuild.Unlock()
	clear(gone)
	s.mu.Lock()
	if s.live[ls.id] != ls || s.speakers == nil {
		s.mu.Unlock()
		return
	}
	gen, venue := ls.cohortGen, ls.venueSide()
	s.mu.Unlock()
	if s.duringRebuild != nil {
		s.duringRebuild(ls)
	}
	sc, err := s.speakers.sc.WithVenueOf(venue, voiceprint.VenueSide{})
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		s.log.Error("session cohort: the session names nobody", "session", ls.id.String(), "err", err)
		return
	}
	installed := s.live[ls.id] == ls && ls.cohortGen == gen
	if installed {
		ls.install(sc)
	} else {
		sc.Wipe()
	}
	if s.afterRebuild != nil {
		s.afterRebuild(ls, sc, installed)
	}
}

// loadCandidates reads the participants' voiceprints for matching in
// memory (each read is audited by the vault): the newest template of the
// shipped model per participant; a participant not enrolled yet has none
// and is never named.
func (s *sessions) loadCandidates(store *vault.Store, actor vault.Actor, participants []vault.ID) ([]voiceprint.Candidate, error) {
	var out []voiceprint.Candidate
	if s.speakers == nil {
		return nil, nil // no model in this build: nobody is matched
	}
	for _, id := range participants {
		ts, err := store.Templates(actor, id)
		if err != nil {
			return nil, err
		}
		var best *vault.Template
		for i := range ts {
			t := &ts[i]
			if s.speakers.current(t.ModelID, len(t.Embedding)) && (best == nil || t.Created.After(best.Created)) {
				best = t
			}
		}
		for i := range ts {
			if &ts[i] != best {
				clear(ts[i].Embedding)
			}
		}
		if best != nil {
			// Norm and the compact copy for matching: the session's
			// scorer's Prepare (rescore).
			out = append(out, voiceprint.Candidate{ID: id.String(), Emb: best.Embedding, BandLimited: templateBandLimited(*best)})
		}
	}
	return out, nil
}

// loadCohort reads the latest voiceprint (of the running model) of every
// subject in force with recognition consent who is not a participant, with
// its band (Candidate.BandLimited): the box's other enrolled voices, which
// a session's scorer adds to its s-norm cohort and measures its venue
// thresholds on. Restricted and withdrawn subjects are never used.
func (s *sessions) loadCohort(store *vault.Store, actor vault.Actor, participants []vault.ID) (map[vault.ID]voiceprint.Candidate, error) {
	if s.speakers == nil {
		return nil, nil
	}
	subs, err := store.Subjects(actor)
	if err != nil {
		return nil, err
	}
	var others []vault.ID
	for _, sub := range subs {
		if sub.Status != vault.StatusActive || slices.Contains(participants, sub.ID) {
			continue
		}
		hist, err := store.Consents(actor, sub.ID)
		if err != nil {
			return nil, err
		}
		if slices.Contains(vault.Purposes(hist), vault.PurposeRecognition) {
			others = append(others, sub.ID)
		}
	}
	cands, err := s.loadCandidates(store, actor, others)
	if err != nil {
		return nil, err
	}
	out := make(map[vault.ID]voiceprint.Candidate, len(cands))
	for _, c := range cands {
		id, err := vault.ParseID(c.ID)
		if err != nil {
			return nil, err
		}
		out[id] = c
	}
	return out, nil
}

// forEachLive calls fn for every live session, under the lock: fn must
// not block (publishing to a hub does not).
func (s *sessions) forEachLive(fn func(*liveSession)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ls := range s.live {
		fn(ls)
	}
}

// endStreams ends every live session's event streams (shutdown); the
// sessions themselves are stopped later.
func (s *sessions) endStreams() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ls := range s.live {
		ls.events.close()
	}
}

// hubOf returns a live session's event hub, or nil.
func (s *sessions) hubOf(id vault.ID) *hub {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ls, ok := s.live[id]; ok {
		return ls.events
	}
	return nil
}

// stopAll stops every live session at shutdown.
func (s *sessions) stopAll(store *vault.Store) {
	s.mu.Lock()
	ids := make([]vault.ID, 0, len(s.live))
	for id := range s.live {
		ids = append(ids, id)
	}
	s.mu.Unlock()
	for _, id := range ids {
		if _, err := s.stop(store, vault.SystemActor, id); err != nil {
			s.log.Warn("stop session at shutdown", "session", id.String(), "err", err)
		}
	}
}

// SessionStatus is one live session as status shows it: ids and times,
// never the title or the participants' names.
type SessionStatus struct {
	ID           string    `json:"id"`
	Started      time.Time `json:"started"`
	Participants int       `json:"participants"`
	// Enrolled counts the participants with a voiceprint, who can be
	// named; the others' turns are labelled unknown.
	Enrolled int `json:"enrolled"`
	// Expires is when the consent lease ends unless the session is
	// stopped first (Config.SessionMax); Expired says it has.
	Expires time.Time `json:"expires,omitzero"`
	Expired bool      `json:"expired"`
	// VenueVoices counts the box's other enrolled voices the session
	// normalises scores against; LabelThreshold is the score a turn must
	// reach to be named (null with nobody enrolled, and while the scorer is
	// built again after a venue voice left: turns are unknown meanwhile),
	// and ThresholdFrom says whether those voices set it ("venue": enough
	// pairs of different people for LabelFAR), raised it above the
	// model's ("venue-fit": with 5 to 21 people, a bound from a normal fit
	// to their pairs, where the fit lies above the model's threshold) or
	// the model's calibration did ("model").
	// LabelThresholdBandLimited is the score a band-limited turn (speech
	// up to 4.5 kHz, as from a telephone line or an 8 kHz recording) must
	// reach against a participant enrolled band-limited: such pairs of
	// different voices score higher. ThresholdBandLimitedFrom says who set
	// that one, the same way, from the pairs of those voices both
	// band-limited.
	VenueVoices               int      `json:"venue_voices"`
	LabelThreshold            *float64 `json:"label_threshold"`
	LabelThresholdBandLimited *float64 `json:"label_threshold_band_limited"`
	ThresholdFrom             string   `json:"threshold_from,omitempty"`
	ThresholdBandLimitedFrom  string   `json:"threshold_band_limited_from,omitempty"`
}

func (s *sessions) status() []SessionStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock.Now()
	out := make([]SessionStatus, 0, len(s.live))
	for _, ls := range s.live {
		exp := ls.lease.Expires()
		st := SessionStatus{
			ID: ls.id.String(), Started: ls.started, Participants: ls.participants, Enrolled: len(ls.cands),
			Expires: exp, Expired: !exp.IsZero() && !now.Before(exp), VenueVoices: len(ls.cohort),
		}
		if ls.sc != nil && len(ls.cands) > 0 {
			if thr, err := ls.sc.IdentifyThresholds(LabelFAR, len(ls.cands)); err == nil {
				a, b := math.Round(thr.Any*1000)/1000, math.Round(thr.BandLimited*1000)/1000
				st.LabelThreshold, st.LabelThresholdBandLimited = &a, &b
				st.ThresholdFrom, st.ThresholdBandLimitedFrom = ls.sc.IdentifyThresholdsFrom(LabelFAR, len(ls.cands))
			}
		}
		out = append(out, st)
	}
	slices.SortFunc(out, func(a, b SessionStatus) int { return a.Started.Compare(b.Started) })
	return out
}

func (s *sessions) count() (live int, started uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.live), s.starts
}
