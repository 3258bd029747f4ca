package agent

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
)

// FuzzSessionRequest feeds POST /v1/sessions bodies to the decoder behind
// the body limit: it either yields a request that survives a JSON round
// trip, or answers 4xx with the API's error shape. Never a panic or a 5xx.
func FuzzSessionRequest(f *testing.F) {
	f.Add([]byte(`{"title":"keynote","participants":["00112233445566778899aabbccddeeff"]}`))
	f.Add([]byte(`{}`))
	f.Add([]byte(``))
	f.Add([]byte(`{"title":"a"} {}`))
	f.Add([]byte(`{"participants":["zz"]}`))
	f.Add([]byte(`{"title":"a","extra":true}`))
	f.Add(bytes.Repeat([]byte(`[`), 5000))
	const limit = 4096
	f.Fuzz(func(t *testing.T, body []byte) {
		if len(body) > 2*limit {
			return
		}
		w := httptest.NewRecorder()
		r := httptest.NewRequest("POST", "/v1/sessions", bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		r.Body = http.MaxBytesReader(w, r.Body, limit)
		var req sessionRequest
		if decodeJSON(w, r, &req, true) {
			out, err := json.Marshal(req)
			if err != nil {
				t.Fatalf("decoded request does not encode: %v", err)
			}
			var again sessionRequest
			if err := json.Unmarshal(out, &again); err != nil {
				t.Fatalf("round trip of %s: %v", out, err)
			}
			if again.Title != req.Title || len(again.Participants) != len(req.Participants) {
				t.Fatalf("round trip changed %+v into %+v", req, again)
			}
			return
		}
		if w.Code < 400 || w.Code >= 500 {
			t.Fatalf("decodeJSON refused %q with status %d, want 4xx", body, w.Code)
		}
		var e apiError
		if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e.Error.Code == "" || e.Error.Message == "" {
			t.Fatalf("error body %q is not {\"error\":{\"code\",\"message\"}}", w.Body.String())
		}
	})
}

// FuzzSubjectRequest feeds POST /v1/subjects bodies to the decoder and the
// consent check: a body is either refused with a 4xx in the API's error
// shape, or decodes to a request the check judges without panicking.
func FuzzSubjectRequest(f *testing.F) {
	f.Add([]byte(`{"display_name":"A","contact":"a@b","consent":{"disclosure_sha256":"00","agreed":true,"signature":"A","purposes":["recognition"]}}`))
	f.Add([]byte(`{"consent":{"purposes":["x","recognition","recognition"]}}`))
	f.Add([]byte(`{"consent":{"agreed":"yes"}}`))
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"display_name":"\u0000"}`))
	cfg := DefaultConfig()
	a := &App{cfg: cfg, disc: cfg.disclosure()}
	const limit = 4096
	f.Fuzz(func(t *testing.T, body []byte) {
		if len(body) > 2*limit {
			return
		}
		w := httptest.NewRecorder()
		r := httptest.NewRequest("POST", "/v1/subjects", bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		r.Body = http.MaxBytesReader(w, r.Body, limit)
		var req consentRequest
		if decodeJSON(w, r, &req, false) {
			code, err := a.checkConsent(&req)
			if (code == "") != (err == nil) {
				t.Fatalf("checkConsent = %q, %v: a code without an error or the reverse", code, err)
			}
			if err == nil && req.Consent.DisclosureSHA256 != a.disc.SHA256 {
				t.Fatalf("a consent to another disclosure passed: %q", body)
			}
			return
		}
		if w.Code < 400 || w.Code >= 500 {
			t.Fatalf("decodeJSON refused %q with status %d, want 4xx", body, w.Code)
		}
	})
}

// fuzzBody checks one JSON body decoder: a body is decoded into a T that
// survives a JSON round trip, or refused with a 4xx in the API's error
// shape; never a panic or a 5xx.
func fuzzBody[T any](t *testing.T, body []byte) {
	const limit = 4096
	if len(body) > 2*limit {
		return
	}
	w := httptest.NewRecorder()
	r := httptest.NewRequest("POST", "/x", bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	r.Body = http.MaxBytesReader(w, r.Body, limit)
	var v T
	if decodeJSON(w, r, &v, false) {
		out, err := json.Marshal(v)
		if err != nil {
			t.Fatalf("decoded %T does not encode: %v", v, err)
		}
		var again T
		if err := json.Unmarshal(out, &again); err != nil {
			t.Fatalf("round trip of %s: %v", out, err)
		}
		return
	}
	if w.Code < 400 || w.Code >= 500 {
		t.Fatalf("decodeJSON refused %q with status %d, want 4xx", body, w.Code)
	}
	var e apiError
	if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e.Error.Code == "" {
		t.Fatalf("error body %q is not the API's error shape", w.Body.String())
	}
}

// FuzzCaptureRequest: the JSON body of an enrolment from the live source.
func FuzzCaptureRequest(f *testing.F) {
	for _, s := range []string{`{"capture_seconds":10}`, `{"capture_seconds":1e999}`, `{"capture_seconds":"x"}`, `{}`, `[`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) { fuzzBody[captureRequest](t, body) })
}

// FuzzTokenRequest: the JSON body of POST /v1/tokens.
func FuzzTokenRequest(f *testing.F) {
	for _, s := range []string{`{"role":"kiosk"}`, `{"role":1}`, `{"role":"admin","x":1}`, `null`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) { fuzzBody[tokenRequest](t, body) })
}
