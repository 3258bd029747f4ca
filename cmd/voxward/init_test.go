package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/voxward/voxward/agent"
	"github.com/voxward/voxward/vault"
)

// lastLine returns the last non-empty line of s.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return lines[len(lines)-1]
}

// initState runs "voxward init" in a fresh directory and returns it with
// the admin token.
func initState(t *testing.T) (dir, admin string) {
	t.Helper()
	t.Setenv("CREDENTIALS_DIRECTORY", "")
	dir = filepath.Join(t.TempDir(), "state")
	code, out, errOut := runCLI(t, "", "init", "--state-dir", dir)
	require.Equal(t, 0, code, errOut)
	return dir, lastLine(out)
}

func TestInitCreatesStateDir(t *testing.T) {
	dir, admin := initState(t)

	for _, name := range []string{vault.MasterKeyFile, vault.VaultFile, agent.DeviceKeyFile} {
		fi, err := os.Stat(filepath.Join(dir, name))
		require.NoError(t, err, name)
		assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), "mode of %s", name)
	}
	_, err := agent.LoadDeviceKey(filepath.Join(dir, agent.DeviceKeyFile))
	require.NoError(t, err)

	// The token is alone on the last line and authenticates as admin; the
	// vault holds only its hash.
	require.NotEmpty(t, admin)
	assert.NotContains(t, admin, " ")
	raw, err := os.ReadFile(filepath.Join(dir, vault.VaultFile))
	require.NoError(t, err)
	assert.NotContains(t, string(raw), admin)
	s, err := vault.Open(filepath.Join(dir, vault.VaultFile), &vault.Options{Key: vault.DefaultKeySource(dir)})
	require.NoError(t, err)
	tok, err := s.AuthenticateToken(vault.BearerToken(admin))
	require.NoError(t, err)
	assert.Equal(t, vault.RoleAdmin, tok.Role)
	require.NoError(t, s.Close())

	// A second init refuses the directory and leaves it alone.
	code, _, errOut := runCLI(t, "", "init", "--state-dir", dir)
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "already holds a vault")

	code, out, errOut := runCLI(t, "", "vault", "verify", "--state-dir", dir)
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "ok:")
}

func TestInitWithConfiguredKey(t *testing.T) {
	t.Setenv("CREDENTIALS_DIRECTORY", "")
	keyPath := filepath.Join(t.TempDir(), "k")
	require.NoError(t, vault.CreateKeyFile(keyPath))
	dir := filepath.Join(t.TempDir(), "state")
	code, out, errOut := runCLI(t, "", "init", "--state-dir", dir, "--key-file", keyPath)
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "file "+keyPath)
	_, err := os.Stat(filepath.Join(dir, vault.MasterKeyFile))
	assert.ErrorIs(t, err, os.ErrNotExist, "init made a master key although one was configured")
	code, out, errOut = runCLI(t, "", "token", "list", "--state-dir", dir, "--key-file", keyPath)
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "admin")
}

func TestTokenCommands(t *testing.T) {
	dir, _ := initState(t)

	code, out, errOut := runCLI(t, "", "token", "create", "--state-dir", dir, "--role", "technician")
	require.Equal(t, 0, code, errOut)
	tech := lastLine(out)

	code, out, errOut = runCLI(t, "", "token", "list", "--state-dir", dir)
	require.Equal(t, 0, code, errOut)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 2, out)
	assert.Contains(t, lines[0], "admin")
	assert.Contains(t, lines[1], "technician")
	assert.NotContains(t, out, tech, "token list shows a secret")
	techID := strings.Fields(lines[1])[0]

	code, out, errOut = runCLI(t, "", "token", "revoke", techID, "--state-dir", dir)
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "revoked")

	s, err := vault.Open(filepath.Join(dir, vault.VaultFile), &vault.Options{Key: vault.DefaultKeySource(dir)})
	require.NoError(t, err)
	defer s.Close()
	_, err = s.AuthenticateToken(vault.BearerToken(tech))
	assert.ErrorIs(t, err, vault.ErrNotFound, "a revoked token still authenticates")
}

func TestTokenAndInitUsage(t *testing.T) {
	dir, _ := initState(t)
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"init"}, 2, "--state-dir is required"},
		{[]string{"token", "create", "--state-dir", dir}, 2, "needs --role"},
		{[]string{"token", "create", "--state-dir", dir, "--role", "root"}, 2, "unknown role"},
		{[]string{"token", "frob", "--state-dir", dir}, 2, "unknown token command"},
		{[]string{"token", "revoke", "--state-dir", dir}, 2, "one token id"},
		{[]string{"token", "revoke", "xyz", "--state-dir", dir}, 1, "32 hex digits"},
		{[]string{"token", "list", "--state-dir", filepath.Join(dir, "nope")}, 1, "run \"voxward init"},
	} {
		code, _, errOut := runCLI(t, "", tc.args...)
		assert.Equal(t, tc.code, code, "voxward %v: %s", tc.args, errOut)
		assert.Contains(t, errOut, tc.want, "voxward %v", tc.args)
	}
}
