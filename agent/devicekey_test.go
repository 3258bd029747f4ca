package agent_test

import (
	"crypto/ed25519"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/voxward/voxward/agent"
)

func TestDeviceKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), agent.DeviceKeyFile)
	pub, err := agent.CreateDeviceKey(path)
	require.NoError(t, err)
	fi, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())

	priv, err := agent.LoadDeviceKey(path)
	require.NoError(t, err)
	assert.Equal(t, pub, priv.Public().(ed25519.PublicKey))
	sig := ed25519.Sign(priv, []byte("manifest"))
	assert.True(t, ed25519.Verify(pub, []byte("manifest"), sig))
	assert.Regexp(t, `^vx-[0-9a-f]{16}$`, agent.DeviceID(pub))

	_, err = agent.CreateDeviceKey(path)
	require.ErrorIs(t, err, os.ErrExist, "CreateDeviceKey overwrote a key")
	again, err := agent.LoadDeviceKey(path)
	require.NoError(t, err)
	assert.Equal(t, priv, again)

	require.NoError(t, os.Chmod(path, 0o644))
	_, err = agent.LoadDeviceKey(path)
	assert.ErrorIs(t, err, agent.ErrDeviceKey)

	bad := filepath.Join(t.TempDir(), "bad.key")
	require.NoError(t, os.WriteFile(bad, []byte("not a key"), 0o600))
	_, err = agent.LoadDeviceKey(bad)
	assert.ErrorIs(t, err, agent.ErrDeviceKey)
	_, err = agent.LoadDeviceKey(filepath.Join(t.TempDir(), "missing"))
	assert.ErrorIs(t, err, agent.ErrDeviceKey)
}
