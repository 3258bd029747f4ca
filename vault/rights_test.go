package vault_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/voxward/voxward/vault"
)

// auditCount counts the audit entries with this action.
func auditCount(t *testing.T, s *vault.Store, action string) int {
	t.Helper()
	all, err := s.AuditEntries(0, 0)
	require.NoError(t, err)
	n := 0
	for _, e := range all {
		if e.Action == action {
			n++
		}
	}
	return n
}

// lastAudit returns the newest audit entry with this action.
func lastAudit(t *testing.T, s *vault.Store, action string) vault.AuditEntry {
	t.Helper()
	all, err := s.AuditEntries(0, 0)
	require.NoError(t, err)
	for i := len(all) - 1; i >= 0; i-- {
		if all[i].Action == action {
			return all[i]
		}
	}
	t.Fatalf("no audit entry %q", action)
	return vault.AuditEntry{}
}

// A subject's summary describes its templates (model, dimension,
// quality) and counts its recordings, but holds no embedding and no
// deletion-token hash, and is audited as a subject read, not as a
// template read.
func TestSubjectSummaryHoldsNoEmbedding(t *testing.T) {
	s, e := openVault(t)
	r := rand.New(rand.NewPCG(61, 62))
	emb := embedding(r, 48)
	sub, tpl := enrol(t, s, "Hana", emb)
	_, err := s.AddRecording(tech, sub.ID, vault.Recording{Format: "wav", SampleRate: 16000, Audio: bytes.Repeat([]byte{3}, 500)})
	require.NoError(t, err)
	e.clock.Add(time.Minute) // the list is ordered by creation time
	other, _ := enrol(t, s, "Ivo", embedding(r, 48))

	reads, tplReads := auditCount(t, s, "subject.read"), auditCount(t, s, "template.read")
	sum, err := s.SubjectSummary(tech, sub.ID)
	require.NoError(t, err)
	assert.Equal(t, reads+1, auditCount(t, s, "subject.read"), "SubjectSummary is not audited as a subject read")
	assert.Equal(t, tplReads, auditCount(t, s, "template.read"), "SubjectSummary counted as a template read")
	assert.Equal(t, sub.ID, sum.Subject.ID)
	assert.Equal(t, "Hana", sum.Subject.DisplayName)
	assert.Nil(t, sum.Subject.DeletionTokenHash)
	assert.Equal(t, []vault.Purpose{vault.PurposeRecognition}, sum.Purposes)
	assert.Equal(t, 1, sum.Recordings)
	require.Len(t, sum.Templates, 1)
	assert.Equal(t, vault.TemplateInfo{ID: tpl.ID, ModelID: tpl.ModelID, Dim: 48, Quality: map[string]float64{"snr_db": 21},
		Created: tpl.Created, LastUsed: tpl.LastUsed}, sum.Templates[0])

	b, err := json.Marshal(sum)
	require.NoError(t, err)
	raw := templateBytes(emb)
	assert.NotContains(t, string(b), base64.StdEncoding.EncodeToString(raw[:12]))
	assert.NotContains(t, string(b), fmt.Sprint(emb[0]))

	list, err := s.SubjectSummaries(tech)
	require.NoError(t, err)
	require.Len(t, list, 2)
	assert.Equal(t, []vault.ID{sub.ID, other.ID}, []vault.ID{list[0].Subject.ID, list[1].Subject.ID})
	assert.Equal(t, "subject.list", lastAudit(t, s, "subject.list").Action)

	_, err = s.SubjectSummary(tech, vault.NewID())
	require.ErrorIs(t, err, vault.ErrNotFound)
}

