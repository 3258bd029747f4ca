package vault

import (
	"crypto/hmac"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sort"

	"github.com/voxward/voxward/internal/atomicfile"
)

// KeyringFile is the default name of the keyring file beside the vault.
const KeyringFile = "vault.keyring"

const keyringFormat = "voxward-keyring/1"

// keyring is the keyring file: the random salt of each key-encryption
// epoch the vault still needs. It holds no key by itself — a KEK is derived
// from the master secret and a salt — but without the salt the KEK of that
// epoch can never be derived again. Rotation writes a keyring without the
// old salt, and so destroys the old KEK for every copy of the vault file.
type keyring struct {
	Format  string         `json:"format"`
	VaultID ID             `json:"vault_id"`
	Epochs  []keyringEpoch `json:"epochs"`
	MAC     []byte         `json:"mac,omitempty"`
}

type keyringEpoch struct {
	Epoch uint32 `json:"epoch"`
	Salt  []byte `json:"salt"`
}

func (k *keyring) body() []byte {
	c := *k
	c.MAC = nil
	b, _ := json.Marshal(&c) // a struct of plain fields cannot fail
	return b
}

func (k *keyring) salt(epoch uint32) []byte {
	for _, e := range k.Epochs {
		if e.Epoch == epoch {
			return e.Salt
		}
	}
	return nil
}

// readKeyring loads and authenticates the keyring file. A missing file is
// returned as fs.ErrNotExist.
func readKeyring(path string, macKey []byte) (*keyring, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		return nil, fmt.Errorf("%w: %s: %v", ErrKeyring, path, err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrKeyring, path, err)
	}
	var k keyring
	if err := json.Unmarshal(b, &k); err != nil || k.Format != keyringFormat || len(k.Epochs) == 0 {
		return nil, fmt.Errorf("%w: %s: malformed", ErrKeyring, path)
	}
	for _, e := range k.Epochs {
		if len(e.Salt) != keySize {
			return nil, fmt.Errorf("%w: %s: malformed", ErrKeyring, path)
		}
	}
	if !hmac.Equal(k.MAC, macSum(macKey, k.body())) {
		return nil, fmt.Errorf("%w: keyring %s does not match this master key", ErrWrongKey, path)
	}
	return &k, nil
}

// writeKeyring replaces the keyring file atomically (mode 0600).
func writeKeyring(path string, k *keyring, macKey []byte) error {
	sort.Slice(k.Epochs, func(i, j int) bool { return k.Epochs[i].Epoch < k.Epochs[j].Epoch })
	k.Format = keyringFormat
	k.MAC = macSum(macKey, k.body())
	b, err := json.MarshalIndent(k, "", "  ")
	if err != nil {
		return fmt.Errorf("%w: encode: %v", ErrKeyring, err)
	}
	if err := atomicfile.Write(path, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("%w: write %s: %w", ErrKeyring, path, mapErr(err))
	}
	return nil
}
