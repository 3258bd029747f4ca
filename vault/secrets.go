package vault

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
)

// System secrets are small values the daemon must keep but that belong to
// no subject — the device's sync signing key, its pseudonymous device id
// seed. They are sealed under the system key; the bbolt key is a hash of
// the name, so even the name does not show in the file.

type systemSecret struct {
	Name  string `json:"name"`
	Value []byte `json:"value"`
}

// MaxSecretLen caps a system secret.
const MaxSecretLen = 64 << 10

func secretKey(name string) []byte {
	h := sha256.Sum256([]byte("voxward/vault/v1/secret\x00" + name))
	return h[:16]
}

// PutSystemSecret stores (or replaces) a named secret. name is a label
// (letters, digits, '.', '_', ':', '-'). Errors: ErrInvalid, ErrFull.
func (s *Store) PutSystemSecret(a Actor, name string, value []byte) error {
	if !validLabel(name, false) || len(value) > MaxSecretLen {
		return fmt.Errorf("%w: system secret", ErrInvalid)
	}
	v := systemSecret{Name: name, Value: slices.Clone(value)}
	defer zero(v.Value)
	return s.audited(a, "secret.put", hex.EncodeToString(secretKey(name)), func(t *txn) error {
		return t.put(kSecret, secretKey(name), &v)
	})
}

// SystemSecret returns a copy of a named secret; the caller should zero it
// when done. Errors: ErrNotFound.
func (s *Store) SystemSecret(a Actor, name string) (Secret, error) {
	if !validLabel(name, false) {
		return nil, fmt.Errorf("%w: system secret name", ErrInvalid)
	}
	var v systemSecret
	err := s.audited(a, "secret.read", hex.EncodeToString(secretKey(name)), func(t *txn) error {
		if err := t.get(kSecret, secretKey(name), &v); err != nil {
			return err
		}
		if v.Name != name {
			zero(v.Value)
			return ErrCorrupt
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return Secret(v.Value), nil
}
