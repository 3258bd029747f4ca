package agent_test

import (
	"bufio"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/voxward/voxward/agent"
	"github.com/voxward/voxward/internal/clocktest"
	"github.com/voxward/voxward/vault"
)

// retentionClock returns a fake clock set to now, after newState: the
// vault's creation, which starts the key rotation schedule, is then not
// in the fake clock's future.
func retentionClock() *clocktest.Fake {
	return clocktest.New(time.Now().UTC().Truncate(time.Second))
}

// enrolled stores, at the fake clock's time, a subject with a voiceprint
// and a session it took part in, as the kiosk and a session would.
func (st state) enrolled(t *testing.T, clk *clocktest.Fake, purposes ...vault.Purpose) vault.ID {
	t.Helper()
	s := st.openVaultAt(t, clk.Now)
	defer s.Close()
	kiosk := vault.Actor{TokenID: "test", Role: vault.RoleKiosk}
	sub, _, err := s.CreateSubject(kiosk, vault.NewSubject{
		DisplayName: "Qwxz Retained Speaker", Contact: "retained@example.org",
		Consent: vault.Consent{Kind: vault.ConsentGrant, DisclosureSHA256: strings.Repeat("ab", 32),
			Signature: "Qwxz Retained Speaker", Purposes: purposes},
	})
	require.NoError(t, err)
	emb := make([]float32, 32)
	for i := range emb {
		emb[i] = float32(i%7) - 3
	}
	_, err = s.AddTemplate(kiosk, sub.ID, vault.Template{Embedding: emb, ModelID: "test-v1"})
	require.NoError(t, err)
	_, err = s.CreateSession(vault.Actor{TokenID: "test", Role: vault.RoleTechnician}, "Qwxz keynote", []vault.ID{sub.ID})
	require.NoError(t, err)
	return sub.ID
}

// waitJob returns once the retention job and the sync job wait on the
// clock: their last runs are over. In these tests they are the only
// things that wait on it.
func waitJob(t *testing.T, clk *clocktest.Fake) {
	t.Helper()
	giveUp := make(chan struct{})
	timer := time.AfterFunc(10*time.Second, func() { close(giveUp) })
	defer timer.Stop()
	require.True(t, clk.BlockUntil(retentionTimers, giveUp), "the retention and sync jobs do not wait on the clock")
}

// step moves the fake clock by d once the retention job waits, and
// returns once it waits again: the run d made due, if any, is over.
func step(t *testing.T, clk *clocktest.Fake, d time.Duration) {
	t.Helper()
	waitJob(t, clk)
	clk.Advance(d)
	waitJob(t, clk)
}

// metric returns the value of the sample whose name and labels are
// series ("name" or `name{label="value"}`) in GET /metrics.
func (d *daemon) metric(t *testing.T, token, series string) float64 {
	t.Helper()
	r := d.do(t, "GET", "/metrics", token, "")
	require.Equal(t, http.StatusOK, r.code, "%s", r.body)
	sc := bufio.NewScanner(strings.NewReader(string(r.body)))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), series+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			require.NoError(t, err, "%s", sc.Text())
			return f
		}
	}
	t.Fatalf("GET /metrics has no %s", series)
	return 0
}

// auditActions returns the purpose and result of every audit entry,
// keyed by action.
func vaultAuditActions(t *testing.T, s *vault.Store) map[string][]string {
	t.Helper()
	entries, err := s.AuditEntries(0, 0)
	require.NoError(t, err)
	out := map[string][]string{}
	for _, e := range entries {
		out[e.Action] = append(out[e.Action], e.Purpose+" "+e.Result)
	}
	return out
}

