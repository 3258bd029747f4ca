package sync_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"time"

	vsync "github.com/voxward/voxward/sync"
)

// A puller drains a box into a directory: the key is pinned on first use,
// each batch verified, stored once and acknowledged.
func ExamplePuller() {
	// A box: two sealed batches served by the protocol's handler.
	pub, key, _ := ed25519.GenerateKey(rand.Reader)
	store := &vsync.MemStore{}
	for _, id := range []string{"b-000001", "b-000002"} {
		b, _ := vsync.Seal(key, vsync.DeviceID(pub), id, time.Now(), [][]byte{[]byte(`{"type":"session_stats","sessions":3}`)})
		store.Add(b)
	}
	h, _ := vsync.NewHandler(store, pub)
	mux := http.NewServeMux()
	for pattern, f := range h.Routes() {
		mux.HandleFunc(pattern, f)
	}
	srv := httptest.NewServer(mux)
	defer srv.Close()

	// The central side.
	dir, _ := os.MkdirTemp("", "voxward-pull-example")
	defer os.RemoveAll(dir)
	sink, _ := vsync.NewDirSink(dir)
	known, _ := vsync.OpenKnownDevices(filepath.Join(dir, "known-devices.json"))
	p := &vsync.Puller{Sink: sink, Known: known}
	box := vsync.Box{Name: "hall-a", URL: srv.URL, Token: "a puller token"}

	r := p.PullBox(context.Background(), box)
	fmt.Println("stored", r.Stored, "first use", r.FirstUse, "left on the box", store.Len())
	r = p.PullBox(context.Background(), box)
	fmt.Println("stored", r.Stored, "first use", r.FirstUse, "errors", r.Err())
	// Output:
	// stored 2 first use true left on the box 0
	// stored 0 first use false errors <nil>
}
