package agent

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/voxward/voxward/dsp/voiceprint"
	vsync "github.com/voxward/voxward/sync"
	"github.com/voxward/voxward/vault"
)

// The sync job's actor in the audit chain.
var syncActor = vault.Actor{TokenID: vault.SystemActor.TokenID, Role: vault.SystemActor.Role, Purpose: "sync"}

// syncJob keeps the outbox of de-identified records and seals it into
// signed batches: on its interval (after appending a device_health
// record) and on POST /v1/sync/seal. Pullers read the batches through
// the pull protocol (sync.Handler over syncStore).
type syncJob struct {
	clock        Clock
	log          *slog.Logger
	interval     time.Duration
	minTemplates int
	deid         vsync.Deidentifier
	keyPath      string
	health       func() vsync.HealthObservation

	// Set by open, before Run and before the API serves.
	store  *vault.Store
	device string
	pub    ed25519.PublicKey

	// sealMu serializes seals (the interval's and the API's).
	sealMu sync.Mutex

	refused   atomic.Uint64 // records refused because the outbox was full
	appendErr atomic.Uint64 // records lost to another vault error
	sealed    atomic.Uint64 // batches sealed since the daemon started
	pulls     atomic.Uint64 // batch bodies served
	acks      atomic.Uint64 // acknowledgements

	mu       sync.Mutex
	lastSeal time.Time
	nextSeal time.Time
	lastErr  string
	starts   map[vault.ID]sessionMark
}

// sessionMark is what the job notes when a session starts, to measure
// the session when it stops.
type sessionMark struct {
	samples, matches, unknown, overflows, readErrors uint64
}

func newSyncJob(cfg *Config, clock Clock, log *slog.Logger) *syncJob {
	return &syncJob{
		clock:        clock,
		log:          log,
		interval:     time.Duration(cfg.SyncSealInterval),
		minTemplates: cfg.SyncMinTemplates,
		deid:         vsync.Deidentifier{MinGroup: cfg.SyncMinGroup, Epsilon: cfg.SyncEpsilon},
		keyPath:      filepath.Join(cfg.StateDir, DeviceKeyFile),
		starts:       map[vault.ID]sessionMark{},
	}
}

// open binds the job to the open vault and the device's identity.
func (j *syncJob) open(s *vault.Store, device string, pub ed25519.PublicKey) {
	j.store, j.device, j.pub = s, device, pub
	j.mu.Lock()
	j.nextSeal = j.clock.Now().Add(j.interval)
	j.mu.Unlock()
}

// Run seals every interval until ctx ends. It keeps exactly one timer
// pending on the clock.
func (j *syncJob) Run(ctx context.Context) error {
	if j.store == nil {
		return errors.New("agent: sync job run before open")
	}
	next := func() time.Time {
		j.mu.Lock()
		defer j.mu.Unlock()
		return j.nextSeal
	}
	return runAt(ctx, j.clock, next, func() error {
		j.mu.Lock()
		j.nextSeal = j.clock.Now().Add(j.interval)
		j.mu.Unlock()
		if j.health != nil {
			if line, err := j.deid.DeviceHealth(j.health()); err != nil {
				j.log.Error("device health record", "err", err)
			} else {
				j.append(vsync.TypeDeviceHealth, line)
			}
		}
		if _, _, err := j.seal(syncActor); errors.Is(err, vault.ErrClosed) {
			return fmt.Errorf("agent: sync: %w", err)
		}
		return nil
	})
}

// append stores one de-identified record in the outbox. A full outbox
// refuses it (counted, warned, old records kept); nothing else is done
// about it: the record is lost, not the session.
func (j *syncJob) append(kind string, line []byte) {
	if j.store == nil {
		return
	}
	_, err := j.store.AppendOutbox(vault.OutboxEntry{Kind: kind, Payload: line})
	switch {
	case err == nil:
	case errors.Is(err, vault.ErrOutboxFull):
		j.refused.Add(1)
		j.log.Warn("outbox full: a de-identified record was refused (old records are kept until a puller acknowledges their batch)", "kind", kind)
	default:
		j.appendErr.Add(1)
		j.log.Error("outbox append failed", "kind", kind, "err", err)
	}
}

// syncSessionStarted notes the daemon's counters as a session starts.
func (a *App) syncSessionStarted(id vault.ID) {
	j := a.sync
	m := sessionMark{samples: a.pipe.samples.Load(), matches: a.labels.matches.Load(), unknown: a.labels.unknown.Load(),
		overflows: a.gate.Status().Overflows, readErrors: a.pipe.readErrors.Load()}
	j.mu.Lock()
	j.starts[id] = m
	j.mu.Unlock()
}

