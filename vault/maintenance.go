package vault

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/voxward/voxward/internal/atomicfile"
	bolt "go.etcd.io/bbolt"
)

// Report is the result of Verify. It names records by kind and random id
// and audit entries by sequence number; it never holds plaintext.
type Report struct {
	Records      map[string]int `json:"records"` // kind → records that opened
	DataKeys     int            `json:"data_keys"`
	AuditEntries uint64         `json:"audit_entries"`
	Epoch        uint32         `json:"kek_epoch"`
	Problems     []string       `json:"problems,omitempty"`
	// FirstBrokenAudit is the first audit entry that fails, if any.
	FirstBrokenAudit *AuditError `json:"first_broken_audit,omitempty"`
}

// OK reports whether everything held.
func (r *Report) OK() bool { return len(r.Problems) == 0 }

func (r *Report) problem(format string, args ...any) {
	r.Problems = append(r.Problems, fmt.Sprintf(format, args...))
}

// newRecord returns a value to decode a record of kind k into.
func newRecord(k kind) any {
	switch k {
	case kSubject:
		return &Subject{}
	case kConsent:
		return &Consent{}
	case kTemplate:
		return &templateWire{}
	case kRecording:
		return &Recording{}
	case kDeid:
		return &deidWire{}
	case kSession:
		return &Session{}
	case kToken:
		return &tokenWire{}
	case kSecret:
		return &systemSecret{}
	case kBatch:
		return &batchWire{}
	default:
		return &OutboxEntry{}
	}
}

