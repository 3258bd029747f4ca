package agent

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/voxward/voxward/vault"
)

// fuzzDecode runs decodeJSON on body behind a body limit, as the API does,
// and checks that a refusal is a 4xx in the API's error shape.
func fuzzDecode(t *testing.T, path string, body []byte, v any) bool {
	const limit = 4096
	w := httptest.NewRecorder()
	r := httptest.NewRequest("POST", path, bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	r.Body = http.MaxBytesReader(w, r.Body, limit)
	if decodeJSON(w, r, v, false) {
		return true
	}
	if w.Code < 400 || w.Code >= 500 {
		t.Fatalf("decodeJSON refused %q with status %d, want 4xx", body, w.Code)
	}
	var e apiError
	if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e.Error.Code == "" || e.Error.Message == "" {
		t.Fatalf("error body %q is not {\"error\":{\"code\",\"message\"}}", w.Body.String())
	}
	return false
}

// FuzzRectifyRequest feeds PATCH /v1/subjects/{id} bodies to the decoder
// and the merge-patch check: a body is refused with a 4xx, or yields
// changes that keep every rule (a display name never empty, no field too
// long, absent fields kept) and that survive a JSON round trip.
func FuzzRectifyRequest(f *testing.F) {
	f.Add([]byte(`{"display_name":"Ana","contact":"a@example.org"}`))
	f.Add([]byte(`{"contact":null}`))
	f.Add([]byte(`{"display_name":null}`))
	f.Add([]byte(`{"display_name":"  "}`))
	f.Add([]byte(`{"display_name":7}`))
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"contact":"\u0000"} {}`))
	f.Add([]byte(`{"display_name":"` + strings.Repeat("x", 300) + `"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		if len(body) > 8192 {
			return
		}
		var req rectifyRequest
		if !fuzzDecode(t, "/v1/subjects/x", body, &req) {
			return
		}
		name, contact, err := req.changes()
		if err != nil {
			return
		}
		if name == nil && contact == nil {
			t.Fatalf("changes of %q: nothing to do, yet no error", body)
		}
		if name != nil && (*name == "" || len(*name) > vault.MaxNameLen || strings.TrimSpace(*name) != *name) {
			t.Fatalf("changes of %q: display name %q passed", body, *name)
		}
		if contact != nil && len(*contact) > vault.MaxNameLen {
			t.Fatalf("changes of %q: contact of %d bytes passed", body, len(*contact))
		}
		if (name != nil) != req.DisplayName.set || (contact != nil) != req.Contact.set {
			t.Fatalf("changes of %q: an absent field is changed or a present one kept", body)
		}
		out, err := json.Marshal(req)
		if err != nil {
			t.Fatalf("encode %+v: %v", req, err)
		}
		var again rectifyRequest
		if err := json.Unmarshal(out, &again); err != nil {
			t.Fatalf("round trip of %s: %v", out, err)
		}
		n2, c2, err := again.changes()
		if err != nil || (n2 == nil) != (name == nil) || (c2 == nil) != (contact == nil) ||
			n2 != nil && *n2 != *name || c2 != nil && *c2 != *contact {
			t.Fatalf("round trip of %q through %s changed the patch", body, out)
		}
	})
}

// FuzzDeidEraseRequest feeds POST /v1/deidentified/erase bodies to the
// decoder and the check: refused with a 4xx, or a token that is present
// and not over the length cap.
func FuzzDeidEraseRequest(f *testing.F) {
	f.Add([]byte(`{"deletion_token":"hGVK9sUBoInarG213s17P7uB9Qm3yuqVxYvRsVMBDNA"}`))
	f.Add([]byte(`{"deletion_token":""}`))
	f.Add([]byte(`{"deletion_token":null}`))
	f.Add([]byte(`{"deletion_token":["a"]}`))
	f.Add([]byte(`{"token":"a"}`))
	f.Add([]byte(`{}`))
	f.Add(bytes.Repeat([]byte(`{"deletion_token":`), 300))
	f.Fuzz(func(t *testing.T, body []byte) {
		if len(body) > 8192 {
			return
		}
		var req deidEraseRequest
		if !fuzzDecode(t, "/v1/deidentified/erase", body, &req) {
			return
		}
		err := req.check()
		if ok := req.DeletionToken != "" && len(req.DeletionToken) <= maxDeletionTokenLen; ok != (err == nil) {
			t.Fatalf("check of %q = %v", req.DeletionToken, err)
		}
		out, err := json.Marshal(req)
		if err != nil {
			t.Fatalf("encode: %v", err)
		}
		var again deidEraseRequest
		if err := json.Unmarshal(out, &again); err != nil || again != req {
			t.Fatalf("round trip of %q through %s = %+v, %v", body, out, again, err)
		}
	})
}

// The limiter refills one token per interval up to the burst, keeps
// addresses apart, and forgets idle addresses when it is full, refusing a
// newcomer only while every tracked address is still busy.
func TestRateLimiter(t *testing.T) {
	now := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	l := newRateLimiter(func() time.Time { return now }, 2, 10*time.Second)
	for i := range 2 {
		ok, _ := l.allow("a")
		require.True(t, ok, "request %d", i+1)
	}
	ok, wait := l.allow("a")
	require.False(t, ok)
	assert.Equal(t, 10*time.Second, wait)
	ok, _ = l.allow("b")
	assert.True(t, ok, "one address's limit held back another")
	now = now.Add(4 * time.Second)
	_, wait = l.allow("a")
	assert.Equal(t, 6*time.Second, wait)
	now = now.Add(6 * time.Second)
	ok, _ = l.allow("a")
	assert.True(t, ok)
	now = now.Add(time.Hour) // refills to the burst, not beyond
	for i := range 3 {
		ok, _ := l.allow("a")
		assert.Equal(t, i < 2, ok, "request %d after an hour", i+1)
	}

	// Full of busy addresses: a newcomer waits; once they are idle, they go.
	l = newRateLimiter(func() time.Time { return now }, 1, time.Second)
	for i := range maxLimited {
		ok, _ := l.allow(fmt.Sprint("10.0.0.", i))
		require.True(t, ok)
	}
	ok, _ = l.allow("newcomer")
	assert.False(t, ok, "the limiter grew past maxLimited")
	now = now.Add(time.Second)
	ok, _ = l.allow("newcomer")
	assert.True(t, ok)
	assert.Len(t, l.buckets, 1)

	assert.Equal(t, "127.0.0.1", remoteHost("127.0.0.1:54321"))
	assert.Equal(t, "::1", remoteHost("[::1]:80"))
	assert.Equal(t, "odd", remoteHost("odd"))
}
