package agent

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/voxward/voxward/vault"
)

// The subject's rights on the box (PRIVACY.md rule 17): status, access and
// portability (export), rectification, restriction and erasure, and the
// subject-held deletion token for the de-identified copy.

// TemplateView describes one enrolled template: never its values.
type TemplateView struct {
	ID       string             `json:"id"`
	ModelID  string             `json:"model_id"`
	Dim      int                `json:"dim"`
	Quality  map[string]float64 `json:"quality,omitempty"`
	Created  time.Time          `json:"created"`
	LastUsed time.Time          `json:"last_used"`
	// Current is whether the running model matches the template. One of
	// another model (enrolled before an upgrade) is kept until it is
	// replaced or erased, and never matched: the subject must enrol again.
	Current bool `json:"current"`
}

// SubjectView is one subject's status (GET /v1/subjects/{id}, and each
// item of GET /v1/subjects).
type SubjectView struct {
	ID              string          `json:"id"`
	DisplayName     string          `json:"display_name"`
	Contact         string          `json:"contact"`
	Status          vault.Status    `json:"status"`
	Created         time.Time       `json:"created"`
	LastInteraction time.Time       `json:"last_interaction"`
	Purposes        []vault.Purpose `json:"purposes"` // in force now
	TemplateCount   int             `json:"template_count"`
	Templates       []TemplateView  `json:"templates"`
	Recordings      int             `json:"recordings"`
	// IdentifiableUntil is when the retention policy de-identifies the
	// subject at the latest.
	IdentifiableUntil time.Time `json:"identifiable_until"`
}

// SubjectList is the answer to GET /v1/subjects.
type SubjectList struct {
	Count    int           `json:"count"`
	Subjects []SubjectView `json:"subjects"`
}

// windows are the retention windows the policy enforces, with the
// vault's defaults filled in (vault.ApplyRetention does the same).
type windows struct {
	identifiable, sessions, deidentified time.Duration
}

func (a *App) windows() windows {
	p := a.cfg.RetentionPolicy()
	w := windows{identifiable: p.Identifiable, sessions: p.Sessions, deidentified: p.Deidentified}
	if w.identifiable <= 0 || w.identifiable > vault.MaxIdentifiable {
		w.identifiable = vault.MaxIdentifiable
	}
	if w.sessions <= 0 || w.sessions > w.identifiable {
		w.sessions = w.identifiable
	}
	return w
}

func (a *App) subjectView(s vault.SubjectSummary) SubjectView {
	v := SubjectView{
		ID: s.Subject.ID.String(), DisplayName: s.Subject.DisplayName, Contact: s.Subject.Contact, Status: s.Subject.Status,
		Created: s.Subject.Created, LastInteraction: s.Subject.LastInteraction,
		Purposes: s.Purposes, TemplateCount: len(s.Templates), Templates: []TemplateView{}, Recordings: s.Recordings,
		IdentifiableUntil: s.Subject.Created.Add(a.windows().identifiable),
	}
	if v.Purposes == nil {
		v.Purposes = []vault.Purpose{}
	}
	for _, t := range s.Templates {
		v.Templates = append(v.Templates, TemplateView{
			ID: t.ID.String(), ModelID: t.ModelID, Dim: t.Dim, Quality: t.Quality, Created: t.Created, LastUsed: t.LastUsed,
			Current: a.speakers.current(t.ModelID, t.Dim),
		})
	}
	return v
}

// subjectID reads the {id} path value; on failure it answers 404.
func subjectID(w http.ResponseWriter, r *http.Request) (vault.ID, bool) {
	id, err := vault.ParseID(r.PathValue("id"))
	if err != nil {
		writeError(w, http.StatusNotFound, "not_found", "no such subject")
		return vault.ID{}, false
	}
	return id, true
}

// writeSubjectError answers a failed vault call about one subject: 404
// for an unknown (or erased) subject, else as writeVaultError.
func (a *App) writeSubjectError(w http.ResponseWriter, what string, err error) {
	if errors.Is(err, vault.ErrNotFound) {
		writeError(w, http.StatusNotFound, "not_found", "no such subject")
		return
	}
	a.writeVaultError(w, what, err)
}

func (a *App) handleSubjectList(w http.ResponseWriter, r *http.Request) {
	sums, err := a.vaultStore().SubjectSummaries(callerFrom(r.Context()).actor("administration"))
	if err != nil {
		a.writeVaultError(w, "list subjects", err)
		return
	}
	out := SubjectList{Count: len(sums), Subjects: make([]SubjectView, 0, len(sums))}
	for _, s := range sums {
		out.Subjects = append(out.Subjects, a.subjectView(s))
	}
	writeJSON(w, http.StatusOK, out)
}

