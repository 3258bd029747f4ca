package sync

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
)

// DeviceID is a box's pseudonymous id as its manifests state it: "vx-" and
// the first 8 bytes of the SHA-256 of its public signing key, in hex. It is
// the formula agent.DeviceID uses; sync keeps its own copy because it
// imports nothing of ours.
func DeviceID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return "vx-" + hex.EncodeToString(sum[:8])
}

// Fingerprint names a public key in messages: "SHA256:" and the hex
// SHA-256 of its 32 raw bytes.
func Fingerprint(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return "SHA256:" + hex.EncodeToString(sum[:])
}
