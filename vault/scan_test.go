package vault_test

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"log/slog"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/voxward/voxward/vault"
)

const marker = "Zyxq-MARKER-7f3a-Ωmega-Quokka"

func templateBytes(v []float32) []byte {
	b := make([]byte, 4*len(v))
	for i, f := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(f))
	}
	return b
}

// assertClean fails if the marker, or any 16-byte run of the template's
// float32 bytes, appears in data.
func assertClean(t *testing.T, what string, data, tb []byte) {
	t.Helper()
	assert.Falsef(t, bytes.Contains(data, []byte(marker)), "%s contains the marker name", what)
	assert.Falsef(t, bytes.Contains(data, []byte(marker+"@example.org")), "%s contains the contact", what)
	for i := 0; i+16 <= len(tb); i++ {
		if bytes.Contains(data, tb[i:i+16]) {
			t.Fatalf("%s contains template bytes [%d:%d]", what, i, i+16)
		}
	}
}

// TestNoPlaintextOnDisk is issue 4's scan: a subject named with a marker
// and enrolled with a template leaves neither the marker nor any 16-byte
// run of the template's bytes in the vault file, its backup, its
// compacted copy, the keyring or the log.
func TestNoPlaintextOnDisk(t *testing.T) {
	e := newEnv(t)
	var logs bytes.Buffer
	o := e.opts()
	o.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	s, err := vault.Open(e.path, o)
	require.NoError(t, err)
	defer s.Close()
	r := rand.New(rand.NewPCG(31, 32))
	emb := embedding(r, 192)
	tb := templateBytes(emb)
	sub, tpl := enrol(t, s, marker, emb)
	o.Logger.Info("enrolled", "subject", sub, "template", tpl)
	// Work the file: more subjects, reads, a rotation, an erasure of
	// somebody else, so that freed pages exist.
	for range 5 {
		other, _ := enrol(t, s, "Other", embedding(r, 192))
		_, err := s.Templates(tech, sub.ID)
		require.NoError(t, err)
		_, err = s.EraseSubject(admin, other.ID)
		require.NoError(t, err)
	}
	_, err = s.RectifySubject(tech, sub.ID, nil, nil)
	require.NoError(t, err)

	backup := filepath.Join(t.TempDir(), "backup.db")
	_, err = s.BackupFile(backup)
	require.NoError(t, err)
	assertClean(t, "vault file", readFile(t, e.path), tb)
	assertClean(t, "backup", readFile(t, backup), tb)
	_, _, err = s.Compact()
	require.NoError(t, err)
	assertClean(t, "compacted vault", readFile(t, e.path), tb)
	assertClean(t, "keyring", readFile(t, filepath.Join(e.dir, vault.KeyringFile)), tb)
	assertClean(t, "log", logs.Bytes(), tb)

	// The data is really in there: it comes back intact after compaction.
	got, err := s.Subject(tech, sub.ID)
	require.NoError(t, err)
	assert.Equal(t, marker, got.DisplayName)
	tpls, err := s.Templates(tech, sub.ID)
	require.NoError(t, err)
	assert.Equal(t, emb, tpls[0].Embedding)

	// The backup opens (same epoch) and verifies.
	b, err := vault.Open(backup, &vault.Options{Key: e.key, KeyringPath: filepath.Join(e.dir, vault.KeyringFile)})
	require.NoError(t, err)
	rep, err := b.Verify()
	require.NoError(t, err)
	assert.True(t, rep.OK(), rep.Problems)
	require.NoError(t, b.Close())
	_ = os.Remove(backup)
}

func TestExportSubject(t *testing.T) {
	s, _ := openVault(t)
	r := rand.New(rand.NewPCG(41, 42))
	emb := embedding(r, 96)
	sub, tpl := enrol(t, s, "Frida", emb)
	_, err := s.AppendConsent(tech, sub.ID, vault.Consent{Kind: vault.ConsentGrant, DisclosureSHA256: consent().DisclosureSHA256, Signature: "Frida", Purposes: []vault.Purpose{vault.PurposeRecognition, vault.PurposeResearch}})
	require.NoError(t, err)
	ex, err := s.ExportSubject(admin, sub.ID)
	require.NoError(t, err)
	b, err := json.Marshal(ex)
	require.NoError(t, err)

	var back struct {
		Format  string `json:"format"`
		Subject struct {
			DisplayName string `json:"display_name"`
		} `json:"subject"`
		Consents  []map[string]any `json:"consents"`
		Templates []struct {
			ID        string `json:"id"`
			ModelID   string `json:"model_id"`
			Dim       int    `json:"dim"`
			Embedding string `json:"embedding"`
		} `json:"templates"`
		Audit []vault.AuditEntry `json:"audit"`
	}
	require.NoError(t, json.Unmarshal(b, &back))
	assert.Equal(t, vault.ExportFormat, back.Format)
	assert.Equal(t, "Frida", back.Subject.DisplayName)
	assert.Len(t, back.Consents, 2)
	require.Len(t, back.Templates, 1)
	assert.Equal(t, tpl.ID.String(), back.Templates[0].ID)
	assert.Equal(t, 96, back.Templates[0].Dim)
	raw, err := base64.StdEncoding.DecodeString(back.Templates[0].Embedding)
	require.NoError(t, err)
	assert.Equal(t, templateBytes(emb), raw)
	var actions []string
	for _, a := range back.Audit {
		actions = append(actions, a.Action)
	}
	assert.Contains(t, actions, "subject.create")
	assert.Contains(t, actions, "template.add")
	assert.Contains(t, actions, "consent.grant")
	assert.Equal(t, []vault.Purpose{vault.PurposeRecognition, vault.PurposeResearch}, vault.Purposes(ex.Consents))
}

