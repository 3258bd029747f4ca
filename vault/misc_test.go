package vault_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/voxward/voxward/vault"
)

// TestSecretTypesRedact logs and prints every type that holds a secret or
// an identifier: none of them may show it.
func TestSecretTypesRedact(t *testing.T) {
	const secret = "Marker-Secret-Value-0123456789abcdef"
	emb := []float32{1.25, 2.5}
	values := map[string]any{
		"secret":    vault.Secret(secret),
		"deletion":  vault.DeletionToken(secret),
		"bearer":    vault.BearerToken(secret),
		"subject":   vault.Subject{DisplayName: secret, Contact: secret},
		"consent":   vault.Consent{Signature: secret},
		"template":  vault.Template{ModelID: "m", Embedding: emb},
		"deid":      vault.DeidTemplate{ModelID: "m", Embedding: emb},
		"recording": vault.Recording{Audio: []byte(secret)},
		"session":   vault.Session{Title: secret},
	}
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	for name, v := range values {
		log.Info("value", name, v)
		if s, ok := v.(fmt.Stringer); ok {
			fmt.Fprint(&buf, s.String())
		}
	}
	fmt.Fprintf(&buf, "%v %s %#v", vault.Secret(secret), vault.Secret(secret), vault.Secret(secret))
	assert.NotContains(t, buf.String(), secret)
	assert.NotContains(t, buf.String(), "1.25")
	assert.Contains(t, buf.String(), "[redacted]")
}

func TestSessionsAndAudit(t *testing.T) {
	s, _ := openVault(t)
	r := rand.New(rand.NewPCG(71, 72))
	a, _ := enrol(t, s, "Kim", embedding(r, 8))
	ss, err := s.CreateSession(tech, "Town hall", []vault.ID{a.ID})
	require.NoError(t, err)
	_, err = s.CreateSession(tech, "Ghost", []vault.ID{vault.NewID()})
	require.ErrorIs(t, err, vault.ErrNotFound)
	stopped, err := s.StopSession(tech, ss.ID, map[string]vault.TurnStats{a.ID.String(): {Turns: 3, Seconds: 41.5}})
	require.NoError(t, err)
	assert.False(t, stopped.Stopped.IsZero())
	all, err := s.Sessions(tech)
	require.NoError(t, err)
	require.Len(t, all, 1)
	assert.Equal(t, 3, all[0].Turns[a.ID.String()].Turns)
	ex, err := s.ExportSubject(admin, a.ID)
	require.NoError(t, err)
	require.Len(t, ex.Sessions, 1)
	assert.Equal(t, 41.5, ex.Sessions[0].Turns.Seconds)

	// Events from outside the vault (a live match) join the chain.
	require.NoError(t, s.Audit(tech, "match", a.ID.String(), "ok"))
	require.ErrorIs(t, s.Audit(tech, "match by name", "", "ok"), vault.ErrInvalid)
	n, err := s.VerifyAudit()
	require.NoError(t, err)
	es, err := s.AuditEntries(n-1, 0)
	require.NoError(t, err)
	require.Len(t, es, 1)
	assert.Equal(t, "match", es[0].Action)
	assert.NotEmpty(t, s.AuditPublicKey())

	// Tokens list holds no secret.
	_, sec, err := s.CreateToken(admin, vault.RoleKiosk)
	require.NoError(t, err)
	toks, err := s.Tokens(admin)
	require.NoError(t, err)
	require.Len(t, toks, 1)
	assert.NotContains(t, fmt.Sprintf("%+v", toks), string(sec))

	// Export carries raw recordings too.
	_, err = s.AddRecording(tech, a.ID, vault.Recording{Format: "wav", SampleRate: 16000, Audio: []byte("RIFFdata")})
	require.NoError(t, err)
	ex, err = s.ExportSubject(admin, a.ID)
	require.NoError(t, err)
	require.Len(t, ex.Recordings, 1)
	assert.Equal(t, "UklGRmRhdGE=", ex.Recordings[0].Audio)
}

func TestSystemSecrets(t *testing.T) {
	s, e := openVault(t)
	seed := []byte("device-signing-seed-0123456789ab")
	require.NoError(t, s.PutSystemSecret(vault.SystemActor, "sync.signing_key", seed))
	got, err := s.SystemSecret(vault.SystemActor, "sync.signing_key")
	require.NoError(t, err)
	assert.Equal(t, seed, []byte(got))
	assert.Equal(t, "[redacted]", got.String())
	_, err = s.SystemSecret(vault.SystemActor, "nope")
	require.ErrorIs(t, err, vault.ErrNotFound)
	require.ErrorIs(t, s.PutSystemSecret(vault.SystemActor, "a name", seed), vault.ErrInvalid)
	raw := readFile(t, e.path)
	assert.False(t, bytes.Contains(raw, []byte("sync.signing_key")), "the secret's name is in the vault file")
	assert.False(t, bytes.Contains(raw, seed), "the secret is in the vault file")
}
