package sync

import (
	"bufio"
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	stdsync "sync"
	"time"

	"github.com/klauspost/compress/zstd"
)

// Schema names the batch format a manifest describes. A reader refuses any
// other value: a new format gets a new name.
const Schema = "voxward.batch/1"

// Limits a reader holds a batch to, so that a hostile or broken box cannot
// exhaust the memory of the central side.
const (
	// MaxManifestBytes caps a manifest's encoded size.
	MaxManifestBytes = 4 << 10
	// MaxBodyBytes caps a compressed batch body.
	MaxBodyBytes = 64 << 20
	// MaxRecordBytes caps one JSON line of a decompressed body.
	MaxRecordBytes = 1 << 20
	// DefaultMaxDecompressed caps a decompressed body unless the caller
	// chooses another cap.
	DefaultMaxDecompressed = 256 << 20
)

// Errors a batch reader returns, wrapped with details. Check with errors.Is.
var (
	// ErrMalformed: the manifest or body is not in the batch format.
	ErrMalformed = errors.New("malformed batch")
	// ErrSignature: the manifest's signature does not verify with the key.
	ErrSignature = errors.New("manifest signature does not verify")
	// ErrDigest: the body's size or SHA-256 is not the manifest's.
	ErrDigest = errors.New("batch body does not match its manifest")
	// ErrTooLarge: a manifest, body, record or the decompressed body is
	// over its cap.
	ErrTooLarge = errors.New("batch over its size limit")
)

// Manifest describes one sealed batch. It is served as the exact bytes the
// box signed (Batch.ManifestBytes), never re-encoded.
type Manifest struct {
	// BatchID is the batch's stable id: a puller that sees it twice
	// stores it once.
	BatchID string `json:"batch_id"`
	// Schema is always Schema.
	Schema string `json:"schema"`
	// Device is the box's pseudonymous id (agent.DeviceID).
	Device string `json:"device"`
	// Created is the sealing time truncated to the hour, in UTC.
	Created time.Time `json:"created"`
	// Records is the number of JSON lines in the decompressed body.
	Records int `json:"records"`
	// Bytes is the size of the compressed body.
	Bytes int64 `json:"bytes"`
	// SHA256 is the hex digest of the compressed body.
	SHA256 string `json:"sha256"`
}

// Batch is a sealed batch as the box stores and serves it.
type Batch struct {
	Manifest      Manifest
	ManifestBytes []byte // the exact signed bytes
	Signature     []byte // Ed25519 over ManifestBytes
	Body          []byte // zstd-compressed JSON Lines
}

var (
	idPattern     = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$`)
	devicePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$`)
)

// ValidID reports whether s may be a batch id or device id: 1–64 ASCII
// letters, digits, '-' or '_', not starting with a punctuation mark. Both
// name files and NATS subjects on the central side, so nothing else is
// allowed.
func ValidID(s string) bool { return idPattern.MatchString(s) }

// Seal compresses records (one JSON value each, written one a line), digests
// the body and signs a manifest with key. created is truncated to the hour.
// Records must be single-line JSON values; Seal refuses anything else so that
// a reader counts exactly the lines written.
func Seal(key ed25519.PrivateKey, device, batchID string, created time.Time, records [][]byte) (Batch, error) {
	if !devicePattern.MatchString(device) || !ValidID(batchID) {
		return Batch{}, fmt.Errorf("%w: device %q or batch id %q", ErrMalformed, device, batchID)
	}
	if len(key) != ed25519.PrivateKeySize {
		return Batch{}, errors.New("sync: seal: not an Ed25519 private key")
	}
	var plain bytes.Buffer
	for i, r := range records {
		if len(r) == 0 || len(r) > MaxRecordBytes || bytes.IndexByte(r, '\n') >= 0 || !json.Valid(r) {
			return Batch{}, fmt.Errorf("%w: record %d is not one line of JSON (or is over %d bytes)", ErrMalformed, i, MaxRecordBytes)
		}
		plain.Write(r)
		plain.WriteByte('\n')
	}
	enc, err := batchEncoder()
	if err != nil {
		return Batch{}, err
	}
	body := enc.EncodeAll(plain.Bytes(), nil)
	if len(body) > MaxBodyBytes {
		return Batch{}, fmt.Errorf("%w: %d compressed bytes (cap %d)", ErrTooLarge, len(body), MaxBodyBytes)
	}
	m := Manifest{
		BatchID: batchID,
		Schema:  Schema,
		Device:  device,
		Created: created.UTC().Truncate(time.Hour),
		Records: len(records),
		Bytes:   int64(len(body)),
		SHA256:  Digest(body),
	}
	mb, err := json.Marshal(m)
	if err != nil {
		return Batch{}, err
	}
	return Batch{Manifest: m, ManifestBytes: mb, Signature: ed25519.Sign(key, mb), Body: body}, nil
}

// batchEncoder is one zstd encoder for every Seal: EncodeAll is safe for
// concurrent use, and a new encoder allocates its tables (about 20 MB at
// this level) each time.
var batchEncoder = stdsync.OnceValues(func() (*zstd.Encoder, error) {
	return zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedBetterCompression), zstd.WithEncoderConcurrency(1))
})

