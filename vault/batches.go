package vault

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"time"
)

// A sealed sync batch is stored as opaque bytes (its manifest, signature
// and compressed body), sealed under the system key like every other
// value, until a puller acknowledges it. Its bbolt key is its sequence
// number (big-endian, the list cursor) followed by its random id, so that
// a lookup by id reads keys only and decrypts one value.

// MaxBatchID caps a batch id's length.
const MaxBatchID = 64

// MaxBatchBody caps a sealed batch's body as the vault stores it: base64
// inside the sealed JSON value must stay under the value cap.
const MaxBatchBody = 40 << 20

// SealInput is what SealOutbox hands its build function: the outbox
// entries, oldest first, and, when asked for, the de-identified templates
// of research subjects that no batch holds yet. The templates are copies
// whose embeddings the build function should clear when done.
type SealInput struct {
	Entries   []OutboxEntry
	Templates []DeidTemplate
}

// SealedBatch is what a build function returns: the batch's bytes, and
// which entries and templates it holds. An empty ID means there was
// nothing to seal: nothing is written.
type SealedBatch struct {
	ID        string
	Manifest  []byte // the exact signed bytes
	Signature []byte
	Body      []byte
	// Entries are the sequence numbers of the outbox entries the batch
	// holds: they are deleted with the batch's storing.
	Entries []uint64
	// Templates are the de-identified templates the batch holds: they
	// are marked synced and never handed out again.
	Templates []ID
}

// StoredBatch is a sealed batch as the vault holds it.
type StoredBatch struct {
	Seq       uint64    `json:"seq"`
	ID        string    `json:"id"`
	Created   time.Time `json:"created"`
	Manifest  []byte    `json:"manifest"`
	Signature []byte    `json:"signature"`
	Body      []byte    `json:"body"`
}

type batchWire StoredBatch

func (w *batchWire) check() error {
	if !validLabel(w.ID, false) || len(w.Manifest) == 0 || len(w.Signature) == 0 || len(w.Body) > MaxBatchBody {
		return errors.New("bad sync batch")
	}
	return nil
}

func batchKey(seq uint64, id string) []byte {
	return append(binary.BigEndian.AppendUint64(nil, seq), id...)
}

// SealOutboxOptions choose what SealOutbox reads.
type SealOutboxOptions struct {
	// Templates: hand the build function the de-identified templates of
	// research subjects not yet synced (reading them is audited).
	Templates bool
}