func (a *App) handleSubjectGet(w http.ResponseWriter, r *http.Request) {
	id, ok := subjectID(w, r)
	if !ok {
		return
	}
	sum, err := a.vaultStore().SubjectSummary(callerFrom(r.Context()).actor("administration"), id)
	if err != nil {
		a.writeSubjectError(w, "read subject", err)
		return
	}
	writeJSON(w, http.StatusOK, a.subjectView(sum))
}

// optString is a JSON merge-patch field: absent (set false), null, or a
// string.
type optString struct {
	set, null bool
	v         string
}

// UnmarshalJSON implements json.Unmarshaler; it is called only for a
// field that is present, null included.
func (o *optString) UnmarshalJSON(b []byte) error {
	o.set = true
	if bytes.Equal(b, []byte("null")) {
		o.null, o.v = true, ""
		return nil
	}
	o.null = false
	return json.Unmarshal(b, &o.v)
}

// IsZero reports an absent field, which omitzero leaves out.
func (o optString) IsZero() bool { return !o.set }

// MarshalJSON implements json.Marshaler (for round trips in tests):
// null unless a string was given.
func (o optString) MarshalJSON() ([]byte, error) {
	if !o.set || o.null {
		return []byte("null"), nil
	}
	return json.Marshal(o.v)
}

// rectifyRequest is the body of PATCH /v1/subjects/{id}, a JSON merge
// patch: an absent field keeps its value, a present one replaces it, and
// null clears the contact (a display name cannot be cleared).
type rectifyRequest struct {
	DisplayName optString `json:"display_name,omitzero"`
	Contact     optString `json:"contact,omitzero"`
}

// changes returns the fields to write (nil: keep), trimmed, or why the
// patch is refused.
func (req *rectifyRequest) changes() (name, contact *string, err error) {
	if !req.DisplayName.set && !req.Contact.set {
		return nil, nil, errors.New("nothing to rectify: give display_name and/or contact")
	}
	if req.DisplayName.set {
		n := strings.TrimSpace(req.DisplayName.v)
		if req.DisplayName.null || n == "" {
			return nil, nil, errors.New("a display name cannot be empty")
		}
		name = &n
	}
	if req.Contact.set {
		c := strings.TrimSpace(req.Contact.v)
		contact = &c
	}
	for _, f := range []*string{name, contact} {
		if f != nil && len(*f) > vault.MaxNameLen {
			return nil, nil, fmt.Errorf("a field is longer than %d bytes", vault.MaxNameLen)
		}
	}
	return name, contact, nil
}

// Rectified is the answer to PATCH /v1/subjects/{id}.
type Rectified struct {
	ID          string       `json:"id"`
	DisplayName string       `json:"display_name"`
	Contact     string       `json:"contact"`
	Status      vault.Status `json:"status"`
}

// handleSubjectRectify corrects a subject's display name and/or contact
// (PRIVACY.md rule 17). A new voice sample is a re-enrolment, not this.
func (a *App) handleSubjectRectify(w http.ResponseWriter, r *http.Request) {
	// A merge patch may say so in its media type.
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err == nil && mt == "application/merge-patch+json" {
		r.Header.Set("Content-Type", "application/json")
	}
	var req rectifyRequest
	if !decodeJSON(w, r, &req, false) {
		return
	}
	id, ok := subjectID(w, r)
	if !ok {
		return
	}
	name, contact, err := req.changes()
	if err != nil {
		writeError(w, http.StatusUnprocessableEntity, "invalid", err.Error())
		return
	}
	sub, err := a.vaultStore().RectifySubject(callerFrom(r.Context()).actor("rectification"), id, name, contact)
	if err != nil {
		a.writeSubjectError(w, "rectify subject", err)
		return
	}
	a.log.Info("subject rectified", "subject", id.String(), "display_name", name != nil, "contact", contact != nil)
	writeJSON(w, http.StatusOK, Rectified{ID: sub.ID.String(), DisplayName: sub.DisplayName, Contact: sub.Contact, Status: sub.Status})
}

// RestrictionResult is the answer to POST and DELETE
// /v1/subjects/{id}/restrict.
type RestrictionResult struct {
	SubjectID       string       `json:"subject_id"`
	Status          vault.Status `json:"status"`
	SessionsStopped int          `json:"sessions_stopped"` // sessions left with nobody consenting
}