// PRIVACY.md rule 16: every read of biometric data appends an audit entry
// naming the actor, the action and the record. Each call below must add
// exactly one entry with its action: the test fails if the audit were
// taken out of any of these paths (say, Templates read with view instead
// of audited).
func TestBiometricReadsAreAudited(t *testing.T) {
	s, e := openVault(t)
	r := rand.New(rand.NewPCG(71, 72))
	gone, _ := enrol(t, s, "Jo", embedding(r, 16)) // de-identified below
	e.clock.Add(31 * day)
	sub, _ := enrol(t, s, "Kai", embedding(r, 16))
	rec, err := s.AddRecording(tech, sub.ID, vault.Recording{Format: "wav", SampleRate: 16000, Audio: bytes.Repeat([]byte{5}, 100)})
	require.NoError(t, err)
	rep, err := s.ApplyRetention(system, vault.RetentionPolicy{Identifiable: 30 * day, Deidentified: years})
	require.NoError(t, err)
	require.Equal(t, 1, rep.DeidCreated)
	_ = gone

	reader := vault.Actor{TokenID: "tok-reader", Role: "admin", Purpose: "audit-test"}
	for _, c := range []struct {
		action, record string
		read           func() (int, error)
	}{
		{"template.read", sub.ID.String(), func() (int, error) { ts, err := s.Templates(reader, sub.ID); return len(ts), err }},
		{"template.load", "", func() (int, error) { ts, err := s.MatchTemplates(reader); return len(ts), err }},
		{"subject.export", sub.ID.String(), func() (int, error) {
			ex, err := s.ExportSubject(reader, sub.ID)
			if err != nil {
				return 0, err
			}
			return len(ex.Templates), nil
		}},
		{"deid.read", "", func() (int, error) { ds, err := s.DeidTemplates(reader); return len(ds), err }},
		{"recording.read", rec.ID.String(), func() (int, error) {
			rc, err := s.Recording(reader, sub.ID, rec.ID)
			return len(rc.Audio) / 100, err
		}},
	} {
		before := auditCount(t, s, c.action)
		n, err := c.read()
		require.NoError(t, err, c.action)
		require.Equal(t, 1, n, "%s read nothing", c.action)
		assert.Equal(t, before+1, auditCount(t, s, c.action), "%s: a biometric read left no audit entry", c.action)
		last := lastAudit(t, s, c.action)
		assert.Equal(t, "tok-reader", last.Actor, c.action)
		assert.Equal(t, "admin", last.Role, c.action)
		assert.Equal(t, "audit-test", last.Purpose, c.action)
		assert.Equal(t, "ok", last.Result, c.action)
		assert.Equal(t, c.record, last.RecordID, c.action)
	}

	// A failed read is audited too.
	before := auditCount(t, s, "template.read")
	_, err = s.Templates(reader, vault.NewID())
	require.ErrorIs(t, err, vault.ErrNotFound)
	assert.Equal(t, before+1, auditCount(t, s, "template.read"))
	assert.Equal(t, "not_found", lastAudit(t, s, "template.read").Result)
}

// A withdrawal is final: no status change brings a withdrawn subject
// back, and the refusal writes nothing.
func TestWithdrawnStatusIsFinal(t *testing.T) {
	s, _ := openVault(t)
	sub, _ := enrol(t, s, "Lea", embedding(rand.New(rand.NewPCG(1, 2)), 8))
	got, err := s.SetStatus(tech, sub.ID, vault.StatusRestricted)
	require.NoError(t, err)
	assert.Equal(t, vault.StatusRestricted, got.Status)
	got, err = s.SetStatus(tech, sub.ID, vault.StatusActive)
	require.NoError(t, err)
	assert.Equal(t, vault.StatusActive, got.Status)
	_, err = s.SetStatus(tech, sub.ID, vault.StatusWithdrawn)
	require.NoError(t, err)
	for _, st := range []vault.Status{vault.StatusActive, vault.StatusRestricted} {
		entries, err := s.AuditEntries(0, 0)
		require.NoError(t, err)
		_, err = s.SetStatus(tech, sub.ID, st)
		require.ErrorIs(t, err, vault.ErrInvalid, "SetStatus(withdrawn → %s)", st)
		after, err := s.AuditEntries(0, 0)
		require.NoError(t, err)
		assert.Len(t, after, len(entries), "a refused status change was written")
		cur, err := s.Subject(tech, sub.ID)
		require.NoError(t, err)
		assert.Equal(t, vault.StatusWithdrawn, cur.Status)
	}
	_, err = s.SetStatus(tech, sub.ID, vault.StatusWithdrawn)
	assert.NoError(t, err, "withdrawing twice")
}

// PRIVACY.md rule 17: a restricted subject is not used for sync. When its
// identifiable window ends while it is restricted, its de-identified
// copies are not marked for research, even though it granted research;
// an active subject's are.
func TestRestrictedSubjectIsNotMarkedForResearch(t *testing.T) {
	s, e := openVault(t)
	r := rand.New(rand.NewPCG(81, 82))
	c := consent()
	c.Purposes = []vault.Purpose{vault.PurposeRecognition, vault.PurposeResearch}
	ids := map[string]vault.ID{}
	for _, name := range []string{"active", "restricted"} {
		sub, _, err := s.CreateSubject(tech, vault.NewSubject{DisplayName: name, Consent: c})
		require.NoError(t, err)
		_, err = s.AddTemplate(tech, sub.ID, vault.Template{Embedding: embedding(r, 8), ModelID: name})
		require.NoError(t, err)
		ids[name] = sub.ID
	}
	_, err := s.SetStatus(tech, ids["restricted"], vault.StatusRestricted)
	require.NoError(t, err)
	e.clock.Add(30 * day)
	rep, err := s.ApplyRetention(system, vault.RetentionPolicy{Identifiable: 30 * day, Deidentified: years})
	require.NoError(t, err)
	require.Equal(t, 2, rep.DeidCreated)
	ds, err := s.DeidTemplates(system)
	require.NoError(t, err)
	require.Len(t, ds, 2)
	research := map[string]bool{}
	for _, d := range ds {
		research[d.ModelID] = d.Research
	}
	assert.Equal(t, map[string]bool{"active": true, "restricted": false}, research)
}
