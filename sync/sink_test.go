package sync_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	vsync "github.com/voxward/voxward/sync"
)

// The JetStream sink stores a batch once: a second Store is a duplicate,
// also when the Nats-Msg-Id window no longer covers it (the per-subject
// create-only check does), and a different body under the same id is a
// conflict. What it holds reads back byte for byte.
func TestNATSSinkStoresOnce(t *testing.T) {
	srv := startNATS(t, nil)
	sink, nc := natsSink(t, srv.ClientURL())
	ctx := context.Background()
	box := newSimBox(t, "hall")
	b := box.seal(t, 3)

	dup, err := sink.Store(ctx, b)
	require.NoError(t, err)
	require.False(t, dup)
	dup, err = sink.Store(ctx, b)
	require.NoError(t, err)
	require.True(t, dup, "within the Nats-Msg-Id window")

	got, err := sink.Get(ctx, b.Manifest.Device, b.Manifest.BatchID)
	require.NoError(t, err)
	require.Equal(t, b, got.Batch)
	_, err = vsync.VerifyManifest(box.Pub, got.Batch.ManifestBytes, got.Batch.Signature)
	require.NoError(t, err)

	// A batch stored long ago, outside any dedup window: publish it
	// without a message id, as if the window had passed.
	old := box.seal(t, 1)
	msg := nats.NewMsg(sink.Subject(old.Manifest.Device, old.Manifest.BatchID))
	msg.Data = old.Body
	msg.Header.Set(vsync.HeaderManifest, base64.StdEncoding.EncodeToString(old.ManifestBytes))
	msg.Header.Set(vsync.HeaderSignature, base64.StdEncoding.EncodeToString(old.Signature))
	msg.Header.Set(vsync.HeaderSHA256, old.Manifest.SHA256)
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	_, err = js.PublishMsg(ctx, msg)
	require.NoError(t, err)
	dup, err = sink.Store(ctx, old)
	require.NoError(t, err)
	require.True(t, dup, "found by its subject, not by the window")

	other, err := vsync.Seal(box.Key, box.Device(), b.Manifest.BatchID, time.Now(), [][]byte{[]byte(`{"x":2}`)})
	require.NoError(t, err)
	_, err = sink.Store(ctx, other)
	require.ErrorIs(t, err, vsync.ErrConflict)
	require.Contains(t, err.Error(), b.Manifest.SHA256)
	require.Len(t, streamCounts(t, sink), 2)
}

// A batch over the server's max_payload is refused clearly, not cut, and
// the box keeps it.
func TestNATSSinkRefusesOversize(t *testing.T) {
	opts := natsOpts(t.TempDir(), -1)
	opts.MaxPayload = 16 << 10
	srv := startNATS(t, opts)
	sink, _ := natsSink(t, srv.ClientURL())
	box := newSimBox(t, "hall")
	var recs [][]byte
	for range 400 {
		recs = append(recs, []byte(`"`+hex.EncodeToString(random(t, 64))+`"`))
	}
	b, err := vsync.Seal(box.Key, box.Device(), "big", time.Now(), recs)
	require.NoError(t, err)
	require.Greater(t, len(b.Body), 16<<10)
	box.Store.Add(b)
	p := newPuller(t, sink, filepath.Join(t.TempDir(), "k.json"))
	r := p.PullBox(context.Background(), box.Box())
	require.ErrorIs(t, r.Err(), vsync.ErrTooLarge)
	require.Contains(t, r.Err().Error(), "max_payload")
	require.Equal(t, 1, box.Store.Len())
}

// The directory sink repairs a committed batch whose body or signature a
// crash (or a hand) removed, and leaves no temporary files.
func TestDirSinkRepairs(t *testing.T) {
	dir := t.TempDir()
	sink, err := vsync.NewDirSink(dir)
	require.NoError(t, err)
	box := newSimBox(t, "hall")
	b := box.seal(t, 2)
	ctx := context.Background()
	dup, err := sink.Store(ctx, b)
	require.NoError(t, err)
	require.False(t, dup)
	bodyP, sigP, manP := sink.Paths(b.Manifest.Device, b.Manifest.BatchID)
	require.NoError(t, os.Remove(bodyP))
	require.NoError(t, os.WriteFile(sigP, []byte("junk"), 0o640))
	dup, err = sink.Store(ctx, b)
	require.NoError(t, err)
	require.True(t, dup)
	body, err := os.ReadFile(bodyP)
	require.NoError(t, err)
	require.Equal(t, b.Body, body)
	sig, err := os.ReadFile(sigP)
	require.NoError(t, err)
	require.Equal(t, base64.StdEncoding.EncodeToString(b.Signature)+"\n", string(sig))

	// An uncommitted leftover (body without manifest) is overwritten.
	b2 := box.seal(t, 2)
	body2P, _, man2P := sink.Paths(b2.Manifest.Device, b2.Manifest.BatchID)
	require.NoError(t, os.WriteFile(body2P, []byte("half"), 0o640))
	dup, err = sink.Store(ctx, b2)
	require.NoError(t, err)
	require.False(t, dup)
	body, err = os.ReadFile(body2P)
	require.NoError(t, err)
	require.Equal(t, b2.Body, body)
	_, err = os.Stat(man2P)
	require.NoError(t, err)
	_, err = os.Stat(manP)
	require.NoError(t, err)

	ents, err := os.ReadDir(filepath.Join(dir, b.Manifest.Device))
	require.NoError(t, err)
	for _, e := range ents {
		require.NotContains(t, e.Name(), ".tmp-")
	}
}

func random(t testing.TB, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return b
}

// An existing stream is used as configured, but one that would lose or
// drop batches is refused.
func TestNATSSinkChecksAnExistingStream(t *testing.T) {
	srv := startNATS(t, nil)
	nc, err := nats.Connect(srv.ClientURL())
	require.NoError(t, err)
	defer nc.Close()
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	ctx := context.Background()
	_, err = js.CreateStream(ctx, jetstream.StreamConfig{Name: "MEM", Subjects: []string{"mem.>"}, Storage: jetstream.MemoryStorage})
	require.NoError(t, err)
	_, err = vsync.NewNATSSink(ctx, nc, &vsync.NATSConfig{Stream: "MEM", Subject: "mem"})
	require.ErrorContains(t, err, "keeps messages in memory")
	_, err = js.CreateStream(ctx, jetstream.StreamConfig{Name: "WQ", Subjects: []string{"wq.>"}, Storage: jetstream.FileStorage, Retention: jetstream.WorkQueuePolicy})
	require.NoError(t, err)
	_, err = vsync.NewNATSSink(ctx, nc, &vsync.NATSConfig{Stream: "WQ", Subject: "wq"})
	require.ErrorContains(t, err, "retention")
	_, err = vsync.NewNATSSink(ctx, nc, &vsync.NATSConfig{Stream: "WQ", Subject: "other"})
	require.ErrorContains(t, err, "not other.>")
	_, err = vsync.NewNATSSink(ctx, nc, &vsync.NATSConfig{Subject: "a.*"})
	require.ErrorContains(t, err, "without wildcards")

	// The operator's limits are kept.
	_, err = js.CreateStream(ctx, jetstream.StreamConfig{Name: "OPS", Subjects: []string{"ops.>"}, Storage: jetstream.FileStorage, MaxAge: 24 * time.Hour * 365})
	require.NoError(t, err)
	sink, err := vsync.NewNATSSink(ctx, nc, &vsync.NATSConfig{Stream: "OPS", Subject: "ops"})
	require.NoError(t, err)
	require.Equal(t, 24*time.Hour*365, sink.Stream().CachedInfo().Config.MaxAge)
}
