package agent_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/voxward/voxward/agent"
	"github.com/voxward/voxward/internal/clocktest"
	"github.com/voxward/voxward/vault"
)

// state is an initialised state directory with a token per role.
type state struct {
	dir    string
	tokens map[string]string
}

// newState does what "voxward init" does, in t.TempDir().
func newState(t *testing.T) state {
	t.Helper()
	return newStateIn(t, t.TempDir())
}

// newStateIn is newState in dir.
func newStateIn(t *testing.T, dir string) state {
	t.Helper()
	require.NoError(t, vault.CreateKeyFile(filepath.Join(dir, vault.MasterKeyFile)))
	_, err := agent.CreateDeviceKey(filepath.Join(dir, agent.DeviceKeyFile))
	require.NoError(t, err)
	s, err := vault.Open(filepath.Join(dir, vault.VaultFile), &vault.Options{Key: vault.FileKey(filepath.Join(dir, vault.MasterKeyFile))})
	require.NoError(t, err)
	st := state{dir: dir, tokens: map[string]string{}}
	for _, role := range []string{vault.RoleAdmin, vault.RoleTechnician, vault.RoleKiosk, vault.RolePuller} {
		_, secret, err := s.CreateToken(vault.SystemActor, role)
		require.NoError(t, err)
		st.tokens[role] = string(secret)
	}
	require.NoError(t, s.Close())
	return st
}

// openVault opens the state's vault (the daemon must be stopped).
func (st state) openVault(t *testing.T) *vault.Store {
	t.Helper()
	s, err := vault.Open(filepath.Join(st.dir, vault.VaultFile), &vault.Options{Key: vault.FileKey(filepath.Join(st.dir, vault.MasterKeyFile))})
	require.NoError(t, err)
	return s
}

// consenting stores a subject whose consent grants recognition (as the
// kiosk does) while the daemon is stopped, and returns its id.
func (st state) consenting(t *testing.T) vault.ID {
	t.Helper()
	s := st.openVault(t)
	defer s.Close()
	sub, _, err := s.CreateSubject(vault.Actor{TokenID: "test", Role: vault.RoleKiosk}, vault.NewSubject{
		DisplayName: "Qwxz Consenting Speaker", Contact: "speaker@example.org",
		Consent: vault.Consent{Kind: vault.ConsentGrant, DisclosureSHA256: strings.Repeat("ab", 32),
			Signature: "Qwxz Consenting Speaker", Purposes: []vault.Purpose{vault.PurposeRecognition}},
	})
	require.NoError(t, err)
	return sub.ID
}

// sessionBody is a session request with the given participants.
func sessionBody(t *testing.T, title string, ids ...vault.ID) string {
	t.Helper()
	b, err := json.Marshal(map[string]any{"title": title, "participants": ids})
	require.NoError(t, err)
	return string(b)
}

func (st state) config() agent.Config {
	cfg := agent.DefaultConfig()
	cfg.StateDir = st.dir
	cfg.Listen = "127.0.0.1:0"
	cfg.KeyFile = filepath.Join(st.dir, vault.MasterKeyFile)
	return cfg
}

// daemon is a running App on a real loopback listener.
type daemon struct {
	app    *agent.App
	base   string
	cancel context.CancelFunc
	done   chan error
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// start runs the App until the test ends (or stop is called).
func start(t *testing.T, cfg agent.Config, opts ...agent.Option) *daemon {
	t.Helper()
	return startLogging(t, cfg, testLogger(t), opts...)
}

// startLogging is start with the App logging to logger.
func startLogging(t *testing.T, cfg agent.Config, logger *slog.Logger, opts ...agent.Option) *daemon {
	t.Helper()
	app, err := agent.New(cfg, logger, opts...)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	d := &daemon{app: app, cancel: cancel, done: make(chan error, 1)}
	go func() { d.done <- app.Run(ctx) }()
	select {
	case <-app.Ready():
	case err := <-d.done:
		t.Fatalf("Run returned before ready: %v", err)
	}
	d.base = "http://" + app.Addr().String()
	t.Cleanup(func() { d.stop(t) })
	return d
}

// stop cancels Run (as SIGTERM does) and returns its error.
func (d *daemon) stop(t *testing.T) error {
	t.Helper()
	d.cancel()
	select {
	case err, ok := <-d.done:
		if ok {
			close(d.done)
			return err
		}
		return nil
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return within 10 s of cancel")
		return nil
	}
}

type reply struct {
	code int
	body []byte
	hdr  http.Header
}

func (r reply) json(t *testing.T, v any) {
	t.Helper()
	require.NoError(t, json.Unmarshal(r.body, v), "body %s", r.body)
}

// errCode returns the error code of an error body.
func (r reply) errCode(t *testing.T) string {
	t.Helper()
	var e struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	r.json(t, &e)
	require.NotEmpty(t, e.Error.Message, "error body %s has no message", r.body)
	return e.Error.Code
}

func (d *daemon) do(t *testing.T, method, path, token, body string, hdr ...string) reply {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, d.base+path, rd)
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i] == "Host" {
			req.Host = hdr[i+1]
			continue
		}
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return reply{code: resp.StatusCode, body: b, hdr: resp.Header}
}

