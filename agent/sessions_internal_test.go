package agent

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/voxward/voxward/capture"
	"github.com/voxward/voxward/dsp/voiceprint"
	"github.com/voxward/voxward/internal/modeltest"
	"github.com/voxward/voxward/vault"
)

// A withdrawal that lands after a session's consent checks but before it
// goes live must not leave the withdrawn subject in it: start re-checks
// its participants when a drop overlapped it.
func TestWithdrawalDuringSessionStart(t *testing.T) {
	store := testVault(t)
	a := vault.Actor{TokenID: "t", Role: vault.RoleKiosk}
	subject := func(name string) vault.ID { return consenting(t, store, a, name, vault.PurposeRecognition) }
	ana, ben := subject("Ana"), subject("Ben")
	s, gate := toneSessions(t, modeltest.Model(t))

	withdraw := func(id vault.ID) {
		s.drop(store, id)
		_, err := store.AppendConsent(a, id, vault.Consent{Kind: vault.ConsentWithdraw})
		require.NoError(t, err)
	}
	// Ben withdraws in the gap: the session goes live with Ana only.
	s.afterChecks = func(*liveSession) { withdraw(ben) }
	sess, err := s.start(context.Background(), store, a, "t", []vault.ID{ana, ben})
	require.NoError(t, err)
	s.mu.Lock()
	ls := s.live[sess.ID]
	require.True(t, ls.consenting[ana])
	require.False(t, ls.consenting[ben], "a subject who withdrew during start is in the live session")
	s.mu.Unlock()
	_, err = s.stop(store, a, sess.ID)
	require.NoError(t, err)

	// Everybody withdraws in the gap: the session is refused and the source closed.
	carl := subject("Carl")
	s.afterChecks = func(*liveSession) { withdraw(carl) }
	_, err = s.start(context.Background(), store, a, "t", []vault.ID{carl})
	require.ErrorIs(t, err, ErrParticipant)
	require.False(t, gate.Status().Open)
}

// A session's scorer adds the box's other enrolled voices to its s-norm
// cohort and its venue thresholds, each a different person (never its own
// participants, never restricted or withdrawn subjects), and a subject
// whose consent ends leaves every session's cohort at once, their copy
// wiped.
func TestSessionCohortOfOtherEnrolledVoices(t *testing.T) {
	box := newVoiceBox(t, 3)
	store, a, m := box.store, box.a, box.m
	enrolled := func(name string, purposes ...vault.Purpose) vault.ID {
		return box.enrolled(t, name, nil, purposes...)
	}
	ana := enrolled("Ana", vault.PurposeRecognition)
	ben := enrolled("Ben", vault.PurposeRecognition)
	cid := enrolled("Cid", vault.PurposeRecognition, vault.PurposeResearch)
	dee := enrolled("Dee", vault.PurposeResearch) // no recognition consent: never used
	eve := enrolled("Eve", vault.PurposeRecognition)
	_, err := store.SetStatus(a, eve, vault.StatusRestricted)
	require.NoError(t, err)

	base := voiceprint.NewScorer(m)
	s, _ := toneSessions(t, m)
	sess, ls := startLive(t, s, store, a, ana)
	s.mu.Lock()
	require.ElementsMatch(t, []vault.ID{ben, cid}, slices.Collect(maps.Keys(ls.cohort)), "the cohort: other voices in force with recognition consent")
	require.NotContains(t, ls.cohort, dee)
	require.Equal(t, base.CohortSize()+2, ls.sc.CohortSize())
	require.Equal(t, 1, ls.sc.VenuePairs(), "the cohort's voices set thresholds as different people (Ben, Cid)")
	s.mu.Unlock()
	st := s.status()
	require.Len(t, st, 1)
	require.Equal(t, 2, st[0].VenueVoices)
	require.Equal(t, "model", st[0].ThresholdFrom, "one pair of people is too few")
	s.mu.Lock()
	require.Len(t, ls.cands, 1)
	require.Equal(t, ls.sc.CohortNorm(ls.cands[0].Emb), ls.cands[0].Norm, "candidates are normalised with the session's scorer")
	benCopy := ls.cohort[ben].Emb
	old := ls.sc
	s.mu.Unlock()

	s.drop(store, ben)
	s.mu.Lock()
	require.NotContains(t, ls.cohort, ben, "a subject whose consent ended leaves the cohort at once")
	require.Equal(t, base.CohortSize()+1, ls.sc.CohortSize())
	require.Zero(t, ls.sc.VenuePairs(), "no pair of different people left")
	require.NotSame(t, old, ls.sc)
	require.True(t, old.Wiped(), "the replaced scorer's copies of the venue's voices are wiped")
	require.False(t, ls.sc.Wiped(), "Cid's voice is still in the venue")
	require.Zero(t, slices.IndexFunc(benCopy, func(x float32) bool { return x != 0 }) >= 0, "their copy is wiped")
	require.True(t, ls.consenting[ana], "a cohort voice leaving does not touch the participants")
	s.mu.Unlock()
	_, err = s.stop(store, a, sess.ID)
	require.NoError(t, err)
}

