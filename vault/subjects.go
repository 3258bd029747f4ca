package vault

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"sort"
	"time"
	"unicode/utf8"
)

// Status is a subject's state.
type Status string

// Subject states. A restricted subject is kept but never used for
// matching, export or sync.
const (
	StatusActive     Status = "active"
	StatusRestricted Status = "restricted"
	StatusWithdrawn  Status = "withdrawn"
)

// Purpose is what a consent grants.
type Purpose string

// The purposes a speaker may grant, separately.
const (
	PurposeRecognition Purpose = "recognition"
	PurposeResearch    Purpose = "research"
)

// Limits on stored fields, checked before anything is written.
const (
	MaxNameLen      = 256
	MaxEmbeddingDim = 65536 // the fused voiceprint has 31,036 values
	MaxAudioBytes   = 32 << 20
)

// Subject is an enrolled speaker. DisplayName and Contact are the only
// identifiers; they never reach a key, a log or an error.
type Subject struct {
	ID                ID        `json:"id"`
	DisplayName       string    `json:"display_name"`
	Contact           string    `json:"contact"`
	Status            Status    `json:"status"`
	Created           time.Time `json:"created"`
	LastInteraction   time.Time `json:"last_interaction"`
	DeletionTokenHash []byte    `json:"deletion_token_hash"` // SHA-256 of the subject-held deletion token
}

// LogValue implements slog.LogValuer: the id and status only.
func (s Subject) LogValue() slog.Value {
	return slog.GroupValue(slog.String("id", s.ID.String()), slog.String("status", string(s.Status)))
}

func (s *Subject) check() error {
	switch s.Status {
	case StatusActive, StatusRestricted, StatusWithdrawn:
	default:
		return errors.New("bad status")
	}
	if len(s.DeletionTokenHash) != sha256.Size {
		return errors.New("bad deletion token hash")
	}
	return nil
}

// ConsentKind says whether a consent entry grants or withdraws.
type ConsentKind string

// Consent entry kinds: the history is append-only.
const (
	ConsentGrant    ConsentKind = "grant"
	ConsentWithdraw ConsentKind = "withdraw"
)

// Consent is one entry of a subject's consent history (PRIVACY.md rule 2).
type Consent struct {
	ID                ID          `json:"id"`
	SubjectID         ID          `json:"subject_id"`
	Seq               int         `json:"seq"` // position in the history, from 1
	Kind              ConsentKind `json:"kind"`
	DisclosureVersion string      `json:"disclosure_version,omitempty"`
	DisclosureSHA256  string      `json:"disclosure_sha256,omitempty"`
	Purposes          []Purpose   `json:"purposes,omitempty"`
	RetentionStated   string      `json:"retention_stated,omitempty"`
	Signature         string      `json:"signature,omitempty"` // the typed signature
	Time              time.Time   `json:"time"`
	TechnicianTokenID string      `json:"technician_token_id,omitempty"`
}

// LogValue implements slog.LogValuer without the signature.
func (c Consent) LogValue() slog.Value {
	return slog.GroupValue(slog.String("id", c.ID.String()), slog.String("kind", string(c.Kind)))
}

func (c *Consent) check() error {
	if c.Kind != ConsentGrant && c.Kind != ConsentWithdraw {
		return errors.New("bad consent kind")
	}
	return nil
}

func (c *Consent) validate() error {
	if err := c.check(); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if c.Kind == ConsentGrant {
		if len(c.DisclosureSHA256) != 64 || !isHex([]byte(c.DisclosureSHA256)) {
			return fmt.Errorf("%w: consent needs the disclosure's SHA-256 (hex)", ErrInvalid)
		}
		if c.Signature == "" {
			return fmt.Errorf("%w: consent needs a typed signature", ErrInvalid)
		}
		if len(c.Purposes) == 0 {
			return fmt.Errorf("%w: consent grants no purpose", ErrInvalid)
		}
	}
	for _, p := range c.Purposes {
		if p != PurposeRecognition && p != PurposeResearch {
			return fmt.Errorf("%w: unknown purpose", ErrInvalid)
		}
	}
	for _, f := range []string{c.DisclosureVersion, c.RetentionStated, c.Signature, c.TechnicianTokenID} {
		if !textOK(f) {
			return fmt.Errorf("%w: consent field too long or not UTF-8", ErrInvalid)
		}
	}
	return nil
}