func (d *daemon) status(t *testing.T, token string) agent.Status {
	t.Helper()
	r := d.do(t, "GET", "/v1/status", token, "")
	require.Equal(t, http.StatusOK, r.code, "GET /v1/status: %s", r.body)
	var st agent.Status
	r.json(t, &st)
	return st
}

func TestAuthAndRoles(t *testing.T) {
	st := newState(t)
	d := start(t, st.config())

	r := d.do(t, "GET", "/v1/health", "", "")
	assert.Equal(t, http.StatusOK, r.code)
	assert.JSONEq(t, `{"status":"ok"}`, string(r.body))

	for _, tc := range []struct {
		method, path, role string
		want               int
		code               string
	}{
		{"GET", "/v1/status", "", http.StatusUnauthorized, "unauthenticated"},
		{"GET", "/v1/status", "bogus", http.StatusUnauthorized, "unauthenticated"},
		{"GET", "/v1/status", vault.RoleKiosk, http.StatusForbidden, "forbidden"},
		{"GET", "/v1/status", vault.RolePuller, http.StatusForbidden, "forbidden"},
		{"GET", "/v1/status", vault.RoleTechnician, http.StatusOK, ""},
		{"GET", "/v1/status", vault.RoleAdmin, http.StatusOK, ""},
		{"GET", "/metrics", "", http.StatusUnauthorized, "unauthenticated"},
		{"GET", "/metrics", vault.RoleKiosk, http.StatusForbidden, "forbidden"},
		{"GET", "/metrics", vault.RoleTechnician, http.StatusOK, ""},
		{"POST", "/v1/sessions", vault.RoleKiosk, http.StatusForbidden, "forbidden"},
		{"POST", "/v1/sessions/00000000000000000000000000000000/stop", vault.RolePuller, http.StatusForbidden, "forbidden"},
		{"POST", "/v1/sessions/00000000000000000000000000000000/stop", vault.RoleTechnician, http.StatusNotFound, "not_found"},
		{"GET", "/v1/nothing", vault.RoleAdmin, http.StatusNotFound, "not_found"},
		{"DELETE", "/v1/status", vault.RoleAdmin, http.StatusMethodNotAllowed, ""},
	} {
		token := st.tokens[tc.role]
		if tc.role == "bogus" {
			token = "vx_not-a-token"
		}
		r := d.do(t, tc.method, tc.path, token, "")
		assert.Equal(t, tc.want, r.code, "%s %s as %q: %s", tc.method, tc.path, tc.role, r.body)
		if tc.code != "" {
			assert.Equal(t, tc.code, r.errCode(t), "%s %s as %q", tc.method, tc.path, tc.role)
		}
		if tc.want == http.StatusUnauthorized {
			assert.Contains(t, r.hdr.Get("WWW-Authenticate"), "Bearer")
		}
	}

	// A revoked token stops working at once.
	require.NoError(t, d.stop(t))
	s := st.openVault(t)
	toks, err := s.Tokens(vault.SystemActor)
	require.NoError(t, err)
	for _, tok := range toks {
		if tok.Role == vault.RoleTechnician {
			require.NoError(t, s.RevokeToken(vault.SystemActor, tok.ID))
		}
	}
	require.NoError(t, s.Close())
	d = start(t, st.config())
	r = d.do(t, "GET", "/v1/status", st.tokens[vault.RoleTechnician], "")
	assert.Equal(t, http.StatusUnauthorized, r.code)
}

