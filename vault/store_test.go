package vault_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/voxward/voxward/vault"
)

func TestOpenCreatesAndReopens(t *testing.T) {
	e := newEnv(t)
	s, err := vault.Open(e.path, e.opts())
	require.NoError(t, err)
	r := rand.New(rand.NewPCG(1, 2))
	emb := embedding(r, 192)
	sub, tpl := enrol(t, s, "Alice", emb)
	require.NoError(t, s.Close())

	for _, name := range []string{vault.VaultFile, vault.KeyringFile} {
		fi, err := os.Stat(filepath.Join(e.dir, name))
		require.NoError(t, err)
		assert.Equalf(t, os.FileMode(0o600), fi.Mode().Perm(), "mode of %s", name)
	}

	s = e.open(t)
	got, err := s.Subject(tech, sub.ID)
	require.NoError(t, err)
	assert.Equal(t, "Alice", got.DisplayName)
	tpls, err := s.Templates(tech, sub.ID)
	require.NoError(t, err)
	require.Len(t, tpls, 1)
	assert.Equal(t, tpl.ID, tpls[0].ID)
	assert.Equal(t, emb, tpls[0].Embedding)
}

func TestOpenSecondProcessFailsFast(t *testing.T) {
	s, e := openVault(t)
	_ = s
	o := e.opts()
	o.LockTimeout = 50 * time.Millisecond
	start := time.Now()
	_, err := vault.Open(e.path, o)
	require.ErrorIs(t, err, vault.ErrLocked)
	assert.Less(t, time.Since(start), 5*time.Second)
	assert.Contains(t, err.Error(), "voxward serve")
}

func TestOpenWrongKey(t *testing.T) {
	e := newEnv(t)
	s, err := vault.Open(e.path, e.opts())
	require.NoError(t, err)
	require.NoError(t, s.Close())

	other := filepath.Join(t.TempDir(), "other.key")
	require.NoError(t, vault.CreateKeyFile(other))
	o := e.opts()
	o.Key = vault.FileKey(other)
	_, err = vault.Open(e.path, o)
	require.ErrorIs(t, err, vault.ErrWrongKey)
}

func TestKeyFileMode(t *testing.T) {
	dir := t.TempDir()
	kp := filepath.Join(dir, "k")
	require.NoError(t, vault.CreateKeyFile(kp))
	require.ErrorIs(t, vault.CreateKeyFile(kp), os.ErrExist)
	fi, err := os.Stat(kp)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())

	for _, mode := range []os.FileMode{0o640, 0o604, 0o644} {
		require.NoError(t, os.Chmod(kp, mode))
		_, err := vault.FileKey(kp).MasterSecret()
		assert.ErrorIsf(t, err, vault.ErrKeyPermissions, "mode %04o", mode)
		_, err = vault.Open(filepath.Join(dir, "v.db"), &vault.Options{Key: vault.FileKey(kp)})
		assert.ErrorIs(t, err, vault.ErrKeyPermissions)
	}
	require.NoError(t, os.Chmod(kp, 0o400))
	sec, err := vault.FileKey(kp).MasterSecret()
	require.NoError(t, err)
	assert.Len(t, sec, 32)
	assert.Equal(t, "[redacted]", sec.String())
}

func TestKeySources(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, vault.CreateKeyFile(filepath.Join(dir, vault.CredentialName)))
	t.Setenv("CREDENTIALS_DIRECTORY", dir)
	ks := vault.DefaultKeySource(t.TempDir())
	assert.Equal(t, vault.CredentialKey(vault.CredentialName), ks)
	a, err := ks.MasterSecret()
	require.NoError(t, err)

	t.Setenv("VOXWARD_TEST_KEY", "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")
	b, err := vault.EnvKey("VOXWARD_TEST_KEY").MasterSecret()
	require.NoError(t, err)
	assert.Len(t, b, 32)
	assert.NotEqual(t, a, b)

	_, err = vault.EnvKey("VOXWARD_TEST_KEY_UNSET").MasterSecret()
	assert.ErrorIs(t, err, vault.ErrNoKey)
	t.Setenv("VOXWARD_TEST_KEY", "short")
	_, err = vault.EnvKey("VOXWARD_TEST_KEY").MasterSecret()
	assert.ErrorIs(t, err, vault.ErrNoKey)
	_, err = vault.CredentialKey("../etc").MasterSecret()
	assert.ErrorIs(t, err, vault.ErrInvalid)
}

