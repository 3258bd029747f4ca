package sync

import (
	"crypto/ed25519"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"strconv"
)

// ErrNotFound is what a Store returns for a batch it does not hold (never
// sealed, or acknowledged and dropped).
var ErrNotFound = errors.New("no such batch")

// Stored is a sealed batch as a box holds it, with its place in the order of
// sealing: Seq grows with every batch sealed and is the list cursor.
type Stored struct {
	Seq   uint64
	Batch Batch
}

// Store is what the pull protocol reads: the sealed batches not yet
// acknowledged. The vault implements it on the box; tests implement it in
// memory for simulated boxes.
type Store interface {
	// Batches returns up to limit sealed batches with Seq > after, in
	// Seq order.
	Batches(after uint64, limit int) ([]Stored, error)
	// Batch returns one sealed batch, or ErrNotFound.
	Batch(id string) (Stored, error)
	// Ack drops a batch: it is stored upstream. Acknowledging a batch
	// that is gone is not an error (the protocol is idempotent).
	Ack(id string) error
}

// ListEntry is one ready batch in a list answer. The manifest is given for
// reading; a puller verifies the signature over the bytes of
// GET /v1/sync/batches/{id}/manifest.
type ListEntry struct {
	BatchID  string          `json:"batch_id"`
	Cursor   string          `json:"cursor"`
	Manifest json.RawMessage `json:"manifest"`
}

// ListResponse answers GET /v1/sync/batches. Next is the cursor to ask
// after for the following page ("" when Batches is empty: ask again with
// the same cursor later).
type ListResponse struct {
	Batches []ListEntry `json:"batches"`
	Next    string      `json:"next"`
}

// AckResponse answers POST /v1/sync/batches/{id}/ack.
type AckResponse struct {
	BatchID      string `json:"batch_id"`
	Acknowledged bool   `json:"acknowledged"`
}

// SignatureHeader carries the base64 Ed25519 signature of a manifest.
const SignatureHeader = "X-Voxward-Signature"

// MaxListLimit caps one list page.
const MaxListLimit = 1000

// Handler serves the pull protocol from a Store. Authentication and roles
// are the caller's (the agent wraps each route with the puller role).
type Handler struct {
	store  Store
	pubPEM []byte
}

// NewHandler serves store, signing with the key whose public half is pub.
func NewHandler(store Store, pub ed25519.PublicKey) (*Handler, error) {
	pemKey, err := PublicKeyPEM(pub)
	if err != nil {
		return nil, err
	}
	return &Handler{store: store, pubPEM: pemKey}, nil
}

// PublicKeyPEM encodes an Ed25519 public key as a PEM SubjectPublicKeyInfo
// ("PUBLIC KEY"), the form `openssl pkeyutl -verify -pubin` reads.
func PublicKeyPEM(pub ed25519.PublicKey) ([]byte, error) {
	if len(pub) != ed25519.PublicKeySize {
		return nil, errors.New("sync: not an Ed25519 public key")
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
}

// ParsePublicKeyPEM reads what PublicKeyPEM writes.
func ParsePublicKeyPEM(b []byte) (ed25519.PublicKey, error) {
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "PUBLIC KEY" {
		return nil, errors.New("sync: not a PEM public key")
	}
	k, err := x509.ParsePKIXPublicKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("sync: public key: %w", err)
	}
	pub, ok := k.(ed25519.PublicKey)
	if !ok {
		return nil, errors.New("sync: public key is not Ed25519")
	}
	return pub, nil
}

// Key serves GET /v1/sync/key.
func (h *Handler) Key(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/x-pem-file")
	_, _ = w.Write(h.pubPEM)
}