// Template is a voiceprint linked to a subject.
type Template struct {
	ID        ID                 `json:"id"`
	SubjectID ID                 `json:"subject_id"`
	Embedding []float32          `json:"-"`
	ModelID   string             `json:"model_id"`
	Quality   map[string]float64 `json:"quality,omitempty"`
	Created   time.Time          `json:"created"`
	LastUsed  time.Time          `json:"last_used"`
}

// LogValue implements slog.LogValuer without the embedding.
func (t Template) LogValue() slog.Value {
	return slog.GroupValue(slog.String("id", t.ID.String()), slog.String("model", t.ModelID), slog.Int("dim", len(t.Embedding)))
}

// templateWire is a template as sealed: the embedding as little-endian
// float32 bytes.
type templateWire struct {
	Template
	Vec []byte `json:"vec"`
}

func (w *templateWire) check() error {
	if len(w.Vec) == 0 || len(w.Vec)%4 != 0 || len(w.Vec) > 4*MaxEmbeddingDim {
		return errors.New("bad embedding length")
	}
	return nil
}

func (w *templateWire) template() Template {
	t := w.Template
	t.Embedding, _ = bytesToFloat32s(w.Vec) // length checked by check
	zero(w.Vec)
	t.Quality = cloneMap(t.Quality)
	return t
}

func checkEmbedding(v []float32) error {
	if len(v) == 0 || len(v) > MaxEmbeddingDim {
		return fmt.Errorf("%w: embedding dimension %d", ErrInvalid, len(v))
	}
	for _, f := range v {
		if math.IsNaN(float64(f)) || math.IsInf(float64(f), 0) {
			return fmt.Errorf("%w: embedding holds a NaN or Inf", ErrInvalid)
		}
	}
	return nil
}

func textOK(s string) bool { return len(s) <= MaxNameLen && utf8.ValidString(s) }

