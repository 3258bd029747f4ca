package agent

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/voxward/voxward/vault"
)

// Paging of GET /v1/audit.
const (
	DefaultAuditLimit = 100
	MaxAuditLimit     = 1000
)

// AuditPage is the answer to GET /v1/audit: entries after a sequence
// number, oldest first. Entries name token ids and random record ids,
// never a person (PRIVACY.md rule 16).
type AuditPage struct {
	Entries []vault.AuditEntry `json:"entries"`
	// Next is the after= of the following page (the last entry's seq,
	// or the request's after when the page is empty).
	Next uint64 `json:"next"`
	More bool   `json:"more"`
}

// AuditCheck is the answer to GET /v1/audit/verify.
type AuditCheck struct {
	OK      bool   `json:"ok"`
	Entries uint64 `json:"entries"`
	// FirstBroken names the first entry that fails, when one does.
	FirstBroken *AuditBreak `json:"first_broken,omitempty"`
	// CheckpointKey is the Ed25519 public key (base64) that verifies the
	// chain's signed checkpoint, for checking a copy elsewhere.
	CheckpointKey string `json:"checkpoint_key"`
}

// AuditBreak is where and why the audit chain breaks.
type AuditBreak struct {
	Seq    uint64 `json:"seq"`
	Reason string `json:"reason"`
}

// auditQuery reads after= and limit=; on failure it answers 400.
func auditQuery(w http.ResponseWriter, r *http.Request) (after uint64, limit int, ok bool) {
	q := r.URL.Query()
	limit = DefaultAuditLimit
	if s := q.Get("after"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			writeError(w, http.StatusBadRequest, "bad_query", "after must be a sequence number (0 or more)")
			return 0, 0, false
		}
		after = v
	}
	if s := q.Get("limit"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 1 || v > MaxAuditLimit {
			writeError(w, http.StatusBadRequest, "bad_query", fmt.Sprintf("limit must be 1 to %d", MaxAuditLimit))
			return 0, 0, false
		}
		limit = v
	}
	return after, limit, true
}

// handleAudit pages through the audit chain. Reading the audit log is not
// itself audited (it would grow with every poll); it is admin-only.
func (a *App) handleAudit(w http.ResponseWriter, r *http.Request) {
	after, limit, ok := auditQuery(w, r)
	if !ok {
		return
	}
	entries, err := a.vaultStore().AuditEntries(after, limit+1)
	if err != nil {
		a.writeVaultError(w, "read the audit log", err)
		return
	}
	page := AuditPage{Entries: entries, Next: after}
	if len(entries) > limit {
		page.Entries, page.More = entries[:limit], true
	}
	if page.Entries == nil {
		page.Entries = []vault.AuditEntry{}
	}
	if n := len(page.Entries); n > 0 {
		page.Next = page.Entries[n-1].Seq
	}
	writeJSON(w, http.StatusOK, page)
}

// handleAuditVerify checks the whole chain: every entry's hash, its link
// to the previous one, and the signed checkpoint at the head. A broken
// chain is still a 200: the check ran, and says where it breaks.
func (a *App) handleAuditVerify(w http.ResponseWriter, _ *http.Request) {
	store := a.vaultStore()
	n, err := store.VerifyAudit()
	out := AuditCheck{OK: err == nil, Entries: n, CheckpointKey: base64.StdEncoding.EncodeToString(store.AuditPublicKey())}
	var ae *vault.AuditError
	switch {
	case err == nil:
	case errors.As(err, &ae):
		out.FirstBroken = &AuditBreak{Seq: ae.Seq, Reason: ae.Reason}
		a.log.Error("audit chain broken", "seq", ae.Seq, "reason", ae.Reason)
	default:
		a.writeVaultError(w, "verify the audit chain", err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}
