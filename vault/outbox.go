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
// Errors: ErrInvalid, ErrFull (nothing appended).
func (s *Store) AppendOutbox(entries ...OutboxEntry) ([]OutboxEntry, error) {
	out := make([]OutboxEntry, len(entries))
	for i, e := range entries {
		if !validLabel(e.Kind, false) || len(e.Payload) > MaxOutboxPayload {
			return nil, fmt.Errorf("%w: outbox entry", ErrInvalid)
		}
		out[i] = OutboxEntry{Kind: e.Kind, Payload: slices.Clone(e.Payload), Created: s.now().UTC()}
	}
	err := s.update(func(t *txn) error {
		b := t.bucket(kOutbox)
		for i := range out {
			seq, err := b.NextSequence()
			if err != nil {
				return err
			}
			out[i].Seq = seq
			if err := t.put(kOutbox, binary.BigEndian.AppendUint64(nil, seq), &out[i]); err != nil {
				return err
			}
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