// syncSessionStopped appends the session's de-identified statistics and
// audio-quality aggregates to the outbox. Turn counts are the daemon's
// counters over the session's span, so sessions that overlap share them.
func (a *App) syncSessionStopped(sess vault.Session, enrolled int) {
	j := a.sync
	j.mu.Lock()
	m, ok := j.starts[sess.ID]
	delete(j.starts, sess.ID)
	j.mu.Unlock()
	if !ok || sess.Stopped.IsZero() {
		return
	}
	matches, unknown := a.labels.matches.Load()-m.matches, a.labels.unknown.Load()-m.unknown
	line, err := j.deid.SessionStats(vsync.SessionObservation{
		Started: sess.Started, Stopped: sess.Stopped, Participants: len(sess.Participants), Enrolled: enrolled,
		Turns: int(matches + unknown), UnknownTurns: int(unknown), Interrupted: sess.Interrupted,
	})
	if err != nil {
		j.log.Error("session statistics record", "err", err)
	} else {
		j.append(vsync.TypeSessionStats, line)
	}
	seconds := float64(a.pipe.samples.Load()-m.samples) / 16000
	line, err = j.deid.AudioQuality(vsync.AudioObservation{
		Started: sess.Started, Seconds: seconds, Overflows: a.gate.Status().Overflows - m.overflows,
		ReadErrors: a.pipe.readErrors.Load() - m.readErrors, RMSDBFS: a.gate.Status().Levels.RMSDBFS,
	})
	if err != nil {
		j.log.Error("audio quality record", "err", err)
	} else {
		j.append(vsync.TypeAudioQuality, line)
	}
}

