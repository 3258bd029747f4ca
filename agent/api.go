package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/voxward/voxward/capture"
	"github.com/voxward/voxward/vault"
)

// roleNone marks a route that needs no token.
const roleNone = "none"

// maxTokenLen caps a bearer token before it is hashed.
const maxTokenLen = 256

// apiRoute is one entry of the local API's route table.
type apiRoute struct {
	pattern string // "METHOD /path", as http.ServeMux takes it
	role    string // the role it needs (admin always passes), or roleNone
	h       http.HandlerFunc
}

// routes is the local API's route table: handler registers exactly these
// and nothing else, and TestAPIDocMatchesRoutes checks docs/api.md lists
// the same patterns and roles.
func (a *App) routes() []apiRoute {
	rs := []apiRoute{
		{"GET /v1/health", roleNone, a.handleHealth},
		{"GET /v1/status", vault.RoleTechnician, a.handleStatus},
		{"GET /metrics", a.cfg.MetricsRole, a.metrics.handler().ServeHTTP},
		{"POST /v1/sessions", vault.RoleTechnician, a.handleSessionStart},
		{"POST /v1/sessions/{id}/stop", vault.RoleTechnician, a.handleSessionStop},
		{"GET /v1/sessions/{id}/events", vault.RoleTechnician, a.handleEvents},
		{"POST /v1/subjects/{id}/enrollments", vault.RoleTechnician, a.handleEnroll},
		{"GET /v1/disclosure", vault.RoleKiosk, a.handleDisclosure},
		{"GET /v1/retention", vault.RoleKiosk, a.handleRetention},
		{"POST /v1/subjects", vault.RoleKiosk, a.handleSubjectCreate},
		{"POST /v1/subjects/{id}/withdraw", vault.RoleKiosk, a.handleWithdraw},
		{"GET /v1/tokens", vault.RoleAdmin, a.handleTokenList},
		{"POST /v1/tokens", vault.RoleAdmin, a.handleTokenCreate},
		{"POST /v1/tokens/{id}/revoke", vault.RoleAdmin, a.handleTokenRevoke},
		{"GET /v1/subjects", vault.RoleTechnician, a.handleSubjectList},
		{"GET /v1/subjects/{id}", vault.RoleTechnician, a.handleSubjectGet},
		{"PATCH /v1/subjects/{id}", vault.RoleTechnician, a.handleSubjectRectify},
		{"POST /v1/subjects/{id}/restrict", vault.RoleTechnician, a.handleRestrict},
		{"DELETE /v1/subjects/{id}/restrict", vault.RoleTechnician, a.handleUnrestrict},
		{"GET /v1/subjects/{id}/export", vault.RoleAdmin, a.handleSubjectExport},
		{"DELETE /v1/subjects/{id}", vault.RoleAdmin, a.handleSubjectErase},
		{"POST /v1/deidentified/erase", roleNone, a.deidEraseHandler()},
		{"GET /v1/audit", vault.RoleAdmin, a.handleAudit},
		{"GET /v1/audit/verify", vault.RoleAdmin, a.handleAuditVerify},
		{"POST /v1/sync/seal", vault.RoleAdmin, a.handleSyncSeal},
	}
	rs = append(rs, a.syncRoutes()...)
	return append(rs, a.webRoutes()...) // the web page (web.go)
}

// handler is the local API: one versioned route table (routes) behind the
// Host/Origin checks, the body limit and the request counter.
func (a *App) handler() http.Handler { return a.handlerFor(a.routes()) }

// syncHandler serves the pull protocol alone (and GET /v1/health), for
// the separate listener of sync_listen.
func (a *App) syncHandler() http.Handler {
	rs := []apiRoute{{"GET /v1/health", roleNone, a.handleHealth}}
	return a.handlerFor(append(rs, a.syncRoutes()...))
}

