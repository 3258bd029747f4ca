package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/stretchr/testify/require"

	vsync "github.com/voxward/voxward/sync"
)

// pullBox is a simulated box behind a puller token on loopback.
type pullBox struct {
	key   ed25519.PrivateKey
	store *vsync.MemStore
	srv   *httptest.Server
}

func newPullBox(t *testing.T, token string, batches int) *pullBox {
	t.Helper()
	pub, key, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	b := &pullBox{key: key, store: &vsync.MemStore{}}
	for i := range batches {
		bt, err := vsync.Seal(key, vsync.DeviceID(pub), fmt.Sprintf("b%d", i), time.Now(), [][]byte{[]byte(`{"type":"device_health","uptime_h":1}`)})
		require.NoError(t, err)
		b.store.Add(bt)
	}
	h, err := vsync.NewHandler(b.store, pub)
	require.NoError(t, err)
	mux := http.NewServeMux()
	for p, f := range h.Routes() {
		mux.HandleFunc(p, f)
	}
	b.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+token {
			http.Error(w, `{"error":{"code":"unauthorized","message":"no"}}`, http.StatusUnauthorized)
			return
		}
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(b.srv.Close)
	return b
}

func summaryOf(t *testing.T, out string) map[string]int {
	t.Helper()
	var s map[string]int
	require.NoError(t, json.Unmarshal([]byte(strings.TrimSpace(out)), &s), out)
	return s
}

func TestPullCommandDirectory(t *testing.T) {
	box := newPullBox(t, "pt-secret", 3)
	dir := t.TempDir()
	code, out, errs := runCLI(t, "", "pull", "--url", box.srv.URL, "--token", "pt-secret", "--out", dir, "--once")
	require.Equal(t, 0, code, errs)
	s := summaryOf(t, out)
	require.Equal(t, 3, s["stored"])
	require.Equal(t, 0, s["boxes_failed"])
	require.Zero(t, box.store.Len())
	require.NotContains(t, errs, "pt-secret", "a token never reaches the log")
	require.Contains(t, errs, "pinned the box's key on first use")
	_, err := os.Stat(filepath.Join(dir, "known-devices.json"))
	require.NoError(t, err)

	// The same address now answers with another key: refused, exit 1.
	other := newPullBox(t, "pt-secret", 1)
	code, _, errs = runCLI(t, "", "pull", "--url", other.srv.URL, "--name", box.srv.URL, "--token", "pt-secret", "--out", dir, "--once")
	require.Equal(t, 1, code)
	require.Contains(t, errs, "device key changed")
	require.Equal(t, 1, other.store.Len())
}

func TestPullCommandFleetIntoJetStream(t *testing.T) {
	ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: t.TempDir(), SyncAlways: true, NoLog: true, NoSigs: true})
	require.NoError(t, err)
	ns.Start()
	require.True(t, ns.ReadyForConnections(10*time.Second))
	t.Cleanup(ns.Shutdown)

	dir := t.TempDir()
	var lines strings.Builder
	var boxes []*pullBox
	for i := range 3 {
		b := newPullBox(t, fmt.Sprintf("tok-%d", i), 2)
		boxes = append(boxes, b)
		fmt.Fprintf(&lines, "hall-%d %s env:PULL_TEST_TOKEN_%d\n", i, b.srv.URL, i)
		t.Setenv(fmt.Sprintf("PULL_TEST_TOKEN_%d", i), fmt.Sprintf("tok-%d", i))
	}
	boxesFile := filepath.Join(dir, "boxes")
	require.NoError(t, os.WriteFile(boxesFile, []byte(lines.String()), 0o644))
	known := filepath.Join(dir, "known.json")
	args := []string{"pull", "--boxes", boxesFile, "--nats", ns.ClientURL(), "--known-devices", known, "--once", "--concurrency", "2"}
	code, out, errs := runCLI(t, "", args...)
	require.Equal(t, 0, code, errs)
	require.Equal(t, 6, summaryOf(t, out)["stored"])
	for _, b := range boxes {
		require.Zero(t, b.store.Len())
	}

	// A batch seen again (its acknowledgement lost) is stored once.
	dev := vsync.DeviceID(boxes[0].key.Public().(ed25519.PublicKey))
	again, err := vsync.Seal(boxes[0].key, dev, "b0", time.Now(), [][]byte{[]byte(`{"type":"device_health","uptime_h":1}`)})
	require.NoError(t, err)
	boxes[0].store.Add(again)
	code, out, errs = runCLI(t, "", args...)
	require.Equal(t, 0, code, errs)
	require.Equal(t, 1, summaryOf(t, out)["duplicates"])
	require.Zero(t, boxes[0].store.Len())

	// Another body under the same id is refused and kept on the box.
	other, err := vsync.Seal(boxes[0].key, dev, "b0", time.Now(), [][]byte{[]byte(`{"type":"device_health","uptime_h":2}`)})
	require.NoError(t, err)
	boxes[0].store.Add(other)
	code, out, errs = runCLI(t, "", args...)
	require.Equal(t, 1, code, "a different body under b0 is a conflict: %s", errs)
	require.Contains(t, errs, "a different batch is already stored under this id")
	require.Equal(t, 1, summaryOf(t, out)["failed"])
	require.Equal(t, 1, boxes[0].store.Len())
}

