package agent_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/voxward/voxward/agent"
	"github.com/voxward/voxward/internal/clocktest"
	vsync "github.com/voxward/voxward/sync"
	"github.com/voxward/voxward/vault"
)

// needTool returns the path of a command-line tool the test shells out
// to. Outside CI a missing tool skips the test with the command that
// installs it; under CI=true it fails.
func needTool(t *testing.T, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	msg := fmt.Sprintf("needs %s: apt-get install -y %s", name, pkg)
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// research stores subjects who granted research, each with its own
// template, and de-identifies them with every other subject stored (the
// vault's clock past their identifiable window). It returns their ids, deletion tokens and raw
// templates, for a scanner to look for.
func (st state) research(t *testing.T, names []string, dim int, seed uint64) (ids []vault.ID, toks []vault.DeletionToken, raw [][]float32) {
	t.Helper()
	s := st.openVault(t)
	a := vault.Actor{TokenID: "test", Role: vault.RoleKiosk}
	r := rand.New(rand.NewPCG(seed, 1))
	for _, n := range names {
		sub, tok, err := s.CreateSubject(a, vault.NewSubject{
			DisplayName: n, Contact: strings.ToLower(strings.ReplaceAll(n, " ", ".")) + "@example.org",
			Consent: vault.Consent{Kind: vault.ConsentGrant, DisclosureSHA256: strings.Repeat("ab", 32), Signature: n,
				Purposes: []vault.Purpose{vault.PurposeRecognition, vault.PurposeResearch}},
		})
		require.NoError(t, err)
		emb := make([]float32, dim)
		var nn float64
		for i := range emb {
			emb[i] = float32(r.NormFloat64())
			nn += float64(emb[i]) * float64(emb[i])
		}
		for i := range emb {
			emb[i] /= float32(math.Sqrt(nn))
		}
		_, err = s.AddTemplate(a, sub.ID, vault.Template{Embedding: emb, ModelID: "test-model", Quality: map[string]float64{"snr_db": 24.5}})
		require.NoError(t, err)
		ids, toks, raw = append(ids, sub.ID), append(toks, tok), append(raw, emb)
	}
	require.NoError(t, s.Close())
	s = st.openVaultAt(t, func() time.Time { return time.Now().Add(vault.MaxIdentifiable + time.Hour) })
	defer s.Close()
	cfg := agent.DefaultConfig()
	rep, err := s.ApplyRetention(vault.SystemActor, cfg.RetentionPolicy())
	require.NoError(t, err)
	require.GreaterOrEqual(t, rep.DeidCreated, len(names))
	return ids, toks, raw
}

// Only research subjects' templates go upstream (PRIVACY.md rules 4, 15,
// 17): not those of a subject who granted recognition only, nor of one
// restricted before the end of their identifiable window; each template
// goes once.
func TestSyncTemplatesOnlyForResearch(t *testing.T) {
	st := newState(t)
	s := st.openVault(t)
	a := vault.Actor{TokenID: "test", Role: vault.RoleKiosk}
	var restricted vault.ID
	for i, purposes := range [][]vault.Purpose{
		{vault.PurposeRecognition},                        // never synced
		{vault.PurposeRecognition, vault.PurposeResearch}, // restricted below
	} {
		sub, _, err := s.CreateSubject(a, vault.NewSubject{DisplayName: fmt.Sprint("Other ", i),
			Consent: vault.Consent{Kind: vault.ConsentGrant, DisclosureSHA256: strings.Repeat("ab", 32), Signature: "x", Purposes: purposes}})
		require.NoError(t, err)
		_, err = s.AddTemplate(a, sub.ID, vault.Template{Embedding: []float32{1, 2, 3, 4, 5, 6, 7, 8}, ModelID: "test-model"})
		require.NoError(t, err)
		restricted = sub.ID
	}
	_, err := s.SetStatus(vault.Actor{TokenID: "test", Role: vault.RoleTechnician}, restricted, vault.StatusRestricted)
	require.NoError(t, err)
	require.NoError(t, s.Close())
	names := make([]string, 5)
	for i := range names {
		names[i] = fmt.Sprint("Research ", i)
	}
	st.research(t, names, 8, 3) // de-identifies the two above too

	cfg := st.config()
	cfg.SyncMinTemplates = 5
	d := start(t, cfg, agent.WithClock(clocktest.New(time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC))))
	admin, puller := st.tokens[vault.RoleAdmin], st.tokens[vault.RolePuller]
	require.Equal(t, 7, d.status(t, st.tokens[vault.RoleTechnician]).Vault.Records["deidentified template"])
	r := d.do(t, "POST", "/v1/sync/seal", admin, "")
	require.Equal(t, http.StatusCreated, r.code, "%s", r.body)
	r = d.do(t, "POST", "/v1/sync/seal", admin, "")
	require.Equal(t, http.StatusNoContent, r.code, "templates went out twice: %s", r.body)
	n := 0
	for _, b := range pullAll(t, d, puller) {
		for _, l := range b.records {
			rec, err := vsync.DecodeRecord(l)
			require.NoError(t, err)
			if rec.Template != nil {
				n++
			}
		}
	}
	assert.Equal(t, 5, n, "templates upstream: the 5 research subjects' only")
}

