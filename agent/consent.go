package agent

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/voxward/voxward/vault"
)

// DisclosureTemplate names the wording of the disclosure; the text itself
// is generated from the running configuration (operator, retention), and
// its SHA-256 is what a consent records and must match.
const DisclosureTemplate = "voxward-disclosure-2026-11"

// Disclosure is the consent text in force (GET /v1/disclosure).
type Disclosure struct {
	Version  string          `json:"version"` // the template and the first 12 hex digits of the hash
	SHA256   string          `json:"sha256"`  // hex SHA-256 of Text
	Text     string          `json:"text"`
	Purposes []PurposeNotice `json:"purposes"`
}

// PurposeNotice is one purpose a speaker may grant, in plain words.
type PurposeNotice struct {
	Purpose  vault.Purpose `json:"purpose"`
	Required bool          `json:"required"` // recognition is what the box is for
	Text     string        `json:"text"`
}

// RetentionItem is one line of the public retention schedule.
type RetentionItem struct {
	Data string `json:"data"`
	Kept string `json:"kept"`
	Days int    `json:"days"`
}

// RetentionSchedule is GET /v1/retention: the same figures the retention
// job enforces (Config.RetentionPolicy).
type RetentionSchedule struct {
	IdentifiableDays int             `json:"identifiable_days"`
	SessionsDays     int             `json:"sessions_days"`
	DeidentifiedDays int             `json:"deidentified_days"`
	Items            []RetentionItem `json:"items"`
}

func days(d time.Duration) int { return int((d + 12*time.Hour) / (24 * time.Hour)) }

// retentionSchedule derives the public schedule from the policy.
func (c *Config) retentionSchedule() RetentionSchedule {
	p := c.RetentionPolicy()
	id, se, de := days(p.Identifiable), days(p.Sessions), days(p.Deidentified)
	return RetentionSchedule{
		IdentifiableDays: id, SessionsDays: se, DeidentifiedDays: de,
		Items: []RetentionItem{
			{Data: "your name and contact", Kept: fmt.Sprintf("at most %d days after you agree, or until you withdraw", id), Days: id},
			{Data: "your consent record and typed signature", Kept: fmt.Sprintf("with your name for at most %d days, then kept without your name as a record that consent was given", id), Days: id},
			{Data: "your enrolment recordings and your voiceprint", Kept: fmt.Sprintf("at most %d days after you agree, or until you withdraw", id), Days: id},
			{Data: "the sessions you took part in", Kept: fmt.Sprintf("at most %d days after the session", se), Days: se},
			{Data: "a de-identified copy of your voiceprint, no longer linked to your name (it leaves this box only if you chose research)", Kept: fmt.Sprintf("deleted %d days after your last interaction with the box", de), Days: de},
			{Data: "voices of people who have not agreed", Kept: "compared in memory only, never stored", Days: 0},
		},
	}
}

