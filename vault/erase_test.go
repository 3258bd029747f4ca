package vault_test

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/voxward/voxward/vault"
)

var admin = vault.Actor{TokenID: "tok-admin", Role: "admin", Purpose: "erasure"}

func TestEraseSubject(t *testing.T) {
	s, e := openVault(t)
	r := rand.New(rand.NewPCG(7, 8))
	a, _ := enrol(t, s, "Alice", embedding(r, 192))
	b, bt := enrol(t, s, "Bob", embedding(r, 192))
	_, err := s.AddRecording(tech, a.ID, vault.Recording{Format: "wav", SampleRate: 16000, Audio: []byte("RIFF....WAVEfmt ")})
	require.NoError(t, err)
	sess, err := s.CreateSession(tech, "Keynote", []vault.ID{a.ID, b.ID})
	require.NoError(t, err)
	before, err := s.Stats()
	require.NoError(t, err)

	rc, err := s.EraseSubject(admin, a.ID)
	require.NoError(t, err)
	assert.Equal(t, "subject", rc.Kind)
	assert.Equal(t, a.ID.String(), rc.SubjectID)
	assert.Equal(t, map[string]int{"subject": 1, "consent": 1, "template": 1, "recording": 1, "session participation": 1}, rc.Erased)
	assert.Equal(t, before.KEKEpoch+1, rc.KEKEpoch)
	assert.True(t, rc.CompactionScheduled)
	assert.Equal(t, e.clock.Now(), rc.Time)

	// The receipt names the erasure's audit entry.
	entries, err := s.AuditEntries(rc.AuditSeq-1, 1)
	require.NoError(t, err)
	require.Len(t, entries, 1)
	assert.Equal(t, "subject.erase", entries[0].Action)
	assert.Equal(t, a.ID.String(), entries[0].RecordID)
	assert.Equal(t, rc.AuditHash, entries[0].Hash)

	_, err = s.Subject(admin, a.ID)
	require.ErrorIs(t, err, vault.ErrNotFound)
	_, err = s.ExportSubject(admin, a.ID)
	require.ErrorIs(t, err, vault.ErrNotFound)
	_, err = s.EraseSubject(admin, a.ID)
	require.ErrorIs(t, err, vault.ErrNotFound)

	// Bob is untouched; the session no longer names Alice.
	tb, err := s.Templates(tech, b.ID)
	require.NoError(t, err)
	assert.Equal(t, bt.Embedding, tb[0].Embedding)
	got, err := s.Session(tech, sess.ID)
	require.NoError(t, err)
	assert.Equal(t, []vault.ID{b.ID}, got.Participants)
	due, err := s.CompactionDue()
	require.NoError(t, err)
	assert.True(t, due)
}

// TestErasureReachesPreErasureCopy is the crypto-shredding promise: a copy
// of the vault file taken before the erasure opens nothing of the erased
// subject with the keys that remain (master secret + live keyring).
func TestErasureReachesPreErasureCopy(t *testing.T) {
	s, e := openVault(t)
	r := rand.New(rand.NewPCG(9, 10))
	a, _ := enrol(t, s, "Alice", embedding(r, 192))
	b, _ := enrol(t, s, "Bob", embedding(r, 192))

	// The copy a thief (or an old backup) keeps.
	copyDir := t.TempDir()
	copyPath := filepath.Join(copyDir, "copy.db")
	require.NoError(t, os.WriteFile(copyPath, readFile(t, e.path), 0o600))
	oldRing := readFile(t, filepath.Join(e.dir, vault.KeyringFile))

	_, err := s.EraseSubject(admin, a.ID)
	require.NoError(t, err)
	require.NoError(t, s.Close())

	// With the keys that remain, the copy does not open at all...
	o := e.opts()
	o.KeyringPath = filepath.Join(e.dir, vault.KeyringFile)
	_, err = vault.Open(copyPath, o)
	require.ErrorIs(t, err, vault.ErrKeyDestroyed)

	// ...and the record-level check in vault's internal test shows that no
	// key of the copy unwraps. Control: with the pre-erasure keyring the
	// copy opens, so the test above is not vacuous.
	ringPath := filepath.Join(copyDir, "old.keyring")
	require.NoError(t, os.WriteFile(ringPath, oldRing, 0o600))
	o.KeyringPath = ringPath
	old, err := vault.Open(copyPath, o)
	require.NoError(t, err)
	_, err = old.Subject(admin, a.ID)
	require.NoError(t, err, "control: the copy held Alice before the erasure")
	require.NoError(t, old.Close())

	s = e.open(t)
	_, err = s.Subject(admin, b.ID)
	require.NoError(t, err)
}

func TestRotateKeyKeepsData(t *testing.T) {
	s, e := openVault(t)
	r := rand.New(rand.NewPCG(11, 12))
	a, tpl := enrol(t, s, "Alice", embedding(r, 64))
	for i := range 3 {
		ep, err := s.RotateKey(admin)
		require.NoError(t, err)
		assert.Equal(t, uint32(i+2), ep)
	}
	require.NoError(t, s.Close())
	s = e.open(t)
	tpls, err := s.Templates(tech, a.ID)
	require.NoError(t, err)
	assert.Equal(t, tpl.Embedding, tpls[0].Embedding)
	st, err := s.Stats()
	require.NoError(t, err)
	assert.Equal(t, uint32(4), st.KEKEpoch)
}

// Stats says when the current key-encryption epoch began, so that a
// rotation schedule survives a restart: the vault's creation until the
// first rotation, then each rotation's time.
func TestStatsKEKRotated(t *testing.T) {
	s, e := openVault(t)
	created := e.clock.Now()
	st, err := s.Stats()
	require.NoError(t, err)
	assert.Equal(t, created, st.KEKRotated, "before any rotation")

	e.clock.Add(36*time.Hour + 1500*time.Millisecond)
	_, err = s.RotateKey(admin)
	require.NoError(t, err)
	require.NoError(t, s.Close())
	s = e.open(t)
	st, err = s.Stats()
	require.NoError(t, err)
	assert.Equal(t, uint32(2), st.KEKEpoch)
	assert.Equal(t, e.clock.Now(), st.KEKRotated, "after a rotation and a reopen")
}
