package vault

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"
)

// DeidTemplate is a de-identified template: a fresh random id, no link to
// the subject, its own data key. LastInteraction is frozen (to the UTC day,
// so that it cannot be matched to an audit entry's time) when the subject
// is de-identified; the template is deleted a retention window after it.
type DeidTemplate struct {
	ID              ID                 `json:"id"`
	Embedding       []float32          `json:"-"`
	ModelID         string             `json:"model_id"`
	Quality         map[string]float64 `json:"quality,omitempty"`
	LastInteraction time.Time          `json:"last_interaction"`
	// Research is true when the subject granted the research purpose: only
	// then may anything derived from it be synced.
	Research bool `json:"research"`
	// Synced is true once a transformed copy went into a sealed sync
	// batch: it is sealed once, never again.
	Synced bool `json:"synced,omitempty"`
	// DeletionTokenHash lets the subject's deletion token reach this
	// template without any linkage key on the box.
	DeletionTokenHash []byte `json:"deletion_token_hash"`
}

// LogValue implements slog.LogValuer without the embedding.
func (d DeidTemplate) LogValue() slog.Value {
	return slog.GroupValue(slog.String("id", d.ID.String()), slog.String("model", d.ModelID))
}

type deidWire struct {
	DeidTemplate
	Vec []byte `json:"vec"`
}

func (w *deidWire) check() error {
	if len(w.Vec) == 0 || len(w.Vec)%4 != 0 || len(w.Vec) > 4*MaxEmbeddingDim {
		return errors.New("bad embedding length")
	}
	return nil
}

func (w *deidWire) deid() DeidTemplate {
	d := w.DeidTemplate
	d.Embedding, _ = bytesToFloat32s(w.Vec)
	zero(w.Vec)
	d.Quality = cloneMap(d.Quality)
	d.DeletionTokenHash = slices.Clone(d.DeletionTokenHash)
	return d
}

// DeidTemplates returns every de-identified template (copies).
func (s *Store) DeidTemplates(a Actor) ([]DeidTemplate, error) {
	var out []DeidTemplate
	err := s.audited(a, "deid.read", "", func(t *txn) error {
		return t.bucket(kDeid).ForEach(func(k, v []byte) error {
			var w deidWire
			if err := t.decode(kDeid, k, v, &w); err != nil {
				return err
			}
			out = append(out, w.deid())
			return nil
		})
	})
	return out, err
}

// shredSelf destroys a self-keyed record's data key, then deletes it.
func (t *txn) shredSelf(k kind, id ID) error {
	if err := t.destroyKey(id); err != nil {
		return err
	}
	if err := t.del(k, id[:]); err != nil {
		return err
	}
	return t.meta().Put(mRotateDue, []byte{1})
}

// EraseDeidentifiedByToken erases the de-identified templates that a
// subject's deletion token reaches (PRIVACY.md rule 17). Errors:
// ErrNotFound when the token reaches none.
func (s *Store) EraseDeidentifiedByToken(a Actor, token DeletionToken) (Receipt, error) {
	h := tokenHash(string(token))
	r := Receipt{Kind: "deidentified template", Erased: map[string]int{}}
	err := s.access(true, a, "deid.erase_by_token", "", func(t *txn) error {
		var ids []ID
		err := t.bucket(kDeid).ForEach(func(k, v []byte) error {
			var w deidWire
			if err := t.decode(kDeid, k, v, &w); err != nil {
				return err
			}
			zero(w.Vec)
			if subtle.ConstantTimeCompare(w.DeletionTokenHash, h) == 1 {
				ids = append(ids, w.ID)
			}
			return nil
		})
		if err != nil {
			return err
		}
		if len(ids) == 0 {
			return ErrNotFound
		}
		for _, id := range ids {
			if err := t.shredSelf(kDeid, id); err != nil {
				return err
			}
			if err := t.audit(a, "deid.erase", id.String(), "ok"); err != nil {
				return err
			}
		}
		r.Erased[kDeid.name] = len(ids)
		return nil
	}, func(t *txn) error { return t.finishReceipt(&r) })
	if err != nil {
		return Receipt{}, err
	}
	return s.afterErasure(a, r)
}

// finishReceipt fills the receipt's time and audit head inside the erasing
// transaction and schedules compaction.
func (t *txn) finishReceipt(r *Receipt) error {
	if err := t.meta().Put(mCompactDue, []byte{1}); err != nil {
		return err
	}
	r.Time = t.s.now().UTC()
	r.AuditSeq, r.AuditHash = t.auditBucketHead()
	r.CompactionScheduled = true
	return nil
}

// afterErasure rotates the KEK epoch so that the destroyed keys' wrapped
// copies are useless everywhere. The erasure itself is committed; if the
// rotation fails it is retried at the next Open or RotateKey, and the
// error is returned with the receipt.
func (s *Store) afterErasure(a Actor, r Receipt) (Receipt, error) {
	epoch, err := s.rotate(a)
	if err != nil {
		r.RotationPending = true
		return r, fmt.Errorf("vault: erased, but key rotation is pending: %w", err)
	}
	r.KEKEpoch = epoch
	return r, nil
}