// disclosure generates the disclosure from the configuration. It is a
// pure function of the configuration, so its hash changes exactly when
// what it promises does.
func (c *Config) disclosure() Disclosure {
	rs := c.retentionSchedule()
	operator := c.Operator
	if operator == "" {
		operator = "the operator of this venue (not configured: set operator in the daemon's configuration)"
	}
	contact := c.OperatorContact
	if contact == "" {
		contact = "ask the technician at this venue"
	}
	purposes := []PurposeNotice{
		{Purpose: vault.PurposeRecognition, Required: true, Text: "Recognition: to show your name in the live captions when you speak " +
			"in a session you take part in. Your voiceprint is used on this box only: to recognise you, and, without your name, as one of " +
			"the reference voices that help the box tell other speakers apart in sessions you are not in."},
		{Purpose: vault.PurposeResearch, Text: fmt.Sprintf("Research (optional): after %d days, a de-identified copy of your voiceprint, "+
			"no longer linked to your name, may be sent to the operator's central servers to improve speaker recognition.", rs.IdentifiableDays)},
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Consent to voice recognition (%s)\n\n", DisclosureTemplate)
	fmt.Fprintf(&b, "Who: this captioning box is run by %s. Contact: %s.\n\n", operator, contact)
	b.WriteString("What we collect if you agree: a few seconds of your voice, recorded on this box, and a voiceprint computed from it " +
		"(a set of numbers that describes your voice; it is biometric information). We also keep the name and the contact you give, " +
		"this consent with your typed signature and the time, and which sessions you took part in.\n\n")
	b.WriteString("Why:\n")
	for _, p := range purposes {
		b.WriteString("- " + p.Text + "\n")
	}
	b.WriteString("\nVoices of people who have not agreed are compared in memory only and never stored.\n\n")
	b.WriteString("How long we keep it:\n")
	for _, it := range rs.Items {
		fmt.Fprintf(&b, "- %s: %s.\n", it.Data, it.Kept)
	}
	b.WriteString("\nHow to withdraw: at any time, at this kiosk (Withdraw) or through the technician. Recognition of your voice stops at once " +
		"and your name, contact, recordings and voiceprint are erased. You will get a deletion token when you agree: keep it, it lets you " +
		"erase the de-identified copy too.\n\n")
	b.WriteString("Your rights: you may ask for a copy of everything held about you (machine-readable), correct your name or contact, " +
		"restrict its use, or have it erased.\n")
	text := b.String()
	sum := sha256.Sum256([]byte(text))
	h := hex.EncodeToString(sum[:])
	return Disclosure{Version: DisclosureTemplate + "+" + h[:12], SHA256: h, Text: text, Purposes: purposes}
}

func (a *App) handleDisclosure(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, a.disc)
}

func (a *App) handleRetention(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, a.cfg.retentionSchedule())
}

// consentRequest is the body of POST /v1/subjects.
type consentRequest struct {
	DisplayName string `json:"display_name"`
	Contact     string `json:"contact"`
	Consent     struct {
		DisclosureSHA256 string          `json:"disclosure_sha256"`
		Agreed           bool            `json:"agreed"`
		Signature        string          `json:"signature"`
		Purposes         []vault.Purpose `json:"purposes"`
	} `json:"consent"`
}

// SubjectCreated is the answer to POST /v1/subjects. The deletion token is
// shown once and stored only as a hash.
type SubjectCreated struct {
	SubjectID     string `json:"subject_id"`
	DeletionToken string `json:"deletion_token"`
	Disclosure    string `json:"disclosure_version"`
}

// errConsent is a consent the kiosk must not store.
var errConsent = errors.New("consent refused")

// checkConsent returns why a consent request cannot be stored, or nil.
func (a *App) checkConsent(req *consentRequest) (string, error) {
	blank := func(s string) bool { return strings.TrimFunc(s, unicode.IsSpace) == "" }
	c := req.Consent
	switch {
	case c.DisclosureSHA256 != a.disc.SHA256:
		return "stale_disclosure", fmt.Errorf("%w: the disclosure you agreed to is not the one in force (%s); read it again", errConsent, a.disc.Version)
	case !c.Agreed:
		return "not_agreed", fmt.Errorf("%w: \"agreed\" must be true", errConsent)
	case blank(c.Signature):
		return "no_signature", fmt.Errorf("%w: a typed signature is required", errConsent)
	case blank(req.DisplayName):
		return "invalid", fmt.Errorf("%w: a display name is required", errConsent)
	case len(c.Purposes) == 0:
		return "no_purpose", fmt.Errorf("%w: grant at least one purpose (recognition, research)", errConsent)
	}
	for i, p := range c.Purposes {
		if p != vault.PurposeRecognition && p != vault.PurposeResearch {
			return "invalid", fmt.Errorf("%w: unknown purpose %q", errConsent, p)
		}
		if slices.Contains(c.Purposes[:i], p) {
			return "invalid", fmt.Errorf("%w: purpose %q given twice", errConsent, p)
		}
	}
	for _, f := range []string{req.DisplayName, req.Contact, c.Signature} {
		if len(f) > vault.MaxNameLen {
			return "invalid", fmt.Errorf("%w: a field is longer than %d bytes", errConsent, vault.MaxNameLen)
		}
	}
	return "", nil
}