// handleRestrict restricts a subject (PRIVACY.md rule 17): the data is
// kept but no longer used for matching or sync. The status is written
// first, so no new session can take the subject; then the subject leaves
// every live session at once (a session left with nobody consenting stops
// and the gate closes).
func (a *App) handleRestrict(w http.ResponseWriter, r *http.Request) {
	a.setRestricted(w, r, true)
}

// handleUnrestrict lifts a restriction: the subject may join new sessions
// again. Sessions it left are not rejoined.
func (a *App) handleUnrestrict(w http.ResponseWriter, r *http.Request) {
	a.setRestricted(w, r, false)
}

func (a *App) setRestricted(w http.ResponseWriter, r *http.Request, restrict bool) {
	if !decodeJSON(w, r, &struct{}{}, true) {
		return
	}
	id, ok := subjectID(w, r)
	if !ok {
		return
	}
	store := a.vaultStore()
	st := vault.StatusActive
	if restrict {
		st = vault.StatusRestricted
	}
	sub, err := store.SetStatus(callerFrom(r.Context()).actor("restriction"), id, st)
	switch {
	case err == nil:
	case errors.Is(err, vault.ErrInvalid):
		// SetStatus refuses only a change to a withdrawn subject.
		writeError(w, http.StatusConflict, "withdrawn", "the subject has withdrawn their consent; their data is being erased")
		return
	default:
		a.writeSubjectError(w, "restrict subject", err)
		return
	}
	var stopped []vault.ID
	if restrict {
		stopped = a.sess.drop(store, id)
	}
	a.log.Info("subject restriction changed", "subject", id.String(), "status", string(sub.Status), "sessions_stopped", len(stopped))
	writeJSON(w, http.StatusOK, RestrictionResult{SubjectID: id.String(), Status: sub.Status, SessionsStopped: len(stopped)})
}

// ErasureReceipt is the answer to DELETE /v1/subjects/{id}.
type ErasureReceipt struct {
	SubjectID       string        `json:"subject_id"`
	SessionsStopped int           `json:"sessions_stopped"` // sessions left with nobody consenting
	Receipt         vault.Receipt `json:"receipt"`
}

// handleSubjectErase erases a subject by crypto-shredding (PRIVACY.md
// rule 10): the subject leaves every live session first, then its data
// key is destroyed, its records deleted, the erasure audited and the KEK
// rotated, and the vault's receipt returned.
func (a *App) handleSubjectErase(w http.ResponseWriter, r *http.Request) {
	if !decodeJSON(w, r, &struct{}{}, true) {
		return
	}
	id, ok := subjectID(w, r)
	if !ok {
		return
	}
	store := a.vaultStore()
	stopped := a.sess.drop(store, id)
	rc, err := store.EraseSubject(callerFrom(r.Context()).actor("erasure"), id)
	if err != nil && rc.SubjectID == "" {
		a.writeSubjectError(w, "erase subject", err)
		return
	}
	if err != nil {
		a.log.Error("key rotation after an erasure", "err", err)
	}
	a.log.Info("subject erased", "subject", id.String(), "sessions_stopped", len(stopped))
	writeJSON(w, http.StatusOK, ErasureReceipt{SubjectID: id.String(), SessionsStopped: len(stopped), Receipt: rc})
}

// SubjectExportFormat names the layout of GET /v1/subjects/{id}/export.
const SubjectExportFormat = "voxward-subject-export/1"

// Retained says how long one exported item is kept: until KeptUntil,
// and in words what happens then.
type Retained struct {
	KeptUntil time.Time `json:"kept_until,omitzero"`
	Kept      string    `json:"kept"`
}

// ExportedSubject is the subject record in an export.
type ExportedSubject struct {
	vault.ExportSubject
	Purposes []vault.Purpose `json:"purposes"` // in force now
	Retained
}

// ExportedConsent is one consent entry in an export.
type ExportedConsent struct {
	vault.Consent
	Retained
}

// ExportedTemplate is one template in an export, its values included.
type ExportedTemplate struct {
	vault.ExportTemplate
	Retained
}

// ExportedRecording is one raw recording in an export, audio included.
type ExportedRecording struct {
	vault.ExportRecording
	Retained
}

// ExportedSession is the subject's part in one session.
type ExportedSession struct {
	vault.ExportSessionPart
	Retained
}

// Transfers says where the subject's data went.
type Transfers struct {
	// Recipients who received identifiable data about the subject: none,
	// since identifiable data never leaves the box.
	Recipients []string `json:"recipients"`
	// Research is whether a de-identified copy may go upstream.
	Research bool   `json:"research"`
	Text     string `json:"text"`
}