// The running daemon de-identifies subjects when their 30 days end,
// without a restart, hour by hour on the injected clock, and never
// misses its schedule doing so (PRIVACY.md rules 7 and 9).
func TestRetentionDeidentifiesWithoutRestart(t *testing.T) {
	st := newState(t)
	clk := retentionClock()
	t0 := clk.Now()
	st.enrolled(t, clk, vault.PurposeRecognition)
	st.enrolled(t, clk, vault.PurposeRecognition, vault.PurposeResearch)
	d := start(t, st.config(), agent.WithClock(clk))
	tech := st.tokens[vault.RoleTechnician]

	s := d.status(t, tech)
	r := s.Retention
	assert.True(t, r.OK, "start-up run: %+v", r)
	assert.Equal(t, uint64(1), r.Runs, "retention did not run at start-up")
	assert.Equal(t, t0, r.LastRun)
	assert.Equal(t, t0, r.LastSuccess)
	assert.Equal(t, t0.Add(time.Hour), r.NextRun)
	assert.Equal(t, 3600.0, r.IntervalSeconds)
	assert.Zero(t, r.Total)
	assert.Equal(t, s.Vault.KEKEpoch, r.Key.Epoch)
	assert.False(t, r.Key.LastRotation.After(t0), "the epoch began at the vault's creation")
	assert.Equal(t, r.Key.LastRotation.Add(30*24*time.Hour), r.Key.NextRotation)
	epoch := r.Key.Epoch
	require.Equal(t, 2, s.Vault.Records["subject"])

	// 30 days less an hour: every hourly run on time, nothing due yet.
	for range 30*24 - 1 {
		step(t, clk, time.Hour)
	}
	s = d.status(t, tech)
	assert.Equal(t, uint64(30*24), s.Retention.Runs)
	assert.True(t, s.Retention.OK, "%+v", s.Retention)
	assert.Zero(t, s.Retention.MissedDeadlines)
	assert.Zero(t, s.Retention.Total)
	assert.Equal(t, 2, s.Vault.Records["subject"])

	// The 30th day ends: both are de-identified, their sessions deleted,
	// the key rotated and the freed pages compacted away, on time.
	step(t, clk, time.Hour)
	s = d.status(t, tech)
	r = s.Retention
	assert.True(t, r.OK, "%+v", r)
	assert.Equal(t, t0.Add(30*24*time.Hour), r.LastRun)
	assert.Equal(t, agent.RetentionCounts{Deidentified: 2, DeidCreated: 2, SessionsDeleted: 2}, r.Last)
	assert.Zero(t, r.LateSeconds)
	assert.False(t, r.MissedDeadline)
	assert.Zero(t, s.Vault.Records["subject"])
	assert.Zero(t, s.Vault.Records["template"])
	assert.Zero(t, s.Vault.Records["consent"])
	assert.Zero(t, s.Vault.Records["session"])
	assert.Equal(t, 2, s.Vault.Records["deidentified template"])
	assert.Greater(t, r.Key.Epoch, epoch, "no key rotation after the de-identification")
	assert.Positive(t, r.Key.Rotations)
	assert.False(t, r.Key.RotationPending)
	assert.False(t, r.Compaction.Due, "compaction still due after the run")
	assert.Equal(t, uint64(1), r.Compaction.Compactions)
	assert.Equal(t, r.LastRun, r.Compaction.Last)
	assert.Equal(t, 2.0, d.metric(t, tech, `voxward_retention_actions_total{action="deidentified"}`))
	assert.Equal(t, 2.0, d.metric(t, tech, `voxward_retention_actions_total{action="sessions_deleted"}`))
	assert.Equal(t, 0.0, d.metric(t, tech, "voxward_retention_missed_deadline"))
	assert.Equal(t, float64(r.Key.Epoch), d.metric(t, tech, "voxward_vault_kek_epoch"))

	// The 31st day: runs go on, idempotent.
	for range 24 {
		step(t, clk, time.Hour)
	}
	s = d.status(t, tech)
	assert.Equal(t, uint64(31*24+1), s.Retention.Runs)
	assert.Equal(t, 2, s.Retention.Total.Deidentified)
	assert.Zero(t, s.Retention.Last)
	assert.True(t, s.Retention.OK)
	assert.NotContains(t, string(d.do(t, "GET", "/v1/status", tech, "").body), "Qwxz", "status names a subject")

	// The vault audited it, as the retention job.
	require.NoError(t, d.stop(t))
	v := st.openVault(t)
	defer v.Close()
	audit := vaultAuditActions(t, v)
	assert.Equal(t, []string{"retention ok", "retention ok"}, audit["subject.deidentify"])
	assert.Equal(t, []string{"retention ok", "retention ok"}, audit["session.purge"])
	assert.Equal(t, []string{"retention ok"}, audit["vault.compact"])
	rep, err := v.Verify()
	require.NoError(t, err)
	assert.True(t, rep.OK(), "vault verify: %v", rep.Problems)
}