func TestHostAndOriginRefused(t *testing.T) {
	st := newState(t)
	cfg := st.config()
	cfg.AllowedHosts = []string{"voxward.local"}
	d := start(t, cfg)
	tech := st.tokens[vault.RoleTechnician]
	port := d.app.Addr().String()[strings.LastIndexByte(d.app.Addr().String(), ':'):]

	for _, tc := range []struct {
		name string
		hdr  []string
		want int
		code string
	}{
		{"rebound name", []string{"Host", "attacker.example" + port}, http.StatusMisdirectedRequest, "host_not_allowed"},
		{"rebound name without port", []string{"Host", "attacker.example"}, http.StatusMisdirectedRequest, "host_not_allowed"},
		{"lan address", []string{"Host", "192.168.1.20" + port}, http.StatusMisdirectedRequest, "host_not_allowed"},
		{"localhost", []string{"Host", "localhost" + port}, http.StatusOK, ""},
		{"configured name", []string{"Host", "voxward.local" + port}, http.StatusOK, ""},
		{"foreign origin", []string{"Origin", "http://attacker.example"}, http.StatusForbidden, "origin_refused"},
		{"other local port", []string{"Origin", "http://127.0.0.1:1"}, http.StatusForbidden, "origin_refused"},
		{"null origin", []string{"Origin", "null"}, http.StatusForbidden, "origin_refused"},
		{"cross-site fetch", []string{"Sec-Fetch-Site", "cross-site"}, http.StatusForbidden, "origin_refused"},
		{"own origin", []string{"Origin", d.base}, http.StatusOK, ""},
	} {
		r := d.do(t, "GET", "/v1/status", tech, "", tc.hdr...)
		assert.Equal(t, tc.want, r.code, "%s: %s", tc.name, r.body)
		if tc.code != "" {
			assert.Equal(t, tc.code, r.errCode(t), tc.name)
		}
	}
	// Health is unauthenticated but still behind the Host check.
	r := d.do(t, "GET", "/v1/health", "", "", "Host", "attacker.example")
	assert.Equal(t, http.StatusMisdirectedRequest, r.code)
}

func TestStatusCountsTheVault(t *testing.T) {
	st := newState(t)
	v := st.openVault(t)
	_, err := v.AppendOutbox(vault.OutboxEntry{Kind: "device_health", Payload: []byte(`{}`)}, vault.OutboxEntry{Kind: "device_health", Payload: []byte(`{}`)})
	require.NoError(t, err)
	require.NoError(t, v.Close())
	d := start(t, st.config())
	s := d.status(t, st.tokens[vault.RoleTechnician])
	assert.Equal(t, 2, s.Outbox.Entries)
	assert.Equal(t, 4, s.Vault.Records["token"])
	assert.Positive(t, s.Vault.AuditEntries)
	assert.Positive(t, s.Vault.FileBytes)
	assert.Equal(t, agent.Version, s.Version)
	assert.Equal(t, 16000, s.Source.SampleRate)
}

func TestBodiesAreChecked(t *testing.T) {
	st := newState(t)
	cfg := st.config()
	cfg.MaxBodyBytes = 1024
	d := start(t, cfg)
	tech := st.tokens[vault.RoleTechnician]

	big := `{"title":"` + strings.Repeat("x", 2000) + `"}`
	r := d.do(t, "POST", "/v1/sessions", tech, big)
	assert.Equal(t, http.StatusRequestEntityTooLarge, r.code, "%s", r.body)
	assert.Equal(t, "body_too_large", r.errCode(t))

	r = d.do(t, "POST", "/v1/sessions", tech, `{"title":"a","nonsense":1}`)
	assert.Equal(t, http.StatusBadRequest, r.code)
	assert.Equal(t, "bad_json", r.errCode(t))

	r = d.do(t, "POST", "/v1/sessions", tech, `{"title":"a"} {}`)
	assert.Equal(t, http.StatusBadRequest, r.code)

	r = d.do(t, "POST", "/v1/sessions", tech, `title=a`, "Content-Type", "application/x-www-form-urlencoded")
	assert.Equal(t, http.StatusUnsupportedMediaType, r.code)
	assert.Equal(t, "bad_content_type", r.errCode(t))

	r = d.do(t, "POST", "/v1/sessions", tech, `{"participants":["00112233445566778899aabbccddeeff"]}`)
	assert.Equal(t, http.StatusUnprocessableEntity, r.code, "%s", r.body)
	assert.Equal(t, "no_consent", r.errCode(t))

	r = d.do(t, "POST", "/v1/sessions", tech, `{"participants":["not-an-id"]}`)
	assert.Equal(t, http.StatusBadRequest, r.code, "%s", r.body)

	// None of these opened the source.
	s := d.status(t, tech)
	assert.False(t, s.Capture.Open)
	assert.Zero(t, s.Capture.Opens)
}