func TestMissingKeyringRefused(t *testing.T) {
	s, e := openVault(t)
	enrol(t, s, "Bob", embedding(rand.New(rand.NewPCG(3, 4)), 32))
	require.NoError(t, s.Close())
	kr := filepath.Join(e.dir, vault.KeyringFile)
	require.NoError(t, os.Rename(kr, kr+".away"))
	_, err := vault.Open(e.path, e.opts())
	require.ErrorIs(t, err, vault.ErrKeyring)
	require.NoError(t, os.Rename(kr+".away", kr))
	// A keyring without its vault file is refused too (never overwritten).
	_, err = vault.Open(filepath.Join(e.dir, "fresh.db"), e.opts())
	require.ErrorIs(t, err, vault.ErrKeyring)
	s2, err := vault.Open(e.path, e.opts())
	require.NoError(t, err)
	require.NoError(t, s2.Close())
}

func TestDiskBudget(t *testing.T) {
	e := newEnv(t)
	o := e.opts()
	o.MaxSize = 1 << 20
	s, err := vault.Open(e.path, o)
	require.NoError(t, err)
	sub, _ := enrol(t, s, "Carol", embedding(rand.New(rand.NewPCG(5, 6)), 64))
	audio := make([]byte, 96<<10)
	var stored []vault.ID
	var full error
	for range 100 {
		rec, err := s.AddRecording(tech, sub.ID, vault.Recording{Format: "pcm_s16le", SampleRate: 16000, Audio: audio})
		if err != nil {
			full = err
			break
		}
		stored = append(stored, rec.ID)
	}
	require.ErrorIs(t, full, vault.ErrFull)
	require.NotEmpty(t, stored)
	_, before, err := auditHead(s)
	require.NoError(t, err)
	fi, err := os.Stat(e.path)
	require.NoError(t, err)
	assert.LessOrEqual(t, fi.Size(), int64(o.MaxSize))

	// Nothing half-written: the store still works, verifies, and a small
	// write still fits.
	rep, err := s.Verify()
	require.NoError(t, err)
	require.True(t, rep.OK(), rep.Problems)
	assert.Equal(t, len(stored), rep.Records["recording"])
	require.NoError(t, s.Close())

	s, err = vault.Open(e.path, o)
	require.NoError(t, err)
	defer s.Close()
	for _, id := range stored {
		_, err := s.Recording(tech, sub.ID, id)
		require.NoError(t, err)
	}
	n, after, err := auditHead(s)
	require.NoError(t, err)
	assert.Greater(t, n, uint64(0))
	assert.NotEqual(t, before, after)
	_, err = s.VerifyAudit()
	require.NoError(t, err)
}

func auditHead(s *vault.Store) (uint64, string, error) {
	es, err := s.AuditEntries(0, 0)
	if err != nil || len(es) == 0 {
		return 0, "", errors.Join(err, errors.New("no audit entries"))
	}
	return es[len(es)-1].Seq, es[len(es)-1].Hash, nil
}

