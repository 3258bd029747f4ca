package sync

import (
	"crypto/rand"
	"encoding/hex"
)

// NewBatchID returns a fresh random batch id (32 lower-case hex digits,
// 128 bits from crypto/rand): it says nothing about the box, the time or
// the records, and ValidID accepts it.
func NewBatchID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b[:])
}