// A cohort voice whose consent ends leaves the session's scorer under the
// lock, but the scorer is built again outside it, so that live turns do
// not wait for it; the session names nobody meanwhile. A second drop
// during that rebuild makes the first rebuild's scorer, which still holds
// the second voice, be thrown away, wiped, not installed.
func TestCohortDropRebuildsOutsideTheLock(t *testing.T) {
	box := newVoiceBox(t, 5)
	store, a, m := box.store, box.a, box.m
	ana := box.enrolled(t, "Ana", nil, vault.PurposeRecognition)
	ben := box.enrolled(t, "Ben", nil, vault.PurposeRecognition)
	cid := box.enrolled(t, "Cid", nil, vault.PurposeRecognition)
	box.enrolled(t, "Dee", nil, vault.PurposeRecognition)
	base := voiceprint.NewScorer(m)
	s, _ := toneSessions(t, m)
	sess, ls := startLive(t, s, store, a, ana)
	s.mu.Lock()
	require.Equal(t, base.CohortSize()+3, ls.sc.CohortSize())
	benCopy, cidCopy := ls.cohort[ben].Emb, ls.cohort[cid].Emb
	s.mu.Unlock()

	var installs, discards atomic.Int32
	s.afterRebuild = func(ls *liveSession, sc *voiceprint.Scorer, installed bool) {
		if !installed {
			discards.Add(1)
			assert.True(t, sc.Wiped(), "a scorer built from an older cohort holds Cid's voice: it is wiped")
			return
		}
		installs.Add(1)
		assert.Equal(t, base.CohortSize()+len(ls.cohort), ls.sc.CohortSize(), "an installed scorer holds exactly the cohort's voices")
	}
	var second chan struct{}
	s.duringRebuild = func(ls *liveSession) {
		s.duringRebuild = nil
		require.True(t, s.mu.TryLock(), "the scorer is rebuilt outside the sessions' lock")
		require.Nil(t, ls.sc, "the session names nobody while its scorer is rebuilt")
		s.mu.Unlock()
		st := s.status()
		require.Len(t, st, 1)
		require.Nil(t, st[0].LabelThreshold)
		second = make(chan struct{})
		go func() {
			defer close(second)
			s.drop(store, cid)
		}()
		require.Eventually(t, func() bool {
			s.mu.Lock()
			defer s.mu.Unlock()
			_, in := ls.cohort[cid]
			return !in
		}, 10*time.Second, time.Millisecond, "Cid leaves the cohort while Ben's rebuild waits")
	}
	s.drop(store, ben)
	<-second
	require.Equal(t, int32(1), installs.Load(), "only the scorer built after both drops is installed")
	require.Equal(t, int32(1), discards.Load(), "the scorer built after Ben's drop alone is thrown away")
	s.mu.Lock()
	require.NotNil(t, ls.sc)
	require.Equal(t, base.CohortSize()+1, ls.sc.CohortSize(), "Dee only")
	require.True(t, ls.consenting[ana])
	s.mu.Unlock()
	for _, c := range [][]float32{benCopy, cidCopy} {
		require.False(t, slices.ContainsFunc(c, func(x float32) bool { return x != 0 }), "a dropped voice's copy is wiped")
	}
	_, err := s.stop(store, a, sess.ID)
	require.NoError(t, err)
}

