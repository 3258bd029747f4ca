package vault

import (
	"errors"
	"fmt"
	"slices"
	"time"
)

// MaxIdentifiable is the longest identifiable data may be kept
// (PRIVACY.md rule 7); a policy may only shorten it.
const MaxIdentifiable = 30 * 24 * time.Hour

// RetentionPolicy is the mechanism's input; the agent owns the policy.
type RetentionPolicy struct {
	// Identifiable: a subject is de-identified this long after enrolment
	// (0: MaxIdentifiable; more than MaxIdentifiable is refused).
	Identifiable time.Duration
	// Deidentified: a de-identified template is deleted this long after
	// its frozen last interaction (0: never, which a daemon should not use).
	Deidentified time.Duration
	// Sessions: a session is purged this long after it started (0:
	// Identifiable).
	Sessions time.Duration
}

// RetentionReport says what one run did. Late is the largest delay between
// a deadline and this run: the agent reports it when it exceeds its
// schedule (PRIVACY.md rule 9).
type RetentionReport struct {
	Deidentified   int           `json:"deidentified"`    // subjects turned into de-identified templates
	Erased         int           `json:"erased"`          // withdrawn subjects erased
	DeidCreated    int           `json:"deid_created"`    // de-identified templates created
	DeidPurged     int           `json:"deid_purged"`     // de-identified templates deleted
	SessionsPurged int           `json:"sessions_purged"` // sessions deleted
	Late           time.Duration `json:"late"`
	KEKEpoch       uint32        `json:"kek_epoch,omitempty"` // the epoch after rotation, when anything was destroyed
}

func (r *RetentionReport) late(now, deadline time.Time) {
	if d := now.Sub(deadline); d > r.Late {
		r.Late = d
	}
}

// deidDay freezes a last-interaction time to its UTC day.
func deidDay(t time.Time) time.Time {
	return t.UTC().Truncate(24 * time.Hour)
}