func TestNotInitialised(t *testing.T) {
	cfg := agent.DefaultConfig()
	cfg.StateDir = t.TempDir()
	cfg.Listen = "127.0.0.1:0"
	app, err := agent.New(cfg, nil)
	require.NoError(t, err)
	err = app.Run(context.Background())
	require.ErrorIs(t, err, agent.ErrNotInitialised)
	assert.Contains(t, err.Error(), "voxward init")
	require.ErrorIs(t, app.Run(context.Background()), agent.ErrAlreadyRun)
}

func TestVaultLockedBySecondDaemon(t *testing.T) {
	st := newState(t)
	start(t, st.config())
	app, err := agent.New(st.config(), nil)
	require.NoError(t, err)
	err = app.Run(context.Background())
	require.ErrorIs(t, err, vault.ErrLocked)
	assert.Contains(t, err.Error(), "is voxward serve running?")
	select {
	case <-app.Ready():
		t.Fatal("a daemon that could not open the vault said it was ready")
	default:
	}
}

// advanceUntil moves the fake clock in 100 ms steps, each once the daemon
// waits on it, until cond holds: at most 100 steps. The daemon may reach
// cond without waiting on the clock again (a source that ends), so the
// wait for a waiter gives up after a moment of real time and cond is
// checked again; the whole wait is bounded by 10 s of real time.
func advanceUntil(t *testing.T, clk *clocktest.Fake, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	steps := 0
	for !cond() {
		require.True(t, time.Now().Before(deadline), "condition not reached within 10 s (%d fake steps)", steps)
		require.Less(t, steps, 100, "condition not reached after 10 s of fake time")
		giveUp := make(chan struct{})
		timer := time.AfterFunc(20*time.Millisecond, func() { close(giveUp) })
		waiting := clk.BlockUntil(1, giveUp)
		timer.Stop()
		if waiting {
			clk.Advance(100 * time.Millisecond)
			steps++
		}
	}
}

func TestSessionOpensAndClosesTheGate(t *testing.T) {
	st := newState(t)
	clk := clocktest.New(time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC))
	cfg := st.config()
	cfg.SessionMax = 0 // no lease expiry: the only timers are the tone's pacing
	speaker := st.consenting(t)
	d := start(t, cfg, agent.WithClock(clk))
	tech := st.tokens[vault.RoleTechnician]

	s := d.status(t, tech)
	require.False(t, s.Capture.Open, "source open before any session")
	assert.Zero(t, s.Capture.Opens)
	assert.Equal(t, "idle", s.Pipeline.State)
	assert.Equal(t, "tone", s.Source.Kind)
	assert.Zero(t, s.Levels.Samples)
	assert.Contains(t, s.Pipeline.Speakers, "voiceprints")
	assert.Regexp(t, `^vx-[0-9a-f]{16}$`, s.Device)
	assert.Equal(t, 4, s.Vault.Records["token"], "vault counts: %+v", s.Vault)

	r := d.do(t, "POST", "/v1/sessions", tech, sessionBody(t, "Tuesday keynote", speaker))
	require.Equal(t, http.StatusCreated, r.code, "%s", r.body)
	var started agent.SessionResponse
	r.json(t, &started)
	assert.True(t, started.Capture.Open)
	assert.Len(t, started.SessionID, 32)

	// Reads go through the gate as fake time passes: the meter sees the
	// tone (−20 dBFS peak: about −23 dBFS RMS) and fbank frames come out.
	advanceUntil(t, clk, func() bool {
		s := d.status(t, tech)
		return s.Pipeline.Frames > 0 && s.Levels.Samples > 0
	})
	s = d.status(t, tech)
	assert.True(t, s.Capture.Open)
	assert.Equal(t, "running", s.Pipeline.State)
	assert.InDelta(t, -23.0, s.Levels.RMSDBFS, 1.0)
	require.Len(t, s.Sessions, 1)
	assert.Equal(t, started.SessionID, s.Sessions[0].ID)
	assert.NotContains(t, string(d.do(t, "GET", "/v1/status", tech, "").body), "keynote", "status shows a session title")

	m := d.do(t, "GET", "/metrics", tech, "")
	require.Equal(t, http.StatusOK, m.code)
	assert.Contains(t, string(m.body), "voxward_capture_open 1")
	assert.Regexp(t, `voxward_capture_frames_total [1-9]`, string(m.body))
	assert.Contains(t, string(m.body), `voxward_http_requests_total{code="201",route="POST /v1/sessions"} 1`)

	// Stop: the last lease is released and the source closes before the
	// reply, with no time passing at all.
	r = d.do(t, "POST", "/v1/sessions/"+started.SessionID+"/stop", tech, "")
	require.Equal(t, http.StatusOK, r.code, "%s", r.body)
	var stopped agent.SessionResponse
	r.json(t, &stopped)
	assert.False(t, stopped.Capture.Open)
	s = d.status(t, tech)
	assert.False(t, s.Capture.Open)
	assert.Equal(t, uint64(1), s.Capture.Opens)
	assert.Equal(t, uint64(1), s.Capture.Closes)
	assert.Contains(t, s.Capture.Reason, "released")
	assert.Empty(t, s.Sessions)

	r = d.do(t, "POST", "/v1/sessions/"+started.SessionID+"/stop", tech, "")
	assert.Equal(t, http.StatusNotFound, r.code, "stopping twice")

	// Nothing audio-derived reached the vault: a session record only,
	// beside the subject and consent stored before, and the session's
	// de-identified statistics in the sync outbox.
	require.NoError(t, d.stop(t))
	v := st.openVault(t)
	defer v.Close()
	stats, err := v.Stats()
	require.NoError(t, err)
	outbox, err := v.Outbox(0, 0)
	require.NoError(t, err)
	for _, e := range outbox {
		assert.Contains(t, []string{"session_stats", "audio_quality"}, e.Kind, "outbox record after a session")
	}
	for kind, n := range stats.Records {
		switch kind {
		case "token", "session", "audit", "meta", "subject", "consent", "datakey", "outbox entry":
		default:
			assert.Zero(t, n, "the vault holds %d %s record(s) after a session", n, kind)
		}
	}
	sessions, err := v.Sessions(vault.SystemActor)
	require.NoError(t, err)
	require.Len(t, sessions, 1)
	assert.False(t, sessions[0].Stopped.IsZero())
}

