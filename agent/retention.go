package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/voxward/voxward/vault"
)

// retentionStore is what the retention job needs of the vault.
type retentionStore interface {
	ApplyRetention(vault.Actor, vault.RetentionPolicy) (vault.RetentionReport, error)
	RotateKey(vault.Actor) (uint32, error)
	Compact() (before, after int64, err error)
	Stats() (vault.Stats, error)
	Audit(a vault.Actor, action, record, result string) error
}

var _ retentionStore = (*vault.Store)(nil)

// RetentionSlack is how far past its schedule the retention job may act
// before it reports a missed deadline: a deadline is met when it is
// enforced within RetentionInterval plus this (a run takes time, and a
// timer is never exact).
const RetentionSlack = 5 * time.Minute

// The daemon's own actors in the audit chain.
var (
	retentionActor = vault.Actor{TokenID: vault.SystemActor.TokenID, Role: vault.SystemActor.Role, Purpose: "retention"}
	rotationActor  = vault.Actor{TokenID: vault.SystemActor.TokenID, Role: vault.SystemActor.Role, Purpose: "key-rotation"}
)

// RetentionStatus is the retention job's part of GET /v1/status
// (PRIVACY.md rules 9 and 11). OK is false when the last run failed or
// missed a deadline; LastError and MissedDeadline say which.
type RetentionStatus struct {
	OK              bool    `json:"ok"`
	IntervalSeconds float64 `json:"interval_seconds"`
	// LastRun is when the last run started; LastSuccess the last run
	// whose retention pass went through; NextRun when the next starts.
	LastRun     time.Time `json:"last_run,omitzero"`
	LastSuccess time.Time `json:"last_success,omitzero"`
	NextRun     time.Time `json:"next_run,omitzero"`
	Runs        uint64    `json:"runs"`     // since the daemon started
	Failures    uint64    `json:"failures"` // runs that ended with an error
	// LateSeconds is how far the last run was behind the schedule: past
	// RetentionInterval since a deadline passed or since the last
	// successful run. MissedDeadline: it exceeded RetentionSlack.
	LateSeconds     float64   `json:"late_seconds"`
	MissedDeadline  bool      `json:"missed_deadline"`
	MissedDeadlines uint64    `json:"missed_deadlines"` // runs that missed one, since the daemon started
	LastMissed      time.Time `json:"last_missed,omitzero"`
	LastError       string    `json:"last_error,omitempty"`
	// Last is what the last run did; Total what every run since the
	// daemon started did.
	Last       RetentionCounts  `json:"last"`
	Total      RetentionCounts  `json:"total"`
	Key        KeyStatus        `json:"key"`
	Compaction CompactionStatus `json:"compaction"`
}

// RetentionCounts counts what retention did.
type RetentionCounts struct {
	Deidentified    int `json:"deidentified"`     // subjects de-identified at the end of their window
	Erased          int `json:"erased"`           // withdrawn subjects erased
	DeidCreated     int `json:"deid_created"`     // de-identified templates made from theirs
	DeidDeleted     int `json:"deid_deleted"`     // de-identified templates deleted after their window
	SessionsDeleted int `json:"sessions_deleted"` // session records deleted after their window
}

func (c *RetentionCounts) add(o RetentionCounts) {
	c.Deidentified += o.Deidentified
	c.Erased += o.Erased
	c.DeidCreated += o.DeidCreated
	c.DeidDeleted += o.DeidDeleted
	c.SessionsDeleted += o.SessionsDeleted
}

func (c RetentionCounts) any() bool { return c != RetentionCounts{} }

// KeyStatus is the vault's key-encryption key: its epoch, when it began,
// and when the schedule next rotates it (the first run at or after
// NextRotation does; erasures rotate it too).
type KeyStatus struct {
	Epoch           uint32    `json:"epoch"`
	LastRotation    time.Time `json:"last_rotation,omitzero"`
	NextRotation    time.Time `json:"next_rotation,omitzero"`
	RotationPending bool      `json:"rotation_pending"`
	Rotations       uint64    `json:"rotations"` // made by the retention job since the daemon started
}

// CompactionStatus says whether freed pages wait to be dropped from the
// vault file, and the job's last compaction.
type CompactionStatus struct {
	Due         bool      `json:"due"`
	Last        time.Time `json:"last,omitzero"`
	BytesBefore int64     `json:"bytes_before,omitempty"`
	BytesAfter  int64     `json:"bytes_after,omitempty"`
	Compactions uint64    `json:"compactions"`
}

