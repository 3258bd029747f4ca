package agent_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/voxward/voxward/agent"
	"github.com/voxward/voxward/vault"
)

func disclosureOf(t *testing.T, d *daemon, token string) agent.Disclosure {
	t.Helper()
	r := d.do(t, "GET", "/v1/disclosure", token, "")
	require.Equal(t, http.StatusOK, r.code, "%s", r.body)
	var disc agent.Disclosure
	r.json(t, &disc)
	return disc
}

func consentBody(t *testing.T, name, sha string, agreed bool, signature string, purposes ...string) string {
	t.Helper()
	b, err := json.Marshal(map[string]any{
		"display_name": name, "contact": name + "@example.org",
		"consent": map[string]any{"disclosure_sha256": sha, "agreed": agreed, "signature": signature, "purposes": purposes},
	})
	require.NoError(t, err)
	return string(b)
}

// The disclosure is generated from the running configuration, says what
// PRIVACY.md rule 2 asks, and is versioned by its SHA-256.
func TestDisclosureFollowsTheConfiguration(t *testing.T) {
	st := newState(t)
	cfg := st.config()
	cfg.Operator, cfg.OperatorContact = "Example Hall Ltd", "privacy@example.org"
	cfg.RetainIdentifiable, cfg.RetainSessions = agent.Duration(14*24*time.Hour), agent.Duration(7*24*time.Hour)
	d := start(t, cfg)
	kiosk := st.tokens[vault.RoleKiosk]
	disc := disclosureOf(t, d, kiosk)
	sum := sha256.Sum256([]byte(disc.Text))
	assert.Equal(t, hex.EncodeToString(sum[:]), disc.SHA256)
	assert.Contains(t, disc.Version, disc.SHA256[:12])
	for _, want := range []string{"Example Hall Ltd", "privacy@example.org", "voiceprint", "biometric", "at most 14 days",
		"at most 7 days", "withdraw", "Recognition", "Research (optional)", "never stored", "deletion token"} {
		assert.Contains(t, disc.Text, want)
	}
	require.Len(t, disc.Purposes, 2)

	r := d.do(t, "GET", "/v1/retention", kiosk, "")
	require.Equal(t, http.StatusOK, r.code)
	var rs agent.RetentionSchedule
	r.json(t, &rs)
	p := cfg.RetentionPolicy()
	assert.Equal(t, int(p.Identifiable/(24*time.Hour)), rs.IdentifiableDays)
	assert.Equal(t, 7, rs.SessionsDays)
	assert.Equal(t, 1095, rs.DeidentifiedDays)
	for _, it := range rs.Items {
		assert.Contains(t, disc.Text, it.Data, "the disclosure states every line of the schedule")
	}
	require.NoError(t, d.stop(t))

	// Another operator: another text, another hash; the old hash is stale.
	cfg.Operator = "Other Venue plc"
	d2 := start(t, cfg)
	disc2 := disclosureOf(t, d2, kiosk)
	assert.NotEqual(t, disc.SHA256, disc2.SHA256)
	r = d2.do(t, "POST", "/v1/subjects", kiosk, consentBody(t, "Ana", disc.SHA256, true, "Ana", "recognition"))
	assert.Equal(t, http.StatusConflict, r.code, "%s", r.body)
	assert.Equal(t, "stale_disclosure", r.errCode(t))
}

// POST /v1/subjects stores a consent only with the current hash, agreed,
// a typed signature and a known purpose; the record keeps what rule 2
// lists; a refusal stores nothing; and the consent opens a session.
func TestConsentAtTheKiosk(t *testing.T) {
	st := newState(t)
	d := start(t, st.config())
	kiosk, tech := st.tokens[vault.RoleKiosk], st.tokens[vault.RoleTechnician]
	disc := disclosureOf(t, d, kiosk)
	stale := disc.SHA256[:63] + map[bool]string{true: "1", false: "0"}[disc.SHA256[63] == '0']

	refused := []struct {
		name, body string
		code       int
		errCode    string
	}{
		{"stale hash", consentBody(t, "Ana", stale, true, "Ana", "recognition"), 409, "stale_disclosure"},
		{"not agreed", consentBody(t, "Ana", disc.SHA256, false, "Ana", "recognition"), 422, "not_agreed"},
		{"blank signature", consentBody(t, "Ana", disc.SHA256, true, "  \t", "recognition"), 422, "no_signature"},
		{"no purpose", consentBody(t, "Ana", disc.SHA256, true, "Ana"), 422, "no_purpose"},
		{"unknown purpose", consentBody(t, "Ana", disc.SHA256, true, "Ana", "marketing"), 422, "invalid"},
		{"blank name", consentBody(t, " ", disc.SHA256, true, "Ana", "recognition"), 422, "invalid"},
		{"unknown field", `{"display_name":"Ana","consent":{},"age":3}`, 400, ""},
		{"not JSON", `display_name=Ana`, 400, ""},
	}
	for _, c := range refused {
		r := d.do(t, "POST", "/v1/subjects", kiosk, c.body)
		assert.Equal(t, c.code, r.code, "%s: %s", c.name, r.body)
		if c.errCode != "" {
			assert.Equal(t, c.errCode, r.errCode(t), c.name)
		}
		assert.NotContains(t, string(r.body), "Ana", "%s: the answer repeats a name", c.name)
	}
	// Roles and origin: a technician is not the kiosk; a foreign page cannot submit.
	good := consentBody(t, "Ana", disc.SHA256, true, "Ana Example", "recognition", "research")
	assert.Equal(t, http.StatusForbidden, d.do(t, "POST", "/v1/subjects", tech, good).code)
	assert.Equal(t, http.StatusUnauthorized, d.do(t, "POST", "/v1/subjects", "", good).code)
	assert.Equal(t, http.StatusForbidden, d.do(t, "POST", "/v1/subjects", kiosk, good, "Origin", "http://evil.example").code)
	assert.Zero(t, d.status(t, tech).Vault.Records["subject"], "a refused consent stored a subject")

	r := d.do(t, "POST", "/v1/subjects", kiosk, good)
	require.Equal(t, http.StatusCreated, r.code, "%s", r.body)
	var created agent.SubjectCreated
	r.json(t, &created)
	assert.Len(t, created.SubjectID, 32)
	assert.GreaterOrEqual(t, len(created.DeletionToken), 40)
	assert.Equal(t, disc.Version, created.Disclosure)

	// The consent opens a session.
	id, err := vault.ParseID(created.SubjectID)
	require.NoError(t, err)
	r = d.do(t, "POST", "/v1/sessions", tech, sessionBody(t, "panel", id))
	require.Equal(t, http.StatusCreated, r.code, "%s", r.body)
	require.NoError(t, d.stop(t))

	// What the vault holds: everything rule 2 lists.
	v := st.openVault(t)
	defer v.Close()
	hist, err := v.Consents(vault.SystemActor, id)
	require.NoError(t, err)
	require.Len(t, hist, 1)
	c := hist[0]
	assert.Equal(t, vault.ConsentGrant, c.Kind)
	assert.Equal(t, disc.SHA256, c.DisclosureSHA256)
	assert.Equal(t, disc.Version, c.DisclosureVersion)
	assert.Equal(t, []vault.Purpose{vault.PurposeRecognition, vault.PurposeResearch}, c.Purposes)
	assert.Contains(t, c.RetentionStated, "identifiable 30 days")
	assert.Equal(t, "Ana Example", c.Signature)
	assert.False(t, c.Time.IsZero())
	toks, err := v.Tokens(vault.SystemActor)
	require.NoError(t, err)
	var kioskID string
	for _, tk := range toks {
		if tk.Role == vault.RoleKiosk {
			kioskID = tk.ID.String()
		}
	}
	assert.Equal(t, kioskID, c.TechnicianTokenID, "the consent names the token that took it")
}

