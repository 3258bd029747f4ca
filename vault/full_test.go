package vault_test

import (
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/voxward/voxward/internal/testenv"
	"github.com/voxward/voxward/vault"
)

// TestFullDiskIsErrFull fills a real (tmpfs) file system under an open
// vault: the write that finds no space fails with ErrFull, the one error
// callers know for "no room", is rolled back whole, and once there is room
// again the vault works and verifies. Skipped where tmpfs cannot be
// mounted; TestFaultENOSPCIsErrFull injects the same error everywhere.
func TestFullDiskIsErrFull(t *testing.T) {
	dir := testenv.SmallFS(t, 2<<20)
	kp := filepath.Join(dir, vault.MasterKeyFile)
	require.NoError(t, vault.CreateKeyFile(kp))
	clk := newClock()
	s, err := vault.Open(filepath.Join(dir, vault.VaultFile), &vault.Options{Key: vault.FileKey(kp), Now: clk.Now})
	require.NoError(t, err)
	defer s.Close()
	sub, _ := enrol(t, s, "Full", embedding(rand.New(rand.NewPCG(3, 4)), 16))

	free := testenv.FillFS(t, dir)
	var full error
	stored := 0
	for range 1000 {
		if _, err := s.AddRecording(tech, sub.ID, vault.Recording{Format: "pcm_s16le", SampleRate: 16000, Audio: make([]byte, 8<<10)}); err != nil {
			full = err
			break
		}
		stored++
	}
	require.Error(t, full, "1000 recordings fitted on a full disk")
	require.ErrorIs(t, full, vault.ErrFull, "a write on a full disk")
	assert.Contains(t, full.Error(), "no space left on device", "the cause is named")

	free()
	_, err = s.AddRecording(tech, sub.ID, vault.Recording{Format: "pcm_s16le", SampleRate: 16000, Audio: make([]byte, 8<<10)})
	require.NoError(t, err, "a write once there is room again")
	rep, err := s.Verify()
	require.NoError(t, err)
	require.True(t, rep.OK(), rep.Problems)
	assert.Equal(t, stored+1, rep.Records["recording"], "the failed write left nothing behind")
}