// retentionJob enforces the retention policy (vault.ApplyRetention) at
// start-up and then every interval on the daemon's clock, rotates the
// key-encryption key on its schedule or when a rotation after an erasure
// failed, and compacts the vault when an erasure left freed pages. It
// compacts online: vault.Store.Compact makes transactions wait while it
// copies and swaps the file.
type retentionJob struct {
	clock       Clock
	log         *slog.Logger
	policy      vault.RetentionPolicy
	interval    time.Duration
	rotateEvery time.Duration
	wrap        func(retentionStore) retentionStore // tests: inject failures
	store       retentionStore                      // set by open, before Run

	mu sync.Mutex
	st retentionState
}

// retentionState is what the job knows; status and metrics read copies.
type retentionState struct {
	started, lastRun, lastSuccess, nextRun, lastMissed time.Time
	runs, failures, missedTotal                        uint64
	late                                               time.Duration
	missed                                             bool
	lastErr                                            string
	last, total                                        RetentionCounts

	// As of the end of the last run.
	epoch           uint32
	rotated         time.Time
	rotationPending bool
	compactionDue   bool
	rotations       uint64

	lastCompaction              time.Time
	compactBefore, compactAfter int64
	compactions                 uint64
}

func newRetentionJob(cfg *Config, clock Clock, wrap func(retentionStore) retentionStore, log *slog.Logger) *retentionJob {
	return &retentionJob{
		clock:       clock,
		log:         log,
		policy:      cfg.RetentionPolicy(),
		interval:    time.Duration(cfg.RetentionInterval),
		rotateEvery: time.Duration(cfg.KeyRotationInterval),
		wrap:        wrap,
	}
}

// open binds the job to the open vault and makes the start-up run
// (PRIVACY.md rule 9). App.Run calls it before the API serves, so that no
// request sees data past its deadline. Its errors are reported like any
// run's (status, metrics, log): a daemon that stopped here could report
// nothing.
func (j *retentionJob) open(s *vault.Store) {
	var rs retentionStore = s
	if j.wrap != nil {
		rs = j.wrap(rs)
	}
	j.store = rs
	j.mu.Lock()
	j.st.started = j.clock.Now()
	j.mu.Unlock()
	_ = j.run()
}

// Run runs the job every interval until ctx ends, and then returns nil.
// It returns an error only when the vault has closed under it (a
// compaction that could not reopen the file), so that the daemon stops
// and its supervisor restarts it.
func (j *retentionJob) Run(ctx context.Context) error {
	if j.store == nil {
		return errors.New("agent: retention job run before open")
	}
	next := func() time.Time {
		j.mu.Lock()
		defer j.mu.Unlock()
		return j.st.nextRun
	}
	return runAt(ctx, j.clock, next, func() error {
		if err := j.run(); errors.Is(err, vault.ErrClosed) {
			return fmt.Errorf("agent: retention: %w", err)
		}
		return nil
	})
}

// runAt runs step each time the clock reaches next(), until ctx ends
// (then it returns nil) or step returns an error (then it returns that).
// One timer is pending on the clock at a time, which the fake-clock tests
// count on.
func runAt(ctx context.Context, clock Clock, next func() time.Time, step func() error) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-clock.After(next().Sub(clock.Now())):
		}
		if ctx.Err() != nil {
			return nil
		}
		if err := step(); err != nil {
			return err
		}
	}
}