// A de-identified template is deleted 3 years after the last interaction
// (PRIVACY.md rule 8). The clock jumps most of the way at once, so that
// run reports the missed schedule; the deletion itself is on time.
func TestRetentionDeletesDeidentifiedAfterThreeYears(t *testing.T) {
	st := newState(t)
	clk := retentionClock()
	t0 := clk.Now()
	st.enrolled(t, clk, vault.PurposeRecognition, vault.PurposeResearch)
	clk.Advance(30 * 24 * time.Hour)
	d := start(t, st.config(), agent.WithClock(clk))
	tech := st.tokens[vault.RoleTechnician]

	// Started exactly at the deadline: de-identified before READY, on time.
	s := d.status(t, tech)
	assert.Equal(t, 1, s.Retention.Last.Deidentified)
	assert.True(t, s.Retention.OK, "%+v", s.Retention)
	assert.Equal(t, 1, s.Vault.Records["deidentified template"])

	// The last interaction is frozen to its UTC day.
	deadline := t0.Truncate(24 * time.Hour).Add(agent.MaxDeidentified)
	gap := deadline.Add(-time.Hour).Sub(clk.Now())
	step(t, clk, gap)
	s = d.status(t, tech)
	assert.True(t, s.Retention.MissedDeadline, "a run %v after the last reported no missed deadline", gap)
	assert.False(t, s.Retention.OK)
	assert.Equal(t, (gap - time.Hour).Seconds(), s.Retention.LateSeconds)
	assert.Equal(t, 1, s.Vault.Records["deidentified template"], "deleted before its 3 years")

	step(t, clk, time.Hour)
	s = d.status(t, tech)
	assert.Equal(t, deadline, s.Retention.LastRun)
	assert.Equal(t, 1, s.Retention.Last.DeidDeleted)
	assert.Zero(t, s.Vault.Records["deidentified template"])
	assert.False(t, s.Retention.MissedDeadline, "%+v", s.Retention)
	assert.True(t, s.Retention.OK)
	assert.Equal(t, uint64(1), s.Retention.MissedDeadlines, "the missed deadline is forgotten")
	assert.Equal(t, 1.0, d.metric(t, tech, `voxward_retention_actions_total{action="deid_deleted"}`))
	assert.Equal(t, 1.0, d.metric(t, tech, "voxward_retention_missed_deadlines_total"))
}