func cloneMap(m map[string]float64) map[string]float64 {
	if m == nil {
		return nil
	}
	c := make(map[string]float64, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

// resultOf turns an error into an audit result label.
func resultOf(err error) string {
	switch {
	case errors.Is(err, ErrNotFound):
		return "not_found"
	case errors.Is(err, ErrKeyDestroyed):
		return "key_destroyed"
	case errors.Is(err, ErrCorrupt):
		return "corrupt"
	}
	return "error"
}

// audited runs fn in a write transaction and appends an audit entry for
// it; when fn fails, the failure is audited in a transaction of its own.
func (s *Store) audited(a Actor, action, record string, fn func(t *txn) error) error {
	return s.access(false, a, action, record, fn, nil)
}

// auditedReserved is audited for writes that may use the reserve (see
// updateReserved).
func (s *Store) auditedReserved(a Actor, action, record string, fn func(t *txn) error) error {
	return s.access(true, a, action, record, fn, nil)
}

// access runs fn, appends its audit entry, then runs then (receipts name
// that entry), all in one transaction.
func (s *Store) access(reserved bool, a Actor, action, record string, fn, then func(t *txn) error) error {
	if err := a.check(); err != nil {
		return err
	}
	err := s.updateIn(reserved, func(t *txn) error {
		if err := fn(t); err != nil {
			return err
		}
		if err := t.audit(a, action, record, "ok"); err != nil {
			return err
		}
		if then != nil {
			return then(t)
		}
		return nil
	})
	if err != nil && !errors.Is(err, ErrFull) && !errors.Is(err, ErrClosed) && !errors.Is(err, ErrInvalid) && !errors.Is(err, ErrReadOnly) {
		if aerr := s.update(func(t *txn) error { return t.audit(a, action, record, resultOf(err)) }); aerr != nil {
			s.log.Warn("audit of a failed access not written", "action", action, "err", aerr)
		}
	}
	return err
}

// NewSubject is what CreateSubject needs: the identifiers and the consent
// that makes storing them lawful.
type NewSubject struct {
	DisplayName string
	Contact     string
	Consent     Consent // Kind must be ConsentGrant
}

// DeletionToken is the secret a subject keeps to erase their de-identified
// template later; the vault stores only its SHA-256. It prints as
// "[redacted]".
type DeletionToken string

// String implements fmt.Stringer without revealing the token.
func (DeletionToken) String() string { return "[redacted]" }

// LogValue implements slog.LogValuer without revealing the token.
func (DeletionToken) LogValue() slog.Value { return slog.StringValue("[redacted]") }

func tokenHash(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

func newSecret() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic("vault: crypto/rand failed: " + err.Error()) // unreachable on supported platforms
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// CreateSubject stores a new subject, its own data key and its first
// consent in one transaction, and returns the subject with the deletion
// token to hand to the speaker (shown once, stored only as a hash).
// Errors: ErrInvalid (a missing signature, a stale or missing disclosure
// hash, a field too long), ErrFull.
func (s *Store) CreateSubject(a Actor, in NewSubject) (Subject, DeletionToken, error) {
	if !textOK(in.DisplayName) || in.DisplayName == "" || !textOK(in.Contact) {
		return Subject{}, "", fmt.Errorf("%w: display name empty or too long", ErrInvalid)
	}
	c := in.Consent
	if c.Kind != ConsentGrant {
		return Subject{}, "", fmt.Errorf("%w: a new subject needs a granting consent", ErrInvalid)
	}
	if err := c.validate(); err != nil {
		return Subject{}, "", err
	}
	now := s.now().UTC()
	tok := newSecret()
	sub := Subject{
		ID:                NewID(),
		DisplayName:       in.DisplayName,
		Contact:           in.Contact,
		Status:            StatusActive,
		Created:           now,
		LastInteraction:   now,
		DeletionTokenHash: tokenHash(tok),
	}
	c.ID, c.SubjectID, c.Purposes, c.Seq = NewID(), sub.ID, slices.Clone(c.Purposes), 1
	if c.Time.IsZero() {
		c.Time = now
	}
	err := s.access(false, a, "subject.create", sub.ID.String(), func(t *txn) error {
		if _, err := t.newDataKey(sub.ID); err != nil {
			return err
		}
		if err := t.put(kSubject, sub.ID[:], &sub); err != nil {
			return err
		}
		return t.put(kConsent, pairKey(sub.ID, c.ID), &c)
	}, func(t *txn) error { return t.audit(a, "consent.grant", c.ID.String(), "ok") })
	if err != nil {
		return Subject{}, "", fmt.Errorf("vault: create subject: %w", err)
	}
	sub.DeletionTokenHash = slices.Clone(sub.DeletionTokenHash)
	return sub, DeletionToken(tok), nil
}

func (t *txn) subject(id ID) (Subject, error) {
	var sub Subject
	err := t.get(kSubject, id[:], &sub)
	return sub, err
}

// Subject returns one subject (a copy). Errors: ErrNotFound.
func (s *Store) Subject(a Actor, id ID) (Subject, error) {
	var sub Subject
	err := s.audited(a, "subject.read", id.String(), func(t *txn) error {
		var err error
		sub, err = t.subject(id)
		return err
	})
	return sub, err
}

// Subjects returns every subject, ordered by creation time.
func (s *Store) Subjects(a Actor) ([]Subject, error) {
	var out []Subject
	err := s.audited(a, "subject.list", "", func(t *txn) error {
		return t.bucket(kSubject).ForEach(func(k, v []byte) error {
			var sub Subject
			if err := t.decode(kSubject, k, v, &sub); err != nil {
				return err
			}
			out = append(out, sub)
			return nil
		})
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Created.Before(out[j].Created) })
	return out, err
}

// RectifySubject changes the display name and/or contact (nil leaves a
// field as it is). Errors: ErrNotFound, ErrInvalid.
func (s *Store) RectifySubject(a Actor, id ID, displayName, contact *string) (Subject, error) {
	if displayName != nil && (*displayName == "" || !textOK(*displayName)) || contact != nil && !textOK(*contact) {
		return Subject{}, fmt.Errorf("%w: display name empty or too long", ErrInvalid)
	}
	var sub Subject
	err := s.audited(a, "subject.rectify", id.String(), func(t *txn) error {
		var err error
		if sub, err = t.subject(id); err != nil {
			return err
		}
		if displayName != nil {
			sub.DisplayName = *displayName
		}
		if contact != nil {
			sub.Contact = *contact
		}
		return t.put(kSubject, id[:], &sub)
	})
	return sub, err
}

// SetStatus restricts, unrestricts or marks a subject withdrawn. A
// withdrawal is final: a withdrawn subject's status cannot change again
// (ErrInvalid, nothing written). Errors: ErrNotFound, ErrInvalid.
func (s *Store) SetStatus(a Actor, id ID, st Status) (Subject, error) {
	switch st {
	case StatusActive, StatusRestricted, StatusWithdrawn:
	default:
		return Subject{}, fmt.Errorf("%w: unknown status", ErrInvalid)
	}
	var sub Subject
	err := s.auditedReserved(a, "subject.status."+string(st), id.String(), func(t *txn) error {
		var err error
		if sub, err = t.subject(id); err != nil {
			return err
		}
		if sub.Status == StatusWithdrawn && st != StatusWithdrawn {
			return fmt.Errorf("%w: subject is withdrawn", ErrInvalid)
		}
		sub.Status = st
		return t.put(kSubject, id[:], &sub)
	})
	return sub, err
}

// RecordInteraction notes that the subject was recognised (or enrolled) at
// when: it moves last_interaction forward, which the de-identified
// template keeps. Errors: ErrNotFound.
func (s *Store) RecordInteraction(a Actor, id ID, when time.Time) error {
	return s.audited(a, "subject.match", id.String(), func(t *txn) error {
		sub, err := t.subject(id)
		if err != nil {
			return err
		}
		if when.After(sub.LastInteraction) {
			sub.LastInteraction = when.UTC()
			return t.put(kSubject, id[:], &sub)
		}
		return nil
	})
}

// AppendConsent adds an entry to a subject's consent history; entries are
// never rewritten. A withdrawal also marks the subject withdrawn (the
// caller then erases it). Errors: ErrNotFound, ErrInvalid.
func (s *Store) AppendConsent(a Actor, subject ID, c Consent) (Consent, error) {
	if err := c.validate(); err != nil {
		return Consent{}, err
	}
	c.ID, c.SubjectID, c.Purposes = NewID(), subject, slices.Clone(c.Purposes)
	if c.Time.IsZero() {
		c.Time = s.now().UTC()
	}
	err := s.access(c.Kind == ConsentWithdraw, a, "consent."+string(c.Kind), c.ID.String(), func(t *txn) error {
		sub, err := t.subject(subject)
		if err != nil {
			return err
		}
		n, err := t.count(kConsent, subject)
		if err != nil {
			return err
		}
		c.Seq = n + 1
		if c.Kind == ConsentWithdraw && sub.Status != StatusWithdrawn {
			sub.Status = StatusWithdrawn
			if err := t.put(kSubject, subject[:], &sub); err != nil {
				return err
			}
		}
		return t.put(kConsent, pairKey(subject, c.ID), &c)
	}, nil)
	return c, err
}

func (t *txn) consents(subject ID) ([]Consent, error) {
	var out []Consent
	err := t.scanPrefix(kConsent, subject, func(k, v []byte) error {
		var c Consent
		if err := t.decode(kConsent, k, v, &c); err != nil {
			return err
		}
		out = append(out, c)
		return nil
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Seq < out[j].Seq })
	return out, err
}

func (t *txn) count(k kind, subject ID) (int, error) {
	n := 0
	err := t.scanPrefix(k, subject, func(_, _ []byte) error { n++; return nil })
	return n, err
}

// Consents returns a subject's consent history, oldest first.
// Errors: ErrNotFound.
func (s *Store) Consents(a Actor, subject ID) ([]Consent, error) {
	var out []Consent
	err := s.audited(a, "consent.read", subject.String(), func(t *txn) error {
		if _, err := t.subject(subject); err != nil {
			return err
		}
		var err error
		out, err = t.consents(subject)
		return err
	})
	return out, err
}

// Purposes returns the purposes a subject's consent history grants now:
// the last grant's purposes, none after a withdrawal.
func Purposes(history []Consent) []Purpose {
	var cur []Purpose
	for _, c := range history {
		if c.Kind == ConsentWithdraw {
			cur = nil
		} else {
			cur = c.Purposes
		}
	}
	return slices.Clone(cur)
}

// AddTemplate stores a voiceprint for an active subject. The embedding is
// copied. Errors: ErrNotFound, ErrInvalid (bad dimension, NaN, a subject
// not active), ErrFull.
func (s *Store) AddTemplate(a Actor, subject ID, tpl Template) (Template, error) {
	out, _, err := s.storeTemplate(a, "template.add", subject, tpl, false)
	return out, err
}

// storeTemplate stores tpl for an active subject in one audited
// transaction, first deleting the subject's other templates when replace
// is set; it returns the stored template and how many it replaced.
func (s *Store) storeTemplate(a Actor, action string, subject ID, tpl Template, replace bool) (Template, int, error) {
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
	err := s.audited(a, action, w.ID.String(), func(t *txn) error {
		sub, err := t.subject(subject)
		if err != nil {
			return err
		}
		if sub.Status != StatusActive {
			return fmt.Errorf("%w: subject is %s", ErrInvalid, sub.Status)
		}
		if replace {
			if replaced, err = t.deleteUnder(kTemplate, subject); err != nil {
				return err
			}
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

func (t *txn) templates(subject ID) ([]Template, error) {
	var out []Template
	err := t.scanPrefix(kTemplate, subject, func(k, v []byte) error {
		var w templateWire
		if err := t.decode(kTemplate, k, v, &w); err != nil {
			return err
		}
		out = append(out, w.template())
		return nil
	})
	return out, err
}

// Templates returns a subject's templates (copies). Errors: ErrNotFound.
func (s *Store) Templates(a Actor, subject ID) ([]Template, error) {
	var out []Template
	err := s.audited(a, "template.read", subject.String(), func(t *txn) error {
		if _, err := t.subject(subject); err != nil {
			return err
		}
		var err error
		out, err = t.templates(subject)
		return err
	})
	return out, err
}

// MatchTemplates returns the templates of every active subject, for live
// matching in memory; restricted and withdrawn subjects are left out.
func (s *Store) MatchTemplates(a Actor) ([]Template, error) {
	var out []Template
	err := s.audited(a, "template.load", "", func(t *txn) error {
		return t.bucket(kSubject).ForEach(func(k, v []byte) error {
			var sub Subject
			if err := t.decode(kSubject, k, v, &sub); err != nil {
				return err
			}
			if sub.Status != StatusActive {
				return nil
			}
			ts, err := t.templates(sub.ID)
			out = append(out, ts...)
			return err
		})
	})
	return out, err
}
