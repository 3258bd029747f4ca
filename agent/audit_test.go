package agent_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/voxward/voxward/agent"
	"github.com/voxward/voxward/vault"
)

// GET /v1/audit pages through the chain after a sequence number; the
// entries name tokens and random ids, never a person.
func TestAuditPaging(t *testing.T) {
	st := newState(t)
	ana := st.enrol(t, "Zyxq Marker-Name")
	d := start(t, st.config())
	admin := st.tokens[vault.RoleAdmin]
	all := auditActions(t, d, admin)
	require.Greater(t, len(all), 6)
	for i, e := range all {
		assert.Equal(t, uint64(i+1), e.Seq)
	}

	r := d.do(t, "GET", "/v1/audit?limit=2", admin, "")
	require.Equal(t, http.StatusOK, r.code, "%s", r.body)
	var page agent.AuditPage
	r.json(t, &page)
	assert.Equal(t, all[:2], page.Entries)
	assert.True(t, page.More)
	assert.Equal(t, uint64(2), page.Next)

	r = d.do(t, "GET", fmt.Sprintf("/v1/audit?after=%d&limit=%d", 2, len(all)), admin, "")
	require.Equal(t, http.StatusOK, r.code, "%s", r.body)
	r.json(t, &page)
	assert.Equal(t, all[2:], page.Entries)
	assert.False(t, page.More)
	assert.Equal(t, all[len(all)-1].Seq, page.Next)

	r = d.do(t, "GET", fmt.Sprintf("/v1/audit?after=%d", 1<<40), admin, "")
	require.Equal(t, http.StatusOK, r.code, "%s", r.body)
	r.json(t, &page)
	assert.Empty(t, page.Entries)
	assert.NotNil(t, page.Entries, "an empty page is [] not null")
	assert.Equal(t, uint64(1<<40), page.Next)

	// Every entry of the chain, read whole: no name, no contact.
	r = d.do(t, "GET", fmt.Sprintf("/v1/audit?limit=%d", agent.MaxAuditLimit), admin, "")
	require.Equal(t, http.StatusOK, r.code)
	assert.NotContains(t, string(r.body), "Zyxq")
	assert.NotContains(t, string(r.body), "zyxq")
	assert.Contains(t, string(r.body), ana.id.String())

	for _, q := range []string{"after=-1", "after=x", "limit=0", "limit=-3", fmt.Sprintf("limit=%d", agent.MaxAuditLimit+1), "limit=ten"} {
		r := d.do(t, "GET", "/v1/audit?"+q, admin, "")
		assert.Equal(t, http.StatusBadRequest, r.code, "%s: %s", q, r.body)
		assert.Equal(t, "bad_query", r.errCode(t), q)
	}
	// Reading the audit log adds nothing to it.
	n := len(auditActions(t, d, admin))
	assert.Equal(t, n, len(auditActions(t, d, admin)))
}

// GET /v1/audit/verify checks the chain: ok on a fresh vault, and when an
// entry in the middle has been altered on disk it names that entry.
func TestAuditVerifyFindsAnAlteredEntry(t *testing.T) {
	st := newState(t)
	st.enrol(t, "Ana")
	d := start(t, st.config())
	admin := st.tokens[vault.RoleAdmin]
	r := d.do(t, "GET", "/v1/audit/verify", admin, "")
	require.Equal(t, http.StatusOK, r.code, "%s", r.body)
	var chk agent.AuditCheck
	r.json(t, &chk)
	assert.True(t, chk.OK)
	assert.Nil(t, chk.FirstBroken)
	key, err := base64.StdEncoding.DecodeString(chk.CheckpointKey)
	require.NoError(t, err)
	assert.Len(t, key, 32, "an Ed25519 public key")
	assert.Positive(t, chk.Entries)
	require.NoError(t, d.stop(t))

	// Alter one entry in the middle of the chain, in the file itself.
	v := st.openVault(t)
	entries, err := v.AuditEntries(0, 0)
	require.NoError(t, err)
	require.NoError(t, v.Close())
	mid := entries[len(entries)/2]
	canon, err := json.Marshal(mid)
	require.NoError(t, err)
	path := filepath.Join(st.dir, vault.VaultFile)
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	at := bytes.Index(canon, []byte(`"action":"`)) + len(`"action":"`)
	altered := bytes.Clone(canon)
	altered[at] ^= 0x01 // one letter of the action
	require.True(t, bytes.Contains(raw, canon), "the entry is not in the file as encoded")
	require.NoError(t, os.WriteFile(path, bytes.ReplaceAll(raw, canon, altered), 0o600))

	d = start(t, st.config())
	r = d.do(t, "GET", "/v1/audit/verify", admin, "")
	require.Equal(t, http.StatusOK, r.code, "%s", r.body)
	r.json(t, &chk)
	assert.False(t, chk.OK)
	require.NotNil(t, chk.FirstBroken)
	assert.Equal(t, mid.Seq, chk.FirstBroken.Seq)
	assert.NotEmpty(t, chk.FirstBroken.Reason)
	assert.Equal(t, http.StatusForbidden, d.do(t, "GET", "/v1/audit/verify", st.tokens[vault.RoleTechnician], "").code)
}