// A run that could not happen on time (the clock jumps 3 hours) is a
// missed deadline in status, metrics and the audit chain; the next run
// on time clears it. The job stops with the daemon.
func TestRetentionMissedDeadlineWhenTheClockJumps(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	st := newState(t)
	clk := retentionClock()
	t0 := clk.Now()
	d := start(t, st.config(), agent.WithClock(clk))
	tech := st.tokens[vault.RoleTechnician]

	step(t, clk, 3*time.Hour)
	r := d.status(t, tech).Retention
	assert.True(t, r.MissedDeadline)
	assert.False(t, r.OK)
	assert.Equal(t, 7200.0, r.LateSeconds)
	assert.Equal(t, uint64(1), r.MissedDeadlines)
	assert.Equal(t, t0.Add(3*time.Hour), r.LastMissed)
	assert.Empty(t, r.LastError, "the run itself went through")
	raw := string(d.do(t, "GET", "/v1/status", tech, "").body)
	assert.Contains(t, raw, `"missed_deadline": true`)
	assert.Contains(t, raw, `"late_seconds": 7200`)
	assert.Equal(t, 1.0, d.metric(t, tech, "voxward_retention_missed_deadline"))
	assert.Equal(t, 7200.0, d.metric(t, tech, "voxward_retention_late_seconds"))
	assert.Equal(t, 1.0, d.metric(t, tech, "voxward_retention_missed_deadlines_total"))

	step(t, clk, time.Hour)
	r = d.status(t, tech).Retention
	assert.False(t, r.MissedDeadline)
	assert.True(t, r.OK)
	assert.Zero(t, r.LateSeconds)
	assert.Equal(t, uint64(1), r.MissedDeadlines)
	assert.Equal(t, 0.0, d.metric(t, tech, "voxward_retention_missed_deadline"))
	assert.Equal(t, float64(t0.Add(4*time.Hour).Unix()), d.metric(t, tech, "voxward_retention_last_success_timestamp_seconds"))

	http.DefaultClient.CloseIdleConnections()
	require.NoError(t, d.stop(t))
	v := st.openVault(t)
	defer v.Close()
	assert.Equal(t, []string{"retention late-7200s"}, vaultAuditActions(t, v)["retention.deadline_missed"])
}

// faultyVault is the retention job's vault with failures switched on and
// off by the test.
type faultyVault struct {
	agent.RetentionStore
	failRetention atomic.Bool // ApplyRetention fails
	pending       atomic.Bool // Stats says a rotation after an erasure is pending
	failRotation  atomic.Bool // RotateKey fails
	closed        atomic.Bool // ApplyRetention finds the vault closed
	// hang, when set, makes ApplyRetention say so on entered and wait
	// until hang is closed.
	hang, entered chan struct{}
}

var errInjected = errors.New("injected vault failure")

func (f *faultyVault) ApplyRetention(a vault.Actor, p vault.RetentionPolicy) (vault.RetentionReport, error) {
	if f.failRetention.Load() {
		return vault.RetentionReport{}, errInjected
	}
	if f.hang != nil {
		f.entered <- struct{}{}
		<-f.hang
	}
	if f.closed.Load() {
		return vault.RetentionReport{}, fmt.Errorf("vault: retention: %w", vault.ErrClosed)
	}
	return f.RetentionStore.ApplyRetention(a, p)
}

func (f *faultyVault) Stats() (vault.Stats, error) {
	st, err := f.RetentionStore.Stats()
	st.RotationPending = st.RotationPending || f.pending.Load()
	return st, err
}

func (f *faultyVault) RotateKey(a vault.Actor) (uint32, error) {
	if f.failRotation.Load() {
		return 0, errInjected
	}
	e, err := f.RetentionStore.RotateKey(a)
	if err == nil {
		f.pending.Store(false)
	}
	return e, err
}

func withFaultyVault(f *faultyVault) agent.Option {
	return agent.WithRetentionStore(func(s agent.RetentionStore) agent.RetentionStore {
		f.RetentionStore = s
		return f
	})
}

