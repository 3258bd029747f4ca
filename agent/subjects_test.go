package agent_test

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"math"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/voxward/voxward/agent"
	"github.com/voxward/voxward/internal/clocktest"
	"github.com/voxward/voxward/vault"
)

func embeddingBytes(v []float32) []byte {
	b := make([]byte, 4*len(v))
	for i, f := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(f))
	}
	return b
}

func countAction(entries []vault.AuditEntry, action string) int {
	n := 0
	for _, e := range entries {
		if e.Action == action {
			n++
		}
	}
	return n
}

// countOK counts the entries of an action that succeeded.
func countOK(entries []vault.AuditEntry, action string) int {
	n := 0
	for _, e := range entries {
		if e.Action == action && e.Result == "ok" {
			n++
		}
	}
	return n
}

func subjectOf(t *testing.T, d *daemon, token string, id vault.ID) agent.SubjectView {
	t.Helper()
	r := d.do(t, "GET", "/v1/subjects/"+id.String(), token, "")
	require.Equal(t, http.StatusOK, r.code, "%s", r.body)
	var v agent.SubjectView
	r.json(t, &v)
	return v
}

// assertNoTemplate fails if an answer holds a template's values, in any
// encoding an answer could use.
func assertNoTemplate(t *testing.T, what string, body []byte) {
	t.Helper()
	raw := embeddingBytes(testEmbedding)
	assert.NotContains(t, string(body), base64.StdEncoding.EncodeToString(raw)[:16], "%s holds the template (base64)", what)
	assert.NotContains(t, string(body), "-0.71875", "%s holds the template (numbers)", what)
	assert.NotContains(t, string(body), `"embedding"`, "%s has an embedding field", what)
	assert.NotContains(t, string(body), "deletion_token", "%s shows a deletion token (hash)", what)
}

// GET /v1/subjects and GET /v1/subjects/{id} show a subject's status,
// purposes and templates' descriptions to a technician, never the
// template's values; both are audited as subject reads, not template
// reads.
func TestSubjectStatusNeverShowsTheTemplate(t *testing.T) {
	st := newState(t)
	ana := st.enrol(t, "Ana", vault.PurposeRecognition, vault.PurposeResearch)
	ben := st.enrol(t, "Ben")
	d := start(t, st.config())
	tech, admin := st.tokens[vault.RoleTechnician], st.tokens[vault.RoleAdmin]
	before := auditActions(t, d, admin)

	r := d.do(t, "GET", "/v1/subjects", tech, "")
	require.Equal(t, http.StatusOK, r.code, "%s", r.body)
	assertNoTemplate(t, "GET /v1/subjects", r.body)
	var list agent.SubjectList
	r.json(t, &list)
	require.Equal(t, 2, list.Count)
	require.Len(t, list.Subjects, 2)
	got := map[string]agent.SubjectView{}
	for _, v := range list.Subjects {
		got[v.ID] = v
	}
	a := got[ana.id.String()]
	assert.Equal(t, "Ana", a.DisplayName)
	assert.Equal(t, "ana@example.org", a.Contact)
	assert.Equal(t, vault.StatusActive, a.Status)
	assert.Equal(t, []vault.Purpose{vault.PurposeRecognition, vault.PurposeResearch}, a.Purposes)
	assert.Equal(t, 1, a.TemplateCount)
	require.Len(t, a.Templates, 1)
	assert.Equal(t, "test-model", a.Templates[0].ModelID)
	assert.False(t, a.Templates[0].Current, "no model matches a test-model template")
	assert.Equal(t, len(testEmbedding), a.Templates[0].Dim)
	assert.Equal(t, map[string]float64{"snr_db": 24.5, "speech_seconds": 9}, a.Templates[0].Quality)
	assert.Equal(t, 1, a.Recordings)
	assert.False(t, a.Created.IsZero())
	assert.Equal(t, a.Created.Add(vault.MaxIdentifiable), a.IdentifiableUntil)
	assert.Equal(t, []vault.Purpose{vault.PurposeRecognition}, got[ben.id.String()].Purposes)

	r = d.do(t, "GET", "/v1/subjects/"+ana.id.String(), tech, "")
	require.Equal(t, http.StatusOK, r.code, "%s", r.body)
	assertNoTemplate(t, "GET /v1/subjects/{id}", r.body)
	var one agent.SubjectView
	r.json(t, &one)
	assert.Equal(t, a, one)

	for _, path := range []string{"/v1/subjects/" + vault.NewID().String(), "/v1/subjects/not-an-id"} {
		r := d.do(t, "GET", path, tech, "")
		assert.Equal(t, http.StatusNotFound, r.code, "%s: %s", path, r.body)
		assert.Equal(t, "not_found", r.errCode(t))
	}

	after := auditActions(t, d, admin)
	assert.Equal(t, countAction(before, "subject.list")+1, countAction(after, "subject.list"))
	assert.Equal(t, countAction(before, "subject.read")+2, countAction(after, "subject.read"), "a read of one subject (and of an unknown one) is not audited")
	assert.Equal(t, countAction(before, "template.read"), countAction(after, "template.read"), "a status read counted as a template read")
	for _, e := range after {
		assert.NotContains(t, e.RecordID+e.Actor+e.Purpose, "Ana", "an audit entry names the subject")
	}
}