func TestRecordsAndTokens(t *testing.T) {
	s, _ := openVault(t)
	r := rand.New(rand.NewPCG(51, 52))
	a, _ := enrol(t, s, "Gus", embedding(r, 32))
	b, _ := enrol(t, s, "Hal", embedding(r, 32))

	// Recordings come back whole (they are stored in sealed chunks).
	audio := make([]byte, 10001)
	for i := range audio {
		audio[i] = byte(r.IntN(256))
	}
	rec, err := s.AddRecording(tech, a.ID, vault.Recording{Format: "pcm_s16le", SampleRate: 16000, Audio: audio})
	require.NoError(t, err)
	assert.Equal(t, 10001, rec.Bytes)
	back, err := s.Recording(tech, a.ID, rec.ID)
	require.NoError(t, err)
	assert.Equal(t, audio, back.Audio)
	_, err = s.Recording(tech, b.ID, rec.ID)
	require.ErrorIs(t, err, vault.ErrNotFound, "a recording is found under its own subject only")

	// Restricted subjects are not matched.
	_, err = s.SetStatus(tech, b.ID, vault.StatusRestricted)
	require.NoError(t, err)
	m, err := s.MatchTemplates(tech)
	require.NoError(t, err)
	require.Len(t, m, 1)
	assert.Equal(t, a.ID, m[0].SubjectID)
	// Copies out: changing what we got does not change the vault.
	m[0].Embedding[0] = 42
	m2, err := s.MatchTemplates(tech)
	require.NoError(t, err)
	assert.NotEqual(t, float32(42), m2[0].Embedding[0])

	name := "Gustav"
	got, err := s.RectifySubject(tech, a.ID, &name, nil)
	require.NoError(t, err)
	assert.Equal(t, "Gustav", got.DisplayName)
	_, err = s.AddTemplate(tech, a.ID, vault.Template{Embedding: []float32{float32(math.NaN())}, ModelID: "m"})
	require.ErrorIs(t, err, vault.ErrInvalid)
	_, _, err = s.CreateSubject(tech, vault.NewSubject{DisplayName: "X", Consent: vault.Consent{Kind: vault.ConsentGrant, DisclosureSHA256: consent().DisclosureSHA256, Purposes: []vault.Purpose{vault.PurposeRecognition}}})
	require.ErrorIs(t, err, vault.ErrInvalid, "a consent without signature is refused")

	// Withdrawal appends, never rewrites, and marks the subject.
	_, err = s.AppendConsent(tech, a.ID, vault.Consent{Kind: vault.ConsentWithdraw})
	require.NoError(t, err)
	hist, err := s.Consents(tech, a.ID)
	require.NoError(t, err)
	require.Len(t, hist, 2)
	assert.Empty(t, vault.Purposes(hist))
	got, err = s.Subject(tech, a.ID)
	require.NoError(t, err)
	assert.Equal(t, vault.StatusWithdrawn, got.Status)

	// Tokens are stored as hashes and revoke at once.
	tok, secret, err := s.CreateToken(admin, vault.RoleTechnician)
	require.NoError(t, err)
	assert.Equal(t, "[redacted]", secret.String())
	au, err := s.AuthenticateToken(secret)
	require.NoError(t, err)
	assert.Equal(t, tok.ID, au.ID)
	_, err = s.AuthenticateToken("vxw_nope")
	require.ErrorIs(t, err, vault.ErrNotFound)
	require.NoError(t, s.RevokeToken(admin, tok.ID))
	_, err = s.AuthenticateToken(secret)
	require.ErrorIs(t, err, vault.ErrNotFound)
	_, _, err = s.CreateToken(admin, "root")
	require.ErrorIs(t, err, vault.ErrInvalid)

	// Outbox: ordered, cursor, idempotent ack.
	es, err := s.AppendOutbox(vault.OutboxEntry{Kind: "stats", Payload: []byte("1")}, vault.OutboxEntry{Kind: "stats", Payload: []byte("2")})
	require.NoError(t, err)
	require.Len(t, es, 2)
	page, err := s.Outbox(es[0].Seq, 10)
	require.NoError(t, err)
	require.Len(t, page, 1)
	assert.Equal(t, []byte("2"), page[0].Payload)
	require.NoError(t, s.AckOutbox(es[0].Seq, es[0].Seq))
	all, err := s.Outbox(0, 0)
	require.NoError(t, err)
	assert.Len(t, all, 1)

	// Failed accesses are audited too.
	_, err = s.Subject(tech, vault.NewID())
	require.ErrorIs(t, err, vault.ErrNotFound)
	entries, err := s.AuditEntries(0, 0)
	require.NoError(t, err)
	last := entries[len(entries)-1]
	assert.Equal(t, "subject.read", last.Action)
	assert.Equal(t, "not_found", last.Result)
	assert.Equal(t, "tok-tech", last.Actor)
	_, err = s.Subject(vault.Actor{TokenID: "Jane Doe", Role: "x"}, a.ID)
	require.ErrorIs(t, err, vault.ErrInvalid, "an actor label with a space (a name?) is refused")
}