// A session's scorer is built before it goes live, outside the sessions'
// lock; a cohort voice whose consent ends in between is taken out under
// the lock, the scorer built again without it, and the first one wiped.
func TestCohortWithdrawalDuringSessionStart(t *testing.T) {
	box := newVoiceBox(t, 5)
	store, a, m := box.store, box.a, box.m
	ana := box.enrolled(t, "Ana", nil, vault.PurposeRecognition)
	ben := box.enrolled(t, "Ben", nil, vault.PurposeRecognition)
	box.enrolled(t, "Cid", nil, vault.PurposeRecognition)
	base := voiceprint.NewScorer(m)
	s, _ := toneSessions(t, m)
	var built *voiceprint.Scorer
	var benCopy []float32
	s.afterChecks = func(ls *liveSession) {
		built, benCopy = ls.sc, ls.cohort[ben].Emb
		require.Equal(t, base.CohortSize()+2, built.CohortSize(), "built before the lock with Ben and Cid")
		s.drop(store, ben)
		_, err := store.AppendConsent(a, ben, vault.Consent{Kind: vault.ConsentWithdraw})
		require.NoError(t, err)
	}
	sess, err := s.start(context.Background(), store, a, "t", []vault.ID{ana})
	require.NoError(t, err)
	s.mu.Lock()
	ls := s.live[sess.ID]
	require.NotContains(t, ls.cohort, ben)
	require.Equal(t, base.CohortSize()+1, ls.sc.CohortSize(), "the live scorer holds Cid only")
	require.NotSame(t, built, ls.sc)
	require.True(t, built.Wiped(), "the scorer built with Ben is wiped")
	require.Negative(t, slices.IndexFunc(benCopy, func(x float32) bool { return x != 0 }), "Ben's copy is wiped")
	require.Equal(t, ls.sc.CohortNorm(ls.cands[0].Emb), ls.cands[0].Norm, "the candidate is normalised with the live scorer")
	s.mu.Unlock()
	_, err = s.stop(store, a, sess.ID)
	require.NoError(t, err)
}

// toneSessions returns live sessions of model m over a generated tone
// source behind a consent gate (closed when the test ends).
func toneSessions(t *testing.T, m *voiceprint.Model) (*sessions, *capture.Gate) {
	t.Helper()
	dev, err := capture.ParseSource("tone", nil)
	require.NoError(t, err)
	gate := capture.NewGate(dev, nil)
	t.Cleanup(func() { gate.Close() })
	return newSessions(gate, capture.SystemClock{}, 0, newSpeakerModel(m), slog.New(slog.DiscardHandler)), gate
}

// testVault opens a new vault in a temporary directory, closed when the
// test ends.
func testVault(t *testing.T) *vault.Store {
	t.Helper()
	dir := t.TempDir()
	key := filepath.Join(dir, vault.MasterKeyFile)
	require.NoError(t, vault.CreateKeyFile(key))
	store, err := vault.Open(filepath.Join(dir, vault.VaultFile), &vault.Options{Key: vault.FileKey(key)})
	require.NoError(t, err)
	t.Cleanup(func() { store.Close() })
	return store
}

// voiceBox is what the session tests work on: a vault, a technician, the
// shipped model, and seeded random voiceprints to enrol subjects with.
type voiceBox struct {
	store *vault.Store
	a     vault.Actor
	m     *voiceprint.Model
	r     *rand.Rand
}