// PATCH /v1/subjects/{id} is a JSON merge patch of the display name and
// the contact: an absent field keeps its value, a present one replaces
// it, null clears the contact; an empty display name is refused.
func TestRectifySubject(t *testing.T) {
	st := newState(t)
	ana := st.enrol(t, "Ana")
	d := start(t, st.config())
	tech, admin := st.tokens[vault.RoleTechnician], st.tokens[vault.RoleAdmin]
	path := "/v1/subjects/" + ana.id.String()
	rectifies := countOK(auditActions(t, d, admin), "subject.rectify")

	steps := []struct {
		name, body    string
		code          int
		errCode       string
		wantName, con string
	}{
		{"name only", `{"display_name":"  Ana María "}`, 200, "", "Ana María", "ana@example.org"},
		{"contact only", `{"contact":"ana.m@example.org"}`, 200, "", "Ana María", "ana.m@example.org"},
		{"both", `{"display_name":"Ana M.","contact":"+44 20 7946 0000"}`, 200, "", "Ana M.", "+44 20 7946 0000"},
		{"contact cleared", `{"contact":null}`, 200, "", "Ana M.", ""},
		{"empty name", `{"display_name":""}`, 422, "invalid", "Ana M.", ""},
		{"blank name", `{"display_name":" \t "}`, 422, "invalid", "Ana M.", ""},
		{"null name", `{"display_name":null,"contact":"x@example.org"}`, 422, "invalid", "Ana M.", ""},
		{"nothing", `{}`, 422, "invalid", "Ana M.", ""},
		{"too long", `{"contact":"` + strings.Repeat("c", vault.MaxNameLen+1) + `"}`, 422, "invalid", "Ana M.", ""},
		{"not a string", `{"display_name":7}`, 400, "bad_json", "Ana M.", ""},
		{"unknown field", `{"display_name":"Eve","voice":"new"}`, 400, "bad_json", "Ana M.", ""},
		{"two values", `{"display_name":"Eve"} {}`, 400, "bad_json", "Ana M.", ""},
		{"empty body", ``, 415, "bad_content_type", "Ana M.", ""},
	}
	okCount := 0
	for _, s := range steps {
		r := d.do(t, "PATCH", path, tech, s.body)
		require.Equal(t, s.code, r.code, "%s: %s", s.name, r.body)
		if s.errCode != "" {
			assert.Equal(t, s.errCode, r.errCode(t), s.name)
		} else {
			okCount++
			var got agent.Rectified
			r.json(t, &got)
			assert.Equal(t, agent.Rectified{ID: ana.id.String(), DisplayName: s.wantName, Contact: s.con, Status: vault.StatusActive}, got, s.name)
		}
		v := subjectOf(t, d, tech, ana.id)
		assert.Equal(t, s.wantName, v.DisplayName, s.name)
		assert.Equal(t, s.con, v.Contact, s.name)
	}
	// A merge-patch media type is accepted too.
	r := d.do(t, "PATCH", path, tech, `{"display_name":"Ana"}`, "Content-Type", "application/merge-patch+json")
	require.Equal(t, http.StatusOK, r.code, "%s", r.body)
	okCount++
	assert.Equal(t, "Ana", subjectOf(t, d, tech, ana.id).DisplayName)
	r = d.do(t, "PATCH", "/v1/subjects/"+vault.NewID().String(), tech, `{"display_name":"Nobody"}`)
	assert.Equal(t, http.StatusNotFound, r.code, "%s", r.body)

	// Every change is audited; refusals change nothing.
	assert.Equal(t, rectifies+okCount, countOK(auditActions(t, d, admin), "subject.rectify"))
}

