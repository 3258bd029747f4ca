package agent_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/voxward/voxward/agent"
	"github.com/voxward/voxward/internal/testenv"
	"github.com/voxward/voxward/vault"
)

// rawRequest sends req as written on a new connection and reads one
// answer, waiting at most wait.
func rawRequest(t *testing.T, addr, req string, wait time.Duration) (*http.Response, []byte, error) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.SetDeadline(time.Now().Add(wait)))
	if _, err := c.Write([]byte(req)); err != nil {
		return nil, nil, err
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp, body, err
}

// TestDeclaredBodyTooLargeRefusedAtOnce: a Content-Length over
// max_body_bytes is refused with 413 before anything else — routing,
// the token, reading the body — on every route, without waiting for a
// body the client will never send.
func TestDeclaredBodyTooLargeRefusedAtOnce(t *testing.T) {
	st := newState(t)
	cfg := st.config()
	cfg.MaxBodyBytes = 1024
	speaker := st.consenting(t)
	d := start(t, cfg)
	addr := d.app.Addr().String()
	tech := st.tokens[vault.RoleTechnician]
	for _, tc := range []struct{ method, path, token string }{
		{"GET", "/v1/health", ""},
		{"GET", "/v1/status", ""}, // would be 401
		{"GET", "/v1/status", tech},
		{"GET", "/metrics", tech},
		{"POST", "/v1/sessions", tech},
		{"POST", "/v1/sessions/00000000000000000000000000000000/stop", tech},
		{"PUT", "/v1/nothing", ""}, // would be 404
	} {
		req := tc.method + " " + tc.path + " HTTP/1.1\r\nHost: " + addr + "\r\nContent-Type: application/json\r\nContent-Length: 1073741824\r\n"
		if tc.token != "" {
			req += "Authorization: Bearer " + tc.token + "\r\n"
		}
		req += "\r\n{}"
		begin := time.Now()
		// The server's read timeout is 30 s; an answer at once is
		// well within 5 s.
		resp, body, err := rawRequest(t, addr, req, 5*time.Second)
		require.NoError(t, err, "%s %s with Content-Length 1 GiB: no answer within 5 s", tc.method, tc.path)
		assert.Less(t, time.Since(begin), 5*time.Second)
		assert.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode, "%s %s: %s", tc.method, tc.path, body)
		var e struct {
			Error struct{ Code, Message string }
		}
		require.NoError(t, json.Unmarshal(body, &e), "%s", body)
		assert.Equal(t, "body_too_large", e.Error.Code)
		assert.Contains(t, e.Error.Message, "1024 bytes")
	}

	// A chunked body (no Content-Length) over the limit is refused as it
	// is read.
	req, err := http.NewRequest("POST", d.base+"/v1/sessions", io.MultiReader(strings.NewReader(`{"title":"`), strings.NewReader(strings.Repeat("x", 4000)+`"}`)))
	require.NoError(t, err)
	require.Zero(t, req.ContentLength, "the body is sent without a length (chunked)")
	req.Header.Set("Authorization", "Bearer "+tech)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	assert.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode, "%s", body)
	assert.Contains(t, string(body), "body_too_large")

	// A body within the limit still works, and the refusals opened nothing.
	r := d.do(t, "POST", "/v1/sessions", tech, sessionBody(t, "fits", speaker))
	require.Equal(t, http.StatusCreated, r.code, "%s", r.body)
}

