package agent

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/BurntSushi/toml"
	"github.com/voxward/voxward/capture"
	vsync "github.com/voxward/voxward/sync"
	"github.com/voxward/voxward/vault"
)

// ErrConfig means the configuration is invalid: a bad value, an unknown
// key in the file, or a file that does not parse.
var ErrConfig = errors.New("agent: invalid configuration")

// MaxConfigBytes caps the size of a configuration file.
const MaxConfigBytes = 1 << 20

// Config is the daemon's configuration. DefaultConfig holds every default;
// a TOML file (LoadConfigFile) and then command-line flags override them;
// Validate checks the result once, before New uses it.
type Config struct {
	// StateDir holds vault.db, vault.keyring, master.key and device.key
	// (required).
	StateDir string `toml:"state_dir"`
	// Listen is the local API's address. It must be a loopback address:
	// the API has no TLS yet.
	Listen string `toml:"listen"`
	// Source is the audio source spec (capture.ParseSource): tone,
	// wav:PATH[?loop=1], pcm:-, portaudio[:DEVICE].
	Source string `toml:"source"`
	// KeyFile names the master key file; empty: the systemd credential
	// voxward-master-key when present, else StateDir/master.key.
	KeyFile string `toml:"key_file"`
	// AllowedHosts are the names the API answers to in the Host header
	// besides localhost, 127.0.0.1 and [::1] (DNS rebinding defence).
	AllowedHosts []string `toml:"allowed_hosts"`
	// MetricsRole is the role GET /metrics needs: "none" (no token),
	// "admin", "technician" (admins always pass).
	MetricsRole string `toml:"metrics_role"`
	// MaxBodyBytes caps a request body.
	MaxBodyBytes int64 `toml:"max_body_bytes"`
	// MaxEnrollBytes caps an enrolment's WAV body (60 s of 16-bit 16 kHz
	// mono is 1.9 MB).
	MaxEnrollBytes int64 `toml:"max_enroll_bytes"`
	// VaultMaxBytes is the vault file's disk budget (vault.Options.MaxSize;
	// 0: none, the disk is the limit). Ordinary writes stop an eighth
	// short of it, which stays free for erasures, withdrawals and
	// retention; a write with no room is answered 507 vault_full. Set it
	// below the free space of the state directory's file system.
	VaultMaxBytes int64 `toml:"vault_max_bytes"`
	// SessionMax ends a session's consent lease this long after it started
	// unless it is stopped earlier, so a forgotten session cannot keep the
	// microphone open (0: no limit).
	SessionMax Duration `toml:"session_max"`
	// ShutdownTimeout bounds the wait for open requests at shutdown;
	// requests still open then are cut off (their connections closed,
	// their contexts cancelled) and the daemon exits cleanly about a
	// second later.
	ShutdownTimeout Duration `toml:"shutdown_timeout"`
	// Operator and OperatorContact name who runs the box, in the
	// disclosure a speaker reads before consenting.
	Operator        string `toml:"operator"`
	OperatorContact string `toml:"operator_contact"`
	// RetainIdentifiable is how long identifiable data (names, contacts,
	// recordings, linked voiceprints) is kept: at most 30 days
	// (PRIVACY.md rule 7; configurable only downwards).
	RetainIdentifiable Duration `toml:"retain_identifiable"`
	// RetainSessions is how long a session record (its participants) is
	// kept; at most RetainIdentifiable.
	RetainSessions Duration `toml:"retain_sessions"`
	// RetainDeidentified is how long a de-identified voiceprint is kept
	// after the subject's last interaction: at most 3 years.
	RetainDeidentified Duration `toml:"retain_deidentified"`

	// RetentionInterval is how often the retention job enforces the
	// policy; it also runs at start-up. 1m to 1h (PRIVACY.md rule 9: at
	// least hourly).
	RetentionInterval Duration `toml:"retention_interval"`
	// KeyRotationInterval is the longest the vault's key-encryption key
	// is kept before the retention job rotates it (erasures rotate it
	// too). 1h to 30d: a copy of the vault file then stops opening within
	// the 30 days identifiable data may be kept, and every rotation also
	// ends the use of older backups, so much shorter is a cost.
	KeyRotationInterval Duration `toml:"key_rotation_interval"`

	// SyncListen is an optional second address that serves the pull
	// protocol alone (GET /v1/sync/..., POST /v1/sync/batches/{id}/ack,
	// for puller tokens) besides the API's address. Loopback only, like
	// listen: a TLS proxy or tunnel fronts it. Empty: none.
	SyncListen string `toml:"sync_listen"`
	// SyncSealInterval is how often the outbox is sealed into a batch (a
	// device_health record is appended first); POST /v1/sync/seal seals
	// at once. 1m to 24h.
	SyncSealInterval Duration `toml:"sync_seal_interval"`
	// OutboxMaxBytes is the budget of the sync outbox: de-identified
	// records and the sealed batches no puller has acknowledged yet, as
	// stored. When it is reached new records are refused (counted, and a
	// warning in status and metrics); old ones are kept. 64 KiB to 32 MiB.
	OutboxMaxBytes int64 `toml:"outbox_max_bytes"`
	// SyncMinGroup is the minimum group size: a count in a record below
	// it (exact or after noise) is suppressed. 2 to 100.
	SyncMinGroup int `toml:"sync_min_group"`
	// SyncEpsilon is ε of the two-sided geometric noise added to every
	// count in a record (smaller: more noise). 0.1 to 5.
	SyncEpsilon float64 `toml:"sync_epsilon"`
	// SyncMinTemplates is the fewest research templates (of one model) a
	// batch carries; fewer wait for more. 0 sends none at all; else 5 to
	// 1000. A batch carries at most 4 Mi template values (135 templates
	// of 31,036 values); more wait for the next batch.
	SyncMinTemplates int `toml:"sync_min_templates"`
}

