package vault

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
)

// ID is a record's random identifier: 16 bytes from crypto/rand, shown as
// 32 lower-case hex digits. IDs carry no meaning; they are the only keys the
// vault file holds.
type ID [16]byte

// NewID returns a fresh random ID.
func NewID() ID {
	var id ID
	if _, err := rand.Read(id[:]); err != nil {
		panic("vault: crypto/rand failed: " + err.Error()) // unreachable on supported platforms
	}
	return id
}

// ParseID parses 32 hex digits. It returns ErrInvalid for anything else.
func ParseID(s string) (ID, error) {
	var id ID
	if len(s) != 32 {
		return id, fmt.Errorf("%w: id must be 32 hex digits", ErrInvalid)
	}
	if _, err := hex.Decode(id[:], []byte(s)); err != nil {
		return id, fmt.Errorf("%w: id must be 32 hex digits", ErrInvalid)
	}
	return id, nil
}

// String returns the id as 32 hex digits.
func (id ID) String() string { return hex.EncodeToString(id[:]) }

// IsZero reports whether id is the zero ID.
func (id ID) IsZero() bool { return id == ID{} }

// MarshalText implements encoding.TextMarshaler.
func (id ID) MarshalText() ([]byte, error) { return []byte(id.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (id *ID) UnmarshalText(b []byte) error {
	v, err := ParseID(string(b))
	if err != nil {
		return err
	}
	*id = v
	return nil
}

// systemKeyID names the data key that seals records belonging to no subject
// (tokens, outbox entries).
var systemKeyID = ID{}
