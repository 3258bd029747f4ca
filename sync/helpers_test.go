package sync_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/require"

	vsync "github.com/voxward/voxward/sync"
)

// simBox is a simulated box: a MemStore served by the protocol handler
// behind bearer-token auth on a real loopback listener.
type simBox struct {
	Name  string
	Key   ed25519.PrivateKey
	Pub   ed25519.PublicKey
	Store *vsync.MemStore
	Token string
	URL   string
	srv   *http.Server
	ln    net.Listener
	seq   int
}

func (b *simBox) Box() vsync.Box { return vsync.Box{Name: b.Name, URL: b.URL, Token: b.Token} }

func (b *simBox) Device() string { return vsync.DeviceID(b.Pub) }

// seal adds a new batch of n records and returns it.
func (b *simBox) seal(t testing.TB, n int) vsync.Batch {
	t.Helper()
	b.seq++
	var recs [][]byte
	for i := range n {
		recs = append(recs, fmt.Appendf(nil, `{"type":"session_stats","box":%q,"batch":%d,"i":%d,"pad":"%0100d"}`, b.Name, b.seq, i, i))
	}
	bt, err := vsync.Seal(b.Key, b.Device(), fmt.Sprintf("b-%06d", b.seq), time.Now(), recs)
	require.NoError(t, err)
	b.Store.Add(bt)
	return bt
}

// authed wraps the protocol's routes with the puller's bearer token, as
// the daemon does.
func authed(h *vsync.Handler, token string) http.Handler {
	mux := http.NewServeMux()
	for p, f := range h.Routes() {
		mux.HandleFunc(p, f)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+token {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"error":{"code":"unauthorized","message":"a puller token is required"}}`))
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// newSimBox starts a simulated box with a fresh key.
func newSimBox(t testing.TB, name string) *simBox {
	t.Helper()
	pub, key, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	b := &simBox{Name: name, Key: key, Pub: pub, Store: &vsync.MemStore{}, Token: "tok-" + name}
	b.serve(t, nil)
	return b
}

// serve starts (or restarts) the box's server, wrapping its handler with
// wrap when not nil.
func (b *simBox) serve(t testing.TB, wrap func(http.Handler) http.Handler) {
	t.Helper()
	h, err := vsync.NewHandler(b.Store, b.Pub)
	require.NoError(t, err)
	var hh = authed(h, b.Token)
	if wrap != nil {
		hh = wrap(hh)
	}
	addr := "127.0.0.1:0"
	if b.URL != "" {
		addr = b.URL[len("http://"):]
	}
	ln, err := net.Listen("tcp", addr)
	require.NoError(t, err)
	b.URL = "http://" + ln.Addr().String()
	srv := &http.Server{Handler: hh, ReadHeaderTimeout: 5 * time.Second}
	b.ln, b.srv = ln, srv
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
}

// kill drops the box's listener and every connection at once.
func (b *simBox) kill() {
	_ = b.srv.Close()
	_ = b.ln.Close() // Serve may not have taken it yet
}

func newFleet(t testing.TB, n, batchesEach int) []*simBox {
	t.Helper()
	var out []*simBox
	for i := range n {
		b := newSimBox(t, fmt.Sprintf("box%02d", i))
		for range batchesEach {
			b.seal(t, 20)
		}
		out = append(out, b)
	}
	return out
}

func boxesOf(fleet []*simBox) []vsync.Box {
	var out []vsync.Box
	for _, b := range fleet {
		out = append(out, b.Box())
	}
	return out
}

// natsOpts are a loopback JetStream server's options: file storage in dir,
// fsync before every acknowledgement.
func natsOpts(dir string, port int) *server.Options {
	return &server.Options{
		Host:       "127.0.0.1",
		Port:       port,
		JetStream:  true,
		StoreDir:   dir,
		SyncAlways: true,
		NoLog:      true,
		NoSigs:     true,
		MaxPayload: 8 << 20,
	}
}

// startNATS runs a real nats-server with JetStream in the test's process.
func startNATS(t testing.TB, opts *server.Options) *server.Server {
	t.Helper()
	if opts == nil {
		opts = natsOpts(t.TempDir(), -1)
	}
	s, err := server.NewServer(opts)
	require.NoError(t, err)
	s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats-server did not start")
	}
	t.Cleanup(func() { s.Shutdown(); s.WaitForShutdown() })
	return s
}

func natsSink(t testing.TB, url string) (*vsync.NATSSink, *nats.Conn) {
	t.Helper()
	nc, err := nats.Connect(url)
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	s, err := vsync.NewNATSSink(context.Background(), nc, nil)
	require.NoError(t, err)
	return s, nc
}

// streamCounts reads every message of the sink's stream and counts them
// per subject.
func streamCounts(t testing.TB, s *vsync.NATSSink) map[string]int {
	t.Helper()
	ctx := context.Background()
	info, err := s.Stream().Info(ctx)
	require.NoError(t, err)
	out := map[string]int{}
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && info.State.Msgs > 0; seq++ {
		m, err := s.Stream().GetMsg(ctx, seq)
		require.NoError(t, err)
		out[m.Subject]++
	}
	return out
}

func newPuller(t testing.TB, sink vsync.Sink, knownPath string) *vsync.Puller {
	t.Helper()
	k, err := vsync.OpenKnownDevices(knownPath)
	require.NoError(t, err)
	return &vsync.Puller{Sink: sink, Known: k, Concurrency: 10, Timeout: 10 * time.Second}
}
