package vault

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
	bolt "go.etcd.io/bbolt"
)

// A seal whose commit fails (as a crash or a failed write would end it)
// leaves the entries and no batch: never both, never neither.
func TestSealOutboxIsAtomic(t *testing.T) {
	dir := t.TempDir()
	kp := filepath.Join(dir, MasterKeyFile)
	require.NoError(t, CreateKeyFile(kp))
	s, err := Open(filepath.Join(dir, VaultFile), &Options{Key: FileKey(kp)})
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	_, err = s.AppendOutbox(OutboxEntry{Kind: "stats", Payload: []byte(`{"n":1}`)}, OutboxEntry{Kind: "stats", Payload: []byte(`{"n":2}`)})
	require.NoError(t, err)
	build := func(in SealInput) (SealedBatch, error) {
		sb := SealedBatch{ID: "b1", Manifest: []byte("m"), Signature: []byte("s"), Body: []byte("body")}
		for _, e := range in.Entries {
			sb.Entries = append(sb.Entries, e.Seq)
		}
		return sb, nil
	}
	s.commitFault = func() error { return &os.PathError{Op: "write", Path: s.path, Err: syscall.EIO} }
	_, _, err = s.SealOutbox(SystemActor, SealOutboxOptions{}, build)
	require.Error(t, err)
	s.commitFault = nil
	ob, err := s.Outbox(0, 0)
	require.NoError(t, err)
	require.Len(t, ob, 2, "a failed seal lost outbox entries")
	_, err = s.Batch("b1")
	require.True(t, errors.Is(err, ErrNotFound), "a failed seal left a batch: %v", err)

	_, ok, err := s.SealOutbox(SystemActor, SealOutboxOptions{}, build)
	require.NoError(t, err)
	require.True(t, ok)
	ob, err = s.Outbox(0, 0)
	require.NoError(t, err)
	require.Empty(t, ob)
	_, err = s.Batch("b1")
	require.NoError(t, err)
	rep, err := s.Verify()
	require.NoError(t, err)
	require.True(t, rep.OK(), rep.Problems)
}

// A vault made before sync batches opens read-write (the bucket is
// added) and, before that, read-only with a clear error, not "corrupt".
func TestVaultBeforeBatchesOpens(t *testing.T) {
	dir := t.TempDir()
	kp := filepath.Join(dir, MasterKeyFile)
	require.NoError(t, CreateKeyFile(kp))
	path := filepath.Join(dir, VaultFile)
	s, err := Open(path, &Options{Key: FileKey(kp)})
	require.NoError(t, err)
	require.NoError(t, s.db.Load().Update(func(tx *bolt.Tx) error { return tx.DeleteBucket([]byte(kBatch.bucket)) }))
	require.NoError(t, s.Close())

	_, err = Open(path, &Options{Key: FileKey(kp), ReadOnly: true})
	require.ErrorIs(t, err, ErrReadOnly)
	require.Contains(t, err.Error(), "read-write once")

	s, err = Open(path, &Options{Key: FileKey(kp)})
	require.NoError(t, err)
	require.NoError(t, s.Close())
	s, err = Open(path, &Options{Key: FileKey(kp), ReadOnly: true})
	require.NoError(t, err)
	rep, err := s.Verify()
	require.NoError(t, err)
	require.True(t, rep.OK(), rep.Problems)
	require.NoError(t, s.Close())
}
