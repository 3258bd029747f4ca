package vault

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/voxward/voxward/internal/atomicfile"
)

// MasterKeyFile is the default name of the master key file in a state
// directory; see the package documentation for the layout.
const MasterKeyFile = "master.key"

// CredentialName is the systemd credential (LoadCredential=) that holds the
// master secret when the daemon runs as a service.
const CredentialName = "voxward-master-key"

// DevKeyEnv is the environment variable a development setup may use for the
// master secret (hex). Never use it in production: the environment leaks
// into /proc, crash reports and child processes.
const DevKeyEnv = "VOXWARD_DEV_MASTER_KEY"

// minSecret and maxSecret bound a master secret's length in bytes.
const (
	minSecret = 32
	maxSecret = 4096
)

// Secret is key material. It prints and logs as "[redacted]".
type Secret []byte

// String implements fmt.Stringer without revealing the secret.
func (Secret) String() string { return "[redacted]" }

// GoString implements fmt.GoStringer without revealing the secret.
func (Secret) GoString() string { return "vault.Secret([redacted])" }

// LogValue implements slog.LogValuer without revealing the secret.
func (Secret) LogValue() slog.Value { return slog.StringValue("[redacted]") }

// zero overwrites b.
func zero(b []byte) {
	clear(b)
}

// KeySource yields the vault's master secret. The vault zeroes the returned
// slice once it has derived its keys.
type KeySource interface {
	// MasterSecret returns at least 32 bytes of secret key material.
	MasterSecret() (Secret, error)
	// Describe names the source for messages ("file /var/lib/voxward/master.key").
	Describe() string
}

// FileKey reads the master secret from a file that only its owner may read
// (mode 0600 or 0400). A file readable by group or others is refused with
// ErrKeyPermissions. The file holds hex (as CreateKeyFile writes it) or at
// least 32 raw bytes.
type FileKey string

// MasterSecret implements KeySource.
func (p FileKey) MasterSecret() (Secret, error) {
	return readSecretFile(string(p))
}

// Describe implements KeySource.
func (p FileKey) Describe() string { return "key file " + string(p) }

// CredentialKey reads the master secret from a systemd credential: the file
// named by the credential in $CREDENTIALS_DIRECTORY (LoadCredential= or
// LoadCredentialEncrypted= in the unit).
type CredentialKey string

// MasterSecret implements KeySource.
func (c CredentialKey) MasterSecret() (Secret, error) {
	dir := os.Getenv("CREDENTIALS_DIRECTORY")
	if dir == "" {
		return nil, fmt.Errorf("%w: systemd credential %q: $CREDENTIALS_DIRECTORY is not set", ErrNoKey, string(c))
	}
	if string(c) == "" || filepath.Base(string(c)) != string(c) {
		return nil, fmt.Errorf("%w: bad credential name %q", ErrInvalid, string(c))
	}
	return readSecretFile(filepath.Join(dir, string(c)))
}

// Describe implements KeySource.
func (c CredentialKey) Describe() string { return "systemd credential " + string(c) }

// EnvKey reads the master secret, hex-encoded, from an environment variable.
// It is for development only; the vault logs a warning when it is used.
type EnvKey string

// MasterSecret implements KeySource.
func (e EnvKey) MasterSecret() (Secret, error) {
	v := os.Getenv(string(e))
	if v == "" {
		return nil, fmt.Errorf("%w: environment variable %s is empty", ErrNoKey, string(e))
	}
	return parseSecret([]byte(v))
}

// Describe implements KeySource.
func (e EnvKey) Describe() string { return "environment variable " + string(e) + " (development only)" }

// DefaultKeySource returns the key source for a state directory: the
// systemd credential when $CREDENTIALS_DIRECTORY holds one, else
// DIR/master.key.
func DefaultKeySource(stateDir string) KeySource {
	if d := os.Getenv("CREDENTIALS_DIRECTORY"); d != "" {
		if _, err := os.Stat(filepath.Join(d, CredentialName)); err == nil {
			return CredentialKey(CredentialName)
		}
	}
	return FileKey(filepath.Join(stateDir, MasterKeyFile))
}

// CreateKeyFile writes a fresh random 32-byte master secret, hex-encoded,
// to path with mode 0600. It refuses to overwrite an existing file
// (fs.ErrExist) and fsyncs the file and its directory.
func CreateKeyFile(path string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("vault: create key file %s: %w", path, err)
	}
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		f.Close()
		return fmt.Errorf("vault: create key file %s: %w", path, err)
	}
	buf := make([]byte, hex.EncodedLen(len(raw))+1)
	hex.Encode(buf, raw[:])
	buf[len(buf)-1] = '\n'
	zero(raw[:])
	_, err = f.Write(buf)
	zero(buf)
	if err == nil {
		err = f.Chmod(0o600) // whatever the umask did
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = atomicfile.SyncDir(filepath.Dir(path))
	}
	if err != nil {
		os.Remove(path)
		return fmt.Errorf("vault: create key file %s: %w", path, err)
	}
	return nil
}

func readSecretFile(path string) (Secret, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w: %s does not exist", ErrNoKey, path)
		}
		return nil, fmt.Errorf("vault: read master key %s: %w", path, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("vault: read master key %s: %w", path, err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%w: %s is not a regular file", ErrNoKey, path)
	}
	if st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%w: %s has mode %04o", ErrKeyPermissions, path, st.Mode().Perm())
	}
	buf, err := io.ReadAll(io.LimitReader(f, 2*maxSecret+2))
	if err != nil {
		return nil, fmt.Errorf("vault: read master key %s: %w", path, err)
	}
	defer zero(buf)
	s, err := parseSecret(buf)
	if err != nil {
		return nil, fmt.Errorf("%w (%s)", err, path)
	}
	return s, nil
}

// parseSecret accepts hex (with surrounding white space) or raw bytes.
func parseSecret(b []byte) (Secret, error) {
	t := bytes.TrimSpace(b)
	if len(t) >= 2*minSecret && len(t)%2 == 0 && isHex(t) {
		out := make(Secret, len(t)/2)
		if _, err := hex.Decode(out, t); err == nil && len(out) <= maxSecret {
			return out, nil
		}
		zero(out)
	}
	if len(b) < minSecret {
		return nil, fmt.Errorf("%w: master secret shorter than %d bytes", ErrNoKey, minSecret)
	}
	if len(b) > maxSecret {
		return nil, fmt.Errorf("%w: master secret longer than %d bytes", ErrNoKey, maxSecret)
	}
	return append(Secret(nil), b...), nil
}

func isHex(b []byte) bool {
	for _, c := range b {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}