// A retention job whose vault fails reports the error at once, and a
// missed deadline once no run has succeeded for longer than the schedule
// allows; a run that succeeds again clears both.
func TestRetentionFailureIsReported(t *testing.T) {
	st := newState(t)
	clk := retentionClock()
	t0 := clk.Now()
	f := &faultyVault{}
	f.failRetention.Store(true)
	d := start(t, st.config(), agent.WithClock(clk), withFaultyVault(f))
	tech := st.tokens[vault.RoleTechnician]

	r := d.status(t, tech).Retention
	assert.False(t, r.OK)
	assert.Contains(t, r.LastError, "injected vault failure")
	assert.Equal(t, uint64(1), r.Failures)
	assert.True(t, r.LastSuccess.IsZero())
	assert.False(t, r.MissedDeadline, "missed at the first attempt")
	assert.Equal(t, 1.0, d.metric(t, tech, "voxward_retention_failures_total"))
	assert.Equal(t, 0.0, d.metric(t, tech, "voxward_retention_last_success_timestamp_seconds"))

	step(t, clk, time.Hour)
	assert.False(t, d.status(t, tech).Retention.MissedDeadline, "an hour without a success is on schedule")
	step(t, clk, time.Hour)
	r = d.status(t, tech).Retention
	assert.True(t, r.MissedDeadline, "two hours without a successful run")
	assert.Equal(t, 3600.0, r.LateSeconds)
	assert.Equal(t, uint64(3), r.Failures)
	assert.Equal(t, 1.0, d.metric(t, tech, "voxward_retention_missed_deadline"))
	assert.Equal(t, 3.0, d.metric(t, tech, "voxward_retention_failures_total"))

	// The vault recovers: that run still reports the three hours since
	// the last success; the next one is clean.
	f.failRetention.Store(false)
	step(t, clk, time.Hour)
	r = d.status(t, tech).Retention
	assert.Empty(t, r.LastError)
	assert.Equal(t, t0.Add(3*time.Hour), r.LastSuccess)
	assert.True(t, r.MissedDeadline)
	step(t, clk, time.Hour)
	r = d.status(t, tech).Retention
	assert.True(t, r.OK, "%+v", r)
	assert.Equal(t, uint64(3), r.Failures)
}

// The key-encryption key is rotated on schedule, and the schedule is
// kept in the vault, so a restart neither resets nor forces it
// (PRIVACY.md rule 11).
func TestKeyRotationOnSchedule(t *testing.T) {
	st := newState(t)
	clk := retentionClock()
	t0 := clk.Now()
	cfg := st.config()
	cfg.KeyRotationInterval = agent.Duration(2 * time.Hour)
	d := start(t, cfg, agent.WithClock(clk))
	tech := st.tokens[vault.RoleTechnician]
	k := d.status(t, tech).Retention.Key
	epoch := k.Epoch
	assert.Zero(t, k.Rotations)

	step(t, clk, time.Hour)
	assert.Equal(t, epoch, d.status(t, tech).Retention.Key.Epoch, "rotated before the schedule")
	step(t, clk, time.Hour)
	s := d.status(t, tech)
	k = s.Retention.Key
	assert.Equal(t, epoch+1, k.Epoch, "not rotated on schedule")
	assert.Equal(t, epoch+1, s.Vault.KEKEpoch)
	assert.Equal(t, t0.Add(2*time.Hour), k.LastRotation)
	assert.Equal(t, t0.Add(4*time.Hour), k.NextRotation)
	assert.Equal(t, uint64(1), k.Rotations)
	assert.Equal(t, float64(epoch+1), d.metric(t, tech, "voxward_vault_kek_epoch"))
	assert.Equal(t, 1.0, d.metric(t, tech, "voxward_retention_key_rotations_total"))

	require.NoError(t, d.stop(t))
	d = start(t, cfg, agent.WithClock(clk))
	k = d.status(t, tech).Retention.Key
	assert.Equal(t, epoch+1, k.Epoch, "a restart rotated the key")
	assert.Equal(t, t0.Add(4*time.Hour), k.NextRotation)
	step(t, clk, time.Hour)
	assert.Equal(t, epoch+1, d.status(t, tech).Retention.Key.Epoch)
	step(t, clk, time.Hour)
	assert.Equal(t, epoch+2, d.status(t, tech).Retention.Key.Epoch, "the schedule did not survive a restart")

	require.NoError(t, d.stop(t))
	v := st.openVault(t)
	defer v.Close()
	assert.Equal(t, []string{"key-rotation ok", "key-rotation ok"}, vaultAuditActions(t, v)["kek.rotate"])
}