// Restriction (PRIVACY.md rule 17) keeps the data but stops its use: the
// subject leaves every live session at once (a session left with nobody
// consenting stops and the gate closes), cannot join a new one, and is
// left out of matching; unrestricting makes it eligible again.
func TestRestrictionTakesEffectOnLiveSessions(t *testing.T) {
	st := newState(t)
	ana, ben := st.enrol(t, "Ana"), st.enrol(t, "Ben")
	gone := st.enrol(t, "Gone")
	s := st.openVault(t)
	_, err := s.SetStatus(vault.SystemActor, gone.id, vault.StatusWithdrawn)
	require.NoError(t, err)
	require.NoError(t, s.Close())
	d := start(t, st.config())
	tech := st.tokens[vault.RoleTechnician]

	startSession := func(ids ...vault.ID) string {
		r := d.do(t, "POST", "/v1/sessions", tech, sessionBody(t, "panel", ids...))
		require.Equal(t, http.StatusCreated, r.code, "%s", r.body)
		var sr agent.SessionResponse
		r.json(t, &sr)
		return sr.SessionID
	}
	startSession(ana.id)
	both := startSession(ana.id, ben.id)
	require.True(t, d.status(t, tech).Capture.Open)

	// Ana is restricted: her own session stops, the shared one goes on.
	r := d.do(t, "POST", "/v1/subjects/"+ana.id.String()+"/restrict", tech, "")
	require.Equal(t, http.StatusOK, r.code, "%s", r.body)
	var res agent.RestrictionResult
	r.json(t, &res)
	assert.Equal(t, agent.RestrictionResult{SubjectID: ana.id.String(), Status: vault.StatusRestricted, SessionsStopped: 1}, res)
	s1 := d.status(t, tech)
	require.Len(t, s1.Sessions, 1)
	assert.Equal(t, both, s1.Sessions[0].ID)
	assert.True(t, s1.Capture.Open, "the gate closed while Ben still consents")
	assert.Equal(t, vault.StatusRestricted, subjectOf(t, d, tech, ana.id).Status)

	// Restricting again is harmless; a restricted subject cannot join.
	r = d.do(t, "POST", "/v1/subjects/"+ana.id.String()+"/restrict", tech, "{}")
	require.Equal(t, http.StatusOK, r.code, "%s", r.body)
	r = d.do(t, "POST", "/v1/sessions", tech, sessionBody(t, "again", ana.id))
	assert.Equal(t, http.StatusUnprocessableEntity, r.code, "%s", r.body)
	assert.Contains(t, string(r.body), "restricted")

	// Ben too: nobody consents, the gate is closed when the answer arrives.
	r = d.do(t, "POST", "/v1/subjects/"+ben.id.String()+"/restrict", tech, "")
	require.Equal(t, http.StatusOK, r.code, "%s", r.body)
	r.json(t, &res)
	assert.Equal(t, 1, res.SessionsStopped)
	s2 := d.status(t, tech)
	assert.False(t, s2.Capture.Open, "the source is open with every participant restricted")
	assert.Empty(t, s2.Sessions)

	// Unrestricted: Ana may join a new session; Ben stays restricted.
	r = d.do(t, "DELETE", "/v1/subjects/"+ana.id.String()+"/restrict", tech, "")
	require.Equal(t, http.StatusOK, r.code, "%s", r.body)
	r.json(t, &res)
	assert.Equal(t, agent.RestrictionResult{SubjectID: ana.id.String(), Status: vault.StatusActive}, res)
	startSession(ana.id)
	assert.True(t, d.status(t, tech).Capture.Open)

	// Unknown, malformed and withdrawn subjects.
	for _, c := range []struct {
		method, path string
		code         int
	}{
		{"POST", "/v1/subjects/" + vault.NewID().String() + "/restrict", 404},
		{"DELETE", "/v1/subjects/" + vault.NewID().String() + "/restrict", 404},
		{"POST", "/v1/subjects/xyz/restrict", 404},
		// Withdrawn before the daemon started: the start-up retention run
		// erased it (a withdrawal is final), so it is not found.
		{"POST", "/v1/subjects/" + gone.id.String() + "/restrict", 404},
		{"DELETE", "/v1/subjects/" + gone.id.String() + "/restrict", 404},
	} {
		r := d.do(t, c.method, c.path, tech, "")
		assert.Equal(t, c.code, r.code, "%s %s: %s", c.method, c.path, r.body)
	}
	require.NoError(t, d.stop(t))

	// Matching leaves the restricted subject out; its data is all kept.
	v := st.openVault(t)
	defer v.Close()
	tpls, err := v.MatchTemplates(vault.SystemActor)
	require.NoError(t, err)
	require.Len(t, tpls, 1, "matching loads a restricted subject's template")
	assert.Equal(t, ana.id, tpls[0].SubjectID)
	kept, err := v.Templates(vault.SystemActor, ben.id)
	require.NoError(t, err)
	assert.Len(t, kept, 1, "restriction deleted data")
	_, err = v.Subject(vault.SystemActor, gone.id)
	assert.ErrorIs(t, err, vault.ErrNotFound, "a withdrawn subject outlived the retention run")
}