func (a *App) handleSubjectCreate(w http.ResponseWriter, r *http.Request) {
	var req consentRequest
	if !decodeJSON(w, r, &req, false) {
		return
	}
	if code, err := a.checkConsent(&req); err != nil {
		status := http.StatusUnprocessableEntity
		if code == "stale_disclosure" {
			status = http.StatusConflict
		}
		writeError(w, status, code, err.Error())
		return
	}
	cl := callerFrom(r.Context())
	rs := a.cfg.retentionSchedule()
	sub, tok, err := a.vaultStore().CreateSubject(cl.actor("consent"), vault.NewSubject{
		DisplayName: strings.TrimSpace(req.DisplayName),
		Contact:     strings.TrimSpace(req.Contact),
		Consent: vault.Consent{
			Kind:              vault.ConsentGrant,
			DisclosureVersion: a.disc.Version,
			DisclosureSHA256:  a.disc.SHA256,
			Purposes:          req.Consent.Purposes,
			RetentionStated: fmt.Sprintf("identifiable %d days; sessions %d days; de-identified %d days after last interaction",
				rs.IdentifiableDays, rs.SessionsDays, rs.DeidentifiedDays),
			Signature:         strings.TrimSpace(req.Consent.Signature),
			TechnicianTokenID: cl.token.ID.String(),
		},
	})
	if err != nil {
		a.writeVaultError(w, "store consent", err)
		return
	}
	a.log.Info("consent recorded", "subject", sub.ID.String(), "purposes", len(req.Consent.Purposes))
	writeJSON(w, http.StatusCreated, SubjectCreated{SubjectID: sub.ID.String(), DeletionToken: string(tok), Disclosure: a.disc.Version})
}

// writeVaultError answers a failed vault call: 422 for what the vault
// refused as invalid, else as vaultFailed (507 when it is full, 500).
func (a *App) writeVaultError(w http.ResponseWriter, what string, err error) {
	if errors.Is(err, vault.ErrInvalid) {
		writeError(w, http.StatusUnprocessableEntity, "invalid", err.Error())
		return
	}
	a.vaultFailed(w, what, what+" failed", err)
}

// WithdrawalReceipt is the answer to POST /v1/subjects/{id}/withdraw.
type WithdrawalReceipt struct {
	SubjectID       string        `json:"subject_id"`
	SessionsStopped int           `json:"sessions_stopped"` // sessions left with nobody consenting
	Receipt         vault.Receipt `json:"receipt"`
}

// handleWithdraw ends a subject's consent (PRIVACY.md rule 3): they leave
// every live session at once, before anything else is done (a session
// left with nobody consenting stops and the source closes), then the
// withdrawal is appended to their consent history and their identifiable
// data is erased by crypto-shredding, with a receipt.
func (a *App) handleWithdraw(w http.ResponseWriter, r *http.Request) {
	id, err := vault.ParseID(r.PathValue("id"))
	if err != nil {
		writeError(w, http.StatusNotFound, "not_found", "no such subject")
		return
	}
	if !decodeJSON(w, r, &struct{}{}, true) {
		return
	}
	store := a.vaultStore()
	actor := callerFrom(r.Context()).actor("withdrawal")
	if _, err := store.Subject(actor, id); errors.Is(err, vault.ErrNotFound) {
		writeError(w, http.StatusNotFound, "not_found", "no such subject")
		return
	} else if err != nil {
		a.writeVaultError(w, "withdraw", err)
		return
	}
	stopped := a.sess.drop(store, id)
	if _, err := store.AppendConsent(actor, id, vault.Consent{Kind: vault.ConsentWithdraw}); err != nil {
		a.writeVaultError(w, "withdraw", err)
		return
	}
	rc, err := store.EraseSubject(actor, id)
	if err != nil && rc.SubjectID == "" {
		a.writeVaultError(w, "erase after withdrawal", err)
		return
	}
	if err != nil {
		a.log.Error("key rotation after a withdrawal", "err", err)
	}
	a.labels.withdrawals.Add(1)
	a.log.Info("consent withdrawn", "subject", id.String(), "sessions_stopped", len(stopped))
	writeJSON(w, http.StatusOK, WithdrawalReceipt{SubjectID: id.String(), SessionsStopped: len(stopped), Receipt: rc})
}