func TestTwoSessionsShareTheGate(t *testing.T) {
	st := newState(t)
	speaker := st.consenting(t)
	d := start(t, st.config())
	tech := st.tokens[vault.RoleTechnician]
	var ids []string
	for range 2 {
		r := d.do(t, "POST", "/v1/sessions", tech, sessionBody(t, "", speaker))
		require.Equal(t, http.StatusCreated, r.code, "%s", r.body)
		var sr agent.SessionResponse
		r.json(t, &sr)
		ids = append(ids, sr.SessionID)
	}
	r := d.do(t, "POST", "/v1/sessions/"+ids[0]+"/stop", tech, "")
	require.Equal(t, http.StatusOK, r.code)
	assert.True(t, d.status(t, tech).Capture.Open, "the gate closed while a session still runs")
	r = d.do(t, "POST", "/v1/sessions/"+ids[1]+"/stop", tech, "")
	require.Equal(t, http.StatusOK, r.code)
	s := d.status(t, tech)
	assert.False(t, s.Capture.Open)
	assert.Equal(t, uint64(1), s.Capture.Opens, "the source reopened for the second session")
}

func TestSessionLeaseExpires(t *testing.T) {
	st := newState(t)
	clk := clocktest.New(time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC))
	cfg := st.config()
	cfg.SessionMax = agent.Duration(time.Minute)
	speaker := st.consenting(t)
	d := start(t, cfg, agent.WithClock(clk))
	tech := st.tokens[vault.RoleTechnician]

	r := d.do(t, "POST", "/v1/sessions", tech, sessionBody(t, "", speaker))
	require.Equal(t, http.StatusCreated, r.code, "%s", r.body)
	var sr agent.SessionResponse
	r.json(t, &sr)
	s := d.status(t, tech)
	require.True(t, s.Capture.Open)
	require.Len(t, s.Sessions, 1)
	assert.Equal(t, clk.Now().Add(time.Minute), s.Sessions[0].Expires)

	clk.Advance(time.Minute - time.Millisecond)
	assert.True(t, d.status(t, tech).Capture.Open, "closed before the session's limit")
	clk.Advance(time.Millisecond)
	s = d.status(t, tech)
	assert.False(t, s.Capture.Open, "a forgotten session kept the source open past session_max")
	assert.Contains(t, s.Capture.Reason, "expired")
	require.Len(t, s.Sessions, 1)
	assert.True(t, s.Sessions[0].Expired)

	r = d.do(t, "POST", "/v1/sessions/"+sr.SessionID+"/stop", tech, "")
	assert.Equal(t, http.StatusOK, r.code, "%s", r.body)
}

