package vault

import (
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"strconv"

	bolt "go.etcd.io/bbolt"
)

// kind describes one sealed record type: its bucket, the type byte bound
// into the additional data, and which data key seals it.
type kind struct {
	name   string
	bucket string
	typ    byte
	scope  scope
	raw    bool // sealed bytes, not JSON
}

type scope int

const (
	scopeSelf   scope = iota // key is the record id, which names its own data key
	scopePrefix              // key is subject id || record id; the subject's key
	scopeSystem              // the system key
)

var (
	kSubject   = kind{"subject", "subj", 1, scopeSelf, false}
	kConsent   = kind{"consent", "cons", 2, scopePrefix, false}
	kTemplate  = kind{"template", "tmpl", 3, scopePrefix, false}
	kRecording = kind{"recording", "rec", 4, scopePrefix, false}
	kRecChunk  = kind{"recording chunk", "recc", 9, scopePrefix, true}
	kSecret    = kind{"system secret", "secret", 10, scopeSystem, false}
	kDeid      = kind{"deidentified template", "deid", 5, scopeSelf, false}
	kSession   = kind{"session", "sess", 6, scopeSelf, false}
	kToken     = kind{"token", "tok", 7, scopeSystem, false}
	kOutbox    = kind{"outbox entry", "outbox", 8, scopeSystem, false}
	kBatch     = kind{"sync batch", "batch", 11, scopeSystem, false}

	kinds = []kind{kSubject, kConsent, kTemplate, kRecording, kRecChunk, kDeid, kSession, kToken, kOutbox, kSecret, kBatch}
)

// keyID returns the data key that seals the record stored under key.
func (k kind) keyID(key []byte) (ID, error) {
	var id ID
	switch k.scope {
	case scopeSelf:
		if len(key) != 16 {
			return id, ErrCorrupt
		}
		copy(id[:], key)
	case scopePrefix:
		if len(key) != 32 && !(k.raw && len(key) == 36) {
			return id, ErrCorrupt
		}
		copy(id[:], key[:16])
	case scopeSystem:
		return systemKeyID, nil
	}
	return id, nil
}

func (t *txn) bucket(k kind) *bolt.Bucket { return t.tx.Bucket([]byte(k.bucket)) }

func recordName(key []byte) string {
	switch len(key) {
	case 32:
		return hex.EncodeToString(key[16:])
	case 36:
		return hex.EncodeToString(key[16:32]) + "/" + strconv.FormatUint(uint64(binary.BigEndian.Uint32(key[32:])), 10)
	}
	return hex.EncodeToString(key)
}

// put seals v (JSON) under the record's data key and stores it. The
// plaintext is wiped once sealed.
func (t *txn) put(k kind, key []byte, v any) error {
	kid, err := k.keyID(key)
	if err != nil {
		return fmt.Errorf("%w: bad record key", ErrInvalid)
	}
	dek, err := t.dataKey(kid)
	if err != nil {
		return &RecordError{Kind: k.name, ID: recordName(key), Err: err}
	}
	pt, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("vault: encode %s: %w", k.name, err)
	}
	defer zero(pt)
	sealed, err := sealValue(dek, k.bucket, key, k.typ, t.s.schema, pt)
	if err != nil {
		return fmt.Errorf("vault: seal %s: %w", k.name, err)
	}
	t.written += int64(len(key) + len(sealed))
	return t.bucket(k).Put(key, sealed)
}

// putRaw seals bytes (no JSON) under the record's data key.
func (t *txn) putRaw(k kind, key, pt []byte) error {
	kid, err := k.keyID(key)
	if err != nil {
		return fmt.Errorf("%w: bad record key", ErrInvalid)
	}
	dek, err := t.dataKey(kid)
	if err != nil {
		return &RecordError{Kind: k.name, ID: recordName(key), Err: err}
	}
	sealed, err := sealValue(dek, k.bucket, key, k.typ, t.s.schema, pt)
	if err != nil {
		return fmt.Errorf("vault: seal %s: %w", k.name, err)
	}
	t.written += int64(len(key) + len(sealed))
	return t.bucket(k).Put(key, sealed)
}

