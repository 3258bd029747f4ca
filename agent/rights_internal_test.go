package agent

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

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
