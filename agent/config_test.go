package agent_test

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/voxward/voxward/agent"
)

const sampleConfig = `
state_dir = "/var/lib/voxward"
listen = "127.0.0.1:9000"
source = "wav:/srv/room.wav?loop=1"
key_file = "/etc/voxward/master.key"
allowed_hosts = ["voxward.local"]
metrics_role = "none"
max_body_bytes = 65536
vault_max_bytes = 268435456
session_max = "4h"
shutdown_timeout = "10s"
operator = "Example Hall Ltd"
operator_contact = "privacy@example.org"
retain_identifiable = "14d"
retain_sessions = "7d"
retain_deidentified = "365d"
retention_interval = "30m"
key_rotation_interval = "7d"
sync_listen = "127.0.0.1:9001"
sync_seal_interval = "15m"
outbox_max_bytes = 1048576
sync_min_group = 10
sync_epsilon = 0.5
sync_min_templates = 20
`

func TestParseConfig(t *testing.T) {
	cfg, err := agent.ParseConfig([]byte(sampleConfig))
	require.NoError(t, err)
	want := agent.Config{
		StateDir: "/var/lib/voxward", Listen: "127.0.0.1:9000", Source: "wav:/srv/room.wav?loop=1",
		KeyFile: "/etc/voxward/master.key", AllowedHosts: []string{"voxward.local"}, MetricsRole: "none",
		MaxBodyBytes: 65536, MaxEnrollBytes: agent.DefaultMaxEnrollBytes, VaultMaxBytes: 256 << 20, SessionMax: agent.Duration(4 * time.Hour), ShutdownTimeout: agent.Duration(10 * time.Second),
		Operator: "Example Hall Ltd", OperatorContact: "privacy@example.org",
		RetainIdentifiable: agent.Duration(14 * 24 * time.Hour), RetainSessions: agent.Duration(7 * 24 * time.Hour),
		RetainDeidentified: agent.Duration(365 * 24 * time.Hour),
		RetentionInterval:  agent.Duration(30 * time.Minute), KeyRotationInterval: agent.Duration(7 * 24 * time.Hour),
		SyncListen: "127.0.0.1:9001", SyncSealInterval: agent.Duration(15 * time.Minute), OutboxMaxBytes: 1 << 20,
		SyncMinGroup: 10, SyncEpsilon: 0.5, SyncMinTemplates: 20,
	}
	assert.Equal(t, want, cfg)
	require.NoError(t, cfg.Validate())

	// Keys left out keep their defaults.
	cfg, err = agent.ParseConfig([]byte(`state_dir = "/s"`))
	require.NoError(t, err)
	def := agent.DefaultConfig()
	def.StateDir = "/s"
	assert.Equal(t, def, cfg)

	path := filepath.Join(t.TempDir(), "voxward.toml")
	require.NoError(t, os.WriteFile(path, []byte(sampleConfig), 0o600))
	fromFile, err := agent.LoadConfigFile(path)
	require.NoError(t, err)
	assert.Equal(t, want, fromFile)
	_, err = agent.LoadConfigFile(filepath.Join(t.TempDir(), "missing.toml"))
	assert.ErrorIs(t, err, os.ErrNotExist)
}