// GET /v1/subjects/{id}/export gives an admin everything held about the
// subject, the template's values included, each item with how long it is
// kept, and where the data went; it is audited as a biometric read
// (subject.export). A restricted subject is exported too: restriction
// stops the use of the data, not the subject's own access to it.
func TestExportSubject(t *testing.T) {
	st := newState(t)
	ana := st.enrol(t, "Ana", vault.PurposeRecognition, vault.PurposeResearch)
	cfg := st.config()
	cfg.RetainIdentifiable = agent.Duration(14 * 24 * time.Hour)
	cfg.RetainSessions = agent.Duration(7 * 24 * time.Hour)
	d := start(t, cfg)
	tech, admin := st.tokens[vault.RoleTechnician], st.tokens[vault.RoleAdmin]
	r := d.do(t, "POST", "/v1/sessions", tech, sessionBody(t, "panel", ana.id))
	require.Equal(t, http.StatusCreated, r.code, "%s", r.body)
	path := "/v1/subjects/" + ana.id.String() + "/export"

	before := countAction(auditActions(t, d, admin), "subject.export")
	r = d.do(t, "GET", path, admin, "")
	require.Equal(t, http.StatusOK, r.code, "%s", r.body)
	assert.Contains(t, r.hdr.Get("Content-Disposition"), "attachment")
	var ex agent.SubjectExport
	r.json(t, &ex)
	assert.Equal(t, agent.SubjectExportFormat, ex.Format)
	assert.Equal(t, vault.ExportFormat, ex.VaultFormat)
	assert.Equal(t, ana.id, ex.Subject.ID)
	assert.Equal(t, "Ana", ex.Subject.DisplayName)
	assert.Equal(t, "ana@example.org", ex.Subject.Contact)
	assert.Equal(t, []vault.Purpose{vault.PurposeRecognition, vault.PurposeResearch}, ex.Subject.Purposes)
	until := ex.Subject.Created.Add(14 * 24 * time.Hour)
	assert.Equal(t, until, ex.Subject.KeptUntil)
	assert.Contains(t, ex.Subject.Kept, until.Format(time.DateOnly))

	require.Len(t, ex.Templates, 1)
	tp := ex.Templates[0]
	assert.Equal(t, "float32le+base64", tp.Encoding)
	assert.Equal(t, len(testEmbedding), tp.Dim)
	raw, err := base64.StdEncoding.DecodeString(tp.Embedding)
	require.NoError(t, err)
	assert.Equal(t, embeddingBytes(testEmbedding), raw, "the export's template is not the stored one")
	assert.Equal(t, until, tp.KeptUntil)
	assert.Contains(t, tp.Kept, "de-identified copy")
	assert.Contains(t, tp.Kept, "may be sent to the operator's central servers for research")

	require.Len(t, ex.Recordings, 1)
	audio, err := base64.StdEncoding.DecodeString(ex.Recordings[0].Audio)
	require.NoError(t, err)
	assert.Equal(t, "RIFFaudio-bytes-of-Ana", string(audio))
	assert.Equal(t, until, ex.Recordings[0].KeptUntil)
	require.Len(t, ex.Consents, 1)
	assert.Equal(t, "Ana", ex.Consents[0].Signature)
	assert.Equal(t, until, ex.Consents[0].KeptUntil)
	require.Len(t, ex.Sessions, 1)
	assert.Equal(t, ex.Sessions[0].Started.Add(7*24*time.Hour), ex.Sessions[0].KeptUntil)
	assert.NotEmpty(t, ex.Audit)
	assert.NotEmpty(t, ex.AuditKept)
	assert.Empty(t, ex.Transfers.Recipients, "identifiable data went somewhere")
	assert.NotNil(t, ex.Transfers.Recipients)
	assert.True(t, ex.Transfers.Research)
	assert.Equal(t, 14, ex.Retention.IdentifiableDays)

	after := auditActions(t, d, admin)
	assert.Equal(t, before+1, countAction(after, "subject.export"), "the export is not audited")
	last := after[len(after)-1]
	for i := len(after) - 1; i >= 0; i-- {
		if after[i].Action == "subject.export" {
			last = after[i]
			break
		}
	}
	assert.Equal(t, ana.id.String(), last.RecordID)
	assert.Equal(t, vault.RoleAdmin, last.Role)
	assert.Equal(t, "subject_access", last.Purpose)

	// Restricted: still exported, marked restricted, nothing goes upstream.
	r = d.do(t, "POST", "/v1/subjects/"+ana.id.String()+"/restrict", tech, "")
	require.Equal(t, http.StatusOK, r.code, "%s", r.body)
	r = d.do(t, "GET", path, admin, "")
	require.Equal(t, http.StatusOK, r.code, "a restricted subject's export: %s", r.body)
	r.json(t, &ex)
	assert.Equal(t, vault.StatusRestricted, ex.Subject.Status)
	assert.False(t, ex.Transfers.Research)
	assert.Contains(t, ex.Templates[0].Kept, "never leaves this box while your data is restricted")
	assert.Len(t, ex.Templates, 1)

	// Only an admin; unknown subjects are 404.
	assert.Equal(t, http.StatusForbidden, d.do(t, "GET", path, tech, "").code)
	assert.Equal(t, http.StatusNotFound, d.do(t, "GET", "/v1/subjects/"+vault.NewID().String()+"/export", admin, "").code)
}

