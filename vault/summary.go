package vault

import (
	"bytes"
	"slices"
	"sort"
	"time"
)

// TemplateInfo describes a template without its embedding: what a
// technician may see about an enrolment.
type TemplateInfo struct {
	ID       ID                 `json:"id"`
	ModelID  string             `json:"model_id"`
	Dim      int                `json:"dim"`
	Quality  map[string]float64 `json:"quality,omitempty"`
	Created  time.Time          `json:"created"`
	LastUsed time.Time          `json:"last_used"`
}

// SubjectSummary is a subject's status: the subject record, the purposes
// its consent grants now, how many recordings it has and what its
// templates are, never a template's values. The subject's
// DeletionTokenHash is left out.
type SubjectSummary struct {
	Subject    Subject
	Purposes   []Purpose
	Templates  []TemplateInfo
	Recordings int
}

// summary reads one subject's summary; the template records are opened
// to read their description and their embeddings wiped at once.
func (t *txn) summary(sub Subject) (SubjectSummary, error) {
	out := SubjectSummary{Subject: sub}
	out.Subject.DeletionTokenHash = nil
	history, err := t.consents(sub.ID)
	if err != nil {
		return out, err
	}
	out.Purposes = Purposes(history)
	if err := t.scanPrefix(kTemplate, sub.ID, func(k, v []byte) error {
		var w templateWire
		if err := t.decode(kTemplate, k, v, &w); err != nil {
			return err
		}
		dim := len(w.Vec) / 4
		zero(w.Vec)
		out.Templates = append(out.Templates, TemplateInfo{
			ID: w.ID, ModelID: w.ModelID, Dim: dim, Quality: cloneMap(w.Quality), Created: w.Created, LastUsed: w.LastUsed,
		})
		return nil
	}); err != nil {
		return out, err
	}
	sort.Slice(out.Templates, func(i, j int) bool { return out.Templates[i].Created.Before(out.Templates[j].Created) })
	out.Recordings, err = t.count(kRecording, sub.ID)
	return out, err
}

// SubjectSummary returns one subject's status (no embedding leaves the
// vault). It is audited as a subject read. Errors: ErrNotFound.
func (s *Store) SubjectSummary(a Actor, id ID) (SubjectSummary, error) {
	var out SubjectSummary
	err := s.audited(a, "subject.read", id.String(), func(t *txn) error {
		sub, err := t.subject(id)
		if err != nil {
			return err
		}
		out, err = t.summary(sub)
		return err
	})
	if err != nil {
		return SubjectSummary{}, err
	}
	return out, nil
}

// SubjectSummaries returns every subject's status, oldest first (then by
// id), audited
// as one subject listing.
func (s *Store) SubjectSummaries(a Actor) ([]SubjectSummary, error) {
	var out []SubjectSummary
	err := s.audited(a, "subject.list", "", func(t *txn) error {
		return t.bucket(kSubject).ForEach(func(k, v []byte) error {
			var sub Subject
			if err := t.decode(kSubject, k, v, &sub); err != nil {
				return err
			}
			sum, err := t.summary(sub)
			if err != nil {
				return err
			}
			out = append(out, sum)
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b SubjectSummary) int {
		if c := a.Subject.Created.Compare(b.Subject.Created); c != 0 {
			return c
		}
		return bytes.Compare(a.Subject.ID[:], b.Subject.ID[:])
	})
	return out, nil
}
