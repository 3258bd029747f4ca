package agent

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// DeviceKeyFile is the name of the device's Ed25519 signing key in a state
// directory: PKCS#8 in PEM, mode 0600. Sync manifests are signed with it.
const DeviceKeyFile = "device.key"

// Device key errors.
var (
	// ErrDeviceKey means the device signing key is missing, malformed or
	// readable by group or others.
	ErrDeviceKey = errors.New("agent: device signing key")
)

// CreateDeviceKey makes a fresh Ed25519 key and writes it to path (PKCS#8
// PEM, mode 0600) without ever overwriting: it fails with fs.ErrExist when
// path exists. The file is written to a temporary name, fsynced, linked into
// place and the directory fsynced, so a crash leaves either no key or a
// whole one. It returns the public key.
func CreateDeviceKey(path string) (ed25519.PublicKey, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("agent: generate device key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, fmt.Errorf("agent: encode device key: %w", err)
	}
	block := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	clear(der)
	defer clear(block)
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, ".device-key-*")
	if err != nil {
		return nil, fmt.Errorf("agent: create device key: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("agent: create device key: %w", err)
	}
	if _, err := tmp.Write(block); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("agent: write device key: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("agent: sync device key: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return nil, fmt.Errorf("agent: close device key: %w", err)
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		return nil, fmt.Errorf("agent: create device key %s: %w", path, err)
	}
	if d, err := os.Open(dir); err == nil {
		syncErr := d.Sync()
		d.Close()
		if syncErr != nil {
			return nil, fmt.Errorf("agent: sync %s: %w", dir, syncErr)
		}
	}
	return pub, nil
}

// LoadDeviceKey reads the device signing key from path. It returns
// ErrDeviceKey (wrapped) when the file is missing, readable by group or
// others, or not a PKCS#8 Ed25519 key.
func LoadDeviceKey(path string) (ed25519.PrivateKey, error) {
	fi, err := os.Stat(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w: %s does not exist (run \"voxward init\")", ErrDeviceKey, path)
		}
		return nil, fmt.Errorf("%w: %v", ErrDeviceKey, err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%w: %s has mode %v; it must not be readable by group or others (chmod 600)", ErrDeviceKey, path, fi.Mode().Perm())
	}
	if fi.Size() > 4096 {
		return nil, fmt.Errorf("%w: %s is too large for a key", ErrDeviceKey, path)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrDeviceKey, err)
	}
	defer clear(raw)
	block, _ := pem.Decode(raw)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("%w: %s holds no PEM PRIVATE KEY block", ErrDeviceKey, path)
	}
	defer clear(block.Bytes)
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrDeviceKey, path, err)
	}
	priv, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%w: %s is not an Ed25519 key", ErrDeviceKey, path)
	}
	return priv, nil
}

// DeviceID is the device's pseudonymous id: "vx-" and the first 8 bytes of
// the SHA-256 of its public signing key, in hex. It names no place or
// person.
func DeviceID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return "vx-" + hex.EncodeToString(sum[:8])
}