// DELETE /v1/subjects/{id} takes the subject out of every live session
// first, then erases it by crypto-shredding and returns the receipt
// (PRIVACY.md rule 10).
func TestEraseSubject(t *testing.T) {
	st := newState(t)
	ana, ben := st.enrol(t, "Ana"), st.enrol(t, "Ben")
	d := start(t, st.config())
	tech, admin := st.tokens[vault.RoleTechnician], st.tokens[vault.RoleAdmin]
	r := d.do(t, "POST", "/v1/sessions", tech, sessionBody(t, "solo", ana.id))
	require.Equal(t, http.StatusCreated, r.code, "%s", r.body)
	require.True(t, d.status(t, tech).Capture.Open)

	assert.Equal(t, http.StatusForbidden, d.do(t, "DELETE", "/v1/subjects/"+ana.id.String(), tech, "").code, "a technician erased a subject")
	r = d.do(t, "DELETE", "/v1/subjects/"+ana.id.String(), admin, "")
	require.Equal(t, http.StatusOK, r.code, "%s", r.body)
	var rc agent.ErasureReceipt
	r.json(t, &rc)
	assert.Equal(t, ana.id.String(), rc.SubjectID)
	assert.Equal(t, 1, rc.SessionsStopped)
	assert.Equal(t, "subject", rc.Receipt.Kind)
	assert.Equal(t, map[string]int{"subject": 1, "consent": 1, "template": 1, "recording": 1, "session participation": 1}, rc.Receipt.Erased)
	assert.True(t, rc.Receipt.CompactionScheduled)
	assert.Positive(t, rc.Receipt.AuditSeq)
	assert.Positive(t, rc.Receipt.KEKEpoch)
	s := d.status(t, tech)
	assert.False(t, s.Capture.Open, "the source is open after its only speaker was erased")
	assert.Empty(t, s.Sessions)

	assert.Equal(t, http.StatusNotFound, d.do(t, "GET", "/v1/subjects/"+ana.id.String(), tech, "").code)
	assert.Equal(t, http.StatusNotFound, d.do(t, "DELETE", "/v1/subjects/"+ana.id.String(), admin, "").code)
	assert.Equal(t, http.StatusNotFound, d.do(t, "DELETE", "/v1/subjects/nothex", admin, "").code)
	entries := auditActions(t, d, admin)
	assert.Equal(t, rc.Receipt.AuditHash, entries[rc.Receipt.AuditSeq-1].Hash, "the receipt names an audit entry that is not there")
	require.NoError(t, d.stop(t))

	v := st.openVault(t)
	defer v.Close()
	_, err := v.Subject(vault.SystemActor, ana.id)
	assert.ErrorIs(t, err, vault.ErrNotFound)
	_, err = v.Subject(vault.SystemActor, ben.id)
	assert.NoError(t, err, "erasing Ana touched Ben")
	rep, err := v.Verify()
	require.NoError(t, err)
	assert.True(t, rep.OK(), "%v", rep.Problems)
}

