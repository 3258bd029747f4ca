package agent

import (
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/voxward/voxward/capture"
	"github.com/voxward/voxward/internal/modeltest"
	"github.com/voxward/voxward/vault"
)

// A withdrawal that lands after a session's consent checks but before it
// goes live must not leave the withdrawn subject in it: start re-checks
// its participants when a drop overlapped it.
func TestWithdrawalDuringSessionStart(t *testing.T) {
	dir := t.TempDir()
	key := filepath.Join(dir, vault.MasterKeyFile)
	require.NoError(t, vault.CreateKeyFile(key))
	store, err := vault.Open(filepath.Join(dir, vault.VaultFile), &vault.Options{Key: vault.FileKey(key)})
	require.NoError(t, err)
	defer store.Close()
	a := vault.Actor{TokenID: "t", Role: vault.RoleKiosk}
	subject := func(name string) vault.ID {
		sub, _, err := store.CreateSubject(a, vault.NewSubject{DisplayName: name, Consent: vault.Consent{
			Kind: vault.ConsentGrant, DisclosureSHA256: strings.Repeat("ab", 32), Signature: name, Purposes: []vault.Purpose{vault.PurposeRecognition}}})
		require.NoError(t, err)
		return sub.ID
	}
	ana, ben := subject("Ana"), subject("Ben")
	dev, err := capture.ParseSource("tone", nil)
	require.NoError(t, err)
	gate := capture.NewGate(dev, nil)
	defer gate.Close()
	m := modeltest.Model(t)
	s := newSessions(gate, capture.SystemClock{}, 0, newSpeakerModel(m), slog.New(slog.DiscardHandler))

	withdraw := func(id vault.ID) {
		s.drop(store, id)
		_, err := store.AppendConsent(a, id, vault.Consent{Kind: vault.ConsentWithdraw})
		require.NoError(t, err)
	}
	// Ben withdraws in the gap: the session goes live with Ana only.
	s.afterChecks = func() { withdraw(ben) }
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
	s.afterChecks = func() { withdraw(carl) }
	_, err = s.start(context.Background(), store, a, "t", []vault.ID{carl})
	require.ErrorIs(t, err, ErrParticipant)
	require.False(t, gate.Status().Open)
}