// TestFullVaultAnswers507: vault_max_bytes reaches the vault as its disk
// budget; status shows it, and a write that does not fit is answered 507
// vault_full.
func TestFullVaultAnswers507(t *testing.T) {
	st := newState(t)
	cfg := st.config()
	cfg.VaultMaxBytes = agent.MinVaultMaxBytes
	// Fill the vault to its budget as the daemon would see it.
	v, err := vault.Open(filepath.Join(st.dir, vault.VaultFile), &vault.Options{
		Key: vault.FileKey(filepath.Join(st.dir, vault.MasterKeyFile)), MaxSize: cfg.VaultMaxBytes,
	})
	require.NoError(t, err)
	sub, _, err := v.CreateSubject(vault.SystemActor, vault.NewSubject{DisplayName: "F", Consent: vault.Consent{
		Kind: vault.ConsentGrant, DisclosureSHA256: strings.Repeat("ab", 32), Signature: "F", Purposes: []vault.Purpose{vault.PurposeRecognition},
	}})
	require.NoError(t, err)
	for size, n := 16<<10, 0; size > 0; size /= 4 {
		for {
			n++
			require.Less(t, n, 2000, "the vault never filled its 1 MiB budget")
			if _, err := v.AddRecording(vault.SystemActor, sub.ID, vault.Recording{Format: "pcm", Audio: make([]byte, size)}); err != nil {
				require.ErrorIs(t, err, vault.ErrFull)
				break
			}
		}
	}
	require.NoError(t, v.Close())

	d := start(t, cfg)
	tech := st.tokens[vault.RoleTechnician]
	assert.Equal(t, int64(agent.MinVaultMaxBytes), d.status(t, tech).Vault.MaxBytes)
	r := d.do(t, "POST", "/v1/sessions", tech, sessionBody(t, strings.Repeat("t", 200), sub.ID))
	assert.Equal(t, http.StatusInsufficientStorage, r.code, "%s", r.body)
	assert.Equal(t, "vault_full", r.errCode(t))
	assert.False(t, d.status(t, tech).Capture.Open, "a session the vault could not record opened the source")
}

// logCounter counts the records at Warn and above and passes every record
// on to the test log.
type logCounter struct {
	slog.Handler
	mu *sync.Mutex
	n  *int
}

func newLogCounter(t *testing.T) (*slog.Logger, func() int) {
	var mu sync.Mutex
	n := 0
	h := logCounter{Handler: testLogger(t).Handler(), mu: &mu, n: &n}
	return slog.New(h), func() int { mu.Lock(); defer mu.Unlock(); return n }
}

func (h logCounter) Handle(ctx context.Context, r slog.Record) error {
	if r.Level >= slog.LevelWarn {
		h.mu.Lock()
		*h.n++
		h.mu.Unlock()
	}
	return h.Handler.Handle(ctx, r)
}

func (h logCounter) WithAttrs(as []slog.Attr) slog.Handler {
	return logCounter{Handler: h.Handler.WithAttrs(as), mu: h.mu, n: h.n}
}

func (h logCounter) WithGroup(name string) slog.Handler {
	return logCounter{Handler: h.Handler.WithGroup(name), mu: h.mu, n: h.n}
}

// TestFullDiskAnswers507: on a file system with no space left, writes
// answer 507 vault_full (not 500), and a client retrying fast does not
// make the daemon log a line per attempt. Skipped where tmpfs cannot be
// mounted; TestFullVaultAnswers507 reaches the same answer through the
// disk budget.
func TestFullDiskAnswers507(t *testing.T) {
	dir := testenv.SmallFS(t, 4<<20)
	st := newStateIn(t, dir)
	speaker := st.consenting(t)
	logger, warnings := newLogCounter(t)
	d := startLogging(t, st.config(), logger)
	tech := st.tokens[vault.RoleTechnician]

	free := testenv.FillFS(t, dir)
	before := warnings()
	refused := 0
	for range 200 {
		r := d.do(t, "POST", "/v1/sessions", tech, sessionBody(t, strings.Repeat("t", 200), speaker))
		if r.code == http.StatusCreated {
			var sr agent.SessionResponse
			r.json(t, &sr)
			continue
		}
		require.Equal(t, http.StatusInsufficientStorage, r.code, "POST /v1/sessions on a full disk: %s", r.body)
		assert.Equal(t, "vault_full", r.errCode(t))
		refused++
	}
	require.Greater(t, refused, 20, "the disk never filled")
	assert.LessOrEqual(t, warnings()-before, 3, "%d refusals logged %d warnings or errors", refused, warnings()-before)

	free()
	require.NoError(t, d.stop(t))
	v := st.openVault(t)
	defer v.Close()
	rep, err := v.Verify()
	require.NoError(t, err)
	assert.True(t, rep.OK(), rep.Problems)
}