// List serves GET /v1/sync/batches?after=CURSOR&limit=N.
func (h *Handler) List(w http.ResponseWriter, r *http.Request) {
	var after uint64
	if s := r.URL.Query().Get("after"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			writeProblem(w, http.StatusBadRequest, "bad_cursor", "after must be a cursor a list answer gave")
			return
		}
		after = v
	}
	limit := 100
	if s := r.URL.Query().Get("limit"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 1 || v > MaxListLimit {
			writeProblem(w, http.StatusBadRequest, "bad_limit", fmt.Sprintf("limit must be 1..%d", MaxListLimit))
			return
		}
		limit = v
	}
	bs, err := h.store.Batches(after, limit)
	if err != nil {
		writeProblem(w, http.StatusInternalServerError, "store", "the batches cannot be read")
		return
	}
	resp := ListResponse{Batches: make([]ListEntry, 0, len(bs))}
	for _, b := range bs {
		c := strconv.FormatUint(b.Seq, 10)
		resp.Batches = append(resp.Batches, ListEntry{BatchID: b.Batch.Manifest.BatchID, Cursor: c, Manifest: b.Batch.ManifestBytes})
		resp.Next = c
	}
	writeJSON(w, http.StatusOK, resp)
}

func (h *Handler) batch(w http.ResponseWriter, r *http.Request) (Stored, bool) {
	id := r.PathValue("id")
	if !ValidID(id) {
		writeProblem(w, http.StatusNotFound, "not_found", "no such batch")
		return Stored{}, false
	}
	b, err := h.store.Batch(id)
	if errors.Is(err, ErrNotFound) {
		writeProblem(w, http.StatusNotFound, "not_found", "no such batch (never sealed, or acknowledged)")
		return Stored{}, false
	}
	if err != nil {
		writeProblem(w, http.StatusInternalServerError, "store", "the batch cannot be read")
		return Stored{}, false
	}
	return b, true
}

// Body serves GET /v1/sync/batches/{id}: the compressed body's exact bytes.
func (h *Handler) Body(w http.ResponseWriter, r *http.Request) {
	if b, ok := h.batch(w, r); ok {
		w.Header().Set("Content-Type", "application/zstd")
		w.Header().Set("Content-Length", strconv.Itoa(len(b.Batch.Body)))
		_, _ = w.Write(b.Batch.Body)
	}
}

// Manifest serves GET /v1/sync/batches/{id}/manifest: the manifest's
// exact signed bytes, the signature in SignatureHeader.
func (h *Handler) Manifest(w http.ResponseWriter, r *http.Request) {
	if b, ok := h.batch(w, r); ok {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set(SignatureHeader, base64.StdEncoding.EncodeToString(b.Batch.Signature))
		_, _ = w.Write(b.Batch.ManifestBytes)
	}
}

// Ack serves POST /v1/sync/batches/{id}/ack. It is idempotent: a batch
// already acknowledged answers 200 as well.
func (h *Handler) Ack(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if !ValidID(id) {
		writeProblem(w, http.StatusNotFound, "not_found", "no such batch")
		return
	}
	if err := h.store.Ack(id); err != nil {
		writeProblem(w, http.StatusInternalServerError, "store", "the acknowledgement was not stored")
		return
	}
	writeJSON(w, http.StatusOK, AckResponse{BatchID: id, Acknowledged: true})
}

// Routes maps each pull-protocol route ("METHOD /path") to its handler, for
// the agent to register under its puller role.
func (h *Handler) Routes() map[string]http.HandlerFunc {
	return map[string]http.HandlerFunc{
		"GET /v1/sync/key":                   h.Key,
		"GET /v1/sync/batches":               h.List,
		"GET /v1/sync/batches/{id}":          h.Body,
		"GET /v1/sync/batches/{id}/manifest": h.Manifest,
		"POST /v1/sync/batches/{id}/ack":     h.Ack,
	}
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// writeProblem answers in the agent's error shape:
// {"error":{"code","message"}}.
func writeProblem(w http.ResponseWriter, status int, code, msg string) {
	var e struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	e.Error.Code, e.Error.Message = code, msg
	writeJSON(w, status, e)
}