func TestParseConfigRejects(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"unknown key", `state_dir = "/s"` + "\nlisten_addr = \"x\"", "listen_addr"},
		{"unknown table", "[retention]\nidentifiable = \"1h\"", "retention"},
		{"bad duration", `session_max = "forever"`, "forever"},
		{"wrong type", `max_body_bytes = "big"`, "max_body_bytes"},
		{"not toml", `{"state_dir": "/s"}`, ""},
	} {
		_, err := agent.ParseConfig([]byte(tc.in))
		require.ErrorIs(t, err, agent.ErrConfig, tc.name)
		assert.Contains(t, err.Error(), tc.want, tc.name)
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		mod  func(*agent.Config)
		want string // "" means valid
	}{
		{"defaults", func(*agent.Config) {}, ""},
		{"ipv6 loopback", func(c *agent.Config) { c.Listen = "[::1]:7480" }, ""},
		{"localhost", func(c *agent.Config) { c.Listen = "localhost:0" }, ""},
		{"pcm stdin", func(c *agent.Config) { c.Source = "pcm:-" }, ""},
		{"no state dir", func(c *agent.Config) { c.StateDir = "" }, "state_dir"},
		{"public listen", func(c *agent.Config) { c.Listen = "0.0.0.0:7480" }, "loopback"},
		{"empty host listen", func(c *agent.Config) { c.Listen = ":7480" }, "loopback"},
		{"no port", func(c *agent.Config) { c.Listen = "127.0.0.1" }, "listen"},
		{"bad source", func(c *agent.Config) { c.Source = "mic" }, "source"},
		{"bad source option", func(c *agent.Config) { c.Source = "tone?volume=3" }, "source"},
		{"bad host", func(c *agent.Config) { c.AllowedHosts = []string{"a b"} }, "allowed_hosts"},
		{"bad metrics role", func(c *agent.Config) { c.MetricsRole = "kiosk" }, "metrics_role"},
		{"tiny body", func(c *agent.Config) { c.MaxBodyBytes = 10 }, "max_body_bytes"},
		{"no vault budget", func(c *agent.Config) { c.VaultMaxBytes = 0 }, ""},
		{"smallest vault budget", func(c *agent.Config) { c.VaultMaxBytes = agent.MinVaultMaxBytes }, ""},
		{"tiny vault budget", func(c *agent.Config) { c.VaultMaxBytes = 64 << 10 }, "vault_max_bytes"},
		{"negative vault budget", func(c *agent.Config) { c.VaultMaxBytes = -1 }, "vault_max_bytes"},
		{"negative session", func(c *agent.Config) { c.SessionMax = -1 }, "session_max"},
		{"no shutdown time", func(c *agent.Config) { c.ShutdownTimeout = 0 }, "shutdown_timeout"},
		{"identifiable beyond 30 days", func(c *agent.Config) { c.RetainIdentifiable = agent.Duration(31 * 24 * time.Hour) }, "retain_identifiable"},
		{"identifiable under a day", func(c *agent.Config) { c.RetainIdentifiable = agent.Duration(time.Hour) }, "retain_identifiable"},
		{"sessions beyond identifiable", func(c *agent.Config) {
			c.RetainIdentifiable, c.RetainSessions = agent.Duration(7*24*time.Hour), agent.Duration(8*24*time.Hour)
		}, "retain_sessions"},
		{"de-identified beyond 3 years", func(c *agent.Config) { c.RetainDeidentified = agent.Duration(agent.MaxDeidentified + time.Hour) }, "retain_deidentified"},
		{"retention less than hourly", func(c *agent.Config) { c.RetentionInterval = agent.Duration(61 * time.Minute) }, "retention_interval"},
		{"retention every second", func(c *agent.Config) { c.RetentionInterval = agent.Duration(time.Second) }, "retention_interval"},
		{"retention every 10 minutes", func(c *agent.Config) { c.RetentionInterval = agent.Duration(10 * time.Minute) }, ""},
		{"rotation beyond 30 days", func(c *agent.Config) { c.KeyRotationInterval = agent.Duration(31 * 24 * time.Hour) }, "key_rotation_interval"},
		{"rotation unset", func(c *agent.Config) { c.KeyRotationInterval = 0 }, "key_rotation_interval"},
		{"sync listen not loopback", func(c *agent.Config) { c.SyncListen = "0.0.0.0:7481" }, "sync_listen"},
		{"sync listen same as listen", func(c *agent.Config) { c.SyncListen = c.Listen }, "sync_listen"},
		{"seal interval too short", func(c *agent.Config) { c.SyncSealInterval = agent.Duration(time.Second) }, "sync_seal_interval"},
		{"outbox budget too large", func(c *agent.Config) { c.OutboxMaxBytes = 1 << 30 }, "outbox_max_bytes"},
		{"outbox budget zero", func(c *agent.Config) { c.OutboxMaxBytes = 0 }, "outbox_max_bytes"},
		{"min group of one", func(c *agent.Config) { c.SyncMinGroup = 1 }, "sync_min_group"},
		{"epsilon NaN", func(c *agent.Config) { c.SyncEpsilon = math.NaN() }, "sync_epsilon"},
		{"min templates too small", func(c *agent.Config) { c.SyncMinTemplates = 2 }, "sync_min_templates"},
		{"weekly rotation", func(c *agent.Config) { c.KeyRotationInterval = agent.Duration(7 * 24 * time.Hour) }, ""},
		{"operator too long", func(c *agent.Config) { c.Operator = strings.Repeat("x", 300) }, "operator"},
		{"shorter retention", func(c *agent.Config) {
			c.RetainIdentifiable, c.RetainSessions = agent.Duration(7*24*time.Hour), agent.Duration(24*time.Hour)
		}, ""},
	} {
		cfg := agent.DefaultConfig()
		cfg.StateDir = "/s"
		tc.mod(&cfg)
		err := cfg.Validate()
		if tc.want == "" {
			assert.NoError(t, err, tc.name)
			continue
		}
		require.ErrorIs(t, err, agent.ErrConfig, tc.name)
		assert.Contains(t, err.Error(), tc.want, tc.name)
	}
}

func FuzzParseConfig(f *testing.F) {
	f.Add([]byte(sampleConfig))
	f.Add([]byte(`state_dir = "/s"`))
	f.Add([]byte("[x]\ny = 1"))
	f.Add([]byte(`session_max = "1h"`))
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) > agent.MaxConfigBytes {
			return
		}
		cfg, err := agent.ParseConfig(in)
		if err != nil {
			require.ErrorIs(t, err, agent.ErrConfig)
			return
		}
		// A decoded config validates or fails with ErrConfig, never panics.
		if err := cfg.Validate(); err != nil {
			require.ErrorIs(t, err, agent.ErrConfig)
			require.False(t, strings.Contains(err.Error(), "panic"))
		}
	})
}
