package sync_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	vsync "github.com/voxward/voxward/sync"
)

func TestDeviceIDFormula(t *testing.T) {
	pub := make(ed25519.PublicKey, ed25519.PublicKeySize) // all zero
	// sha256 of 32 zero bytes starts 66687aadf862bd77.
	require.Equal(t, "vx-66687aadf862bd77", vsync.DeviceID(pub))
	require.Equal(t, "SHA256:66687aadf862bd776c8fc18b8e9f8e20089714856ee233b3902a591d0d5f2925", vsync.Fingerprint(pub))
}

func TestKnownDevicesPinAndReload(t *testing.T) {
	path := filepath.Join(t.TempDir(), "known.json")
	k, err := vsync.OpenKnownDevices(path)
	require.NoError(t, err)
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	first, err := k.Pin("hall-a", pub)
	require.NoError(t, err)
	require.True(t, first)
	first, err = k.Pin("hall-a", pub)
	require.NoError(t, err)
	require.False(t, first)

	k2, err := vsync.OpenKnownDevices(path)
	require.NoError(t, err)
	d, ok := k2.Known("hall-a")
	require.True(t, ok)
	require.Equal(t, vsync.DeviceID(pub), d.Device)
	other, _, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	_, err = k2.Pin("hall-a", other)
	require.ErrorIs(t, err, vsync.ErrKeyChanged)
	require.Contains(t, err.Error(), path, "says which file to edit")

	// A hand-edited entry whose device does not belong to its key.
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	bad := strings.Replace(string(raw), d.Device, "vx-0000000000000000", 1)
	require.NoError(t, os.WriteFile(path, []byte(bad), 0o600))
	_, err = vsync.OpenKnownDevices(path)
	require.ErrorIs(t, err, vsync.ErrMalformed)
	require.Contains(t, err.Error(), path)
}

func FuzzParseKnownDevices(f *testing.F) {
	pub := make(ed25519.PublicKey, ed25519.PublicKeySize)
	good, _ := json.Marshal(map[string]any{"version": 1, "boxes": map[string]any{
		"hall": vsync.KnownDevice{Device: vsync.DeviceID(pub), PublicKey: pub, Fingerprint: vsync.Fingerprint(pub)}}})
	f.Add(good)
	f.Add([]byte(`{"version":1,"boxes":{}}`))
	f.Add([]byte(`{"version":2}`))
	f.Add([]byte(`{"version":1,"boxes":{"a b":{}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := vsync.ParseKnownDevices(data)
		if err != nil {
			return
		}
		again, err := json.Marshal(map[string]any{"version": 1, "boxes": m})
		require.NoError(t, err)
		m2, err := vsync.ParseKnownDevices(again)
		require.NoError(t, err, "a parsed file re-encodes to a valid one")
		require.Len(t, m2, len(m))
		for name, d := range m {
			require.Equal(t, vsync.DeviceID(d.PublicKey), m2[name].Device)
		}
	})
}