func TestPullCommandUsage(t *testing.T) {
	for _, args := range [][]string{
		{"pull", "--out", "x"},
		{"pull", "--url", "http://127.0.0.1:1", "--token", "t"},
		{"pull", "--url", "http://127.0.0.1:1", "--token", "t", "--out", "x", "--nats", "nats://127.0.0.1:1"},
		{"pull", "--url", "ftp://x", "--token", "t", "--out", "x"},
		{"pull", "--boxes", "f", "--token", "t", "--out", "x"},
		{"pull", "--url", "http://127.0.0.1:1", "--token", "t", "--out", "x", "--nats-stream", "S"},
		{"pull", "--url", "http://127.0.0.1:1", "--token", "t", "--out", "x", "--concurrency", "0"},
	} {
		code, _, errs := runCLI(t, "", args...)
		require.Equal(t, 2, code, "%v: %s", args, errs)
	}
	t.Setenv("VOXWARD_TOKEN", "")
	code, _, errs := runCLI(t, "", "pull", "--url", "http://127.0.0.1:1", "--out", t.TempDir(), "--once")
	require.Equal(t, 2, code)
	require.Contains(t, errs, "needs a puller token")
}

// Looping, a round every --interval, until the context ends: exit 0, a
// summary per round, and what a box seals between rounds is pulled.
func TestPullCommandLoops(t *testing.T) {
	box := newPullBox(t, "pt", 1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out syncBuffer
	var errb bytes.Buffer
	done := make(chan int)
	go func() {
		done <- run(ctx, &stdio{in: strings.NewReader(""), out: &out, err: &errb},
			[]string{"pull", "--url", box.srv.URL, "--token", "pt", "--out", t.TempDir(), "--interval", "20ms"})
	}()
	require.Eventually(t, func() bool { return box.store.Len() == 0 }, 10*time.Second, 5*time.Millisecond)
	pub := box.key.Public().(ed25519.PublicKey)
	bt, err := vsync.Seal(box.key, vsync.DeviceID(pub), "later", time.Now(), [][]byte{[]byte(`{"type":"x"}`)})
	require.NoError(t, err)
	box.store.Add(bt)
	require.Eventually(t, func() bool { return box.store.Len() == 0 }, 10*time.Second, 5*time.Millisecond)
	// The round that stored it prints its summary after the ack: wait for
	// it before stopping the loop.
	require.Eventually(t, func() bool { return strings.Count(out.String(), "\n") >= 2 }, 10*time.Second, 5*time.Millisecond)
	cancel()
	require.Equal(t, 0, <-done, errb.String())
	require.Contains(t, errb.String(), "stopped")
}

// A zstd bomb from a box is refused with a clear message, exit 1, and
// stays on the box; the box's good batch is stored.
func TestPullCommandRefusesZstdBomb(t *testing.T) {
	box := newPullBox(t, "pt", 1)
	enc, err := zstd.NewWriter(nil)
	require.NoError(t, err)
	line := append(bytes.Repeat([]byte(" "), 1000), "{}\n"...)
	body := enc.EncodeAll(bytes.Repeat(line, 32<<10), nil) // 32 MB of padding
	pub := box.key.Public().(ed25519.PublicKey)
	m := vsync.Manifest{BatchID: "bomb", Schema: vsync.Schema, Device: vsync.DeviceID(pub), Created: time.Now().UTC().Truncate(time.Hour),
		Records: 32 << 10, Bytes: int64(len(body)), SHA256: vsync.Digest(body)}
	mb, err := json.Marshal(m)
	require.NoError(t, err)
	box.store.Add(vsync.Batch{Manifest: m, ManifestBytes: mb, Signature: ed25519.Sign(box.key, mb), Body: body})

	code, out, errs := runCLI(t, "", "pull", "--url", box.srv.URL, "--token", "pt", "--out", t.TempDir(), "--once", "--max-decompressed", "4194304")
	require.Equal(t, 1, code)
	require.Contains(t, errs, "batch refused; not acknowledged")
	require.Contains(t, errs, "batch=bomb")
	require.Contains(t, errs, "with a cap of 4194304 decompressed: batch over its size limit")
	s := summaryOf(t, out)
	require.Equal(t, 1, s["stored"])
	require.Equal(t, 1, s["failed"])
	require.Equal(t, 1, box.store.Len(), "the bomb stays on the box")
}