// A rotation left pending by an erasure whose rotation failed is retried
// by the job at its next run, whatever the schedule.
func TestPendingRotationIsRetried(t *testing.T) {
	st := newState(t)
	clk := retentionClock()
	f := &faultyVault{}
	f.pending.Store(true)
	f.failRotation.Store(true)
	d := start(t, st.config(), agent.WithClock(clk), withFaultyVault(f))
	tech := st.tokens[vault.RoleTechnician]

	r := d.status(t, tech).Retention
	epoch := r.Key.Epoch
	assert.False(t, r.OK)
	assert.Contains(t, r.LastError, "key rotation (pending after an erasure)")
	assert.Equal(t, 1.0, d.metric(t, tech, "voxward_vault_rotation_pending"))

	f.failRotation.Store(false)
	step(t, clk, time.Hour)
	r = d.status(t, tech).Retention
	assert.True(t, r.OK, "%+v", r)
	assert.Equal(t, epoch+1, r.Key.Epoch)
	assert.Equal(t, uint64(1), r.Key.Rotations)
	assert.Equal(t, 0.0, d.metric(t, tech, "voxward_vault_rotation_pending"))

	step(t, clk, time.Hour)
	assert.Equal(t, epoch+1, d.status(t, tech).Retention.Key.Epoch, "rotated again with nothing pending")
}

// A vault that closed under the job (a compaction that could not reopen
// the file) stops the daemon with the error, so that systemd restarts it
// rather than leave it answering without a vault.
func TestRetentionStopsTheDaemonWhenTheVaultCloses(t *testing.T) {
	st := newState(t)
	clk := retentionClock()
	f := &faultyVault{}
	d := start(t, st.config(), agent.WithClock(clk), withFaultyVault(f))
	f.closed.Store(true)
	waitJob(t, clk)
	clk.Advance(time.Hour)
	require.Eventually(t, func() bool {
		_, err := http.Get(d.base + "/v1/health")
		return err != nil
	}, 10*time.Second, 10*time.Millisecond, "the daemon still serves after its vault closed")
	err := d.stop(t)
	require.ErrorIs(t, err, vault.ErrClosed)
	assert.Contains(t, err.Error(), "retention")
}

// A run that hangs is a missed deadline as soon as it is overdue by more
// than the slack, before it returns.
func TestRetentionOverdueRunIsMissed(t *testing.T) {
	st := newState(t)
	clk := retentionClock()
	f := &faultyVault{}
	d := start(t, st.config(), agent.WithClock(clk), withFaultyVault(f))
	tech := st.tokens[vault.RoleTechnician]

	waitJob(t, clk)
	// Set before the clock lets the job call ApplyRetention again.
	f.hang, f.entered = make(chan struct{}), make(chan struct{}, 1)
	clk.Advance(time.Hour)
	<-f.entered
	clk.Advance(agent.RetentionSlack)
	r := d.status(t, tech).Retention
	assert.False(t, r.MissedDeadline, "missed within the slack")
	clk.Advance(time.Second)
	r = d.status(t, tech).Retention
	assert.True(t, r.MissedDeadline, "a run hung past the slack is not a missed deadline")
	assert.False(t, r.OK)
	assert.Equal(t, (agent.RetentionSlack + time.Second).Seconds(), r.LateSeconds)
	assert.Equal(t, 1.0, d.metric(t, tech, "voxward_retention_missed_deadline"))
	assert.Equal(t, uint64(1), r.Runs, "the hung run counted")

	close(f.hang)
	waitJob(t, clk)
	r = d.status(t, tech).Retention
	assert.Equal(t, uint64(2), r.Runs)
	assert.False(t, r.MissedDeadline, "the hung run started on time and went through")
	assert.True(t, r.OK, "%+v", r)
}