// handlerFor serves routes behind the guard.
func (a *App) handlerFor(routes []apiRoute) http.Handler {
	mux := http.NewServeMux()
	for _, rt := range routes {
		mux.Handle(rt.pattern, a.authorize(rt.role, rt.h))
	}
	return a.guard(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h, pattern := mux.Handler(r)
		if pattern != "" {
			mux.ServeHTTP(w, r)
			return
		}
		// No route: the mux's own answer (404, or 405 with Allow), as JSON.
		var rec headerRecorder
		h.ServeHTTP(&rec, r)
		if allow := rec.Header().Get("Allow"); rec.code == http.StatusMethodNotAllowed && allow != "" {
			w.Header().Set("Allow", allow)
			writeError(w, http.StatusMethodNotAllowed, "method_not_allowed", r.Method+" is not allowed here; allowed: "+allow)
			return
		}
		writeError(w, http.StatusNotFound, "not_found", "no such endpoint: "+r.Method+" "+r.URL.Path)
	}))
}

// headerRecorder keeps the status and headers of a response and drops
// its body.
type headerRecorder struct {
	h    http.Header
	code int
}

func (h *headerRecorder) Header() http.Header {
	if h.h == nil {
		h.h = http.Header{}
	}
	return h.h
}
func (h *headerRecorder) Write(b []byte) (int, error) { return len(b), nil }
func (h *headerRecorder) WriteHeader(code int)        { h.code = code }

// statusWriter remembers the status code for the request counter.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection (flushing).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// guard refuses a declared body over the limit at once (before the Host,
// the route and the token, and without reading it), refuses requests for
// a Host that is not ours (DNS rebinding) and browser requests from a
// foreign Origin (CSRF), caps bodies sent without a length, and counts
// every request by route pattern and status.
func (a *App) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.inflight.start()
		defer a.inflight.done()
		sw := &statusWriter{ResponseWriter: w}
		served := r // the request the mux routed, which knows its pattern
		defer func() {
			route := served.Pattern
			if route == "" || route == "/" {
				route = "unmatched"
			}
			a.metrics.observe(route, sw.code)
		}()
		sw.Header().Set("X-Content-Type-Options", "nosniff")
		sw.Header().Set("Cache-Control", "no-store")
		if limit := a.bodyLimit(r); r.ContentLength > limit {
			// Answer now: the client may never send what it declared, and
			// the server must not wait for it (it closes the connection
			// after this answer rather than read the body).
			sw.Header().Set("Connection", "close")
			writeBodyTooLarge(sw, limit)
			return
		}
		if !a.hostAllowed(r.Host) {
			a.log.Warn("request refused: host not allowed", "remote", r.RemoteAddr)
			writeError(sw, http.StatusMisdirectedRequest, "host_not_allowed", "the Host header names no address this daemon answers to")
			return
		}
		if origin := r.Header.Get("Origin"); origin != "" && !sameOrigin(origin, r.Host) {
			a.log.Warn("request refused: foreign origin", "remote", r.RemoteAddr)
			writeError(sw, http.StatusForbidden, "origin_refused", "requests from another web origin are refused")
			return
		}
		if r.Header.Get("Sec-Fetch-Site") == "cross-site" {
			writeError(sw, http.StatusForbidden, "origin_refused", "cross-site requests are refused")
			return
		}
		// A shallow copy: the server keeps its own request and body, so
		// that after the handler it can tell how much body is left unread.
		// MaxBytesReader gets the server's writer, which it tells to close
		// the connection once the limit is hit.
		lr := *r
		lr.Body = http.MaxBytesReader(w, r.Body, a.bodyLimit(r))
		served = &lr
		next.ServeHTTP(sw, served)
	})
}

// bodyLimit is the body size a request may send: max_enroll_bytes for an
// enrolment's recording, max_body_bytes for everything else.
func (a *App) bodyLimit(r *http.Request) int64 {
	if r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, "/v1/subjects/") && strings.HasSuffix(r.URL.Path, "/enrollments") {
		return a.cfg.MaxEnrollBytes
	}
	return a.cfg.MaxBodyBytes
}