// ApplyRetention enforces the policy at the store's clock: subjects past
// their identifiable window are de-identified (identifiers, consents and
// raw recordings destroyed; each template becomes a de-identified template
// with a fresh id and its own key), withdrawn subjects are erased,
// de-identified templates and sessions past their windows are destroyed.
// Every step is audited; the KEK epoch rotates once if anything was
// destroyed. It is idempotent: a second run at the same time does nothing.
func (s *Store) ApplyRetention(a Actor, p RetentionPolicy) (RetentionReport, error) {
	var rep RetentionReport
	if err := a.check(); err != nil {
		return rep, err
	}
	if p.Identifiable <= 0 {
		p.Identifiable = MaxIdentifiable
	}
	if p.Identifiable > MaxIdentifiable || p.Deidentified < 0 || p.Sessions < 0 {
		return rep, fmt.Errorf("%w: retention may only be shortened below %v", ErrInvalid, MaxIdentifiable)
	}
	if p.Sessions == 0 || p.Sessions > p.Identifiable {
		p.Sessions = p.Identifiable
	}
	now := s.now().UTC()

	// Plan in one read transaction, act in one write transaction per item.
	var deid, erase, purgeDeid, purgeSess []ID
	err := s.view(func(t *txn) error {
		if err := t.bucket(kSubject).ForEach(func(k, v []byte) error {
			var sub Subject
			if err := t.decode(kSubject, k, v, &sub); err != nil {
				return err
			}
			switch {
			case sub.Status == StatusWithdrawn:
				erase = append(erase, sub.ID)
			case !now.Before(sub.Created.Add(p.Identifiable)):
				deid = append(deid, sub.ID)
				rep.late(now, sub.Created.Add(p.Identifiable))
			}
			return nil
		}); err != nil {
			return err
		}
		if p.Deidentified > 0 {
			if err := t.bucket(kDeid).ForEach(func(k, v []byte) error {
				var w deidWire
				if err := t.decode(kDeid, k, v, &w); err != nil {
					return err
				}
				zero(w.Vec)
				if dl := w.LastInteraction.Add(p.Deidentified); !now.Before(dl) {
					purgeDeid = append(purgeDeid, w.ID)
					rep.late(now, dl)
				}
				return nil
			}); err != nil {
				return err
			}
		}
		all, err := t.sessions()
		for _, ss := range all {
			if dl := ss.Started.Add(p.Sessions); !now.Before(dl) {
				purgeSess = append(purgeSess, ss.ID)
				rep.late(now, dl)
			}
		}
		return err
	})
	if err != nil {
		return rep, fmt.Errorf("vault: retention: %w", err)
	}

	var errs []error
	for _, id := range deid {
		n, err := s.deidentify(a, id)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		rep.Deidentified++
		rep.DeidCreated += n
	}
	for _, id := range erase {
		r := Receipt{Erased: map[string]int{}}
		if err := s.auditedReserved(a, "subject.erase", id.String(), func(t *txn) error { return t.shredSubject(id, &r) }); err != nil && !errors.Is(err, ErrNotFound) {
			errs = append(errs, err)
			continue
		}
		rep.Erased++
	}
	for _, id := range purgeDeid {
		if err := s.auditedReserved(a, "deid.purge", id.String(), func(t *txn) error { return t.shredSelf(kDeid, id) }); err != nil {
			errs = append(errs, err)
			continue
		}
		rep.DeidPurged++
	}
	for _, id := range purgeSess {
		if err := s.auditedReserved(a, "session.purge", id.String(), func(t *txn) error { return t.shredSelf(kSession, id) }); err != nil {
			errs = append(errs, err)
			continue
		}
		rep.SessionsPurged++
	}
	if rep.Deidentified+rep.Erased+rep.DeidPurged+rep.SessionsPurged > 0 {
		if err := s.updateReserved(func(t *txn) error { return t.meta().Put(mCompactDue, []byte{1}) }); err != nil {
			errs = append(errs, err)
		}
		epoch, err := s.rotate(a)
		if err != nil {
			errs = append(errs, err)
		}
		rep.KEKEpoch = epoch
	}
	if len(errs) > 0 {
		return rep, fmt.Errorf("vault: retention: %w", errors.Join(errs...))
	}
	return rep, nil
}

// deidentify turns a subject's templates into de-identified templates and
// destroys everything else about the subject, in one transaction. The
// audit entry names the subject only; the new ids appear nowhere near it.
func (s *Store) deidentify(a Actor, id ID) (int, error) {
	n := 0
	err := s.auditedReserved(a, "subject.deidentify", id.String(), func(t *txn) error {
		sub, err := t.subject(id)
		if err != nil {
			return err
		}
		history, err := t.consents(id)
		if err != nil {
			return err
		}
		// A restricted subject's data is not used for sync (PRIVACY.md
		// rule 17): its de-identified copies are never marked for research,
		// since nothing links them back to lift the restriction later.
		research := sub.Status == StatusActive && slices.Contains(Purposes(history), PurposeResearch)
		tpls, err := t.templates(id)
		if err != nil {
			return err
		}
		last := sub.LastInteraction
		if last.IsZero() {
			last = sub.Created
		}
		for _, tp := range tpls {
			w := deidWire{
				DeidTemplate: DeidTemplate{
					ID:                NewID(),
					ModelID:           tp.ModelID,
					Quality:           tp.Quality,
					LastInteraction:   deidDay(last),
					Research:          research,
					DeletionTokenHash: sub.DeletionTokenHash,
				},
				Vec: float32sToBytes(tp.Embedding),
			}
			clear(tp.Embedding)
			if _, err := t.newDataKey(w.ID); err != nil {
				return err
			}
			err := t.put(kDeid, w.ID[:], &w)
			zero(w.Vec)
			if err != nil {
				return err
			}
			n++
		}
		r := Receipt{Erased: map[string]int{}}
		return t.shredSubject(id, &r)
	})
	return n, err
}