func TestShutdownStopsEverything(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	st := newState(t)
	speaker := st.consenting(t)
	d := start(t, st.config())
	r := d.do(t, "POST", "/v1/sessions", st.tokens[vault.RoleTechnician], sessionBody(t, "left running", speaker))
	require.Equal(t, http.StatusCreated, r.code, "%s", r.body)
	http.DefaultClient.CloseIdleConnections()

	// What SIGTERM does: the context ends; Run returns nil.
	require.NoError(t, d.stop(t))
	_, err := http.Get(d.base + "/v1/health")
	assert.Error(t, err, "the listener is still open after Run returned")

	// The vault was closed and the running session recorded as stopped.
	v := st.openVault(t)
	defer v.Close()
	sessions, err := v.Sessions(vault.SystemActor)
	require.NoError(t, err)
	require.Len(t, sessions, 1)
	assert.False(t, sessions[0].Stopped.IsZero(), "the session left running was not stopped at shutdown")
	rep, err := v.Verify()
	require.NoError(t, err)
	assert.True(t, rep.OK(), "vault verify after shutdown: %v", rep.Problems)
}

func TestNewRejectsBadConfig(t *testing.T) {
	cfg := agent.DefaultConfig()
	cfg.StateDir = t.TempDir()
	cfg.Listen = "0.0.0.0:7480"
	_, err := agent.New(cfg, nil)
	assert.True(t, errors.Is(err, agent.ErrConfig), "New with a public listen address = %v, want ErrConfig", err)
}

// A session needs participants, and they must be active subjects whose
// consent grants recognition; otherwise nothing opens (PRIVACY.md rule 1).
func TestSessionParticipantsNeedConsent(t *testing.T) {
	st := newState(t)
	s := st.openVault(t)
	a := vault.Actor{TokenID: "test", Role: vault.RoleTechnician}
	subject := func(purposes ...vault.Purpose) vault.ID {
		sub, _, err := s.CreateSubject(a, vault.NewSubject{DisplayName: "Speaker", Contact: "s@example.org", Consent: vault.Consent{
			Kind: vault.ConsentGrant, DisclosureSHA256: strings.Repeat("ab", 32), Signature: "Speaker", Purposes: purposes,
		}})
		require.NoError(t, err)
		return sub.ID
	}
	ok := subject(vault.PurposeRecognition)
	researchOnly := subject(vault.PurposeResearch)
	restricted := subject(vault.PurposeRecognition)
	_, err := s.SetStatus(a, restricted, vault.StatusRestricted)
	require.NoError(t, err)
	require.NoError(t, s.Close())

	d := start(t, st.config())
	tech := st.tokens[vault.RoleTechnician]
	for _, tc := range []struct {
		name string
		ids  []vault.ID
		want string
	}{
		{"nobody", nil, "at least one participant"},
		{"nobody (empty list)", []vault.ID{}, "at least one participant"},
		{"research only", []vault.ID{ok, researchOnly}, "did not grant recognition"},
		{"restricted", []vault.ID{restricted}, "restricted"},
		{"unknown", []vault.ID{vault.NewID()}, "does not exist"},
	} {
		body, err := json.Marshal(map[string]any{"title": "t", "participants": tc.ids})
		require.NoError(t, err)
		r := d.do(t, "POST", "/v1/sessions", tech, string(body))
		assert.Equal(t, http.StatusUnprocessableEntity, r.code, "%s: %s", tc.name, r.body)
		assert.Contains(t, string(r.body), tc.want, tc.name)
		assert.NotContains(t, string(r.body), "Speaker", "%s: an error names the subject", tc.name)
	}
	assert.Zero(t, d.status(t, tech).Capture.Opens, "a refused session opened the source")

	body, err := json.Marshal(map[string]any{"title": "t", "participants": []vault.ID{ok}})
	require.NoError(t, err)
	r := d.do(t, "POST", "/v1/sessions", tech, string(body))
	require.Equal(t, http.StatusCreated, r.code, "%s", r.body)
	var sr agent.SessionResponse
	r.json(t, &sr)
	assert.Equal(t, 1, sr.Participants)
	assert.True(t, sr.Capture.Open)
}