// hostAllowed reports whether host (the Host header, with or without a
// port) names this daemon: localhost, a loopback address, the listen host
// or a configured name.
func (a *App) hostAllowed(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.ToLower(strings.Trim(host, "[]")), ".")
	if host == "" {
		return false
	}
	if host == "localhost" {
		return true
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return true
	}
	for _, h := range a.cfg.AllowedHosts {
		if strings.EqualFold(strings.TrimSuffix(h, "."), host) {
			return true
		}
	}
	return false
}

// sameOrigin reports whether a browser's Origin is the daemon's own page:
// http(s) with the same host and port as the (already allowed) Host.
func sameOrigin(origin, host string) bool {
	u, err := url.Parse(origin)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Path != "" {
		return false
	}
	return strings.EqualFold(u.Host, host)
}

type ctxKey struct{}

// caller is who made an authorised request.
type caller struct {
	token vault.Token
}

func (c caller) actor(purpose string) vault.Actor {
	return vault.Actor{TokenID: c.token.ID.String(), Role: c.token.Role, Purpose: purpose}
}

func callerFrom(ctx context.Context) caller {
	c, _ := ctx.Value(ctxKey{}).(caller)
	return c
}

// authorize checks the bearer token and its role: admin may do
// everything, other roles only routes for that role.
func (a *App) authorize(role string, h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if role == roleNone {
			h(w, r)
			return
		}
		auth := r.Header.Get("Authorization")
		scheme, secret, ok := strings.Cut(auth, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") || secret == "" || len(secret) > maxTokenLen {
			w.Header().Set("WWW-Authenticate", `Bearer realm="voxward"`)
			writeError(w, http.StatusUnauthorized, "unauthenticated", "this endpoint needs Authorization: Bearer TOKEN")
			return
		}
		store := a.vaultStore()
		if store == nil {
			writeError(w, http.StatusServiceUnavailable, "unavailable", "the vault is not open")
			return
		}
		tok, err := store.AuthenticateToken(vault.BearerToken(secret))
		if err != nil {
			if !errors.Is(err, vault.ErrNotFound) {
				a.vaultFailed(w, "token check", "token check failed", err)
				return
			}
			w.Header().Set("WWW-Authenticate", `Bearer realm="voxward", error="invalid_token"`)
			writeError(w, http.StatusUnauthorized, "unauthenticated", "unknown or revoked token")
			return
		}
		if tok.Role != vault.RoleAdmin && tok.Role != role {
			writeError(w, http.StatusForbidden, "forbidden", fmt.Sprintf("a %s token may not call this endpoint (it needs %s)", tok.Role, role))
			return
		}
		h(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, caller{token: tok})))
	})
}

// vaultFailed answers a vault failure that is not the caller's fault:
// 507 vault_full when the vault has no room (its disk budget is reached
// or the disk is full: nothing was stored), else 500 internal with msg.
// Both are logged as "what failed"; the logger's limiter keeps a client
// that retries from flooding the log.
func (a *App) vaultFailed(w http.ResponseWriter, what, msg string, err error) {
	if errors.Is(err, vault.ErrFull) {
		a.log.Error(what+" failed: the vault is full", "err", err)
		writeError(w, http.StatusInsufficientStorage, "vault_full",
			"the vault has no room left (disk budget vault_max_bytes reached, or the disk is full): nothing was stored")
		return
	}
	a.log.Error(what+" failed", "err", err)
	writeError(w, http.StatusInternalServerError, "internal", msg)
}

// apiError is the body of every error response.
type apiError struct {
	Error apiErrorBody `json:"error"`
}

// apiErrorBody is the inside of an error answer.
type apiErrorBody struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	var e apiError
	e.Error.Code, e.Error.Message = code, msg
	writeJSON(w, status, e)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v) // the client went away; nothing to do
}

