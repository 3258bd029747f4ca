package vault

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"time"
)

// Receipt is the proof of an erasure returned to the subject: what was
// erased, when, and the audit entry that records it.
type Receipt struct {
	Kind      string         `json:"kind"`                 // "subject" or "deidentified template"
	SubjectID string         `json:"subject_id,omitempty"` // the erased subject's random id
	Erased    map[string]int `json:"erased"`               // record kind → count
	Time      time.Time      `json:"time"`
	AuditSeq  uint64         `json:"audit_seq"`
	AuditHash string         `json:"audit_hash"`
	// KEKEpoch is the key-encryption epoch after the rotation that made
	// every earlier copy of the destroyed data keys useless.
	KEKEpoch            uint32 `json:"kek_epoch"`
	RotationPending     bool   `json:"rotation_pending,omitempty"`
	CompactionScheduled bool   `json:"compaction_scheduled"`
}

// shredSubject destroys a subject's data key first, then deletes its
// records and its id from session participant lists.
func (t *txn) shredSubject(id ID, r *Receipt) error {
	hadKey := t.keys().Get(id[:]) != nil
	hadRec := t.bucket(kSubject).Get(id[:]) != nil
	if !hadKey && !hadRec {
		return ErrNotFound
	}
	if err := t.destroyKey(id); err != nil {
		return err
	}
	if hadRec {
		if err := t.del(kSubject, id[:]); err != nil {
			return err
		}
		r.Erased[kSubject.name]++
	}
	for _, k := range []kind{kConsent, kTemplate, kRecording, kRecChunk} {
		n, err := t.deleteUnder(k, id)
		if err != nil {
			return err
		}
		if n > 0 && k != kRecChunk {
			r.Erased[k.name] += n
		}
	}
	n, err := t.scrubSessions(id)
	if err != nil {
		return err
	}
	if n > 0 {
		r.Erased["session participation"] += n
	}
	return t.meta().Put(mRotateDue, []byte{1})
}

// EraseSubject erases a subject by crypto-shredding: its data key is
// destroyed first, then its records are deleted, the erasure is audited,
// the KEK epoch is rotated (so an old copy of the wrapped key is useless)
// and compaction is scheduled. Errors: ErrNotFound; a receipt with
// RotationPending and an error when the erasure committed but the rotation
// did not.
func (s *Store) EraseSubject(a Actor, id ID) (Receipt, error) {
	r := Receipt{Kind: "subject", SubjectID: id.String(), Erased: map[string]int{}}
	err := s.access(true, a, "subject.erase", id.String(), func(t *txn) error {
		return t.shredSubject(id, &r)
	}, func(t *txn) error { return t.finishReceipt(&r) })
	if err != nil {
		return Receipt{}, err
	}
	return s.afterErasure(a, r)
}

// RotateKey starts a new key-encryption epoch: a fresh salt in the
// keyring, every live data key re-wrapped, the old salt destroyed. It
// returns the new epoch.
func (s *Store) RotateKey(a Actor) (uint32, error) {
	if err := a.check(); err != nil {
		return 0, err
	}
	return s.rotate(a)
}

// rotate is the crash-safe rotation: keyring {old,new} → one transaction
// re-wraps every key and moves the epoch → keyring {new}. Open repairs a
// keyring left with two epochs.
func (s *Store) rotate(a Actor) (uint32, error) {
	s.rotMu.Lock()
	defer s.rotMu.Unlock()
	if s.closed.Load() {
		return 0, ErrClosed
	}
	if s.readOnly {
		return 0, ErrReadOnly
	}
	var cur uint32
	if err := s.view(func(t *txn) error {
		var err error
		cur, err = t.epoch()
		return err
	}); err != nil {
		return 0, err
	}
	ring, err := readKeyring(s.keyringPath, s.ringMAC)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			err = fmt.Errorf("%w: %s is missing", ErrKeyring, s.keyringPath)
		}
		return 0, err
	}
	oldSalt := ring.salt(cur)
	if oldSalt == nil {
		return 0, fmt.Errorf("%w: keyring lacks the current epoch", ErrKeyring)
	}
	next := cur + 1
	newSalt := randomBytes(keySize)
	kek, err := deriveKEK(s.root, s.vaultID, next, newSalt)
	if err != nil {
		return 0, fmt.Errorf("vault: derive kek: %w", err)
	}
	both := &keyring{VaultID: s.vaultID, Epochs: []keyringEpoch{{cur, oldSalt}, {next, newSalt}}}
	if err := writeKeyring(s.keyringPath, both, s.ringMAC); err != nil {
		zero(kek)
		return 0, err
	}
	s.kmu.Lock()
	s.keks[next] = kek
	s.kmu.Unlock()

	err = s.updateReserved(func(t *txn) error {
		e, err := t.epoch()
		if err != nil {
			return err
		}
		if e != cur {
			return fmt.Errorf("vault: epoch moved during rotation")
		}
		type kv struct{ k, v []byte }
		var all []kv
		if err := t.keys().ForEach(func(k, v []byte) error {
			all = append(all, kv{append([]byte(nil), k...), append([]byte(nil), v...)})
			return nil
		}); err != nil {
			return err
		}
		for _, p := range all {
			if len(p.k) != 16 {
				return fmt.Errorf("%w: data key id", ErrCorrupt)
			}
			id := ID(p.k)
			dek, err := t.dataKey(id)
			if err != nil {
				return fmt.Errorf("vault: rotate key %s: %w", id, err)
			}
			w, err := wrapKey(kek, s.vaultID, id, next, dek)
			if err != nil {
				return err
			}
			if err := t.keys().Put(p.k, w); err != nil {
				return err
			}
		}
		if err := t.meta().Put(mEpoch, binary.BigEndian.AppendUint32(nil, next)); err != nil {
			return err
		}
		if err := t.meta().Put(mRotated, []byte(s.now().UTC().Format(time.RFC3339Nano))); err != nil {
			return err
		}
		if err := t.meta().Delete(mRotateDue); err != nil {
			return err
		}
		return t.audit(a, "kek.rotate", strconv.FormatUint(uint64(next), 10), "ok")
	})
	if err != nil {
		// Back out: the vault still uses cur.
		s.kmu.Lock()
		zero(s.keks[next])
		delete(s.keks, next)
		s.kmu.Unlock()
		if werr := writeKeyring(s.keyringPath, &keyring{VaultID: s.vaultID, Epochs: []keyringEpoch{{cur, oldSalt}}}, s.ringMAC); werr != nil {
			s.log.Warn("keyring not trimmed after a failed rotation; Open will trim it", "err", werr)
		}
		return 0, fmt.Errorf("vault: rotate key: %w", err)
	}
	// The old salt goes: from now on the old KEK cannot be derived.
	if err := writeKeyring(s.keyringPath, &keyring{VaultID: s.vaultID, Epochs: []keyringEpoch{{next, newSalt}}}, s.ringMAC); err != nil {
		return next, fmt.Errorf("vault: rotated to epoch %d but the old salt is still in the keyring (Open will remove it): %w", next, err)
	}
	zero(oldSalt)
	s.kmu.Lock()
	zero(s.keks[cur])
	delete(s.keks, cur)
	s.kmu.Unlock()
	s.log.Info("key-encryption key rotated", "epoch", next)
	return next, nil
}