// seal seals the outbox (and the research templates waiting, when there
// are at least sync_min_templates of one model) into one batch. It
// returns the batch and true, or false when there was nothing to seal.
// When the batch with templates cannot be sealed (it would pass the
// outbox budget, or a size cap), the records are sealed without them and
// the templates wait; the failure is logged.
func (j *syncJob) seal(actor vault.Actor) (vault.StoredBatch, bool, error) {
	j.sealMu.Lock()
	defer j.sealMu.Unlock()
	b, ok, err := j.sealOnce(actor, j.minTemplates > 0)
	if err != nil && j.minTemplates > 0 && !errors.Is(err, vault.ErrClosed) {
		j.log.Warn("research templates held back from this batch", "err", err)
		b, ok, err = j.sealOnce(actor, false)
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	j.lastErr = ""
	if err != nil {
		j.lastErr = err.Error()
		j.log.Error("sync seal failed", "err", err)
		return b, false, err
	}
	if ok {
		j.sealed.Add(1)
		j.lastSeal = j.clock.Now()
		j.log.Info("sync batch sealed", "batch", b.ID, "bytes", len(b.Body))
	}
	return b, ok, nil
}

func (j *syncJob) sealOnce(actor vault.Actor, templates bool) (vault.StoredBatch, bool, error) {
	priv, err := LoadDeviceKey(j.keyPath)
	if err != nil {
		return vault.StoredBatch{}, false, err
	}
	defer clear(priv)
	id := vsync.NewBatchID()
	now := j.clock.Now()
	return j.store.SealOutbox(actor, vault.SealOutboxOptions{Templates: templates}, func(in vault.SealInput) (vault.SealedBatch, error) {
		var records [][]byte
		sb := vault.SealedBatch{ID: id}
		for _, e := range in.Entries {
			sb.Entries = append(sb.Entries, e.Seq)
			if !json.Valid(e.Payload) {
				j.log.Warn("an outbox record that is not JSON was dropped", "kind", e.Kind)
				continue
			}
			records = append(records, e.Payload)
		}
		if templates {
			recs, used, err := templateRecords(in.Templates, j.minTemplates)
			if err != nil {
				return vault.SealedBatch{}, err
			}
			records = append(records, recs...)
			sb.Templates = used
		}
		if len(records) == 0 && len(sb.Entries) == 0 {
			return vault.SealedBatch{}, nil // nothing to seal
		}
		b, err := vsync.Seal(priv, j.device, id, now, records)
		if err != nil {
			return vault.SealedBatch{}, err
		}
		sb.Manifest, sb.Signature, sb.Body = b.ManifestBytes, b.Signature, b.Body
		return sb, nil
	})
}

// maxBatchTemplateValues caps the template values one batch carries (4 Mi
// int8 values, about 5.6 MB of base64): 135 templates of 31,036 values,
// 8,192 of 512. A group with more waits for the next batches; a group
// whose minimum alone is over it is sealed at its minimum.
const maxBatchTemplateValues = 4 << 20

// templateRecords turns the research templates waiting into template
// records: for each model with at least minBatch of them, one draw of the
// batch's secret transform, int8 values, shuffled. The secret exists only
// here and is destroyed before it returns. It returns the records and the
// templates they hold (the others wait for more of their model, or for
// the next batch when there are more than maxBatchTemplateValues allow).
func templateRecords(tpls []vault.DeidTemplate, minBatch int) ([][]byte, []vault.ID, error) {
	type group struct {
		model string
		dim   int
	}
	groups := map[group][]int{}
	for i, t := range tpls {
		if len(t.Embedding) == 0 {
			continue
		}
		g := group{t.ModelID, len(t.Embedding)}
		groups[g] = append(groups[g], i)
	}
	keys := make([]group, 0, len(groups))
	for g, idx := range groups {
		if len(idx) >= minBatch {
			keys = append(keys, g)
		}
	}
	if len(keys) == 0 {
		return nil, nil, nil
	}
	sort.Slice(keys, func(i, k int) bool {
		return keys[i].model < keys[k].model || keys[i].model == keys[k].model && keys[i].dim < keys[k].dim
	})
	secret := make([]byte, 32)
	_, _ = rand.Read(secret)
	defer clear(secret)
	var out [][]byte
	var used []vault.ID
	budget := maxBatchTemplateValues
	for _, g := range keys {
		n := min(len(groups[g]), max(minBatch, budget/g.dim))
		if n < minBatch || (len(out) > 0 && n*g.dim > budget) {
			continue // the next batch takes them
		}
		budget -= n * g.dim
		in := make([][]float32, 0, n)
		for _, i := range groups[g][:n] {
			in = append(in, tpls[i].Embedding)
			used = append(used, tpls[i].ID)
		}
		vecs, err := transformAll(secret, in)
		if err != nil {
			return nil, nil, err
		}
		recs, err := vsync.TemplateRecords(g.model, vecs, minBatch, nil)
		for _, v := range vecs {
			clear(v)
		}
		if err != nil {
			return nil, nil, err
		}
		out = append(out, recs...)
	}
	return out, used, nil
}

// transformAll puts templates of one dimension through the transform
// drawn from secret, and destroys the transform.
func transformAll(secret []byte, in [][]float32) ([][]float32, error) {
	if len(in) == 0 {
		return nil, nil
	}
	tr, err := voiceprint.NewTemplateTransform(secret, len(in[0]))
	if err != nil {
		return nil, err
	}
	defer tr.Destroy()
	out := make([][]float32, len(in))
	for i, v := range in {
		out[i] = tr.Apply(nil, v)
	}
	return out, nil
}

// syncStore is the vault as the pull protocol reads it (sync.Store), for
// one request's caller: a body fetch is audited as "sync.pull" before it
// is served, an acknowledgement as "sync.ack" (PRIVACY.md rule 16).
type syncStore struct {
	j         *syncJob
	actor     vault.Actor
	auditPull bool
}

var _ vsync.Store = syncStore{}

func toStored(b vault.StoredBatch) (vsync.Stored, error) {
	m, err := vsync.ParseManifest(b.Manifest)
	if err != nil {
		return vsync.Stored{}, fmt.Errorf("agent: stored batch %s: %w", b.ID, err)
	}
	return vsync.Stored{Seq: b.Seq, Batch: vsync.Batch{Manifest: m, ManifestBytes: b.Manifest, Signature: b.Signature, Body: b.Body}}, nil
}

// Batches implements sync.Store.
func (s syncStore) Batches(after uint64, limit int) ([]vsync.Stored, error) {
	bs, err := s.j.store.Batches(after, limit)
	if err != nil {
		return nil, err
	}
	out := make([]vsync.Stored, 0, len(bs))
	for _, b := range bs {
		st, err := toStored(b)
		if err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	return out, nil
}

// Batch implements sync.Store.
func (s syncStore) Batch(id string) (vsync.Stored, error) {
	b, err := s.j.store.Batch(id)
	if errors.Is(err, vault.ErrNotFound) {
		return vsync.Stored{}, vsync.ErrNotFound
	}
	if err != nil {
		return vsync.Stored{}, err
	}
	if s.auditPull {
		if err := s.j.store.Audit(s.actor, "sync.pull", id, "ok"); err != nil {
			return vsync.Stored{}, fmt.Errorf("agent: audit the pull: %w", err)
		}
		s.j.pulls.Add(1)
	}
	return toStored(b)
}

// Ack implements sync.Store.
func (s syncStore) Ack(id string) error {
	if err := s.j.store.AckBatch(s.actor, id); err != nil {
		return err
	}
	s.j.acks.Add(1)
	return nil
}

// syncRoutes are the pull protocol's routes (sync.Handler.Routes), each
// served with a Store bound to its caller, for the puller role.
func (a *App) syncRoutes() []apiRoute {
	var out []apiRoute
	proto, _ := vsync.NewHandler(syncStore{}, make(ed25519.PublicKey, ed25519.PublicKeySize))
	for pattern := range proto.Routes() {
		out = append(out, apiRoute{pattern, vault.RolePuller, func(w http.ResponseWriter, r *http.Request) {
			j := a.sync
			if j.store == nil {
				writeError(w, http.StatusServiceUnavailable, "unavailable", "the vault is not open")
				return
			}
			if r.Method != http.MethodGet && !decodeJSON(w, r, &struct{}{}, true) {
				return // an acknowledgement takes no body, or {}
			}
			st := syncStore{j: j, actor: callerFrom(r.Context()).actor("sync"), auditPull: pattern == "GET /v1/sync/batches/{id}"}
			h, err := vsync.NewHandler(st, j.pub)
			if err != nil {
				a.log.Error("sync handler", "err", err)
				writeError(w, http.StatusInternalServerError, "internal", "the device key is not usable")
				return
			}
			h.Routes()[pattern](w, r)
		}})
	}
	sort.Slice(out, func(i, k int) bool { return out[i].pattern < out[k].pattern })
	return out
}

// SealResponse answers POST /v1/sync/seal when a batch was sealed.
type SealResponse struct {
	BatchID string `json:"batch_id"`
}

// handleSyncSeal seals the outbox now: 201 with the batch id, or 204 when
// there was nothing to seal.
func (a *App) handleSyncSeal(w http.ResponseWriter, r *http.Request) {
	if !decodeJSON(w, r, &struct{}{}, true) {
		return
	}
	b, ok, err := a.sync.seal(callerFrom(r.Context()).actor("sync"))
	switch {
	case err == nil:
	case errors.Is(err, vault.ErrOutboxFull):
		writeError(w, http.StatusInsufficientStorage, "outbox_full", "the outbox budget (outbox_max_bytes) leaves no room for the batch: let a puller acknowledge batches first")
		return
	default:
		a.vaultFailed(w, "sync seal", "the batch could not be sealed", err)
		return
	}
	if !ok {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	writeJSON(w, http.StatusCreated, SealResponse{BatchID: b.ID})
}

// OutboxStatus is the sync outbox in GET /v1/status: the de-identified
// records waiting to be sealed, the sealed batches waiting for a puller,
// their budget, and a warning when it is reached (new records are then
// refused and counted; old ones are kept).
type OutboxStatus struct {
	Entries  int    `json:"entries"`
	Batches  int    `json:"batches"`
	Bytes    int64  `json:"bytes"`
	MaxBytes int64  `json:"max_bytes"`
	Full     bool   `json:"full"`
	Warning  string `json:"warning,omitempty"`
	// Refused counts records refused because the outbox was full, since
	// the daemon started.
	Refused         uint64    `json:"refused"`
	Sealed          uint64    `json:"sealed"` // batches sealed since the daemon started
	LastSeal        time.Time `json:"last_seal,omitzero"`
	NextSeal        time.Time `json:"next_seal,omitzero"`
	IntervalSeconds float64   `json:"interval_seconds"`
	LastError       string    `json:"last_error,omitempty"`
}

func (j *syncJob) status() OutboxStatus {
	st := OutboxStatus{Refused: j.refused.Load(), Sealed: j.sealed.Load(), IntervalSeconds: j.interval.Seconds()}
	j.mu.Lock()
	st.LastSeal, st.NextSeal, st.LastError = j.lastSeal, j.nextSeal, j.lastErr
	j.mu.Unlock()
	if j.store == nil {
		return st
	}
	u, err := j.store.OutboxUsage()
	if err != nil {
		st.LastError = err.Error()
		return st
	}
	st.Entries, st.Batches, st.Bytes, st.MaxBytes, st.Full = u.Entries, u.Batches, u.Bytes, u.MaxBytes, u.Full()
	if st.Full {
		st.Warning = "the outbox is full (outbox_max_bytes): new de-identified records are refused until a puller acknowledges batches"
	}
	return st
}

// syncHealth is the device_health observation: the daemon's state now.
func (a *App) syncHealth() vsync.HealthObservation {
	o := vsync.HealthObservation{At: a.clock.Now(), Version: version(), CaptureOverflows: a.gate.Status().Overflows}
	if rs := a.ret.current(); !rs.started.IsZero() {
		o.Uptime = a.clock.Now().Sub(rs.started)
		o.RetentionOK = rs.lastErr == "" && !rs.missed
	}
	if s := a.vaultStore(); s != nil {
		if st, err := s.Stats(); err == nil {
			o.VaultBytes, o.VaultMaxBytes = st.FileBytes, st.MaxBytes
		}
		if u, err := s.OutboxUsage(); err == nil {
			o.OutboxEntries, o.OutboxBatches, o.OutboxFull = u.Entries, u.Batches, u.Full()
		}
	}
	o.OutboxRefused = a.sync.refused.Load()
	return o
}