// writeBodyTooLarge answers 413 body_too_large.
func writeBodyTooLarge(w http.ResponseWriter, limit int64) {
	writeError(w, http.StatusRequestEntityTooLarge, "body_too_large", fmt.Sprintf("the body is larger than %d bytes", limit))
}

// decodeJSON reads one JSON object (Content-Type application/json, unknown
// fields refused) into v. An empty body leaves v as it is when allowEmpty.
// On failure it writes the error response and returns false.
func decodeJSON(w http.ResponseWriter, r *http.Request, v any, allowEmpty bool) bool {
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeBodyTooLarge(w, tooBig.Limit)
		} else {
			writeError(w, http.StatusBadRequest, "bad_body", "could not read the body")
		}
		return false
	}
	if len(raw) == 0 && allowEmpty {
		return true
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		writeError(w, http.StatusUnsupportedMediaType, "bad_content_type", "send Content-Type: application/json")
		return false
	}
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		writeError(w, http.StatusBadRequest, "bad_json", "the body is not the JSON object this endpoint takes: "+err.Error())
		return false
	}
	if dec.More() {
		writeError(w, http.StatusBadRequest, "bad_json", "the body holds more than one JSON value")
		return false
	}
	return true
}

func (a *App) handleHealth(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// Status is the body of GET /v1/status.
type Status struct {
	Capture  CaptureStatus   `json:"capture"`
	Source   capture.Info    `json:"source"`
	Levels   capture.Levels  `json:"levels"`
	Pipeline PipelineStatus  `json:"pipeline"`
	Sessions []SessionStatus `json:"sessions"`
	Vault    VaultStatus     `json:"vault"`
	Outbox   OutboxStatus    `json:"outbox"`
	Speakers SpeakerStatus   `json:"speakers"`
	Device   string          `json:"device"`
	Version  string          `json:"version"`

	// Retention is the retention job: a missed deadline or a failed run
	// shows here as an error (retention.ok false).
	Retention RetentionStatus `json:"retention"`
}

// CaptureStatus says whether the source is open and why.
type CaptureStatus struct {
	Open      bool      `json:"open"`
	Reason    string    `json:"reason"`
	Leases    int       `json:"leases"`
	Since     time.Time `json:"since"`
	Opens     uint64    `json:"opens"`
	Closes    uint64    `json:"closes"`
	Overflows uint64    `json:"overflows"`
}

// VaultStatus counts what the vault holds, decrypting nothing.
type VaultStatus struct {
	Records      map[string]int `json:"records"`
	DataKeys     int            `json:"data_keys"`
	AuditEntries int            `json:"audit_entries"`
	FileBytes    int64          `json:"file_bytes"`
	MaxBytes     int64          `json:"max_bytes"` // the disk budget, vault_max_bytes (0: none)
	KEKEpoch     uint32         `json:"kek_epoch"`
}

func (a *App) handleStatus(w http.ResponseWriter, _ *http.Request) {
	gs := a.gate.Status()
	st, err := a.vaultStore().Stats()
	if err != nil {
		a.vaultFailed(w, "vault stats", "vault statistics failed", err)
		return
	}
	a.mu.Lock()
	device := a.deviceID
	a.mu.Unlock()
	src := a.gate.Info()
	// What Read delivers, whether or not the device has been opened yet.
	src.SampleRate, src.Channels = capture.SampleRate, 1
	writeJSON(w, http.StatusOK, Status{
		Capture: CaptureStatus{
			Open: gs.Open, Reason: gs.Reason, Leases: gs.Leases, Since: gs.Since,
			Opens: gs.Opens, Closes: gs.Closes, Overflows: gs.Overflows,
		},
		Source:   src,
		Levels:   gs.Levels,
		Pipeline: a.pipe.status(),
		Sessions: a.sess.status(),
		Vault: VaultStatus{
			Records: st.Records, DataKeys: st.DataKeys, AuditEntries: st.AuditEntries,
			FileBytes: st.FileBytes, MaxBytes: st.MaxBytes, KEKEpoch: st.KEKEpoch,
		},
		Outbox:   a.sync.status(),
		Speakers: a.labels.status(a.speakers),
		Device:   device,
		Version:  version(),

		Retention: a.ret.status(st),
	})
}

// sessionRequest is the body of POST /v1/sessions.
type sessionRequest struct {
	Title        string     `json:"title"`
	Participants []vault.ID `json:"participants"`
}

// SessionResponse is the body of the session endpoints' answers.
type SessionResponse struct {
	SessionID    string        `json:"session_id"`
	Started      time.Time     `json:"started"`
	Stopped      time.Time     `json:"stopped,omitzero"`
	Participants int           `json:"participants"`
	Capture      CaptureStatus `json:"capture"`
}

func (a *App) captureStatus() CaptureStatus {
	gs := a.gate.Status()
	return CaptureStatus{Open: gs.Open, Reason: gs.Reason, Leases: gs.Leases, Since: gs.Since, Opens: gs.Opens, Closes: gs.Closes, Overflows: gs.Overflows}
}

func (a *App) handleSessionStart(w http.ResponseWriter, r *http.Request) {
	var req sessionRequest
	if !decodeJSON(w, r, &req, true) {
		return
	}
	if len(req.Title) > vault.MaxNameLen {
		writeError(w, http.StatusUnprocessableEntity, "invalid", fmt.Sprintf("title is longer than %d bytes", vault.MaxNameLen))
		return
	}
	if len(req.Participants) > MaxParticipants {
		writeError(w, http.StatusUnprocessableEntity, "invalid", fmt.Sprintf("more than %d participants", MaxParticipants))
		return
	}
	actor := callerFrom(r.Context()).actor("session")
	sess, err := a.sess.start(r.Context(), a.vaultStore(), actor, req.Title, req.Participants)
	switch {
	case err == nil:
	case errors.Is(err, ErrParticipant):
		writeError(w, http.StatusUnprocessableEntity, "no_consent", strings.TrimPrefix(err.Error(), "agent: "))
		return
	case errors.Is(err, vault.ErrInvalid):
		writeError(w, http.StatusUnprocessableEntity, "invalid", err.Error())
		return
	case errors.Is(err, ErrCapture), errors.Is(err, capture.ErrGateClosed):
		writeError(w, http.StatusServiceUnavailable, "capture_unavailable", err.Error())
		return
	default:
		a.vaultFailed(w, "start session", "could not start the session", err)
		return
	}
	writeJSON(w, http.StatusCreated, SessionResponse{
		SessionID: sess.ID.String(), Started: sess.Started, Participants: len(sess.Participants),
		Capture: a.captureStatus(),
	})
}

func (a *App) handleSessionStop(w http.ResponseWriter, r *http.Request) {
	if !decodeJSON(w, r, &struct{}{}, true) {
		return
	}
	id, err := vault.ParseID(r.PathValue("id"))
	if err != nil {
		writeError(w, http.StatusNotFound, "not_found", "no live session with that id")
		return
	}
	actor := callerFrom(r.Context()).actor("session")
	sess, err := a.sess.stop(a.vaultStore(), actor, id)
	switch {
	case err == nil:
	case errors.Is(err, ErrNoSession):
		writeError(w, http.StatusNotFound, "not_found", "no live session with that id")
		return
	default:
		// The lease is released: capture stopped. Only the record failed.
		a.vaultFailed(w, "record session stop", "the session stopped but could not be recorded", err)
		return
	}
	writeJSON(w, http.StatusOK, SessionResponse{
		SessionID: sess.ID.String(), Started: sess.Started, Stopped: sess.Stopped, Participants: len(sess.Participants),
		Capture: a.captureStatus(),
	})
}
