package vault

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	bolt "go.etcd.io/bbolt"
)

// TestShreddedKeyUnwrapsWithNothingLeft looks inside a pre-erasure copy:
// the erased subject's wrapped data key and every sealed record of it are
// still there, and no KEK derivable from what remains opens them.
func TestShreddedKeyUnwrapsWithNothingLeft(t *testing.T) {
	dir := t.TempDir()
	kp := filepath.Join(dir, MasterKeyFile)
	require.NoError(t, CreateKeyFile(kp))
	s, err := Open(filepath.Join(dir, VaultFile), &Options{Key: FileKey(kp)})
	require.NoError(t, err)
	defer s.Close()
	r := rand.New(rand.NewPCG(1, 1))
	emb := make([]float32, 64)
	for i := range emb {
		emb[i] = r.Float32()
	}
	sub, _, err := s.CreateSubject(SystemActor, NewSubject{DisplayName: "Alice", Consent: Consent{Kind: ConsentGrant, DisclosureSHA256: string(make64()), Signature: "A", Purposes: []Purpose{PurposeRecognition}}})
	require.NoError(t, err)
	_, err = s.AddTemplate(SystemActor, sub.ID, Template{Embedding: emb, ModelID: "m"})
	require.NoError(t, err)
	copyPath := filepath.Join(t.TempDir(), "copy.db")
	raw, err := os.ReadFile(s.path)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(copyPath, raw, 0o600))

	_, err = s.EraseSubject(SystemActor, sub.ID)
	require.NoError(t, err)

	// What remains: the master secret and the live keyring.
	master, err := FileKey(kp).MasterSecret()
	require.NoError(t, err)
	root, err := deriveRoot(master, s.vaultID)
	require.NoError(t, err)
	ring, err := readKeyring(s.keyringPath, s.ringMAC)
	require.NoError(t, err)

	db, err := bolt.Open(copyPath, 0o600, &bolt.Options{ReadOnly: true})
	require.NoError(t, err)
	defer db.Close()
	require.NoError(t, db.View(func(tx *bolt.Tx) error {
		w := tx.Bucket([]byte(bKeys)).Get(sub.ID[:])
		require.NotNil(t, w, "the copy still holds the wrapped key")
		epoch, err := wrappedEpoch(w)
		require.NoError(t, err)
		require.Nil(t, ring.salt(epoch), "the live keyring must not hold the copy's epoch")
		for _, e := range ring.Epochs {
			// Every KEK derivable now, under its own and the copy's epoch.
			for _, ep := range []uint32{e.Epoch, epoch} {
				kek, err := deriveKEK(root, s.vaultID, ep, e.Salt)
				require.NoError(t, err)
				_, err = unwrapKey(kek, s.vaultID, sub.ID, w)
				require.ErrorIs(t, err, ErrCorrupt)
			}
		}
		// The template ciphertext is in the copy and cannot be opened by
		// the keys that still exist (the system key, other subjects').
		n := 0
		require.NoError(t, tx.Bucket([]byte(kTemplate.bucket)).ForEach(func(k, v []byte) error {
			n++
			return nil
		}))
		require.Equal(t, 1, n)
		return nil
	}))
}

func make64() []byte {
	b := make([]byte, 64)
	for i := range b {
		b[i] = 'a'
	}
	return b
}