// SubjectExport is the answer to GET /v1/subjects/{id}/export: everything
// the box holds about the subject, machine-readable, templates and
// recordings included, each item with how long it is kept, and where the
// data went (PRIVACY.md rule 17, access and portability).
type SubjectExport struct {
	Format      string              `json:"format"`
	VaultFormat string              `json:"vault_format"`
	Exported    time.Time           `json:"exported"`
	Subject     ExportedSubject     `json:"subject"`
	Consents    []ExportedConsent   `json:"consents"`
	Templates   []ExportedTemplate  `json:"templates"`
	Recordings  []ExportedRecording `json:"recordings"`
	Sessions    []ExportedSession   `json:"sessions"`
	// Audit is every audit entry about the subject's records: who
	// accessed them, when, why. Entries name tokens and random ids only.
	Audit     []vault.AuditEntry `json:"audit"`
	AuditKept string             `json:"audit_kept"`
	Transfers Transfers          `json:"transfers"`
	Retention RetentionSchedule  `json:"retention"`
}

// deidDay is the day a de-identified copy's last interaction is frozen
// to (vault freezes it to the UTC day).
func deidDay(t time.Time) time.Time { return t.UTC().Truncate(24 * time.Hour) }

// buildExport adds to the vault's export how long each item is kept and
// where the data went.
func (a *App) buildExport(ex *vault.Export) SubjectExport {
	w := a.windows()
	sub := ex.Subject
	purposes := vault.Purposes(ex.Consents)
	if purposes == nil {
		purposes = []vault.Purpose{}
	}
	until := sub.Created.Add(w.identifiable)
	day := until.Format(time.DateOnly)
	research := sub.Status == vault.StatusActive && slices.Contains(purposes, vault.PurposeResearch)

	out := SubjectExport{
		Format: SubjectExportFormat, VaultFormat: ex.Format, Exported: ex.Exported,
		Subject: ExportedSubject{ExportSubject: sub, Purposes: purposes, Retained: Retained{KeptUntil: until,
			Kept: fmt.Sprintf("until %s at the latest, or until you withdraw or ask for erasure; then destroyed", day)}},
		Consents: []ExportedConsent{}, Templates: []ExportedTemplate{}, Recordings: []ExportedRecording{},
		Sessions: []ExportedSession{}, Audit: ex.Audit,
		AuditKept: "kept with the box's audit log; entries name token ids and random record ids, never your name",
		Retention: a.cfg.retentionSchedule(),
	}
	if out.Audit == nil {
		out.Audit = []vault.AuditEntry{}
	}
	for _, c := range ex.Consents {
		out.Consents = append(out.Consents, ExportedConsent{Consent: c, Retained: Retained{KeptUntil: until,
			Kept: fmt.Sprintf("until %s at the latest; then destroyed, and only the audit entry recording the consent event stays, without your name", day)}})
	}
	after := "it never leaves this box"
	switch {
	case research:
		after = "it may be sent to the operator's central servers for research"
	case slices.Contains(purposes, vault.PurposeResearch):
		after = "it never leaves this box while your data is restricted"
	}
	deid := "a de-identified copy, no longer linked to you, is kept"
	if w.deidentified > 0 {
		deid += fmt.Sprintf(" until about %s (%d days after your last interaction; a later interaction moves it)",
			deidDay(sub.LastInteraction).Add(w.deidentified).Format(time.DateOnly), days(w.deidentified))
	}
	for _, t := range ex.Templates {
		out.Templates = append(out.Templates, ExportedTemplate{ExportTemplate: t, Retained: Retained{KeptUntil: until,
			Kept: fmt.Sprintf("linked to you until %s at the latest; then %s; your deletion token erases it, and %s", day, deid, after)}})
	}
	for _, r := range ex.Recordings {
		out.Recordings = append(out.Recordings, ExportedRecording{ExportRecording: r, Retained: Retained{KeptUntil: until,
			Kept: fmt.Sprintf("until %s at the latest; then destroyed", day)}})
	}
	for _, s := range ex.Sessions {
		end := s.Started.Add(w.sessions)
		out.Sessions = append(out.Sessions, ExportedSession{ExportSessionPart: s, Retained: Retained{KeptUntil: end,
			Kept: fmt.Sprintf("the session's record, which lists you, until %s; then destroyed", end.Format(time.DateOnly))}})
	}
	out.Transfers = Transfers{Recipients: []string{}, Research: research,
		Text: "Nothing identifiable about you has left this box, and nothing identifiable ever does. Only de-identified data may leave it, " +
			"through the sync API: counts and quality figures, and de-identified voiceprints of speakers who granted research " +
			"and whose data is not restricted."}
	return out
}