// run is one run: retention, then key rotation and compaction when due.
// Each step runs even when an earlier one failed; the error joins theirs.
func (j *retentionJob) run() error {
	start := j.clock.Now()
	j.mu.Lock()
	since := j.st.lastSuccess
	if since.IsZero() {
		since = j.st.started
	}
	j.mu.Unlock()

	rep, rerr := j.store.ApplyRetention(retentionActor, j.policy)
	var errs []error
	if rerr != nil {
		errs = append(errs, rerr)
		j.log.Error("retention failed", "err", rerr)
	}
	counts := RetentionCounts{
		Deidentified: rep.Deidentified, Erased: rep.Erased, DeidCreated: rep.DeidCreated,
		DeidDeleted: rep.DeidPurged, SessionsDeleted: rep.SessionsPurged,
	}
	rotations := uint64(0)
	if rep.KEKEpoch != 0 {
		rotations++
	}
	// Behind schedule: a deadline that passed more than an interval ago,
	// or a run that did not succeed for more than an interval (a clock
	// that jumped, a suspended box, a failing vault).
	late := max(rep.Late, start.Sub(since)) - j.interval
	late = max(late, 0)
	missed := late > RetentionSlack
	if missed {
		j.log.Error("retention deadline missed", "late", late.Round(time.Second), "interval", j.interval)
		if err := j.store.Audit(retentionActor, "retention.deadline_missed", "", "late-"+strconv.FormatInt(int64(late/time.Second), 10)+"s"); err != nil {
			errs = append(errs, fmt.Errorf("audit the missed deadline: %w", err))
		}
	}
	if counts.any() {
		j.log.Info("retention applied", "deidentified", counts.Deidentified, "erased", counts.Erased,
			"deid_created", counts.DeidCreated, "deid_deleted", counts.DeidDeleted, "sessions_deleted", counts.SessionsDeleted)
	} else {
		j.log.Debug("retention: nothing due")
	}

	var compacted bool
	var before, after int64
	st, err := j.store.Stats()
	if err != nil {
		st = vault.Stats{} // a partial answer is no answer
		errs = append(errs, err)
	} else {
		if st.RotationPending || !start.Before(st.KEKRotated.Add(j.rotateEvery)) {
			why := "schedule"
			if st.RotationPending {
				why = "pending after an erasure"
			}
			if epoch, err := j.store.RotateKey(rotationActor); err != nil {
				errs = append(errs, fmt.Errorf("key rotation (%s): %w", why, err))
			} else {
				rotations++
				j.log.Info("key-encryption key rotated", "why", why, "epoch", epoch)
			}
		}
		if st.CompactionDue {
			before, after, err = j.store.Compact()
			result := "ok"
			if err != nil {
				result = "error"
				errs = append(errs, err)
			} else {
				compacted = true // the vault logs the sizes
			}
			if aerr := j.store.Audit(retentionActor, "vault.compact", "", result); aerr != nil {
				errs = append(errs, fmt.Errorf("audit the compaction: %w", aerr))
			}
		}
		if rotations > 0 || compacted {
			if fresh, err := j.store.Stats(); err != nil {
				errs = append(errs, err)
			} else {
				st = fresh
			}
		}
	}
	err = errors.Join(errs...)
	if err != nil && rerr == nil {
		j.log.Error("retention maintenance failed", "err", err)
	}

	j.mu.Lock()
	defer j.mu.Unlock()
	s := &j.st
	s.runs++
	s.lastRun, s.nextRun = start, start.Add(j.interval)
	if rerr == nil {
		s.lastSuccess = start
	}
	s.late, s.missed = late, missed
	if missed {
		s.missedTotal++
		s.lastMissed = start
	}
	s.last = counts
	s.total.add(counts)
	s.lastErr = ""
	if err != nil {
		s.failures++
		s.lastErr = err.Error()
	}
	s.rotations += rotations
	if st.KEKEpoch != 0 {
		s.epoch, s.rotated, s.rotationPending, s.compactionDue = st.KEKEpoch, st.KEKRotated, st.RotationPending, st.CompactionDue
	}
	if compacted {
		s.compactions++
		s.lastCompaction, s.compactBefore, s.compactAfter = start, before, after
	}
	return err
}

// snapshot returns a copy of the job's state.
func (j *retentionJob) snapshot() retentionState {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.st
}

// current returns the job's state with its schedule checked against the
// clock: a run overdue by more than RetentionSlack (a run that hangs, or a
// clock that moved before the job could) is a missed deadline already.
func (j *retentionJob) current() retentionState {
	s := j.snapshot()
	if s.nextRun.IsZero() {
		return s
	}
	if over := j.clock.Now().Sub(s.nextRun); over > s.late {
		s.late = over
		s.missed = s.missed || over > RetentionSlack
	}
	return s
}

// status reports the job, with the key and compaction figures from st
// (the vault's statistics now, which erasures between runs change).
func (j *retentionJob) status(st vault.Stats) RetentionStatus {
	s := j.current()
	rs := RetentionStatus{
		OK:              s.lastErr == "" && !s.missed,
		IntervalSeconds: j.interval.Seconds(),
		LastRun:         s.lastRun, LastSuccess: s.lastSuccess, NextRun: s.nextRun,
		Runs: s.runs, Failures: s.failures,
		LateSeconds: s.late.Seconds(), MissedDeadline: s.missed, MissedDeadlines: s.missedTotal, LastMissed: s.lastMissed,
		LastError: s.lastErr,
		Last:      s.last, Total: s.total,
		Key: KeyStatus{
			Epoch: st.KEKEpoch, LastRotation: st.KEKRotated, RotationPending: st.RotationPending,
			Rotations: s.rotations,
		},
		Compaction: CompactionStatus{
			Due: st.CompactionDue, Last: s.lastCompaction, BytesBefore: s.compactBefore, BytesAfter: s.compactAfter,
			Compactions: s.compactions,
		},
	}
	if !st.KEKRotated.IsZero() {
		rs.Key.NextRotation = st.KEKRotated.Add(j.rotateEvery)
	}
	return rs
}