func newVoiceBox(t *testing.T, seed uint64) *voiceBox {
	return &voiceBox{store: testVault(t), a: vault.Actor{TokenID: "t", Role: vault.RoleTechnician},
		m: modeltest.Model(t), r: rand.New(rand.NewPCG(seed, seed+1))}
}

// enrolled stores a subject who consented to purposes, with a random unit
// voiceprint of the model as their template, of the given quality.
func (b *voiceBox) enrolled(t *testing.T, name string, quality map[string]float64, purposes ...vault.Purpose) vault.ID {
	t.Helper()
	return b.enrolledNear(t, name, nil, quality, purposes...)
}

// enrolledNear is enrolled with a voiceprint around centre (a unit
// vector; nil: anywhere): centre plus a small random offset.
func (b *voiceBox) enrolledNear(t *testing.T, name string, centre []float32, quality map[string]float64, purposes ...vault.Purpose) vault.ID {
	t.Helper()
	id := consenting(t, b.store, b.a, name, purposes...)
	v := make([]float32, b.m.EmbeddingDim())
	for i := range v {
		v[i] = float32(b.r.NormFloat64())
	}
	if centre != nil {
		scale := float32(0.5 / math.Sqrt(float64(len(v))))
		for i := range v {
			v[i] = centre[i] + scale*v[i]
		}
	}
	b.m.Normalize(v)
	_, err := b.store.AddTemplate(b.a, id, vault.Template{ModelID: b.m.Config.ID, Embedding: v, Quality: quality})
	require.NoError(t, err)
	return id
}

// A session whose venue is too small for a threshold of its own (six
// other voices) but whose voices score high against each other, as one
// language's speakers do on an English model, labels at the threshold a
// fit to their pairs raises the model's to, and its status says so
// ("venue-fit").
func TestSessionVenueFit(t *testing.T) {
	box := newVoiceBox(t, 11)
	store, a, m := box.store, box.a, box.m
	ana := box.enrolled(t, "Ana", nil, vault.PurposeRecognition)
	centre := make([]float32, m.EmbeddingDim())
	for i := range centre {
		centre[i] = float32(box.r.NormFloat64())
	}
	m.Normalize(centre)
	for i := range 6 {
		box.enrolledNear(t, fmt.Sprint("Voice ", i), centre, nil, vault.PurposeRecognition)
	}
	s, _ := toneSessions(t, m)
	sess, ls := startLive(t, s, store, a, ana)
	model, err := voiceprint.NewScorer(m).IdentifyThresholds(LabelFAR, 1)
	require.NoError(t, err)
	s.mu.Lock()
	require.Len(t, ls.cohort, 6)
	got, err := ls.sc.IdentifyThresholds(LabelFAR, 1)
	require.NoError(t, err)
	assert.False(t, ls.sc.VenueCalibrated(LabelFAR, 1), "six people are too few for a threshold of their own")
	assert.Greater(t, got.Any, model.Any, "the fit raises the model's threshold")
	s.mu.Unlock()
	st := s.status()
	require.Len(t, st, 1)
	assert.Equal(t, voiceprint.FromVenueFit, st[0].ThresholdFrom)
	require.NotNil(t, st[0].LabelThreshold)
	assert.InDelta(t, got.Any, *st[0].LabelThreshold, 0.0005, "the status shows the threshold labels use")
	_, err = s.stop(store, a, sess.ID)
	require.NoError(t, err)
}