// openVaultAt opens the state's vault with its clock at now().
func (st state) openVaultAt(t *testing.T, now func() time.Time) *vault.Store {
	t.Helper()
	s, err := vault.Open(filepath.Join(st.dir, vault.VaultFile), &vault.Options{Key: vault.FileKey(filepath.Join(st.dir, vault.MasterKeyFile)), Now: now})
	require.NoError(t, err)
	return s
}

// deidentified stores subjects and moves the vault's clock past their
// identifiable window so that retention de-identifies them: their
// templates become de-identified templates that only the deletion tokens
// reach.
func (st state) deidentified(t *testing.T, names ...string) []vault.DeletionToken {
	t.Helper()
	var toks []vault.DeletionToken
	for _, n := range names {
		toks = append(toks, st.enrol(t, n, vault.PurposeRecognition, vault.PurposeResearch).token)
	}
	s := st.openVaultAt(t, func() time.Time { return time.Now().Add(vault.MaxIdentifiable + time.Hour) })
	defer s.Close()
	cfg := agent.DefaultConfig()
	rep, err := s.ApplyRetention(vault.SystemActor, cfg.RetentionPolicy())
	require.NoError(t, err)
	require.Equal(t, len(names), rep.DeidCreated)
	return toks
}

// POST /v1/deidentified/erase takes the subject's deletion token, no API
// token: a wrong token is 404, the right one erases the de-identified
// template with a receipt, once.
func TestDeidentifiedEraseByToken(t *testing.T) {
	st := newState(t)
	toks := st.deidentified(t, "Ana", "Ben")
	clk := clocktest.New(time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC))
	d := start(t, st.config(), agent.WithClock(clk))
	tech := st.tokens[vault.RoleTechnician]
	deid := func() int { return d.status(t, tech).Vault.Records["deidentified template"] }
	require.Equal(t, 2, deid())
	body := func(tok string) string { return `{"deletion_token":"` + tok + `"}` }

	wrong := "hGVK9sUBoInarG213s17P7uB9Qm3yuqVxYvRsVMBDNA"
	for _, c := range []struct {
		name, body string
		code       int
		errCode    string
	}{
		{"wrong token", body(wrong), 404, "not_found"},
		{"an API token", body(st.tokens[vault.RoleAdmin]), 404, "not_found"},
		{"empty token", body(""), 422, "invalid"},
		{"huge token", body(strings.Repeat("a", 300)), 422, "invalid"},
		{"no token", `{}`, 422, "invalid"},
	} {
		clk.Advance(time.Minute) // keep clear of the rate limit
		r := d.do(t, "POST", "/v1/deidentified/erase", "", c.body)
		assert.Equal(t, c.code, r.code, "%s: %s", c.name, r.body)
		assert.Equal(t, c.errCode, r.errCode(t), c.name)
	}
	require.Equal(t, 2, deid(), "a refused request erased something")

	clk.Advance(time.Minute)
	r := d.do(t, "POST", "/v1/deidentified/erase", "", body(string(toks[0])))
	require.Equal(t, http.StatusOK, r.code, "%s", r.body)
	var er agent.DeidErasure
	r.json(t, &er)
	assert.Equal(t, "deidentified template", er.Receipt.Kind)
	assert.Empty(t, er.Receipt.SubjectID, "the receipt links the template to a subject")
	assert.Equal(t, map[string]int{"deidentified template": 1}, er.Receipt.Erased)
	assert.True(t, er.Receipt.CompactionScheduled)
	assert.Equal(t, 1, deid())

	r = d.do(t, "POST", "/v1/deidentified/erase", "", body(string(toks[0])))
	assert.Equal(t, http.StatusNotFound, r.code, "a token erased twice: %s", r.body)
	require.NoError(t, d.stop(t))

	v := st.openVault(t)
	defer v.Close()
	left, err := v.DeidTemplates(vault.SystemActor)
	require.NoError(t, err)
	require.Len(t, left, 1)
	entries, err := v.AuditEntries(0, 0)
	require.NoError(t, err)
	var results []string
	for _, e := range entries {
		if e.Action == "deid.erase_by_token" {
			results = append(results, e.Result)
			assert.Equal(t, "deletion-token", e.Actor)
		}
	}
	assert.Equal(t, []string{"not_found", "not_found", "ok", "not_found"}, results, "each lookup by token is audited")
}

