package vault

import (
	"encoding/binary"
	"fmt"
	"slices"
	"time"
)

// OutboxEntry is a de-identified record waiting for a sync batch.
type OutboxEntry struct {
	Seq     uint64    `json:"seq"`
	Kind    string    `json:"kind"`
	Payload []byte    `json:"payload"`
	Created time.Time `json:"created"`
}

// MaxOutboxPayload caps one outbox entry.
const MaxOutboxPayload = 1 << 20

// AppendOutbox adds entries (Kind and Payload set; the payload copied) in
// one transaction and returns them with their sequence numbers.
// Errors: ErrInvalid, ErrOutboxFull (the outbox budget,
// Options.OutboxMaxBytes, would be passed, or less than 512 bytes of it
// are left), ErrFull; nothing is appended
// then, and nothing already held is dropped.
func (s *Store) AppendOutbox(entries ...OutboxEntry) ([]OutboxEntry, error) {
	out := make([]OutboxEntry, len(entries))
	for i, e := range entries {
		if !validLabel(e.Kind, false) || len(e.Payload) > MaxOutboxPayload {
			return nil, fmt.Errorf("%w: outbox entry", ErrInvalid)
		}
		out[i] = OutboxEntry{Kind: e.Kind, Payload: slices.Clone(e.Payload), Created: s.now().UTC()}
	}
	err := s.update(func(t *txn) error {
		var used int64
		if t.s.outboxMax > 0 {
			if used = t.outboxBytes(); used+outboxSlack > t.s.outboxMax {
				return fmt.Errorf("%w: %d of %d bytes", ErrOutboxFull, used, t.s.outboxMax)
			}
		}
		b := t.bucket(kOutbox)
		for i := range out {
			seq, err := b.NextSequence()
			if err != nil {
				return err
			}
			out[i].Seq = seq
			before := t.written
			if err := t.put(kOutbox, binary.BigEndian.AppendUint64(nil, seq), &out[i]); err != nil {
				return err
			}
			used += t.written - before
		}
		if t.s.outboxMax > 0 && used > t.s.outboxMax {
			return fmt.Errorf("%w: %d of %d bytes", ErrOutboxFull, used, t.s.outboxMax)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Outbox returns up to limit entries after sequence number after, oldest
// first (limit ≤ 0: all).
func (s *Store) Outbox(after uint64, limit int) ([]OutboxEntry, error) {
	var out []OutboxEntry
	err := s.view(func(t *txn) error {
		c := t.bucket(kOutbox).Cursor()
		for k, v := c.Seek(binary.BigEndian.AppendUint64(nil, after+1)); k != nil; k, v = c.Next() {
			var e OutboxEntry
			if err := t.decode(kOutbox, k, v, &e); err != nil {
				return err
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

// AckOutbox drops the entries with these sequence numbers (acknowledged
// upstream). Unknown numbers are ignored, so a repeated ack is harmless.
func (s *Store) AckOutbox(seqs ...uint64) error {
	return s.updateReserved(func(t *txn) error {
		for _, q := range seqs {
			if err := t.del(kOutbox, binary.BigEndian.AppendUint64(nil, q)); err != nil {
				return err
			}
		}
		return nil
	})
}

// outboxBytes is what the outbox and the sealed batches occupy: keys and
// sealed values, counted without opening anything.
func (t *txn) outboxBytes() int64 {
	var n int64
	for _, k := range []kind{kOutbox, kBatch} {
		_ = t.bucket(k).ForEach(func(key, v []byte) error {
			n += int64(len(key) + len(v))
			return nil
		})
	}
	return n
}

// OutboxUsage is what the sync outbox holds, counted without decrypting.
type OutboxUsage struct {
	Entries  int   `json:"entries"`   // records waiting to be sealed
	Batches  int   `json:"batches"`   // sealed batches waiting for a puller's acknowledgement
	Bytes    int64 `json:"bytes"`     // both, as stored
	MaxBytes int64 `json:"max_bytes"` // the budget (0: none)
}

// Full reports whether the budget is reached: AppendOutbox refuses every
// record until batches are acknowledged.
func (u OutboxUsage) Full() bool {
	return u.MaxBytes > 0 && u.Bytes+outboxSlack > u.MaxBytes
}

// outboxSlack is the room an outbox must have left to take any record:
// with less it is full and refuses every one, however small. A record
// that would pass the budget itself is refused too.
const outboxSlack = 512

// OutboxUsage counts the outbox and the sealed batches.
func (s *Store) OutboxUsage() (OutboxUsage, error) {
	u := OutboxUsage{MaxBytes: s.outboxMax}
	err := s.view(func(t *txn) error {
		u.Entries = t.bucket(kOutbox).Stats().KeyN
		u.Batches = t.bucket(kBatch).Stats().KeyN
		u.Bytes = t.outboxBytes()
		return nil
	})
	return u, err
}