// A session's venue knows the band of each voice: with 24 other voices
// all enrolled from 8 kHz audio, their pairs are band-limited ones, so
// they set the band-limited threshold, and the general one stays the
// model's.
func TestSessionVenueBands(t *testing.T) {
	box := newVoiceBox(t, 7)
	store, a, m := box.store, box.a, box.m
	ana := box.enrolled(t, "Ana", nil, vault.PurposeRecognition)
	for i := range 24 {
		box.enrolled(t, fmt.Sprint("Voice ", i), map[string]float64{"bandwidth_hz": 4000}, vault.PurposeRecognition)
	}
	s, _ := toneSessions(t, m)
	sess, err := s.start(context.Background(), store, a, "t", []vault.ID{ana})
	require.NoError(t, err)
	s.mu.Lock()
	defer s.mu.Unlock()
	ls := s.live[sess.ID]
	require.Len(t, ls.cohort, 24)
	for id, c := range ls.cohort {
		require.True(t, c.BandLimited, "cohort voice %s", id)
	}
	model, err := voiceprint.NewScorer(m).IdentifyThresholds(LabelFAR, 1)
	require.NoError(t, err)
	got, err := ls.sc.IdentifyThresholds(LabelFAR, 1)
	require.NoError(t, err)
	assert.False(t, ls.sc.VenueCalibrated(LabelFAR, 1), "no general pair: the general threshold is the model's")
	assert.Equal(t, model.Any, got.Any)
	assert.NotEqual(t, model.BandLimited, got.BandLimited, "the venue's band-limited pairs set that threshold")
	assert.True(t, ls.sc.VenueCalibratedBandLimited(LabelFAR, 1))
	s.mu.Unlock()
	st := s.status()
	s.mu.Lock()
	require.Len(t, st, 1)
	assert.Equal(t, "model", st[0].ThresholdFrom)
	assert.Equal(t, "venue", st[0].ThresholdBandLimitedFrom)
}

// startLive starts a session of the participants and returns it with
// its live state (read it under s.mu).
func startLive(t *testing.T, s *sessions, store *vault.Store, a vault.Actor, participants ...vault.ID) (vault.Session, *liveSession) {
	t.Helper()
	sess, err := s.start(context.Background(), store, a, "t", participants)
	require.NoError(t, err)
	s.mu.Lock()
	defer s.mu.Unlock()
	return sess, s.live[sess.ID]
}

// consenting stores a subject who consented to purposes.
func consenting(t *testing.T, store *vault.Store, a vault.Actor, name string, purposes ...vault.Purpose) vault.ID {
	t.Helper()
	sub, _, err := store.CreateSubject(a, vault.NewSubject{DisplayName: name, Consent: vault.Consent{
		Kind: vault.ConsentGrant, DisclosureSHA256: strings.Repeat("ab", 32), Signature: name, Purposes: purposes}})
	require.NoError(t, err)
	return sub.ID
}

// A participant whose consent ends mid-session leaves the candidates with
// their voiceprint and its compact matching copy zeroed, while the session
// goes on for the others.
func TestSessionDropWipesParticipantCopies(t *testing.T) {
	box := newVoiceBox(t, 5)
	store, a, m := box.store, box.a, box.m
	var ids []vault.ID
	for _, name := range []string{"Ana", "Fay"} {
		ids = append(ids, box.enrolled(t, name, nil, vault.PurposeRecognition))
	}
	dev, err := capture.ParseSource("tone", nil)
	require.NoError(t, err)
	gate := capture.NewGate(dev, nil)
	defer gate.Close()
	s := newSessions(gate, capture.SystemClock{}, 0, newSpeakerModel(m), slog.New(slog.DiscardHandler))
	sess, err := s.start(context.Background(), store, a, "t", ids)
	require.NoError(t, err)
	s.mu.Lock()
	ls := s.live[sess.ID]
	require.Len(t, ls.cands, 2)
	byID := map[string]voiceprint.Candidate{}
	for _, c := range ls.cands {
		require.False(t, c.Wiped())
		byID[c.ID] = c
	}
	s.mu.Unlock()

	require.Empty(t, s.drop(store, ids[0]), "the session goes on for Fay")
	s.mu.Lock()
	require.Len(t, ls.cands, 1)
	require.True(t, byID[ids[0].String()].Wiped(), "Ana's voiceprint and its int8 copy are zeroed")
	require.False(t, byID[ids[1].String()].Wiped(), "Fay's are untouched")
	s.mu.Unlock()
	_, err = s.stop(store, a, sess.ID)
	require.NoError(t, err)
}