// The deletion-token erasure is rate-limited per remote address: five at
// once, then one every 12 s; the sixth gets 429 with Retry-After, and the
// fake clock moving 12 s lets one more through.
func TestDeidentifiedEraseIsRateLimited(t *testing.T) {
	st := newState(t)
	clk := clocktest.New(time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC))
	d := start(t, st.config(), agent.WithClock(clk))
	wrong := `{"deletion_token":"not-a-token-anyone-holds"}`
	for i := range 5 {
		r := d.do(t, "POST", "/v1/deidentified/erase", "", wrong)
		require.Equal(t, http.StatusNotFound, r.code, "request %d: %s", i+1, r.body)
	}
	r := d.do(t, "POST", "/v1/deidentified/erase", "", wrong)
	require.Equal(t, http.StatusTooManyRequests, r.code, "%s", r.body)
	assert.Equal(t, "rate_limited", r.errCode(t))
	assert.Equal(t, "12", r.hdr.Get("Retry-After"))
	// Malformed bodies count too: they are refused before they are read.
	r = d.do(t, "POST", "/v1/deidentified/erase", "", `not json`)
	assert.Equal(t, http.StatusTooManyRequests, r.code, "%s", r.body)

	clk.Advance(7 * time.Second)
	r = d.do(t, "POST", "/v1/deidentified/erase", "", wrong)
	require.Equal(t, http.StatusTooManyRequests, r.code)
	assert.Equal(t, "5", r.hdr.Get("Retry-After"))
	clk.Advance(5 * time.Second)
	assert.Equal(t, http.StatusNotFound, d.do(t, "POST", "/v1/deidentified/erase", "", wrong).code, "no token back after 12 s")
	assert.Equal(t, http.StatusTooManyRequests, d.do(t, "POST", "/v1/deidentified/erase", "", wrong).code)
	clk.Advance(time.Minute)
	for i := range 5 {
		assert.Equal(t, http.StatusNotFound, d.do(t, "POST", "/v1/deidentified/erase", "", wrong).code, "after a minute, request %d", i+1)
	}
	// Other routes are not limited.
	assert.Equal(t, http.StatusOK, d.do(t, "GET", "/v1/health", "", "").code)
}

