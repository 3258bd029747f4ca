package vault

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Actor is who accesses the vault: the token id and role from the API's
// authentication, and the purpose of the access. Every field is a short
// label (letters, digits, '.', '_', ':', '-'; at most 64), never a name.
type Actor struct {
	TokenID string
	Role    string
	Purpose string
}

// SystemActor is the vault or the daemon acting on its own (retention,
// rotation, migration).
var SystemActor = Actor{TokenID: "system", Role: "system", Purpose: "maintenance"}

func validLabel(s string, empty bool) bool {
	if s == "" {
		return empty
	}
	if len(s) > 64 {
		return false
	}
	for _, c := range s {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.ContainsRune("._:-", c)) {
			return false
		}
	}
	return true
}

func (a Actor) check() error {
	if !validLabel(a.TokenID, false) || !validLabel(a.Role, false) || !validLabel(a.Purpose, true) {
		return fmt.Errorf("%w: actor fields must be short labels", ErrInvalid)
	}
	return nil
}

// AuditEntry is one link of the audit chain. It names no person: actors
// are token ids, records are random ids.
type AuditEntry struct {
	Seq      uint64    `json:"seq"`
	Time     time.Time `json:"time"`
	Actor    string    `json:"actor"`
	Role     string    `json:"role"`
	Action   string    `json:"action"`
	RecordID string    `json:"record_id,omitempty"`
	Purpose  string    `json:"purpose,omitempty"`
	Result   string    `json:"result"`
	Prev     string    `json:"prev"` // hex SHA-256 of the previous entry ("" for the first)
	Hash     string    `json:"hash"` // hex SHA-256 of this entry
}

// entryHash is SHA-256 over a label and the entry's JSON with Hash empty.
func entryHash(e AuditEntry) string {
	e.Hash = ""
	b, _ := json.Marshal(e) // plain fields: cannot fail
	h := sha256.New()
	h.Write([]byte("voxward/audit/v1\x00"))
	h.Write(b)
	return hex.EncodeToString(h.Sum(nil))
}

// checkpoint is the signed head of the chain, kept in the meta bucket and
// rewritten by every transaction that appends entries.
type checkpoint struct {
	Seq  uint64    `json:"seq"`
	Hash string    `json:"hash"`
	Time time.Time `json:"time"`
	Sig  []byte    `json:"sig"`
}

func checkpointMsg(seq uint64, hash string) []byte {
	m := []byte("voxward/audit/checkpoint/v1\x00")
	m = binary.BigEndian.AppendUint64(m, seq)
	return append(m, hash...)
}

func (t *txn) auditBucketHead() (uint64, string) {
	c := t.tx.Bucket([]byte(bAudit)).Cursor()
	k, v := c.Last()
	if k == nil {
		return 0, ""
	}
	var e AuditEntry
	if json.Unmarshal(v, &e) != nil || len(k) != 8 {
		// A broken tail: keep appending after it; Verify reports it.
		return seqOf(k), ""
	}
	return e.Seq, e.Hash
}

// audit appends one entry to the chain inside the transaction.
func (t *txn) audit(a Actor, action, record, result string) error {
	seq, prev := t.auditBucketHead()
	e := AuditEntry{
		Seq:      seq + 1,
		Time:     t.s.now().UTC(),
		Actor:    a.TokenID,
		Role:     a.Role,
		Action:   action,
		RecordID: record,
		Purpose:  a.Purpose,
		Result:   result,
		Prev:     prev,
	}
	e.Hash = entryHash(e)
	b, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("vault: encode audit entry: %w", err)
	}
	if err := t.tx.Bucket([]byte(bAudit)).Put(binary.BigEndian.AppendUint64(nil, e.Seq), b); err != nil {
		return err
	}
	t.audited = true
	return nil
}

func (t *txn) signCheckpoint() error {
	seq, hash := t.auditBucketHead()
	cp := checkpoint{Seq: seq, Hash: hash, Time: t.s.now().UTC(), Sig: ed25519.Sign(t.s.auditKey, checkpointMsg(seq, hash))}
	b, err := json.Marshal(cp)
	if err != nil {
		return err
	}
	return t.meta().Put(mAuditHead, b)
}