// Bounds of the retention job's schedule.
const (
	// MaxRetentionInterval: the job runs at least hourly (PRIVACY.md rule 9).
	MaxRetentionInterval = time.Hour
	// MaxKeyRotationInterval: the key-encryption key is rotated at least
	// every 30 days (PRIVACY.md rule 11).
	MaxKeyRotationInterval = 30 * 24 * time.Hour
)

// MaxDeidentified is the longest a de-identified voiceprint may be kept
// after the last interaction (PRIVACY.md rule 8).
const MaxDeidentified = 3 * 365 * 24 * time.Hour

// RetentionPolicy is the retention the daemon enforces and publishes:
// the retention job and GET /v1/retention both derive from it.
func (c *Config) RetentionPolicy() vault.RetentionPolicy {
	return vault.RetentionPolicy{
		Identifiable: time.Duration(c.RetainIdentifiable),
		Sessions:     time.Duration(c.RetainSessions),
		Deidentified: time.Duration(c.RetainDeidentified),
	}
}

// Duration is a time.Duration that reads and writes as "90s", "12h".
type Duration time.Duration

// UnmarshalText implements encoding.TextUnmarshaler. Besides Go's
// durations ("90s", "12h") it reads whole days, "30d".
func (d *Duration) UnmarshalText(b []byte) error {
	s := string(b)
	if n, ok := strings.CutSuffix(s, "d"); ok && n != "" && strings.Trim(n, "0123456789") == "" && len(n) <= 5 {
		v, err := strconv.Atoi(n)
		if err != nil {
			return err
		}
		*d = Duration(time.Duration(v) * 24 * time.Hour)
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// MarshalText implements encoding.TextMarshaler.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// Defaults.
const (
	DefaultListen          = "127.0.0.1:7480"
	DefaultSource          = "tone"
	DefaultMetricsRole     = "technician"
	DefaultMaxBodyBytes    = 1 << 20
	DefaultMaxEnrollBytes  = 16 << 20
	DefaultVaultMaxBytes   = 4 << 30
	MinVaultMaxBytes       = 1 << 20 // the smallest budget other than 0
	DefaultSessionMax      = 12 * time.Hour
	DefaultShutdownTimeout = 5 * time.Second

	DefaultRetentionInterval   = MaxRetentionInterval
	DefaultKeyRotationInterval = MaxKeyRotationInterval

	DefaultSyncSealInterval = time.Hour
	DefaultOutboxMaxBytes   = 16 << 20
	MaxOutboxMaxBytes       = 32 << 20 // a batch body stays well under vault.MaxBatchBody
	DefaultSyncMinGroup     = vsync.DefaultMinGroup
	DefaultSyncEpsilon      = vsync.DefaultEpsilon
	DefaultSyncMinTemplates = vsync.DefaultMinTemplates
)

// DefaultConfig returns the configuration with every default filled in;
// only StateDir has none.
func DefaultConfig() Config {
	return Config{
		Listen:          DefaultListen,
		Source:          DefaultSource,
		MetricsRole:     DefaultMetricsRole,
		MaxBodyBytes:    DefaultMaxBodyBytes,
		MaxEnrollBytes:  DefaultMaxEnrollBytes,
		VaultMaxBytes:   DefaultVaultMaxBytes,
		SessionMax:      Duration(DefaultSessionMax),
		ShutdownTimeout: Duration(DefaultShutdownTimeout),

		RetainIdentifiable: Duration(vault.MaxIdentifiable),
		RetainSessions:     Duration(vault.MaxIdentifiable),
		RetainDeidentified: Duration(MaxDeidentified),

		RetentionInterval:   Duration(DefaultRetentionInterval),
		KeyRotationInterval: Duration(DefaultKeyRotationInterval),

		SyncSealInterval: Duration(DefaultSyncSealInterval),
		OutboxMaxBytes:   DefaultOutboxMaxBytes,
		SyncMinGroup:     DefaultSyncMinGroup,
		SyncEpsilon:      DefaultSyncEpsilon,
		SyncMinTemplates: DefaultSyncMinTemplates,
	}
}

// LoadConfigFile reads a TOML configuration file over DefaultConfig. Keys
// it does not know are an error (ErrConfig), so a typo does not silently
// fall back to a default. It does not validate: call Validate after
// applying any overrides.
func LoadConfigFile(path string) (Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return Config{}, fmt.Errorf("agent: config: %w", err)
	}
	defer f.Close()
	raw, err := io.ReadAll(io.LimitReader(f, MaxConfigBytes+1))
	if err != nil {
		return Config{}, fmt.Errorf("agent: config %s: %w", path, err)
	}
	if len(raw) > MaxConfigBytes {
		return Config{}, fmt.Errorf("%w: %s is larger than %d bytes", ErrConfig, path, MaxConfigBytes)
	}
	cfg, err := ParseConfig(raw)
	if err != nil {
		return Config{}, fmt.Errorf("%s: %w", path, err)
	}
	return cfg, nil
}

// ParseConfig decodes TOML over DefaultConfig, rejecting unknown keys.
func ParseConfig(raw []byte) (Config, error) {
	cfg := DefaultConfig()
	md, err := toml.NewDecoder(bytes.NewReader(raw)).Decode(&cfg)
	if err != nil {
		return Config{}, fmt.Errorf("%w: %v", ErrConfig, err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		keys := make([]string, len(und))
		for i, k := range und {
			keys[i] = k.String()
		}
		sort.Strings(keys)
		return Config{}, fmt.Errorf("%w: unknown key(s) %s", ErrConfig, strings.Join(keys, ", "))
	}
	return cfg, nil
}

// Validate checks the configuration once, before the daemon starts. It
// returns ErrConfig (wrapped) naming the first bad field.
func (c *Config) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrConfig, fmt.Sprintf(format, args...))
	}
	if c.StateDir == "" {
		return bad("state_dir is required")
	}
	host, _, err := net.SplitHostPort(c.Listen)
	if err != nil {
		return bad("listen %q: %v", c.Listen, err)
	}
	if !isLoopback(host) {
		return bad("listen %q: the API serves loopback only (127.0.0.1, [::1] or localhost)", c.Listen)
	}
	if _, err := capture.ParseSource(c.Source, &capture.Options{Stdin: bytes.NewReader(nil)}); err != nil {
		return bad("source: %v", err)
	}
	for _, h := range c.AllowedHosts {
		if h == "" || strings.ContainsAny(h, " /:@") && net.ParseIP(h) == nil {
			return bad("allowed_hosts: %q is not a host name or IP address", h)
		}
	}
	switch c.MetricsRole {
	case "none", "admin", "technician":
	default:
		return bad("metrics_role %q: want none, admin or technician", c.MetricsRole)
	}
	if c.MaxBodyBytes < 1024 || c.MaxBodyBytes > 64<<20 {
		return bad("max_body_bytes %d: want 1 KiB to 64 MiB", c.MaxBodyBytes)
	}
	if c.MaxEnrollBytes < 64<<10 || c.MaxEnrollBytes > vault.MaxAudioBytes {
		return bad("max_enroll_bytes %d: want 64 KiB to %d", c.MaxEnrollBytes, vault.MaxAudioBytes)
	}
	if c.VaultMaxBytes != 0 && c.VaultMaxBytes < MinVaultMaxBytes {
		return bad("vault_max_bytes %d: want 0 (no budget) or at least %d (1 MiB)", c.VaultMaxBytes, MinVaultMaxBytes)
	}
	if c.SessionMax < 0 {
		return bad("session_max %v: must not be negative", time.Duration(c.SessionMax))
	}
	if c.ShutdownTimeout <= 0 || time.Duration(c.ShutdownTimeout) > time.Minute {
		return bad("shutdown_timeout %v: want more than 0, at most 1m", time.Duration(c.ShutdownTimeout))
	}
	if !textFits(c.Operator) || !textFits(c.OperatorContact) {
		return bad("operator and operator_contact: at most %d bytes of UTF-8 each", vault.MaxNameLen)
	}
	day := 24 * time.Hour
	if d := time.Duration(c.RetainIdentifiable); d < day || d > vault.MaxIdentifiable {
		return bad("retain_identifiable %v: want 1d to 30d (identifiable data is kept at most 30 days)", d)
	}
	if d := time.Duration(c.RetainSessions); d < day || d > time.Duration(c.RetainIdentifiable) {
		return bad("retain_sessions %v: want 1d to retain_identifiable (%v)", d, time.Duration(c.RetainIdentifiable))
	}
	if d := time.Duration(c.RetainDeidentified); d < day || d > MaxDeidentified {
		return bad("retain_deidentified %v: want 1d to 1095d (3 years)", d)
	}
	if d := time.Duration(c.RetentionInterval); d < time.Minute || d > MaxRetentionInterval {
		return bad("retention_interval %v: want 1m to 1h (retention runs at least hourly)", d)
	}
	if d := time.Duration(c.KeyRotationInterval); d < time.Hour || d > MaxKeyRotationInterval {
		return bad("key_rotation_interval %v: want 1h to 30d", d)
	}
	if c.SyncListen != "" {
		host, _, err := net.SplitHostPort(c.SyncListen)
		if err != nil {
			return bad("sync_listen %q: %v", c.SyncListen, err)
		}
		if !isLoopback(host) {
			return bad("sync_listen %q: loopback only (127.0.0.1, [::1] or localhost); put a TLS proxy in front", c.SyncListen)
		}
		if c.SyncListen == c.Listen && !strings.HasSuffix(c.Listen, ":0") {
			return bad("sync_listen %q: the same address as listen", c.SyncListen)
		}
	}
	if d := time.Duration(c.SyncSealInterval); d < time.Minute || d > 24*time.Hour {
		return bad("sync_seal_interval %v: want 1m to 24h", d)
	}
	if c.OutboxMaxBytes < 64<<10 || c.OutboxMaxBytes > MaxOutboxMaxBytes {
		return bad("outbox_max_bytes %d: want 64 KiB to 32 MiB", c.OutboxMaxBytes)
	}
	if c.SyncMinGroup < 2 || c.SyncMinGroup > 100 {
		return bad("sync_min_group %d: want 2 to 100", c.SyncMinGroup)
	}
	if !(c.SyncEpsilon >= 0.1 && c.SyncEpsilon <= 5) {
		return bad("sync_epsilon %g: want 0.1 to 5", c.SyncEpsilon)
	}
	if c.SyncMinTemplates != 0 && (c.SyncMinTemplates < 5 || c.SyncMinTemplates > 1000) {
		return bad("sync_min_templates %d: want 0 (send none) or 5 to 1000", c.SyncMinTemplates)
	}
	return nil
}

func textFits(s string) bool { return len(s) <= vault.MaxNameLen && utf8.ValidString(s) }

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