// handleSubjectExport answers with everything held about a subject,
// templates included; the vault audits it as a biometric read
// ("subject.export"). A restricted subject is exported too: restriction
// stops the use of the data (matching, sync upstream), not the subject's
// own access to it.
func (a *App) handleSubjectExport(w http.ResponseWriter, r *http.Request) {
	id, ok := subjectID(w, r)
	if !ok {
		return
	}
	ex, err := a.vaultStore().ExportSubject(callerFrom(r.Context()).actor("subject_access"), id)
	if err != nil {
		a.writeSubjectError(w, "export subject", err)
		return
	}
	out := a.buildExport(ex)
	a.log.Info("subject exported", "subject", id.String(), "templates", len(out.Templates))
	w.Header().Set("Content-Disposition", `attachment; filename="voxward-export-`+id.String()+`.json"`)
	writeJSON(w, http.StatusOK, out)
}

// Deletion-token erasure is open to anyone holding a token, so it is
// rate-limited per remote address: a bucket of deidEraseBurst requests,
// refilled by one every deidEraseEvery (five a minute).
const (
	deidEraseBurst = 5
	deidEraseEvery = 12 * time.Second
)

// deidActor is who erases by deletion token: the subject, unauthenticated.
var deidActor = vault.Actor{TokenID: "deletion-token", Role: "subject", Purpose: "erasure"}

// maxDeletionTokenLen caps a deletion token before it is hashed; the
// kiosk hands out 43 characters.
const maxDeletionTokenLen = 256

// deidEraseRequest is the body of POST /v1/deidentified/erase.
type deidEraseRequest struct {
	DeletionToken string `json:"deletion_token"`
}

func (req *deidEraseRequest) check() error {
	switch {
	case req.DeletionToken == "":
		return errors.New("deletion_token is required")
	case len(req.DeletionToken) > maxDeletionTokenLen:
		return fmt.Errorf("deletion_token is longer than %d bytes", maxDeletionTokenLen)
	}
	return nil
}

// DeidErasure is the answer to POST /v1/deidentified/erase.
type DeidErasure struct {
	Receipt vault.Receipt `json:"receipt"`
}

// deidEraseHandler returns the handler of POST /v1/deidentified/erase with
// its own rate limiter (one per route table, so per handler).
func (a *App) deidEraseHandler() http.HandlerFunc {
	lim := newRateLimiter(a.clock.Now, deidEraseBurst, deidEraseEvery)
	return func(w http.ResponseWriter, r *http.Request) { a.handleDeidErase(w, r, lim) }
}

// handleDeidErase erases the de-identified templates a subject's deletion
// token reaches (PRIVACY.md rule 17), with no linkage key on the box: the
// vault compares the token's hash with every de-identified template's in
// constant time and reads them all whatever the token, so a wrong token's
// lookup costs what a right one's does. A right token then pays for the
// erasure (key destruction, KEK rotation); the status says anyway whether
// the token matched.
func (a *App) handleDeidErase(w http.ResponseWriter, r *http.Request, lim *rateLimiter) {
	if ok, wait := lim.allow(remoteHost(r.RemoteAddr)); !ok {
		secs := int((wait + time.Second - 1) / time.Second)
		w.Header().Set("Retry-After", fmt.Sprint(max(secs, 1)))
		writeError(w, http.StatusTooManyRequests, "rate_limited", fmt.Sprintf("too many erasure requests; try again in %d s", max(secs, 1)))
		return
	}
	var req deidEraseRequest
	if !decodeJSON(w, r, &req, false) {
		return
	}
	if err := req.check(); err != nil {
		writeError(w, http.StatusUnprocessableEntity, "invalid", err.Error())
		return
	}
	rc, err := a.vaultStore().EraseDeidentifiedByToken(deidActor, vault.DeletionToken(req.DeletionToken))
	if err != nil && rc.Kind == "" {
		if errors.Is(err, vault.ErrNotFound) {
			writeError(w, http.StatusNotFound, "not_found", "no de-identified data belongs to that deletion token")
			return
		}
		a.writeVaultError(w, "erase by deletion token", err)
		return
	}
	if err != nil {
		a.log.Error("key rotation after an erasure", "err", err)
	}
	a.log.Info("de-identified data erased by deletion token", "templates", rc.Erased["deidentified template"])
	writeJSON(w, http.StatusOK, DeidErasure{Receipt: rc})
}