// pulled is one batch as a puller gets it through the API, verified.
type pulled struct {
	id       string
	manifest []byte
	records  []json.RawMessage
	plain    []byte // the decompressed body
}

// pullAll fetches, verifies and decompresses every batch the daemon
// serves, the way a puller does.
func pullAll(t *testing.T, d *daemon, puller string) []pulled {
	t.Helper()
	r := d.do(t, "GET", "/v1/sync/key", puller, "")
	require.Equal(t, http.StatusOK, r.code, "%s", r.body)
	pub, err := vsync.ParsePublicKeyPEM(r.body)
	require.NoError(t, err)
	r = d.do(t, "GET", "/v1/sync/batches?limit=1000", puller, "")
	require.Equal(t, http.StatusOK, r.code, "%s", r.body)
	var list vsync.ListResponse
	r.json(t, &list)
	var out []pulled
	for _, e := range list.Batches {
		mr := d.do(t, "GET", "/v1/sync/batches/"+e.BatchID+"/manifest", puller, "")
		require.Equal(t, http.StatusOK, mr.code, "%s", mr.body)
		sig, err := base64.StdEncoding.DecodeString(mr.hdr.Get(vsync.SignatureHeader))
		require.NoError(t, err)
		m, err := vsync.VerifyManifest(ed25519.PublicKey(pub), mr.body, sig)
		require.NoError(t, err)
		br := d.do(t, "GET", "/v1/sync/batches/"+e.BatchID, puller, "")
		require.Equal(t, http.StatusOK, br.code, "%s", br.body)
		recs, err := vsync.ReadRecords(m, br.body, 0)
		require.NoError(t, err)
		var plain []byte
		for _, l := range recs {
			plain = append(append(plain, l...), '\n')
		}
		out = append(out, pulled{id: e.BatchID, manifest: mr.body, records: recs, plain: plain})
	}
	return out
}

// runSession starts and stops a session of participants through the API.
func runSession(t *testing.T, d *daemon, tech, title string, ids ...vault.ID) {
	t.Helper()
	r := d.do(t, "POST", "/v1/sessions", tech, sessionBody(t, title, ids...))
	require.Equal(t, http.StatusCreated, r.code, "%s", r.body)
	var sr agent.SessionResponse
	r.json(t, &sr)
	r = d.do(t, "POST", "/v1/sessions/"+sr.SessionID+"/stop", tech, "")
	require.Equal(t, http.StatusOK, r.code, "%s", r.body)
}