// openRaw opens a sealed value and returns its plaintext; the caller
// wipes it.
func (t *txn) openRaw(k kind, key, raw []byte) ([]byte, error) {
	kid, err := k.keyID(key)
	if err != nil {
		return nil, &RecordError{Kind: k.name, ID: recordName(key), Err: ErrCorrupt}
	}
	dek, err := t.dataKey(kid)
	if err != nil {
		return nil, &RecordError{Kind: k.name, ID: recordName(key), Err: err}
	}
	pt, err := openValue(dek, k.bucket, key, k.typ, t.s.schema, raw)
	if err != nil {
		return nil, &RecordError{Kind: k.name, ID: recordName(key), Err: err}
	}
	return pt, nil
}

// get opens and decodes one record; ErrNotFound when absent.
func (t *txn) get(k kind, key []byte, v any) error {
	raw := t.bucket(k).Get(key)
	if raw == nil {
		return ErrNotFound
	}
	return t.decode(k, key, raw, v)
}

// decode opens a sealed value and decodes it into v, wiping the plaintext.
func (t *txn) decode(k kind, key, raw []byte, v any) error {
	pt, err := t.openRaw(k, key, raw)
	if err != nil {
		return err
	}
	defer zero(pt)
	if err := decodeRecord(pt, v); err != nil {
		return &RecordError{Kind: k.name, ID: recordName(key), Err: err}
	}
	return nil
}

// maxPlain caps a record's plaintext before it is decoded.
const maxPlain = maxValue

// decodeRecord decodes a record's plaintext strictly. Anything malformed is
// ErrCorrupt; it never panics.
func decodeRecord(pt []byte, v any) error {
	if len(pt) > maxPlain {
		return ErrCorrupt
	}
	if err := json.Unmarshal(pt, v); err != nil {
		// Not err's text: a JSON error may quote a piece of plaintext.
		return fmt.Errorf("%w: undecodable", ErrCorrupt)
	}
	if c, ok := v.(interface{ check() error }); ok {
		if err := c.check(); err != nil {
			return fmt.Errorf("%w: %v", ErrCorrupt, err)
		}
	}
	return nil
}

// del deletes a record.
func (t *txn) del(k kind, key []byte) error { return t.bucket(k).Delete(key) }

// scanPrefix calls fn for every record of kind k under a subject.
func (t *txn) scanPrefix(k kind, subject ID, fn func(key, raw []byte) error) error {
	c := t.bucket(k).Cursor()
	for key, raw := c.Seek(subject[:]); len(key) >= 16 && ID(key[:16]) == subject; key, raw = c.Next() {
		if err := fn(key, raw); err != nil {
			return err
		}
	}
	return nil
}

// deleteUnder deletes every record of kind k under a subject and returns
// how many there were.
func (t *txn) deleteUnder(k kind, subject ID) (int, error) {
	var keys [][]byte
	if err := t.scanPrefix(k, subject, func(key, _ []byte) error {
		keys = append(keys, append([]byte(nil), key...))
		return nil
	}); err != nil {
		return 0, err
	}
	for _, key := range keys {
		if err := t.bucket(k).Delete(key); err != nil {
			return 0, err
		}
	}
	return len(keys), nil
}

func pairKey(subject, rec ID) []byte {
	k := make([]byte, 0, 32)
	k = append(k, subject[:]...)
	return append(k, rec[:]...)
}

// float32sToBytes encodes an embedding little-endian.
func float32sToBytes(v []float32) []byte {
	b := make([]byte, 4*len(v))
	for i, f := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(f))
	}
	return b
}

// bytesToFloat32s decodes an embedding; ErrCorrupt when the length is not
// a multiple of 4.
func bytesToFloat32s(b []byte) ([]float32, error) {
	if len(b)%4 != 0 {
		return nil, ErrCorrupt
	}
	v := make([]float32, len(b)/4)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return v, nil
}