// verifyAudit walks the chain and returns the first broken entry as an
// *AuditError, then checks the signed checkpoint against the head. It
// returns the number of entries.
func (t *txn) verifyAudit() (uint64, error) {
	c := t.tx.Bucket([]byte(bAudit)).Cursor()
	var n uint64
	prev := ""
	for k, v := c.First(); k != nil; k, v = c.Next() {
		n++
		if len(k) != 8 || binary.BigEndian.Uint64(k) != n {
			return n, &AuditError{Seq: n, Reason: "missing or out of order"}
		}
		var e AuditEntry
		dec := json.NewDecoder(bytes.NewReader(v))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&e); err != nil {
			return n, &AuditError{Seq: n, Reason: "undecodable"}
		}
		if e.Seq != n {
			return n, &AuditError{Seq: n, Reason: "sequence number altered"}
		}
		if e.Prev != prev {
			return n, &AuditError{Seq: n, Reason: "does not link to the previous entry"}
		}
		if entryHash(e) != e.Hash {
			return n, &AuditError{Seq: n, Reason: "hash mismatch (entry altered)"}
		}
		// The stored bytes must be exactly what was hashed, so a change
		// the decoder would forgive (case, spacing) still shows.
		canon, _ := json.Marshal(e)
		if !bytes.Equal(canon, v) {
			return n, &AuditError{Seq: n, Reason: "entry bytes altered"}
		}
		prev = e.Hash
	}
	raw := t.meta().Get(mAuditHead)
	if raw == nil {
		if n == 0 {
			return 0, nil
		}
		return n, &AuditError{Seq: n, Reason: "signed checkpoint missing"}
	}
	var cp checkpoint
	if err := json.Unmarshal(raw, &cp); err != nil {
		return n, &AuditError{Seq: n, Reason: "signed checkpoint undecodable"}
	}
	if !ed25519.Verify(t.s.auditKey.Public().(ed25519.PublicKey), checkpointMsg(cp.Seq, cp.Hash), cp.Sig) {
		return n, &AuditError{Seq: cp.Seq, Reason: "checkpoint signature invalid"}
	}
	if cp.Seq != n || cp.Hash != prev {
		s := min(cp.Seq, n) + 1
		if cp.Seq > n {
			return n, &AuditError{Seq: s, Reason: fmt.Sprintf("chain truncated: checkpoint signs %d entries, %d present", cp.Seq, n)}
		}
		return n, &AuditError{Seq: cp.Seq, Reason: "chain does not match the signed checkpoint"}
	}
	return n, nil
}

// AuditPublicKey returns the Ed25519 key that verifies this vault's audit
// checkpoints, so that a copy of the chain can be checked elsewhere.
func (s *Store) AuditPublicKey() ed25519.PublicKey {
	return append(ed25519.PublicKey(nil), s.auditKey.Public().(ed25519.PublicKey)...)
}

// Audit appends an entry for an event that happens outside the vault (a
// live match, a denied request, a sync pull). action and result are labels.
func (s *Store) Audit(a Actor, action string, record string, result string) error {
	if err := a.check(); err != nil {
		return err
	}
	if !validLabel(action, false) || !validLabel(result, false) || !validLabel(record, true) {
		return fmt.Errorf("%w: audit fields must be short labels", ErrInvalid)
	}
	return s.update(func(t *txn) error { return t.audit(a, action, record, result) })
}

// AuditEntries returns up to limit entries after sequence number after,
// oldest first (limit ≤ 0: all).
func (s *Store) AuditEntries(after uint64, limit int) ([]AuditEntry, error) {
	var out []AuditEntry
	err := s.view(func(t *txn) error {
		c := t.tx.Bucket([]byte(bAudit)).Cursor()
		for k, v := c.Seek(binary.BigEndian.AppendUint64(nil, after+1)); k != nil; k, v = c.Next() {
			var e AuditEntry
			if err := json.Unmarshal(v, &e); err != nil {
				return &AuditError{Seq: seqOf(k), Reason: "undecodable"}
			}
			out = append(out, e)
			if limit > 0 && len(out) >= limit {
				break
			}
		}
		return nil
	})
	return out, err
}

// VerifyAudit checks the whole chain and its signed checkpoint. It returns
// the number of entries, and an *AuditError (errors.Is ErrAuditBroken)
// naming the first broken entry.
func (s *Store) VerifyAudit() (uint64, error) {
	var n uint64
	err := s.view(func(t *txn) error {
		var err error
		n, err = t.verifyAudit()
		return err
	})
	return n, err
}

func jsonMarshal(v any) ([]byte, error)   { return json.Marshal(v) }
func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

// seqOf reads an audit key; a malformed key reads as 0.
func seqOf(k []byte) uint64 {
	if len(k) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(k)
}