// TestEraseWhenFull: a subject's erasure must work on a vault that has hit
// its disk budget, whether it was filled by large or by small writes.
func TestEraseWhenFull(t *testing.T) {
	for _, audio := range []int{40 << 10, 0} {
		t.Run(fmt.Sprintf("audio=%d", audio), func(t *testing.T) {
			e := newEnv(t)
			o := e.opts()
			o.MaxSize = 512 << 10
			s, err := vault.Open(e.path, o)
			require.NoError(t, err)
			defer s.Close()
			var subs []vault.ID
			for {
				sub, _, err := s.CreateSubject(tech, vault.NewSubject{DisplayName: "F", Consent: consent()})
				if err != nil {
					require.ErrorIs(t, err, vault.ErrFull)
					break
				}
				subs = append(subs, sub.ID)
				if audio == 0 {
					continue
				}
				if _, err := s.AddRecording(tech, sub.ID, vault.Recording{Format: "pcm", Audio: make([]byte, audio)}); err != nil {
					require.ErrorIs(t, err, vault.ErrFull)
					audio = 0 // fill the rest with small writes
				}
			}
			require.Greater(t, len(subs), 10)
			// Full: ordinary writes are refused, withdrawals and erasures
			// (each with its key rotation) still go through.
			_, _, err = s.CreateSubject(tech, vault.NewSubject{DisplayName: "G", Consent: consent()})
			require.ErrorIs(t, err, vault.ErrFull)
			_, err = s.AppendConsent(tech, subs[10], vault.Consent{Kind: vault.ConsentWithdraw})
			require.NoError(t, err, "a withdrawal must succeed on a full vault")
			for _, id := range subs[:10] {
				_, err = s.EraseSubject(admin, id)
				require.NoError(t, err, "an erasure must succeed on a full vault")
			}
			rep0, err := s.ApplyRetention(system, vault.RetentionPolicy{})
			require.NoError(t, err)
			require.Equal(t, 1, rep0.Erased, "retention erases the withdrawn subject")
			rep, err := s.Verify()
			require.NoError(t, err)
			require.True(t, rep.OK(), rep.Problems)
		})
	}
}

func TestOpenLeavesIntactFileAlone(t *testing.T) {
	s, e := openVault(t)
	enrol(t, s, "Ida", embedding(rand.New(rand.NewPCG(7, 7)), 16))
	require.NoError(t, s.Close())
	before := readFile(t, e.path)
	ring := readFile(t, filepath.Join(e.dir, vault.KeyringFile))

	// Read-write open and close of an intact vault: not a byte changes.
	s, err := vault.Open(e.path, e.opts())
	require.NoError(t, err)
	require.NoError(t, s.Close())
	assert.Equal(t, before, readFile(t, e.path))

	// Read-only: verify, stats and backup work; writes are refused.
	o := e.opts()
	o.ReadOnly = true
	ro, err := vault.Open(e.path, o)
	require.NoError(t, err)
	rep, err := ro.Verify()
	require.NoError(t, err)
	assert.True(t, rep.OK(), rep.Problems)
	_, err = ro.Stats()
	require.NoError(t, err)
	_, _, err = ro.CreateSubject(tech, vault.NewSubject{DisplayName: "J", Consent: consent()})
	require.ErrorIs(t, err, vault.ErrReadOnly)
	_, err = ro.RotateKey(admin)
	require.ErrorIs(t, err, vault.ErrReadOnly)
	_, _, err = ro.Compact()
	require.ErrorIs(t, err, vault.ErrReadOnly)
	// A second reader may share the file; a writer may not.
	ro2, err := vault.Open(e.path, o)
	require.NoError(t, err)
	require.NoError(t, ro2.Close())
	w := e.opts()
	w.LockTimeout = 50 * time.Millisecond
	_, err = vault.Open(e.path, w)
	require.ErrorIs(t, err, vault.ErrLocked)
	require.NoError(t, ro.Close())
	assert.Equal(t, before, readFile(t, e.path))
	assert.Equal(t, ring, readFile(t, filepath.Join(e.dir, vault.KeyringFile)))

	// A read-only open never creates a vault.
	_, err = vault.Open(filepath.Join(t.TempDir(), "none.db"), o)
	require.Error(t, err)
}

func TestOpenRemovesLeftoverTemporaries(t *testing.T) {
	s, e := openVault(t)
	require.NoError(t, s.Close())
	litter := []string{
		filepath.Join(e.dir, "."+vault.KeyringFile+".tmp-123"),
		filepath.Join(e.dir, "."+vault.VaultFile+".compact-456"),
	}
	for _, f := range litter {
		require.NoError(t, os.WriteFile(f, []byte("old salt"), 0o600))
	}
	keep := filepath.Join(e.dir, "unrelated.txt")
	require.NoError(t, os.WriteFile(keep, []byte("x"), 0o600))
	s, err := vault.Open(e.path, e.opts())
	require.NoError(t, err)
	require.NoError(t, s.Close())
	for _, f := range litter {
		assert.NoFileExists(t, f)
	}
	assert.FileExists(t, keep)
}