// Every new endpoint refuses a missing token and a token of the wrong
// role; the state-changing ones also refuse a foreign Origin, an oversized
// body and malformed JSON, with the right status, and change nothing.
func TestRightsEndpointsRefuse(t *testing.T) {
	st := newState(t)
	toks := st.deidentified(t, "Old")
	ana := st.enrol(t, "Ana")
	clk := clocktest.New(time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC))
	cfg := st.config()
	cfg.MaxBodyBytes = 1024
	d := start(t, cfg, agent.WithClock(clk))
	tech, admin, kiosk := st.tokens[vault.RoleTechnician], st.tokens[vault.RoleAdmin], st.tokens[vault.RoleKiosk]
	puller := st.tokens[vault.RolePuller]
	id := ana.id.String()
	before := subjectOf(t, d, tech, ana.id)
	beforeAudit := auditActions(t, d, admin)

	big := `{"display_name":"` + strings.Repeat("x", 2000) + `"}`
	good := map[string]string{ // a body the route would accept
		"PATCH /v1/subjects/{id}":     `{"display_name":"Eve"}`,
		"POST /v1/deidentified/erase": `{"deletion_token":"` + string(toks[0]) + `"}`,
	}
	routes := []struct {
		method, path, role string
		changes            bool
	}{
		{"GET", "/v1/subjects", vault.RoleTechnician, false},
		{"GET", "/v1/subjects/" + id, vault.RoleTechnician, false},
		{"PATCH", "/v1/subjects/" + id, vault.RoleTechnician, true},
		{"POST", "/v1/subjects/" + id + "/restrict", vault.RoleTechnician, true},
		{"DELETE", "/v1/subjects/" + id + "/restrict", vault.RoleTechnician, true},
		{"GET", "/v1/subjects/" + id + "/export", vault.RoleAdmin, false},
		{"DELETE", "/v1/subjects/" + id, vault.RoleAdmin, true},
		{"POST", "/v1/deidentified/erase", "none", true},
		{"GET", "/v1/audit", vault.RoleAdmin, false},
		{"GET", "/v1/audit/verify", vault.RoleAdmin, false},
	}
	for _, rt := range routes {
		pattern := rt.method + " " + strings.ReplaceAll(rt.path, id, "{id}")
		token := admin
		if rt.role == vault.RoleTechnician {
			token = tech
		}
		var wrongRoles []string
		switch rt.role {
		case vault.RoleTechnician:
			wrongRoles = []string{kiosk, puller}
		case vault.RoleAdmin:
			wrongRoles = []string{tech, kiosk, puller}
		default:
			token = ""
		}
		body := good[pattern]
		type refusal struct {
			name, token, body string
			hdr               []string
			code              int
			errCode           string
		}
		var cases []refusal
		if rt.role != "none" {
			cases = append(cases,
				refusal{"no token", "", body, nil, 401, "unauthenticated"},
				refusal{"unknown token", "vxw_" + strings.Repeat("A", 43), body, nil, 401, "unauthenticated"})
			for _, w := range wrongRoles {
				cases = append(cases, refusal{"wrong role", w, body, nil, 403, "forbidden"})
			}
		}
		if rt.changes {
			cases = append(cases,
				refusal{"foreign origin", token, body, []string{"Origin", "http://evil.example"}, 403, "origin_refused"},
				refusal{"cross-site", token, body, []string{"Sec-Fetch-Site", "cross-site"}, 403, "origin_refused"},
				refusal{"oversized body", token, big, nil, 413, "body_too_large"},
				refusal{"malformed JSON", token, `{"display_name":`, nil, 400, "bad_json"},
				refusal{"unknown field", token, `{"nonsense":1}`, nil, 400, "bad_json"},
				refusal{"form body", token, `a=b`, []string{"Content-Type", "application/x-www-form-urlencoded"}, 415, "bad_content_type"})
		}
		for _, c := range cases {
			t.Run(pattern+"/"+c.name, func(t *testing.T) {
				clk.Advance(time.Minute) // the erasure's rate limit is not what is tested here
				r := d.do(t, rt.method, rt.path, c.token, c.body, c.hdr...)
				assert.Equal(t, c.code, r.code, "%s", r.body)
				assert.Equal(t, c.errCode, r.errCode(t))
			})
		}
	}

	// Nothing changed.
	assert.Equal(t, before, subjectOf(t, d, tech, ana.id), "a refused request changed the subject")
	assert.Equal(t, 1, d.status(t, tech).Vault.Records["deidentified template"], "a refused request erased the de-identified template")
	after := auditActions(t, d, admin)
	for _, action := range []string{"subject.rectify", "subject.status.restricted", "subject.status.active", "subject.erase", "deid.erase_by_token", "subject.export"} {
		assert.Equal(t, countAction(beforeAudit, action), countAction(after, action), "a refused request reached the vault: %s", action)
	}
	// And the good bodies do work (so the refusals were about the request).
	r := d.do(t, "PATCH", "/v1/subjects/"+id, tech, good["PATCH /v1/subjects/{id}"])
	assert.Equal(t, http.StatusOK, r.code, "%s", r.body)
	r = d.do(t, "POST", "/v1/deidentified/erase", "", good["POST /v1/deidentified/erase"])
	assert.Equal(t, http.StatusOK, r.code, "%s", r.body)
}

// The JSON an export is made of survives a round trip: a puller of
// portability data can read it back with encoding/json.
func TestExportIsPlainJSON(t *testing.T) {
	st := newState(t)
	ana := st.enrol(t, "Ana")
	d := start(t, st.config())
	r := d.do(t, "GET", "/v1/subjects/"+ana.id.String()+"/export", st.tokens[vault.RoleAdmin], "")
	require.Equal(t, http.StatusOK, r.code, "%s", r.body)
	var generic map[string]any
	require.NoError(t, json.Unmarshal(r.body, &generic))
	for _, k := range []string{"format", "subject", "consents", "templates", "recordings", "sessions", "audit", "transfers", "retention"} {
		assert.Contains(t, generic, k)
	}
	sub := generic["subject"].(map[string]any)
	for _, k := range []string{"id", "display_name", "contact", "status", "created", "last_interaction", "purposes", "kept_until", "kept"} {
		assert.Contains(t, sub, k)
	}
	assert.NotContains(t, sub, "deletion_token_hash")
}
