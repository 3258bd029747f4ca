package sync_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	vsync "github.com/voxward/voxward/sync"
)

func get(t *testing.T, url string) (*http.Response, []byte) {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, b
}

// The protocol over a real loopback server: list, manifest with signature,
// body, key, ack (twice), and the batch gone after it.
func TestHandlerProtocol(t *testing.T) {
	pub, key, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	store := &vsync.MemStore{}
	for i := range 3 {
		b, err := vsync.Seal(key, "vx-1", fmt.Sprintf("b%d", i), time.Now(), [][]byte{[]byte(`{"type":"x"}`)})
		require.NoError(t, err)
		store.Add(b)
	}
	h, err := vsync.NewHandler(store, pub)
	require.NoError(t, err)
	mux := http.NewServeMux()
	for p, f := range h.Routes() {
		mux.HandleFunc(p, f)
	}
	srv := httptest.NewServer(mux)
	defer srv.Close()

	_, b := get(t, srv.URL+"/v1/sync/batches?limit=2")
	var list vsync.ListResponse
	require.NoError(t, json.Unmarshal(b, &list))
	require.Len(t, list.Batches, 2)
	require.Equal(t, "b0", list.Batches[0].BatchID)
	_, b = get(t, srv.URL+"/v1/sync/batches?after="+list.Next)
	require.NoError(t, json.Unmarshal(b, &list))
	require.Len(t, list.Batches, 1)
	require.Equal(t, "b2", list.Batches[0].BatchID)

	_, pemKey := get(t, srv.URL+"/v1/sync/key")
	got, err := vsync.ParsePublicKeyPEM(pemKey)
	require.NoError(t, err)
	resp, mb := get(t, srv.URL+"/v1/sync/batches/b1/manifest")
	sig, err := base64.StdEncoding.DecodeString(resp.Header.Get(vsync.SignatureHeader))
	require.NoError(t, err)
	m, err := vsync.VerifyManifest(got, mb, sig)
	require.NoError(t, err)
	_, body := get(t, srv.URL+"/v1/sync/batches/b1")
	recs, err := vsync.ReadRecords(m, body, 0)
	require.NoError(t, err)
	require.Len(t, recs, 1)

	for range 2 {
		resp, err := http.Post(srv.URL+"/v1/sync/batches/b1/ack", "", nil)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode, "ack is idempotent")
	}
	resp, _ = get(t, srv.URL+"/v1/sync/batches/b1")
	require.Equal(t, http.StatusNotFound, resp.StatusCode)
	resp, _ = get(t, srv.URL+"/v1/sync/batches?after=x")
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
	require.Equal(t, 2, store.Len())
}
