package agent

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/voxward/voxward/vault"
)

// TestEveryRouteRefuses walks the route table itself, so that a route
// added later is covered too: every route refuses a foreign Host (421)
// and a declared body over the limit (413); every route that needs a role
// refuses a missing token (401) and a token of another role (403); every
// state-changing route refuses a foreign Origin (403) and malformed JSON
// (4xx); and none of these refusals changes what the vault holds.
func TestEveryRouteRefuses(t *testing.T) {
	dir := t.TempDir()
	key := filepath.Join(dir, vault.MasterKeyFile)
	require.NoError(t, vault.CreateKeyFile(key))
	_, err := CreateDeviceKey(filepath.Join(dir, DeviceKeyFile))
	require.NoError(t, err)
	s, err := vault.Open(filepath.Join(dir, vault.VaultFile), &vault.Options{Key: vault.FileKey(key)})
	require.NoError(t, err)
	tokens := map[string]string{}
	for _, role := range roles {
		_, secret, err := s.CreateToken(vault.SystemActor, role)
		require.NoError(t, err)
		tokens[role] = string(secret)
	}
	require.NoError(t, s.Close())

	cfg := DefaultConfig()
	cfg.StateDir, cfg.Listen, cfg.KeyFile, cfg.MaxBodyBytes = dir, "127.0.0.1:0", key, 1024
	a, err := New(cfg, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	defer func() {
		cancel()
		require.NoError(t, <-done)
	}()
	select {
	case <-a.Ready():
	case err := <-done:
		t.Fatalf("Run: %v", err)
	}
	base := "http://" + a.Addr().String()
	counts := func() map[string]int {
		st, err := a.vaultStore().Stats()
		require.NoError(t, err)
		return st.Records
	}
	before := counts()

	do := func(method, path, token, body string, hdr ...string) int {
		t.Helper()
		req, err := http.NewRequest(method, base+path, strings.NewReader(body))
		require.NoError(t, err)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		req.Header.Set("Content-Type", "application/json")
		for i := 0; i+1 < len(hdr); i += 2 {
			switch hdr[i] {
			case "Host":
				req.Host = hdr[i+1]
			case "Content-Length":
				fmt.Sscan(hdr[i+1], &req.ContentLength)
			default:
				req.Header.Set(hdr[i], hdr[i+1])
			}
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0 // a refused oversized body may close the connection first
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	n := 0
	for _, r := range a.routes() {
		method, path, _ := strings.Cut(r.pattern, " ")
		path = strings.NewReplacer("{id}", vault.NewID().String()).Replace(path)
		right := tokens[vault.RoleAdmin]
		if r.role != roleNone {
			right = tokens[r.role]
		}
		name := r.pattern
		assert.Equal(t, http.StatusMisdirectedRequest, do(method, path, right, "", "Host", "attacker.example"), "%s: foreign Host", name)
		probe, err := http.NewRequest(method, base+path, nil)
		require.NoError(t, err)
		big := strings.Repeat("x", int(a.bodyLimit(probe))+1) // max_body_bytes, or max_enroll_bytes for an enrolment
		if code := do(method, path, right, big); code != 0 {
			assert.Equal(t, http.StatusRequestEntityTooLarge, code, "%s: a body over its limit", name)
		}
		if r.role != roleNone {
			assert.Equal(t, http.StatusUnauthorized, do(method, path, "", ""), "%s: no token", name)
			assert.Equal(t, http.StatusUnauthorized, do(method, path, "vxw_not-a-token", ""), "%s: a wrong token", name)
			if r.role != vault.RoleAdmin {
				for _, other := range roles {
					if other != r.role && other != vault.RoleAdmin {
						assert.Equal(t, http.StatusForbidden, do(method, path, tokens[other], ""), "%s: a %s token", name, other)
					}
				}
			} else {
				assert.Equal(t, http.StatusForbidden, do(method, path, tokens[vault.RoleTechnician], ""), "%s: a technician token", name)
			}
		}
		if method != "GET" {
			assert.Equal(t, http.StatusForbidden, do(method, path, right, "{}", "Origin", "http://attacker.example"), "%s: foreign Origin", name)
			code := do(method, path, right, `{"broken":`)
			assert.True(t, code >= 400 && code < 500, "%s: malformed JSON answered %d", name, code)
		}
		n++
	}
	time.Sleep(10 * time.Millisecond)
	assert.Equal(t, before, counts(), "a refused request changed the vault")
	t.Logf("%d routes checked", n)
}
