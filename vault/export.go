package vault

import (
	"encoding/base64"
	"encoding/json"
	"time"
)

// ExportFormat names the export's JSON layout.
const ExportFormat = "voxward-export/1"

// Export is everything the vault holds about one subject (PRIVACY.md rule
// 17, portability), ready for encoding/json.
type Export struct {
	Format     string              `json:"format"`
	Exported   time.Time           `json:"exported"`
	Subject    ExportSubject       `json:"subject"`
	Consents   []Consent           `json:"consents"`
	Templates  []ExportTemplate    `json:"templates"`
	Recordings []ExportRecording   `json:"recordings"`
	Sessions   []ExportSessionPart `json:"sessions"`
	Audit      []AuditEntry        `json:"audit"`
}

// ExportSubject is the subject record in an export.
type ExportSubject struct {
	ID              ID        `json:"id"`
	DisplayName     string    `json:"display_name"`
	Contact         string    `json:"contact"`
	Status          Status    `json:"status"`
	Created         time.Time `json:"created"`
	LastInteraction time.Time `json:"last_interaction"`
}

// ExportTemplate is a template in an export: the embedding as base64 of
// little-endian float32 values, with its model and dimension.
type ExportTemplate struct {
	ID        ID                 `json:"id"`
	ModelID   string             `json:"model_id"`
	Dim       int                `json:"dim"`
	Encoding  string             `json:"encoding"` // "float32le+base64"
	Embedding string             `json:"embedding"`
	Quality   map[string]float64 `json:"quality,omitempty"`
	Created   time.Time          `json:"created"`
	LastUsed  time.Time          `json:"last_used"`
}

// ExportRecording is a raw recording in an export, audio as base64.
type ExportRecording struct {
	ID         ID        `json:"id"`
	Format     string    `json:"format"`
	SampleRate int       `json:"sample_rate"`
	Created    time.Time `json:"created"`
	Audio      string    `json:"audio"`
}

// ExportSessionPart is the subject's part in a session.
type ExportSessionPart struct {
	ID      ID        `json:"id"`
	Started time.Time `json:"started"`
	Stopped time.Time `json:"stopped,omitzero"`
	Turns   TurnStats `json:"turns"`
}

// ExportSubject gathers everything held about a subject, including its
// templates and the audit entries that concern it. The access is audited.
// Errors: ErrNotFound (also after erasure).
func (s *Store) ExportSubject(a Actor, id ID) (*Export, error) {
	ex := &Export{Format: ExportFormat, Exported: s.now().UTC()}
	err := s.audited(a, "subject.export", id.String(), func(t *txn) error {
		sub, err := t.subject(id)
		if err != nil {
			return err
		}
		ex.Subject = ExportSubject{ID: sub.ID, DisplayName: sub.DisplayName, Contact: sub.Contact, Status: sub.Status, Created: sub.Created, LastInteraction: sub.LastInteraction}
		concern := map[string]bool{id.String(): true}
		if ex.Consents, err = t.consents(id); err != nil {
			return err
		}
		for _, c := range ex.Consents {
			concern[c.ID.String()] = true
		}
		tpls, err := t.templates(id)
		if err != nil {
			return err
		}
		for _, tp := range tpls {
			raw := float32sToBytes(tp.Embedding)
			ex.Templates = append(ex.Templates, ExportTemplate{
				ID: tp.ID, ModelID: tp.ModelID, Dim: len(tp.Embedding), Encoding: "float32le+base64",
				Embedding: base64.StdEncoding.EncodeToString(raw), Quality: tp.Quality, Created: tp.Created, LastUsed: tp.LastUsed,
			})
			zero(raw)
			clear(tp.Embedding)
			concern[tp.ID.String()] = true
		}
		recs, err := t.recordings(id, true)
		if err != nil {
			return err
		}
		for _, r := range recs {
			ex.Recordings = append(ex.Recordings, ExportRecording{ID: r.ID, Format: r.Format, SampleRate: r.SampleRate, Created: r.Created, Audio: base64.StdEncoding.EncodeToString(r.Audio)})
			zero(r.Audio)
			concern[r.ID.String()] = true
		}
		sess, err := t.sessions()
		if err != nil {
			return err
		}
		for _, ss := range sess {
			for _, p := range ss.Participants {
				if p == id {
					ex.Sessions = append(ex.Sessions, ExportSessionPart{ID: ss.ID, Started: ss.Started, Stopped: ss.Stopped, Turns: ss.Turns[id.String()]})
					concern[ss.ID.String()] = true
				}
			}
		}
		return t.tx.Bucket([]byte(bAudit)).ForEach(func(_, v []byte) error {
			var e AuditEntry
			if json.Unmarshal(v, &e) == nil && concern[e.RecordID] {
				ex.Audit = append(ex.Audit, e)
			}
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	return ex, nil
}