// A batch fetched with curl verifies with standard tools: sha256sum
// matches the manifest, openssl accepts the signature with the PEM key
// from /v1/sync/key, and zstd -d yields JSON Lines. Then it is
// acknowledged (twice: idempotent) and gone.
func TestSyncBatchVerifiesWithStandardTools(t *testing.T) {
	curl := needTool(t, "curl", "curl")
	sha := needTool(t, "sha256sum", "coreutils")
	openssl := needTool(t, "openssl", "openssl")
	zstd := needTool(t, "zstd", "zstd")

	st := newState(t)
	names := make([]string, 10)
	for i := range names {
		names[i] = fmt.Sprintf("Research Speaker %d", i)
	}
	st.research(t, names, 64, 1)
	speaker := st.consenting(t)
	clk := clocktest.New(time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC))
	d := start(t, st.config(), agent.WithClock(clk))
	tech, admin, puller := st.tokens[vault.RoleTechnician], st.tokens[vault.RoleAdmin], st.tokens[vault.RolePuller]
	runSession(t, d, tech, "Quarterly review", speaker)

	r := d.do(t, "POST", "/v1/sync/seal", puller, "")
	require.Equal(t, http.StatusForbidden, r.code, "a puller sealed: %s", r.body)
	r = d.do(t, "POST", "/v1/sync/seal", admin, "")
	require.Equal(t, http.StatusCreated, r.code, "%s", r.body)
	var sealed agent.SealResponse
	r.json(t, &sealed)
	require.True(t, vsync.ValidID(sealed.BatchID), "batch id %q", sealed.BatchID)
	r = d.do(t, "POST", "/v1/sync/seal", admin, "")
	require.Equal(t, http.StatusNoContent, r.code, "a second seal with nothing new: %s", r.body)
	r = d.do(t, "GET", "/v1/sync/batches", tech, "")
	require.Equal(t, http.StatusForbidden, r.code, "a technician listed batches")

	dir := t.TempDir()
	run := func(name string, args ...string) string {
		t.Helper()
		cmd := exec.Command(name, args...)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "%s %s: %s", name, strings.Join(args, " "), out)
		return string(out)
	}
	auth := "Authorization: Bearer " + puller
	url := d.base + "/v1/sync"
	run(curl, "-fsS", "-H", auth, "-o", "key.pem", url+"/key")
	run(curl, "-fsS", "-H", auth, "-D", "headers.txt", "-o", "manifest.json", url+"/batches/"+sealed.BatchID+"/manifest")
	run(curl, "-fsS", "-H", auth, "-o", "batch.zst", url+"/batches/"+sealed.BatchID)

	manifest, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	require.NoError(t, err)
	var m vsync.Manifest
	require.NoError(t, json.Unmarshal(manifest, &m))
	sum := strings.Fields(run(sha, "batch.zst"))[0]
	assert.Equal(t, m.SHA256, sum, "sha256sum of the body is not the manifest's")

	headers, err := os.ReadFile(filepath.Join(dir, "headers.txt"))
	require.NoError(t, err)
	sigB64 := regexp.MustCompile(`(?im)^X-Voxward-Signature:\s*(\S+)`).FindSubmatch(headers)
	require.NotNil(t, sigB64, "no signature header in %s", headers)
	sig, err := base64.StdEncoding.DecodeString(string(sigB64[1]))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "manifest.sig"), sig, 0o600))
	out := run(openssl, "pkeyutl", "-verify", "-pubin", "-inkey", "key.pem", "-rawin", "-in", "manifest.json", "-sigfile", "manifest.sig")
	assert.Contains(t, out, "Signature Verified Successfully")
	// A manifest changed by one byte does not verify.
	require.NoError(t, os.WriteFile(filepath.Join(dir, "forged.json"), bytes.Replace(manifest, []byte(`"records":`), []byte(`"records": `), 1), 0o600))
	cmd := exec.Command(openssl, "pkeyutl", "-verify", "-pubin", "-inkey", "key.pem", "-rawin", "-in", "forged.json", "-sigfile", "manifest.sig")
	cmd.Dir = dir
	require.Error(t, cmd.Run(), "openssl accepted a changed manifest")

	plain := run(zstd, "-d", "-c", "-q", "batch.zst")
	lines := strings.Split(strings.TrimSuffix(plain, "\n"), "\n")
	assert.Len(t, lines, m.Records)
	types := map[string]int{}
	for _, l := range lines {
		rec, err := vsync.DecodeRecord([]byte(l))
		require.NoError(t, err, "line %q", l)
		types[rec.Type]++
	}
	assert.Equal(t, map[string]int{"session_stats": 1, "audio_quality": 1, "template": 10}, types)

	// Acknowledge, twice; the batch is gone, the pull and acks audited.
	for range 2 {
		r = d.do(t, "POST", "/v1/sync/batches/"+sealed.BatchID+"/ack", puller, "")
		require.Equal(t, http.StatusOK, r.code, "%s", r.body)
	}
	r = d.do(t, "GET", "/v1/sync/batches/"+sealed.BatchID, puller, "")
	assert.Equal(t, http.StatusNotFound, r.code)
	actions := map[string]int{}
	for _, e := range auditActions(t, d, admin) {
		actions[e.Action]++
	}
	assert.Equal(t, 1, actions["sync.seal"], "seals audited")
	assert.Equal(t, 1, actions["sync.pull"], "pulls of the body audited")
	assert.Equal(t, 1, actions["sync.ack"], "acknowledgements audited (the second found nothing)")
	s := d.status(t, tech)
	assert.Equal(t, 0, s.Outbox.Batches)
	assert.Equal(t, uint64(1), s.Outbox.Sealed)
}