// SealOutbox seals the outbox into a batch in ONE transaction: it reads
// the outbox entries (and, with opts.Templates, the unsynced research
// templates), calls build, stores the batch build returns, deletes the
// entries it holds and marks its templates synced. A crash leaves either
// the entries or the batch, never both nor neither. When build returns an
// empty ID, or an error, nothing is written. The batch and the template
// read are audited ("sync.seal", the batch id).
//
// It returns the stored batch and true, or false when build sealed
// nothing. Errors: ErrInvalid (build returned a bad id, an entry or
// template it was not given, or a body over MaxBatchBody), ErrOutboxFull
// (the batch would pass the outbox budget: it holds more than the entries
// it replaces), ErrFull, and build's own error.
func (s *Store) SealOutbox(a Actor, opts SealOutboxOptions, build func(SealInput) (SealedBatch, error)) (StoredBatch, bool, error) {
	if err := a.check(); err != nil {
		return StoredBatch{}, false, err
	}
	var out StoredBatch
	var sealed bool
	err := s.update(func(t *txn) error {
		var in SealInput
		var usedBefore int64
		if s.outboxMax > 0 {
			usedBefore = t.outboxBytes()
		}
		c := t.bucket(kOutbox).Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			var e OutboxEntry
			if err := t.decode(kOutbox, k, v, &e); err != nil {
				return err
			}
			in.Entries = append(in.Entries, e)
		}
		if opts.Templates {
			if err := t.bucket(kDeid).ForEach(func(k, v []byte) error {
				var w deidWire
				if err := t.decode(kDeid, k, v, &w); err != nil {
					return err
				}
				if !w.Research || w.Synced {
					zero(w.Vec)
					return nil
				}
				in.Templates = append(in.Templates, w.deid())
				return nil
			}); err != nil {
				return err
			}
		}
		defer func() {
			for _, d := range in.Templates {
				clear(d.Embedding)
			}
		}()
		sb, err := build(in)
		if err != nil {
			return err
		}
		if sb.ID == "" {
			return nil
		}
		if !validLabel(sb.ID, false) || len(sb.ID) > MaxBatchID || len(sb.Manifest) == 0 || len(sb.Signature) == 0 || len(sb.Body) > MaxBatchBody {
			return fmt.Errorf("%w: sealed batch", ErrInvalid)
		}
		for _, q := range sb.Entries {
			if !slices.ContainsFunc(in.Entries, func(e OutboxEntry) bool { return e.Seq == q }) {
				return fmt.Errorf("%w: batch holds outbox entry %d it was not given", ErrInvalid, q)
			}
		}
		for _, id := range sb.Templates {
			if !slices.ContainsFunc(in.Templates, func(d DeidTemplate) bool { return d.ID == id }) {
				return fmt.Errorf("%w: batch holds a template it was not given", ErrInvalid)
			}
		}
		if _, err := t.batchByID(sb.ID); err == nil {
			return fmt.Errorf("%w: batch id in use", ErrInvalid)
		} else if !errors.Is(err, ErrNotFound) {
			return err
		}
		seq, err := t.bucket(kBatch).NextSequence()
		if err != nil {
			return err
		}
		out = StoredBatch{
			Seq: seq, ID: sb.ID, Created: s.now().UTC(),
			Manifest: bytes.Clone(sb.Manifest), Signature: bytes.Clone(sb.Signature), Body: bytes.Clone(sb.Body),
		}
		if err := t.put(kBatch, batchKey(seq, sb.ID), (*batchWire)(&out)); err != nil {
			return err
		}
		for _, q := range sb.Entries {
			if err := t.del(kOutbox, binary.BigEndian.AppendUint64(nil, q)); err != nil {
				return err
			}
		}
		for _, id := range sb.Templates {
			var w deidWire
			if err := t.get(kDeid, id[:], &w); err != nil {
				return err
			}
			w.Synced = true
			err := t.put(kDeid, id[:], &w)
			zero(w.Vec)
			if err != nil {
				return err
			}
		}
		if s.outboxMax > 0 {
			if after := t.outboxBytes(); after > s.outboxMax && after > usedBefore {
				return fmt.Errorf("%w: the batch would bring it to %d of %d bytes", ErrOutboxFull, after, s.outboxMax)
			}
		}
		sealed = true
		return t.audit(a, "sync.seal", sb.ID, fmt.Sprintf("records-%d-templates-%d", len(sb.Entries), len(sb.Templates)))
	})
	if err != nil {
		return StoredBatch{}, false, err
	}
	return out, sealed, nil
}

// batchByID finds a batch's key by its id, reading keys only.
func (t *txn) batchByID(id string) ([]byte, error) {
	c := t.bucket(kBatch).Cursor()
	for k, _ := c.First(); k != nil; k, _ = c.Next() {
		if len(k) > 8 && string(k[8:]) == id {
			return bytes.Clone(k), nil
		}
	}
	return nil, ErrNotFound
}

// Batches returns up to limit sealed batches with Seq > after, in Seq
// order (limit ≤ 0: all).
func (s *Store) Batches(after uint64, limit int) ([]StoredBatch, error) {
	var out []StoredBatch
	err := s.view(func(t *txn) error {
		c := t.bucket(kBatch).Cursor()
		for k, v := c.Seek(binary.BigEndian.AppendUint64(nil, after+1)); k != nil; k, v = c.Next() {
			var b batchWire
			if err := t.decode(kBatch, k, v, &b); err != nil {
				return err
			}
			out = append(out, StoredBatch(b))
			if limit > 0 && len(out) >= limit {
				break
			}
		}
		return nil
	})
	return out, err
}

// Batch returns one sealed batch by id. Errors: ErrNotFound (never
// sealed, or acknowledged).
func (s *Store) Batch(id string) (StoredBatch, error) {
	var b batchWire
	err := s.view(func(t *txn) error {
		k, err := t.batchByID(id)
		if err != nil {
			return err
		}
		return t.get(kBatch, k, &b)
	})
	if err != nil {
		return StoredBatch{}, err
	}
	return StoredBatch(b), nil
}

// AckBatch drops a batch a puller stored upstream, with an audit entry
// ("sync.ack"). A batch already dropped (or never sealed) is not an error
// and writes nothing: acknowledgement is idempotent.
func (s *Store) AckBatch(a Actor, id string) error {
	if err := a.check(); err != nil {
		return err
	}
	return s.updateReserved(func(t *txn) error {
		k, err := t.batchByID(id)
		if errors.Is(err, ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := t.del(kBatch, k); err != nil {
			return err
		}
		return t.audit(a, "sync.ack", id, "ok")
	})
}
