package vault_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/voxward/voxward/vault"
)

func TestSetTemplateReplaces(t *testing.T) {
	s := newEnv(t).open(t)
	a := vault.Actor{TokenID: "t", Role: vault.RoleTechnician}
	sub, _, err := s.CreateSubject(a, vault.NewSubject{DisplayName: "S", Consent: vault.Consent{
		Kind: vault.ConsentGrant, DisclosureSHA256: strings.Repeat("ab", 32), Signature: "S", Purposes: []vault.Purpose{vault.PurposeRecognition}}})
	require.NoError(t, err)
	_, err = s.AddTemplate(a, sub.ID, vault.Template{Embedding: []float32{1, 0}, ModelID: "m"})
	require.NoError(t, err)
	_, err = s.AddTemplate(a, sub.ID, vault.Template{Embedding: []float32{0, 1}, ModelID: "m"})
	require.NoError(t, err)
	got, n, err := s.SetTemplate(a, sub.ID, vault.Template{Embedding: []float32{0.6, 0.8}, ModelID: "m", Quality: map[string]float64{"speech_seconds": 9}})
	require.NoError(t, err)
	require.Equal(t, 2, n)
	ts, err := s.Templates(a, sub.ID)
	require.NoError(t, err)
	require.Len(t, ts, 1)
	require.Equal(t, got.ID, ts[0].ID)
	require.Equal(t, []float32{0.6, 0.8}, ts[0].Embedding)
	require.Equal(t, 9.0, ts[0].Quality["speech_seconds"])
	_, _, err = s.SetTemplate(a, vault.NewID(), vault.Template{Embedding: []float32{1}, ModelID: "m"})
	require.ErrorIs(t, err, vault.ErrNotFound)
}