// The scanner: a vault full of marker names, contacts, subject ids,
// session titles and IP-like strings is sealed into batches (by the API
// and on the interval); none of those, and no 16-byte run of a raw
// template, appears in a decompressed batch or a manifest, and no time
// in them is finer than the hour.
func TestSyncBatchesHoldNothingIdentifiable(t *testing.T) {
	st := newState(t)
	var names []string
	for i := range 12 {
		names = append(names, fmt.Sprintf("Zqxv Marker %02d 10.77.66.%d", i, 100+i))
	}
	ids, toks, raw := st.research(t, names, 256, 7)
	speaker := st.consenting(t)
	clk := clocktest.New(time.Date(2026, 5, 1, 10, 17, 33, 0, time.UTC))
	d := start(t, st.config(), agent.WithClock(clk))
	tech, admin, puller := st.tokens[vault.RoleTechnician], st.tokens[vault.RoleAdmin], st.tokens[vault.RolePuller]
	titles := []string{"Zqxv Board meeting from 192.168.201.9", "Zqxv Call 2001:db8::77 with Jane Roe"}
	for _, title := range titles {
		runSession(t, d, tech, title, speaker)
	}
	r := d.do(t, "POST", "/v1/sync/seal", admin, "")
	require.Equal(t, http.StatusCreated, r.code, "%s", r.body)

	// The interval seals the device's health.
	giveUp := make(chan struct{})
	timer := time.AfterFunc(10*time.Second, func() { close(giveUp) })
	require.True(t, clk.BlockUntil(2, giveUp), "the retention and sync jobs do not wait on the clock")
	timer.Stop()
	clk.Advance(time.Hour)
	require.Eventually(t, func() bool { return d.status(t, tech).Outbox.Sealed == 2 }, 10*time.Second, 10*time.Millisecond, "no batch sealed on the interval")

	batches := pullAll(t, d, puller)
	require.Len(t, batches, 2)
	var all []byte
	types := map[string]int{}
	for _, b := range batches {
		all = append(all, b.manifest...)
		all = append(all, b.plain...)
		for _, l := range b.records {
			rec, err := vsync.DecodeRecord(l)
			require.NoError(t, err)
			types[rec.Type]++
		}
	}
	assert.Equal(t, 12, types["template"], "the research templates are in the batches (or the scan proves nothing)")
	assert.Equal(t, 2, types["session_stats"])
	assert.Equal(t, 1, types["device_health"])
	lower := bytes.ToLower(all)

	// Needles are long enough (8 characters or more) that the random
	// base64 of the templates cannot hold one by chance.
	needles := []string{"zqxv marker", "example.org", "jane roe", "zqxv board meeting", "zqxv call", "10.77.66.", "192.168.201.9", "2001:db8::77", "127.0.0.1",
		"qwxz consenting speaker", speaker.String()}
	for i := range ids {
		needles = append(needles, ids[i].String(), string(toks[i]))
	}
	for _, tok := range st.tokens {
		needles = append(needles, tok)
	}
	for _, n := range needles {
		require.GreaterOrEqual(t, len(n), 8, "needle %q", n)
		assert.False(t, bytes.Contains(lower, bytes.ToLower([]byte(n))), "a batch holds %q", n)
	}
	for i, v := range raw {
		rb := make([]byte, 4*len(v))
		for k, x := range v {
			binary.LittleEndian.PutUint32(rb[4*k:], math.Float32bits(x))
		}
		enc := []byte(base64.StdEncoding.EncodeToString(rb))
		for off := 0; off+16 <= len(rb); off += 4 {
			require.False(t, bytes.Contains(all, rb[off:off+16]), "template %d: raw bytes %d..%d in a batch", i, off, off+16)
		}
		for off := 0; off+16 <= len(enc); off += 4 {
			require.False(t, bytes.Contains(all, enc[off:off+16]), "template %d: base64 of its raw bytes in a batch", i)
		}
		// Its values as decimal text (how JSON would write them).
		for _, x := range v[:16] {
			s := strings.TrimPrefix(fmt.Sprint(x), "-")
			if len(s) >= 8 {
				require.False(t, bytes.Contains(all, []byte(s)), "template %d: value %s as text in a batch", i, s)
			}
		}
	}
	ts := regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:(\d\d):(\d\d)(\.\d+)?`)
	for _, m := range ts.FindAllSubmatch(all, -1) {
		assert.Equal(t, "00:00", string(m[1])+":"+string(m[2]), "a time finer than the hour: %s", m[0])
		assert.Empty(t, m[3], "a time with a fraction: %s", m[0])
	}
	assert.NotEmpty(t, ts.FindAll(all, -1), "the batches hold no hour at all (or the pattern is wrong)")
}

// Sealing is refused once the outbox budget is full of batches nobody
// acknowledges: new records are refused and counted, status and metrics
// warn, and the old batches are kept.
func TestOutboxBudgetWarns(t *testing.T) {
	st := newState(t)
	speaker := st.consenting(t)
	cfg := st.config()
	cfg.OutboxMaxBytes = 64 << 10
	cfg.SyncMinTemplates = 0
	clk := clocktest.New(time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC))
	d := start(t, cfg, agent.WithClock(clk))
	tech := st.tokens[vault.RoleTechnician]
	for i := 0; i < 400 && !d.status(t, tech).Outbox.Full; i++ {
		runSession(t, d, tech, "", speaker)
	}
	s := d.status(t, tech)
	require.True(t, s.Outbox.Full, "400 sessions did not fill a 64 KiB outbox: %+v", s.Outbox)
	assert.NotEmpty(t, s.Outbox.Warning)
	held := s.Outbox.Entries
	runSession(t, d, tech, "", speaker)
	s = d.status(t, tech)
	assert.GreaterOrEqual(t, s.Outbox.Refused, uint64(2), "a session's records refused when full")
	assert.Equal(t, held, s.Outbox.Entries, "a full outbox dropped or took records")
	assert.Equal(t, 1.0, d.metric(t, tech, "voxward_outbox_full"))
	assert.Equal(t, float64(s.Outbox.Refused), d.metric(t, tech, "voxward_outbox_refused_total"))
}

// sync_listen serves the pull protocol alone, on its own address.
func TestSyncListenServesPullOnly(t *testing.T) {
	st := newState(t)
	cfg := st.config()
	cfg.SyncListen = "127.0.0.1:0"
	d := start(t, cfg, agent.WithClock(clocktest.New(time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC))))
	addr := d.app.SyncAddr()
	require.NotNil(t, addr)
	other := &daemon{base: "http://" + addr.String()}
	r := other.do(t, "GET", "/v1/sync/key", st.tokens[vault.RolePuller], "")
	require.Equal(t, http.StatusOK, r.code, "%s", r.body)
	assert.Contains(t, string(r.body), "BEGIN PUBLIC KEY")
	r = other.do(t, "GET", "/v1/status", st.tokens[vault.RoleAdmin], "")
	assert.Equal(t, http.StatusNotFound, r.code, "sync_listen serves more than the pull protocol")
	r = other.do(t, "POST", "/v1/sync/seal", st.tokens[vault.RoleAdmin], "")
	assert.Equal(t, http.StatusNotFound, r.code, "sync_listen serves sealing")
}
