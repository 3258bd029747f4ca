package vault

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/voxward/voxward/internal/testenv"
)

// TestFaultENOSPCIsErrFull injects the errors a full file system gives
// (as bbolt returns them from a failed write or fsync, and as it words a
// failed grow) into the commit: callers see ErrFull, nothing is written,
// and the vault works once the fault is gone. TestFullDiskIsErrFull does
// the same on a real full tmpfs where it can mount one.
func TestFaultENOSPCIsErrFull(t *testing.T) {
	dir := t.TempDir()
	kp := filepath.Join(dir, MasterKeyFile)
	require.NoError(t, CreateKeyFile(kp))
	s, err := Open(filepath.Join(dir, VaultFile), &Options{Key: FileKey(kp)})
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	sub, _, err := s.CreateSubject(actor, NewSubject{DisplayName: "Full", Consent: testConsent()})
	require.NoError(t, err)

	for _, fault := range []error{
		&os.PathError{Op: "write", Path: s.path, Err: syscall.ENOSPC},
		&os.PathError{Op: "sync", Path: s.path, Err: syscall.EDQUOT},
		fmt.Errorf("file resize error: %s", syscall.ENOSPC), // bbolt's grow
	} {
		s.commitFault = func() error { return fault }
		_, err := s.CreateSession(actor, "t", []ID{sub.ID})
		require.ErrorIs(t, err, ErrFull, "CreateSession when the commit fails with %q", fault)
		_, err = s.AddRecording(actor, sub.ID, Recording{Format: "pcm", Audio: make([]byte, 4096)})
		require.ErrorIs(t, err, ErrFull, "AddRecording when the commit fails with %q", fault)
		_, err = s.EraseSubject(actor, sub.ID)
		require.ErrorIs(t, err, ErrFull, "EraseSubject when the commit fails with %q", fault)
	}
	// Another I/O error is not "full".
	s.commitFault = func() error { return &os.PathError{Op: "write", Path: s.path, Err: syscall.EIO} }
	_, err = s.CreateSession(actor, "t", nil)
	require.Error(t, err)
	assert.False(t, errors.Is(err, ErrFull), "EIO reported as ErrFull: %v", err)

	s.commitFault = nil
	ss, err := s.Sessions(actor)
	require.NoError(t, err)
	assert.Empty(t, ss, "a failed commit left a session behind")
	_, err = s.CreateSession(actor, "t", []ID{sub.ID})
	require.NoError(t, err)
	rep, err := s.Verify()
	require.NoError(t, err)
	require.True(t, rep.OK(), rep.Problems)
}

// TestKeyringWriteENOSPCIsErrFull: the keyring is written beside the
// vault; no room for it on a real full file system is ErrFull too (and
// still ErrKeyring). Skipped where tmpfs cannot be mounted.
func TestKeyringWriteENOSPCIsErrFull(t *testing.T) {
	dir := testenv.SmallFS(t, 64<<10)
	testenv.FillFS(t, dir)
	ring := &keyring{VaultID: NewID(), Epochs: []keyringEpoch{{Epoch: 1, Salt: randomBytes(keySize)}}}
	err := writeKeyring(filepath.Join(dir, KeyringFile), ring, randomBytes(keySize))
	require.ErrorIs(t, err, ErrFull)
	assert.ErrorIs(t, err, ErrKeyring)
	assert.ErrorIs(t, err, syscall.ENOSPC)
}