// Digest is the lower-case hex SHA-256 of b, as a manifest states it.
//
// It uses crypto/sha256: on the box's CPU (with the SHA extensions, which
// both use) github.com/minio/sha256-simd was not faster in
// BenchmarkSHA256 (benchstat, n=10: 1.50 vs 1.51 GiB/s at 4 KiB, p=0.80;
// no significant difference at 256 KiB or 4 MiB either), so the standard
// library stays.
func Digest(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// ParseManifest decodes a manifest strictly: known fields only, the current
// Schema, valid ids, a 64-digit lower-case hex digest, and counts in range.
// It does not check a signature (VerifyManifest does both).
func ParseManifest(b []byte) (Manifest, error) {
	if len(b) > MaxManifestBytes {
		return Manifest{}, fmt.Errorf("%w: manifest of %d bytes (cap %d)", ErrTooLarge, len(b), MaxManifestBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var m Manifest
	if err := dec.Decode(&m); err != nil {
		return Manifest{}, fmt.Errorf("%w: manifest: %v", ErrMalformed, err)
	}
	if dec.More() {
		return Manifest{}, fmt.Errorf("%w: manifest: data after the JSON object", ErrMalformed)
	}
	switch {
	case m.Schema != Schema:
		return Manifest{}, fmt.Errorf("%w: manifest schema %q, this reader knows %q", ErrMalformed, m.Schema, Schema)
	case !ValidID(m.BatchID):
		return Manifest{}, fmt.Errorf("%w: manifest batch id %q", ErrMalformed, m.BatchID)
	case !devicePattern.MatchString(m.Device):
		return Manifest{}, fmt.Errorf("%w: manifest device %q", ErrMalformed, m.Device)
	case m.Records < 0 || m.Bytes < 0 || m.Bytes > MaxBodyBytes:
		return Manifest{}, fmt.Errorf("%w: manifest counts records=%d bytes=%d", ErrMalformed, m.Records, m.Bytes)
	case !isHexDigest(m.SHA256):
		return Manifest{}, fmt.Errorf("%w: manifest sha256 %q is not 64 lower-case hex digits", ErrMalformed, m.SHA256)
	}
	return m, nil
}

func isHexDigest(s string) bool {
	if len(s) != 2*sha256.Size {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// VerifyManifest checks sig over exactly manifestBytes with pub and then
// parses them. Nothing in an unverified manifest is trusted.
func VerifyManifest(pub ed25519.PublicKey, manifestBytes, sig []byte) (Manifest, error) {
	if len(pub) != ed25519.PublicKeySize {
		return Manifest{}, fmt.Errorf("%w: not an Ed25519 public key", ErrSignature)
	}
	if len(manifestBytes) > MaxManifestBytes {
		return Manifest{}, fmt.Errorf("%w: manifest of %d bytes (cap %d)", ErrTooLarge, len(manifestBytes), MaxManifestBytes)
	}
	if len(sig) != ed25519.SignatureSize || !ed25519.Verify(pub, manifestBytes, sig) {
		return Manifest{}, ErrSignature
	}
	return ParseManifest(manifestBytes)
}

// CheckBody reports whether body is the one m describes (size and SHA-256).
func CheckBody(m Manifest, body []byte) error {
	if int64(len(body)) != m.Bytes {
		return fmt.Errorf("%w: %d bytes, manifest says %d", ErrDigest, len(body), m.Bytes)
	}
	if Digest(body) != m.SHA256 {
		return fmt.Errorf("%w: sha256 differs", ErrDigest)
	}
	return nil
}

// ReadRecords checks body against m, decompresses it with at most
// maxDecompressed bytes of output (≤ 0: DefaultMaxDecompressed) and a
// bounded decoder window, and returns its JSON lines. It fails when the
// count of lines is not m.Records, a line is not JSON, or a cap is passed:
// a zstd bomb is refused with ErrTooLarge, never inflated.
func ReadRecords(m Manifest, body []byte, maxDecompressed int64) ([]json.RawMessage, error) {
	if err := CheckBody(m, body); err != nil {
		return nil, err
	}
	if maxDecompressed <= 0 {
		maxDecompressed = DefaultMaxDecompressed
	}
	dec, err := zstd.NewReader(bytes.NewReader(body),
		zstd.WithDecoderConcurrency(1),
		zstd.WithDecoderMaxMemory(uint64(maxDecompressed)),
		zstd.WithDecoderMaxWindow(8<<20))
	if err != nil {
		return nil, fmt.Errorf("%w: zstd: %v", ErrMalformed, err)
	}
	defer dec.Close()
	lr := &io.LimitedReader{R: dec, N: maxDecompressed + 1}
	sc := bufio.NewScanner(lr)
	sc.Buffer(make([]byte, 0, 64<<10), MaxRecordBytes+1)
	var out []json.RawMessage
	for sc.Scan() {
		if lr.N <= 0 {
			break // the cap was passed: this line may be cut
		}
		line := sc.Bytes()
		if !json.Valid(line) {
			return nil, fmt.Errorf("%w: record %d is not JSON", ErrMalformed, len(out)+1)
		}
		if len(out) >= m.Records {
			return nil, fmt.Errorf("%w: more than the %d records the manifest states", ErrMalformed, m.Records)
		}
		out = append(out, json.RawMessage(bytes.Clone(line)))
	}
	if lr.N <= 0 {
		return nil, fmt.Errorf("%w: decompresses past %d bytes", ErrTooLarge, maxDecompressed)
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, fmt.Errorf("%w: a record over %d bytes", ErrTooLarge, MaxRecordBytes)
		}
		if errors.Is(err, zstd.ErrDecoderSizeExceeded) || errors.Is(err, zstd.ErrWindowSizeExceeded) {
			return nil, fmt.Errorf("%w: %v", ErrTooLarge, err)
		}
		return nil, fmt.Errorf("%w: zstd: %v", ErrMalformed, err)
	}
	if len(out) != m.Records {
		return nil, fmt.Errorf("%w: %d records, the manifest states %d", ErrMalformed, len(out), m.Records)
	}
	return out, nil
}
