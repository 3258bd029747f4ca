package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/voxward/voxward/vault"
)

const cliMarker = "Qwxz-CLI-MARKER-Name"

// cliVault makes a state directory with a vault holding one subject.
func cliVault(t *testing.T) (dir string, sub vault.Subject) {
	t.Helper()
	dir = t.TempDir()
	require.NoError(t, vault.CreateKeyFile(filepath.Join(dir, vault.MasterKeyFile)))
	s, err := vault.Open(filepath.Join(dir, vault.VaultFile), &vault.Options{Key: vault.DefaultKeySource(dir)})
	require.NoError(t, err)
	a := vault.Actor{TokenID: "t", Role: "technician"}
	sub, _, err = s.CreateSubject(a, vault.NewSubject{DisplayName: cliMarker, Contact: "c@example.org", Consent: vault.Consent{
		Kind: vault.ConsentGrant, DisclosureSHA256: strings.Repeat("0f", 32), Signature: cliMarker, Purposes: []vault.Purpose{vault.PurposeRecognition},
	}})
	require.NoError(t, err)
	_, err = s.AddTemplate(a, sub.ID, vault.Template{Embedding: []float32{1, 2, 3, 4}, ModelID: "m"})
	require.NoError(t, err)
	require.NoError(t, s.Close())
	return dir, sub
}

func TestVaultCommands(t *testing.T) {
	dir, _ := cliVault(t)

	code, out, errOut := runCLI(t, "", "vault", "verify", "--state-dir", dir)
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "ok: 3 records")

	code, out, errOut = runCLI(t, "", "vault", "inspect", "--state-dir", dir)
	require.Equal(t, 0, code, errOut)
	var st vault.Stats
	require.NoError(t, json.Unmarshal([]byte(out), &st))
	assert.Equal(t, 1, st.Records["subject"])
	assert.Equal(t, 1, st.Records["template"])
	assert.NotContains(t, out, cliMarker)

	backup := filepath.Join(t.TempDir(), "b.db")
	code, out, errOut = runCLI(t, "", "vault", "backup", "--state-dir", dir, "--out", backup)
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, backup)
	raw, err := os.ReadFile(backup)
	require.NoError(t, err)
	assert.False(t, bytes.Contains(raw, []byte(cliMarker)), "the backup holds the marker name")

	code, out, errOut = runCLI(t, "", "vault", "rotate-key", "--state-dir", dir)
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "key epoch 2")

	code, out, errOut = runCLI(t, "", "vault", "compact", "--state-dir", dir)
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "compacted")

	code, _, errOut = runCLI(t, "", "vault", "verify", "--state-dir", dir)
	require.Equal(t, 0, code, errOut)
}

func TestVaultVerifyFailsOnTamper(t *testing.T) {
	dir, sub := cliVault(t)
	path := filepath.Join(dir, vault.VaultFile)
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	// The audit entry of the subject's creation (entry 1, before the
	// consent grant) names its id: flip a byte of it.
	needle := []byte(`"record_id":"` + sub.ID.String())
	// Every copy of the page, live or freed.
	n := 0
	for i := 0; ; n++ {
		j := bytes.Index(raw[i:], needle)
		if j < 0 {
			break
		}
		raw[i+j+len(needle)-1] ^= 1
		i += j + len(needle)
	}
	require.Positive(t, n)
	require.NoError(t, os.WriteFile(path, raw, 0o600))

	code, out, errOut := runCLI(t, "", "vault", "verify", "--state-dir", dir)
	assert.Equal(t, 1, code)
	assert.Contains(t, out, "audit entry 1")
	assert.Contains(t, errOut, "does not verify")
	assert.NotContains(t, out+errOut, cliMarker)
}

func TestVaultCommandErrors(t *testing.T) {
	dir, _ := cliVault(t)
	for _, tc := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"vault"}, 2, "want one of"},
		{[]string{"vault", "shred", "--state-dir", dir}, 2, "unknown vault command"},
		{[]string{"vault", "verify"}, 2, "--state-dir is required"},
		{[]string{"vault", "backup", "--state-dir", dir}, 2, "needs --out"},
		{[]string{"vault", "verify", "--state-dir", dir, "--bogus"}, 2, "flag provided but not defined"},
		{[]string{"vault", "verify", "--state-dir", t.TempDir()}, 1, "no vault at"},
	} {
		code, _, errOut := runCLI(t, "", tc.args...)
		assert.Equalf(t, tc.code, code, "voxward %v", tc.args)
		assert.Containsf(t, errOut, tc.msg, "voxward %v", tc.args)
	}

	// A key file readable by others is refused.
	require.NoError(t, os.Chmod(filepath.Join(dir, vault.MasterKeyFile), 0o644))
	code, _, errOut := runCLI(t, "", "vault", "verify", "--state-dir", dir)
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "chmod 600")
	require.NoError(t, os.Chmod(filepath.Join(dir, vault.MasterKeyFile), 0o600))

	// While another process (here: this one) holds the vault, say so.
	s, err := vault.Open(filepath.Join(dir, vault.VaultFile), &vault.Options{Key: vault.DefaultKeySource(dir)})
	require.NoError(t, err)
	defer s.Close()
	code, _, errOut = runCLI(t, "", "vault", "inspect", "--state-dir", dir)
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "voxward serve running")
}
