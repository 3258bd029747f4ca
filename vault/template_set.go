package vault

import (
	"fmt"
	"slices"
)

// SetTemplate makes tpl the subject's only template: the ones it held are
// deleted and tpl stored in one transaction, so that a voiceprint updated
// with new enrolment samples replaces the old one instead of piling up
// beside it (data minimisation). The embedding is copied. Errors as
// AddTemplate: ErrNotFound, ErrInvalid (bad dimension, NaN, a subject not
// active), ErrFull. It returns the stored template and how many it
// replaced.
func (s *Store) SetTemplate(a Actor, subject ID, tpl Template) (Template, int, error) {
	if err := checkEmbedding(tpl.Embedding); err != nil {
		return Template{}, 0, err
	}
	if tpl.ModelID == "" || !textOK(tpl.ModelID) {
		return Template{}, 0, fmt.Errorf("%w: model id", ErrInvalid)
	}
	now := s.now().UTC()
	w := templateWire{Template: tpl, Vec: float32sToBytes(tpl.Embedding)}
	defer zero(w.Vec)
	w.Embedding = nil
	w.ID, w.SubjectID, w.Created, w.LastUsed, w.Quality = NewID(), subject, now, now, cloneMap(tpl.Quality)
	var replaced int
	err := s.audited(a, "template.set", w.ID.String(), func(t *txn) error {
		sub, err := t.subject(subject)
		if err != nil {
			return err
		}
		if sub.Status != StatusActive {
			return fmt.Errorf("%w: subject is %s", ErrInvalid, sub.Status)
		}
		if replaced, err = t.deleteUnder(kTemplate, subject); err != nil {
			return err
		}
		return t.put(kTemplate, pairKey(subject, w.ID), &w)
	})
	if err != nil {
		return Template{}, 0, err
	}
	out := w.Template
	out.Embedding = slices.Clone(tpl.Embedding)
	return out, replaced, nil
}
