package sync

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	stdsync "sync"
	"time"
	"unicode"

	"github.com/voxward/voxward/internal/atomicfile"
)

// ErrKeyChanged: a box served a signing key other than the one pinned for
// it on first use. Its batches are not stored and not acknowledged until an
// operator removes the old pin on purpose.
var ErrKeyChanged = errors.New("device key changed")

// MaxKnownDevicesBytes caps the pinned-keys file.
const MaxKnownDevicesBytes = 16 << 20

// KnownDevice is the key pinned for one box on first use.
type KnownDevice struct {
	// Device is DeviceID(PublicKey): the id its manifests must state.
	Device string `json:"device"`
	// PublicKey is the raw Ed25519 public key, base64.
	PublicKey []byte `json:"public_key"`
	// Fingerprint is Fingerprint(PublicKey), for people reading the file.
	Fingerprint string `json:"fingerprint"`
	// FirstSeen is when the key was pinned.
	FirstSeen time.Time `json:"first_seen"`
}

// knownFile is the pinned-keys file: one entry per box name.
type knownFile struct {
	Version int                    `json:"version"`
	Boxes   map[string]KnownDevice `json:"boxes"`
}

// KnownDevices is the trust-on-first-use store of device keys, one per box
// name, kept in a JSON file that is replaced atomically on every new pin.
// It is safe for concurrent use by one process; pullers on different hosts
// keep their own files (docs/pull.md).
type KnownDevices struct {
	path string
	now  func() time.Time

	mu    stdsync.Mutex
	boxes map[string]KnownDevice
}

// OpenKnownDevices reads the pinned-keys file at path; a missing file is an
// empty store (every box is then pinned on first use). A file that is not a
// pinned-keys file is an error naming it.
func OpenKnownDevices(path string) (*KnownDevices, error) {
	k := &KnownDevices{path: path, now: time.Now, boxes: map[string]KnownDevice{}}
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return k, nil
	}
	if err != nil {
		return nil, fmt.Errorf("sync: known devices: %w", err)
	}
	defer f.Close()
	b, err := readCapped(f, MaxKnownDevicesBytes)
	if err != nil {
		return nil, fmt.Errorf("sync: known devices %s: %w", path, err)
	}
	boxes, err := ParseKnownDevices(b)
	if err != nil {
		return nil, fmt.Errorf("sync: known devices %s: %w", path, err)
	}
	k.boxes = boxes
	return k, nil
}

// ParseKnownDevices decodes a pinned-keys file strictly: known fields only,
// version 1, and in every entry a 32-byte key whose DeviceID is the stated
// device and whose fingerprint matches.
func ParseKnownDevices(b []byte) (map[string]KnownDevice, error) {
	if len(b) > MaxKnownDevicesBytes {
		return nil, fmt.Errorf("%w: %d bytes (cap %d)", ErrTooLarge, len(b), MaxKnownDevicesBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var f knownFile
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("%w: not a pinned-keys file: %v", ErrMalformed, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: data after the JSON object", ErrMalformed)
	}
	if f.Version != 1 {
		return nil, fmt.Errorf("%w: version %d, this voxward knows 1", ErrMalformed, f.Version)
	}
	out := make(map[string]KnownDevice, len(f.Boxes))
	for name, d := range f.Boxes {
		if err := checkBoxName(name); err != nil {
			return nil, err
		}
		if len(d.PublicKey) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("%w: box %q: public key of %d bytes", ErrMalformed, name, len(d.PublicKey))
		}
		pub := ed25519.PublicKey(d.PublicKey)
		if d.Device != DeviceID(pub) || d.Fingerprint != Fingerprint(pub) {
			return nil, fmt.Errorf("%w: box %q: device %q or fingerprint does not belong to its key", ErrMalformed, name, d.Device)
		}
		out[name] = d
	}
	return out, nil
}

// checkBoxName accepts a box name: 1–512 bytes of printable characters
// without spaces.
func checkBoxName(name string) error {
	if name == "" || len(name) > 512 {
		return fmt.Errorf("%w: box name of %d bytes (want 1..512)", ErrMalformed, len(name))
	}
	for _, r := range name {
		if !unicode.IsPrint(r) || unicode.IsSpace(r) {
			return fmt.Errorf("%w: box name %q has a space or control character", ErrMalformed, name)
		}
	}
	return nil
}

// Pin checks pub against the key pinned for box. On first use it pins pub
// (written to the file before Pin returns) and reports first = true. A
// different key is ErrKeyChanged, naming the box, its device and both
// fingerprints.
func (k *KnownDevices) Pin(box string, pub ed25519.PublicKey) (first bool, err error) {
	if err := checkBoxName(box); err != nil {
		return false, err
	}
	if len(pub) != ed25519.PublicKeySize {
		return false, fmt.Errorf("%w: box %s serves a key of %d bytes, not Ed25519", ErrMalformed, box, len(pub))
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if d, ok := k.boxes[box]; ok {
		if bytes.Equal(d.PublicKey, pub) {
			return false, nil
		}
		return false, fmt.Errorf("%w: box %s (device %s) was pinned with key %s on %s and now serves key %s (device %s); "+
			"nothing from it is stored or acknowledged. If the box was re-keyed on purpose, remove its entry from %s",
			ErrKeyChanged, box, d.Device, d.Fingerprint, d.FirstSeen.UTC().Format(time.RFC3339),
			Fingerprint(pub), DeviceID(pub), k.path)
	}
	next := make(map[string]KnownDevice, len(k.boxes)+1)
	for n, d := range k.boxes {
		next[n] = d
	}
	next[box] = KnownDevice{Device: DeviceID(pub), PublicKey: bytes.Clone(pub), Fingerprint: Fingerprint(pub), FirstSeen: k.now().UTC().Truncate(time.Second)}
	b, err := json.MarshalIndent(knownFile{Version: 1, Boxes: next}, "", "  ")
	if err != nil {
		return false, err
	}
	if err := atomicfile.Write(k.path, append(b, '\n'), 0o600); err != nil {
		return false, fmt.Errorf("sync: pin the key of box %s: %w", box, err)
	}
	k.boxes = next
	return true, nil
}

// Known returns the key pinned for box, if any.
func (k *KnownDevices) Known(box string) (KnownDevice, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	d, ok := k.boxes[box]
	return d, ok
}