// Verify checks the whole vault offline: the bbolt structure, that every
// record opens under its data key and decodes, that every data key belongs
// to a record (no orphans) and every record has its key, and that the
// audit chain links and matches its signed checkpoint. The error is only
// for a vault that could not be read at all; problems are in the report.
func (s *Store) Verify() (rep *Report, err error) {
	rep = &Report{Records: map[string]int{}}
	err = s.view(func(t *txn) (err error) {
		defer func() {
			// bbolt panics on some corrupt pages; report, never crash.
			if p := recover(); p != nil {
				rep.problem("file structure corrupt: %v", p)
				err = nil
			}
		}()
		for cerr := range t.tx.Check() {
			rep.problem("file structure: %v", cerr)
		}
		rep.Epoch, err = t.epoch()
		if err != nil {
			rep.problem("meta: %v", err)
		}
		used := map[ID]bool{systemKeyID: true}
		chunks := map[string]int{} // recording key → chunks seen
		for _, k := range kinds {
			_ = t.bucket(k).ForEach(func(key, v []byte) error {
				kid, kerr := k.keyID(key)
				if kerr == nil {
					used[kid] = true
				}
				if k.raw {
					pt, err := t.openRaw(k, key, v)
					if err != nil {
						rep.problem("%v", err)
						return nil
					}
					zero(pt)
					if len(key) == 36 {
						chunks[string(key[:32])]++
					}
					rep.Records[k.name]++
					return nil
				}
				rec := newRecord(k)
				if err := t.decode(k, key, v, rec); err != nil {
					rep.problem("%v", err)
					return nil
				}
				if w, ok := rec.(*templateWire); ok {
					zero(w.Vec)
				}
				if w, ok := rec.(*deidWire); ok {
					zero(w.Vec)
				}
				if r, ok := rec.(*Recording); ok {
					n := 0
					c := t.bucket(kRecChunk).Cursor()
					for ck, _ := c.Seek(key); ck != nil && bytes.HasPrefix(ck, key); ck, _ = c.Next() {
						n++
					}
					if n != r.Chunks {
						rep.problem("recording %s: %d of %d audio chunks", recordName(key), n, r.Chunks)
					}
				}
				rep.Records[k.name]++
				return nil
			})
		}
		for prefix := range chunks {
			if t.bucket(kRecording).Get([]byte(prefix)) == nil {
				rep.problem("audio chunks of a missing recording %s", recordName([]byte(prefix)))
			}
		}
		_ = t.keys().ForEach(func(k, v []byte) error {
			rep.DataKeys++
			if len(k) != 16 {
				rep.problem("data key with a malformed id")
				return nil
			}
			id := ID(k)
			if _, err := t.dataKey(id); err != nil {
				rep.problem("data key %s: %v", id, err)
			}
			if !used[id] {
				rep.problem("orphan data key %s (no record uses it)", id)
			}
			return nil
		})
		if t.meta().Get(mRotateDue) != nil {
			rep.problem("a key rotation is pending (run \"voxward vault rotate-key\")")
		}
		n, aerr := t.verifyAudit()
		rep.AuditEntries = n
		if aerr != nil {
			var ae *AuditError
			if errors.As(aerr, &ae) {
				rep.FirstBrokenAudit = ae
			}
			rep.problem("%v", aerr)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("vault: verify: %w", err)
	}
	sort.Strings(rep.Problems)
	return rep, nil
}

// Stats is what inspect shows: counts and sizes, never plaintext.
type Stats struct {
	VaultID         string           `json:"vault_id"`
	Schema          uint16           `json:"schema"`
	KEKEpoch        uint32           `json:"kek_epoch"`
	KEKRotated      time.Time        `json:"kek_rotated,omitzero"` // when the epoch began: its rotation, else the vault's creation
	FileBytes       int64            `json:"file_bytes"`
	DataBytes       int64            `json:"data_bytes"` // pages in use up to the high-water mark
	MaxBytes        int64            `json:"max_bytes,omitempty"`
	Records         map[string]int   `json:"records"`
	RecordBytes     map[string]int64 `json:"record_bytes"`
	DataKeys        int              `json:"data_keys"`
	AuditEntries    int              `json:"audit_entries"`
	AuditPublicKey  string           `json:"audit_public_key"`
	RotationPending bool             `json:"rotation_pending"`
	CompactionDue   bool             `json:"compaction_due"`
	FreePages       int              `json:"free_pages"`
}

// Stats counts records and bytes per kind without decrypting anything.
func (s *Store) Stats() (Stats, error) {
	st := Stats{Records: map[string]int{}, RecordBytes: map[string]int64{}, VaultID: s.vaultID.String(), Schema: s.schema,
		AuditPublicKey: hex.EncodeToString(s.AuditPublicKey()), MaxBytes: s.maxSize}
	err := s.view(func(t *txn) error {
		var err error
		if st.KEKEpoch, err = t.epoch(); err != nil {
			return err
		}
		st.DataBytes = t.tx.Size()
		if fi, err := os.Stat(s.path); err == nil {
			st.FileBytes = fi.Size()
		}
		for _, k := range kinds {
			st.Records[k.name] = 0
			_ = t.bucket(k).ForEach(func(_, v []byte) error {
				st.Records[k.name]++
				st.RecordBytes[k.name] += int64(len(v))
				return nil
			})
		}
		st.DataKeys = t.keys().Stats().KeyN
		st.AuditEntries = t.tx.Bucket([]byte(bAudit)).Stats().KeyN
		st.KEKRotated = t.rotated()
		st.RotationPending = t.meta().Get(mRotateDue) != nil
		st.CompactionDue = t.meta().Get(mCompactDue) != nil
		st.FreePages = t.tx.DB().Stats().FreePageN
		return nil
	})
	return st, err
}

// rotated returns when the current KEK epoch began: the last rotation,
// else the vault's creation (a vault rotated before this was recorded
// counts from its creation too, which only brings a schedule forward).
func (t *txn) rotated() time.Time {
	for _, k := range [][]byte{mRotated, mCreated} {
		if v, err := time.Parse(time.RFC3339Nano, string(t.meta().Get(k))); err == nil {
			return v.UTC()
		}
	}
	return time.Time{}
}

// CompactionDue reports whether an erasure has left freed pages that
// compaction should drop.
func (s *Store) CompactionDue() (bool, error) {
	var due bool
	err := s.view(func(t *txn) error { due = t.meta().Get(mCompactDue) != nil; return nil })
	return due, err
}

// Backup writes a consistent copy of the vault file to w (a read
// transaction's WriteTo; writers are not blocked). The copy opens with the
// keyring only until the next key rotation: an erasure's rotation makes
// older backups unreadable, which is how erasure reaches them.
func (s *Store) Backup(w io.Writer) (int64, error) {
	var n int64
	err := s.view(func(t *txn) error {
		var err error
		n, err = t.tx.WriteTo(w)
		return err
	})
	if err != nil {
		return n, fmt.Errorf("vault: backup: %w", err)
	}
	return n, nil
}

// BackupFile writes a backup to path atomically (temporary file in the
// same directory, fsync, rename, directory fsync), mode 0600, streaming
// from one read transaction.
func (s *Store) BackupFile(path string) (int64, error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return 0, fmt.Errorf("vault: backup: %w", err)
	}
	tmp := f.Name()
	fail := func(err error) (int64, error) {
		f.Close()
		os.Remove(tmp)
		return 0, fmt.Errorf("vault: backup %s: %w", path, err)
	}
	if err := f.Chmod(0o600); err != nil {
		return fail(err)
	}
	n, err := s.Backup(f)
	if err != nil {
		return fail(err)
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	if err := f.Close(); err != nil {
		return fail(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return 0, fmt.Errorf("vault: backup %s: %w", path, err)
	}
	if err := atomicfile.SyncDir(dir); err != nil {
		return n, fmt.Errorf("vault: backup %s: sync dir: %w", path, err)
	}
	return n, nil
}

// Compact rewrites the vault into a fresh file holding only live pages —
// freed pages with old ciphertext are left behind — then swaps it in:
// temporary file in the same directory, fsync, rename, directory fsync.
// Transactions wait while it runs.
func (s *Store) Compact() (before, after int64, err error) {
	s.rotMu.Lock()
	defer s.rotMu.Unlock()
	s.dbMu.Lock()
	defer s.dbMu.Unlock()
	if s.closed.Load() {
		return 0, 0, ErrClosed
	}
	if s.readOnly {
		return 0, 0, ErrReadOnly
	}
	old := s.db.Load()
	if fi, err := os.Stat(s.path); err == nil {
		before = fi.Size()
	}
	dir := filepath.Dir(s.path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(s.path)+".compact-*")
	if err != nil {
		return before, 0, fmt.Errorf("vault: compact: %w", mapErr(err))
	}
	tmp := f.Name()
	f.Close()
	os.Remove(tmp) // bbolt creates it afresh
	fail := func(err error) (int64, int64, error) {
		os.Remove(tmp)
		return before, 0, fmt.Errorf("vault: compact: %w", mapErr(err))
	}
	dst, err := bolt.Open(tmp, 0o600, &bolt.Options{FreelistType: bolt.FreelistMapType, Timeout: s.lockTimeout})
	if err != nil {
		return fail(err)
	}
	if err := bolt.Compact(dst, old, 16<<20); err != nil {
		dst.Close()
		return fail(err)
	}
	if err := dst.Update(func(tx *bolt.Tx) error { return tx.Bucket([]byte(bMeta)).Delete(mCompactDue) }); err != nil {
		dst.Close()
		return fail(err)
	}
	if err := dst.Sync(); err != nil {
		dst.Close()
		return fail(err)
	}
	if err := dst.Close(); err != nil {
		return fail(err)
	}
	if err := fsyncFile(tmp); err != nil {
		return fail(err)
	}
	if err := os.Rename(tmp, s.path); err != nil {
		return fail(err)
	}
	if err := atomicfile.SyncDir(dir); err != nil {
		return before, 0, fmt.Errorf("vault: compact: sync dir: %w", err)
	}
	if err := old.Close(); err != nil {
		s.log.Warn("closing the pre-compaction file failed", "err", err)
	}
	db, err := s.openBolt(s.path)
	if err != nil {
		s.closed.Store(true)
		return before, 0, fmt.Errorf("vault: compact: reopen: %w", err)
	}
	s.db.Store(db)
	if fi, err := os.Stat(s.path); err == nil {
		after = fi.Size()
	}
	s.log.Info("vault compacted", "before", before, "after", after)
	return before, after, nil
}

func fsyncFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
