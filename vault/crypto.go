package vault

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
)

// Sizes and labels of the envelope. Every label is versioned so a future
// format can never be confused with this one.
const (
	formatV1  = 1
	keySize   = 32 // AES-256
	nonceSize = 12 // GCM standard nonce
	tagSize   = 16

	recHeader  = 1 + 2 + nonceSize // format, schema version, nonce
	wrapHeader = 1 + 4 + nonceSize // format, epoch, nonce
	wrappedLen = wrapHeader + keySize + tagSize

	labelRoot       = "voxward/vault/v1/root"
	labelKEK        = "voxward/vault/v1/kek"
	labelKeyringMAC = "voxward/vault/v1/keyring-mac"
	labelAuditMAC   = "voxward/vault/v1/audit-checkpoint"
	labelDEK        = "voxward/vault/v1/dek\x00"
	labelRecord     = "voxward/vault/v1/record\x00"
)

// deriveRoot turns the master secret into this vault's root key:
// HKDF-SHA256(secret=master, salt=vault id, info=labelRoot).
func deriveRoot(master []byte, vaultID ID) ([]byte, error) {
	return hkdf.Key(sha256.New, master, vaultID[:], labelRoot, keySize)
}

// deriveKEK derives the key-encryption key of one epoch from the root key
// and that epoch's random salt, which lives only in the keyring file:
// HKDF-SHA256(secret=root, salt=epoch salt, info=labelKEK|vault id|epoch).
// Destroying the salt destroys the KEK, whoever holds the master secret.
func deriveKEK(root []byte, vaultID ID, epoch uint32, salt []byte) ([]byte, error) {
	info := make([]byte, 0, len(labelKEK)+16+4)
	info = append(info, labelKEK...)
	info = append(info, vaultID[:]...)
	info = binary.BigEndian.AppendUint32(info, epoch)
	return hkdf.Key(sha256.New, root, salt, string(info), keySize)
}

// deriveSubkey derives a purpose key (keyring MAC, audit checkpoints) from
// the root key.
func deriveSubkey(root []byte, label string) ([]byte, error) {
	return hkdf.Key(sha256.New, root, nil, label, keySize)
}

func newGCM(key []byte) (cipher.AEAD, error) {
	blk, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(blk)
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("vault: crypto/rand failed: " + err.Error()) // unreachable on supported platforms
	}
	return b
}

// dekAAD binds a wrapped data key to its vault, key id and epoch.
func dekAAD(vaultID, keyID ID, epoch uint32) []byte {
	a := make([]byte, 0, len(labelDEK)+32+4)
	a = append(a, labelDEK...)
	a = append(a, vaultID[:]...)
	a = append(a, keyID[:]...)
	return binary.BigEndian.AppendUint32(a, epoch)
}

// wrapKey seals a data key under a KEK.
func wrapKey(kek []byte, vaultID, keyID ID, epoch uint32, dek []byte) ([]byte, error) {
	g, err := newGCM(kek)
	if err != nil {
		return nil, err
	}
	out := make([]byte, wrapHeader, wrappedLen)
	out[0] = formatV1
	binary.BigEndian.PutUint32(out[1:5], epoch)
	copy(out[5:wrapHeader], randomBytes(nonceSize))
	return g.Seal(out, out[5:wrapHeader], dek, dekAAD(vaultID, keyID, epoch)), nil
}

// wrappedEpoch returns the epoch a wrapped key was sealed under.
func wrappedEpoch(w []byte) (uint32, error) {
	if len(w) != wrappedLen || w[0] != formatV1 {
		return 0, ErrCorrupt
	}
	return binary.BigEndian.Uint32(w[1:5]), nil
}

// unwrapKey opens a wrapped data key.
func unwrapKey(kek []byte, vaultID, keyID ID, w []byte) ([]byte, error) {
	epoch, err := wrappedEpoch(w)
	if err != nil {
		return nil, err
	}
	g, err := newGCM(kek)
	if err != nil {
		return nil, err
	}
	dek, err := g.Open(nil, w[5:wrapHeader], w[wrapHeader:], dekAAD(vaultID, keyID, epoch))
	if err != nil {
		return nil, ErrCorrupt
	}
	return dek, nil
}

// recordAAD binds a sealed value to its bucket, record key, record type and
// the schema version it was written under.
func recordAAD(bucket string, key []byte, typ byte, schema uint16) []byte {
	a := make([]byte, 0, len(labelRecord)+2+len(bucket)+len(key)+3)
	a = append(a, labelRecord...)
	a = append(a, byte(len(bucket)))
	a = append(a, bucket...)
	a = append(a, byte(len(key)))
	a = append(a, key...)
	a = append(a, typ)
	return binary.BigEndian.AppendUint16(a, schema)
}

// sealValue encrypts plaintext under a data key.
func sealValue(dek []byte, bucket string, key []byte, typ byte, schema uint16, plaintext []byte) ([]byte, error) {
	g, err := newGCM(dek)
	if err != nil {
		return nil, err
	}
	out := make([]byte, recHeader, recHeader+len(plaintext)+tagSize)
	out[0] = formatV1
	binary.BigEndian.PutUint16(out[1:3], schema)
	copy(out[3:recHeader], randomBytes(nonceSize))
	return g.Seal(out, out[3:recHeader], plaintext, recordAAD(bucket, key, typ, schema)), nil
}

// maxValue caps a sealed value's size before any work is done on it.
const maxValue = 64 << 20

// openValue decrypts a sealed value. Any malformed, truncated, moved or
// altered value yields ErrCorrupt; a value from a newer schema yields
// ErrSchemaTooNew.
func openValue(dek []byte, bucket string, key []byte, typ byte, current uint16, v []byte) ([]byte, error) {
	if len(v) < recHeader+tagSize || len(v) > maxValue || v[0] != formatV1 {
		return nil, ErrCorrupt
	}
	schema := binary.BigEndian.Uint16(v[1:3])
	if schema > current {
		return nil, ErrSchemaTooNew
	}
	g, err := newGCM(dek)
	if err != nil {
		return nil, fmt.Errorf("vault: cipher: %w", err)
	}
	pt, err := g.Open(nil, v[3:recHeader], v[recHeader:], recordAAD(bucket, key, typ, schema))
	if err != nil {
		return nil, ErrCorrupt
	}
	return pt, nil
}

func macSum(key []byte, parts ...[]byte) []byte {
	m := hmac.New(sha256.New, key)
	for _, p := range parts {
		m.Write(p)
	}
	return m.Sum(nil)
}