// PRIVACY.md rule 3: withdrawal at the kiosk takes the speaker out of
// every live session before it answers; a session left with nobody
// consenting stops and the source closes; their data is erased with a
// receipt.
func TestWithdrawalClosesTheGate(t *testing.T) {
	st := newState(t)
	d := start(t, st.config())
	kiosk, tech := st.tokens[vault.RoleKiosk], st.tokens[vault.RoleTechnician]
	disc := disclosureOf(t, d, kiosk)
	consent := func(name string) vault.ID {
		r := d.do(t, "POST", "/v1/subjects", kiosk, consentBody(t, name, disc.SHA256, true, name, "recognition"))
		require.Equal(t, http.StatusCreated, r.code, "%s", r.body)
		var c agent.SubjectCreated
		r.json(t, &c)
		id, err := vault.ParseID(c.SubjectID)
		require.NoError(t, err)
		return id
	}
	ana, ben := consent("Ana"), consent("Ben")
	r := d.do(t, "POST", "/v1/sessions", tech, sessionBody(t, "panel", ana, ben))
	require.Equal(t, http.StatusCreated, r.code, "%s", r.body)
	require.True(t, d.status(t, tech).Capture.Open)

	// Ben leaves: Ana still consents, the session goes on.
	r = d.do(t, "POST", "/v1/subjects/"+ben.String()+"/withdraw", kiosk, "")
	require.Equal(t, http.StatusOK, r.code, "%s", r.body)
	var rc agent.WithdrawalReceipt
	r.json(t, &rc)
	assert.Zero(t, rc.SessionsStopped)
	assert.Equal(t, ben.String(), rc.Receipt.SubjectID)
	assert.Positive(t, rc.Receipt.Erased["subject"], "receipt %+v", rc.Receipt)
	assert.True(t, d.status(t, tech).Capture.Open, "the gate closed while Ana still consents")

	// Ana leaves: nobody consents; the gate is closed when the answer arrives.
	r = d.do(t, "POST", "/v1/subjects/"+ana.String()+"/withdraw", kiosk, "")
	require.Equal(t, http.StatusOK, r.code, "%s", r.body)
	r.json(t, &rc)
	assert.Equal(t, 1, rc.SessionsStopped)
	s := d.status(t, tech)
	assert.False(t, s.Capture.Open, "the source is open with nobody consenting")
	assert.Empty(t, s.Sessions)

	// Withdrawn is gone: a second withdrawal and a new session find nobody.
	assert.Equal(t, http.StatusNotFound, d.do(t, "POST", "/v1/subjects/"+ana.String()+"/withdraw", kiosk, "").code)
	assert.Equal(t, http.StatusNotFound, d.do(t, "POST", "/v1/subjects/nothex/withdraw", kiosk, "").code)
	r = d.do(t, "POST", "/v1/sessions", tech, sessionBody(t, "again", ana))
	assert.Equal(t, http.StatusUnprocessableEntity, r.code, "%s", r.body)
	assert.Equal(t, http.StatusForbidden, d.do(t, "POST", "/v1/subjects/"+ana.String()+"/withdraw", tech, "").code, "a technician is not the kiosk")
	require.NoError(t, d.stop(t))

	v := st.openVault(t)
	defer v.Close()
	for _, id := range []vault.ID{ana, ben} {
		_, err := v.Subject(vault.SystemActor, id)
		assert.ErrorIs(t, err, vault.ErrNotFound, "a withdrawn subject is still held")
	}
	rep, err := v.Verify()
	require.NoError(t, err)
	assert.True(t, rep.OK(), "%v", rep.Problems)
}
