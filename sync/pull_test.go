package sync_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	vsync "github.com/voxward/voxward/sync"
)

// requireInDir checks that every batch of sealed is in the directory sink,
// byte for byte.
func requireInDir(t *testing.T, s *vsync.DirSink, sealed []vsync.Batch) {
	t.Helper()
	for _, b := range sealed {
		bodyP, sigP, manP := s.Paths(b.Manifest.Device, b.Manifest.BatchID)
		body, err := os.ReadFile(bodyP)
		require.NoError(t, err)
		require.Equal(t, b.Body, body)
		man, err := os.ReadFile(manP)
		require.NoError(t, err)
		require.Equal(t, b.ManifestBytes, man, "the manifest's exact signed bytes")
		_, err = os.Stat(sigP)
		require.NoError(t, err)
	}
}

// The whole path into the directory sink: three boxes drained, every
// batch stored once and acknowledged, keys pinned; a batch served again
// (its acknowledgement was lost) is a duplicate, acknowledged again and
// not rewritten.
func TestPullIntoDirectory(t *testing.T) {
	fleet := newFleet(t, 3, 5)
	var sealed []vsync.Batch
	for _, b := range fleet {
		bs, _ := b.Store.Batches(0, 0)
		for _, s := range bs {
			sealed = append(sealed, s.Batch)
		}
	}
	out := t.TempDir()
	sink, err := vsync.NewDirSink(out)
	require.NoError(t, err)
	known := filepath.Join(out, "known-devices.json")
	p := newPuller(t, sink, known)
	p.PageSize = 2 // several pages per box

	rs := p.PullAll(context.Background(), boxesOf(fleet))
	sum := vsync.Summarize(rs)
	require.Equal(t, vsync.Summary{Boxes: 3, Stored: 15}, vsync.Summary{Boxes: sum.Boxes, Stored: sum.Stored, Duplicates: sum.Duplicates, Failed: sum.Failed, BoxesFailed: sum.BoxesFailed})
	require.Positive(t, sum.Bytes)
	for _, r := range rs {
		require.NoError(t, r.Err())
		require.True(t, r.FirstUse)
	}
	for _, b := range fleet {
		require.Zero(t, b.Store.Len(), "every batch acknowledged")
	}
	requireInDir(t, sink, sealed)
	st, err := os.Stat(known)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), st.Mode().Perm())

	// The acknowledgement of one batch was lost: the box serves it again.
	bodyP, _, _ := sink.Paths(sealed[0].Manifest.Device, sealed[0].Manifest.BatchID)
	before, err := os.Stat(bodyP)
	require.NoError(t, err)
	fleet[0].Store.Add(sealed[0])
	p2 := newPuller(t, sink, known) // a restarted puller reads the pins
	rs = p2.PullAll(context.Background(), boxesOf(fleet))
	sum = vsync.Summarize(rs)
	require.Equal(t, 0, sum.Stored)
	require.Equal(t, 1, sum.Duplicates)
	require.False(t, rs[0].FirstUse)
	require.Zero(t, fleet[0].Store.Len())
	after, err := os.Stat(bodyP)
	require.NoError(t, err)
	require.Equal(t, before.ModTime(), after.ModTime(), "a duplicate is not written again")
}

// A box whose key changed is refused loudly, naming the device and both
// fingerprints, and nothing of it is stored or acknowledged.
func TestPullKeyChangeRefused(t *testing.T) {
	box := newSimBox(t, "hall")
	box.seal(t, 3)
	out := t.TempDir()
	sink, err := vsync.NewDirSink(out)
	require.NoError(t, err)
	known := filepath.Join(out, "known.json")
	r := newPuller(t, sink, known).PullBox(context.Background(), box.Box())
	require.NoError(t, r.Err())
	oldDevice, oldPub := box.Device(), box.Pub

	// Re-keyed (or impersonated): same name and address, new key.
	pub, key, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	box.kill()
	box.Key, box.Pub, box.Store = key, pub, &vsync.MemStore{}
	box.serve(t, nil)
	box.seal(t, 3)
	r = newPuller(t, sink, known).PullBox(context.Background(), box.Box())
	require.ErrorIs(t, r.Err(), vsync.ErrKeyChanged)
	msg := r.Err().Error()
	for _, want := range []string{"hall", oldDevice, vsync.Fingerprint(oldPub), vsync.Fingerprint(pub), vsync.DeviceID(pub)} {
		assert.Contains(t, msg, want)
	}
	require.Equal(t, 1, box.Store.Len(), "nothing acknowledged")
	_, err = os.Stat(filepath.Join(out, vsync.DeviceID(pub)))
	require.ErrorIs(t, err, os.ErrNotExist, "nothing stored")
}

// bomb is a correctly signed batch whose small body inflates past any
// sane cap.
func bomb(t *testing.T, key ed25519.PrivateKey, id string) vsync.Batch {
	t.Helper()
	enc, err := zstd.NewWriter(nil)
	require.NoError(t, err)
	line := append(bytes.Repeat([]byte(" "), 1000), "{}\n"...)
	body := enc.EncodeAll(bytes.Repeat(line, 128<<10), nil) // 128 MB
	m := vsync.Manifest{BatchID: id, Schema: vsync.Schema, Device: vsync.DeviceID(key.Public().(ed25519.PublicKey)),
		Created: time.Now().UTC().Truncate(time.Hour), Records: 128 << 10, Bytes: int64(len(body)), SHA256: vsync.Digest(body)}
	mb, err := json.Marshal(m)
	require.NoError(t, err)
	return vsync.Batch{Manifest: m, ManifestBytes: mb, Signature: ed25519.Sign(key, mb), Body: body}
}

// A zstd bomb, a body that does not match its manifest, and a manifest
// whose signature fails are each reported clearly and not acknowledged;
// the good batches around them are stored.
func TestPullRefusesHostileBatches(t *testing.T) {
	box := newSimBox(t, "hall")
	good1 := box.seal(t, 2)
	box.Store.Add(bomb(t, box.Key, "bomb"))
	tampered := box.seal(t, 2)
	box.Store.Ack(tampered.Manifest.BatchID)
	tampered.Body = bytes.Clone(tampered.Body)
	tampered.Body[len(tampered.Body)-1] ^= 1
	box.Store.Add(tampered)
	forged := box.seal(t, 2)
	box.Store.Ack(forged.Manifest.BatchID)
	forged.Signature = bytes.Clone(forged.Signature)
	forged.Signature[0] ^= 1
	box.Store.Add(forged)
	good2 := box.seal(t, 2)

	sink, err := vsync.NewDirSink(t.TempDir())
	require.NoError(t, err)
	p := newPuller(t, sink, filepath.Join(t.TempDir(), "known.json"))
	p.MaxDecompressed = 8 << 20
	r := p.PullBox(context.Background(), box.Box())
	require.Equal(t, 2, r.Stored)
	require.Equal(t, 3, r.Failed)
	require.ErrorIs(t, r.Err(), vsync.ErrTooLarge)
	require.ErrorIs(t, r.Err(), vsync.ErrDigest)
	require.ErrorIs(t, r.Err(), vsync.ErrSignature)
	assert.Contains(t, r.Err().Error(), "batch bomb: read ")
	assert.Contains(t, r.Err().Error(), "with a cap of 8388608 decompressed: batch over its size limit")
	requireInDir(t, sink, []vsync.Batch{good1, good2})
	left, _ := box.Store.Batches(0, 0)
	var ids []string
	for _, s := range left {
		ids = append(ids, s.Batch.Manifest.BatchID)
	}
	require.Equal(t, []string{"bomb", tampered.Manifest.BatchID, forged.Manifest.BatchID}, ids, "refused batches stay on the box")
}

// A different body under an id the sink already holds is a loud conflict
// and is not acknowledged.
func TestPullConflict(t *testing.T) {
	box := newSimBox(t, "hall")
	first := box.seal(t, 2)
	dir := t.TempDir()
	sink, err := vsync.NewDirSink(dir)
	require.NoError(t, err)
	p := newPuller(t, sink, filepath.Join(dir, "known.json"))
	require.NoError(t, p.PullBox(context.Background(), box.Box()).Err())

	again, err := vsync.Seal(box.Key, box.Device(), first.Manifest.BatchID, time.Now(), [][]byte{[]byte(`{"other":1}`)})
	require.NoError(t, err)
	box.Store.Add(again)
	r := p.PullBox(context.Background(), box.Box())
	require.ErrorIs(t, r.Err(), vsync.ErrConflict)
	assert.Contains(t, r.Err().Error(), first.Manifest.SHA256)
	require.Equal(t, 1, box.Store.Len())
}

// A wrong token is the box's refusal, reported, nothing pinned.
func TestPullWrongToken(t *testing.T) {
	box := newSimBox(t, "hall")
	box.seal(t, 1)
	sink, err := vsync.NewDirSink(t.TempDir())
	require.NoError(t, err)
	known := filepath.Join(t.TempDir(), "known.json")
	b := box.Box()
	b.Token = "wrong-secret"
	r := newPuller(t, sink, known).PullBox(context.Background(), b)
	require.ErrorIs(t, r.Err(), vsync.ErrBox)
	assert.Contains(t, r.Err().Error(), "401")
	assert.NotContains(t, r.Err().Error(), "wrong-secret")
	_, err = os.Stat(known)
	require.ErrorIs(t, err, os.ErrNotExist)
}

// Two pullers on one fleet of 10 boxes, at the same time, into one
// JetStream stream: every batch lands once, and the two pullers' stored
// counts add up to the number of batches.
func TestTwoPullersJetStream(t *testing.T) {
	fleet := newFleet(t, 10, 8)
	srv := startNATS(t, nil)
	sinkA, _ := natsSink(t, srv.ClientURL())
	sinkB, _ := natsSink(t, srv.ClientURL())
	pa := newPuller(t, sinkA, filepath.Join(t.TempDir(), "a.json"))
	pb := newPuller(t, sinkB, filepath.Join(t.TempDir(), "b.json"))
	pa.PageSize, pb.PageSize = 3, 3
	sums := twoPullers(t, pa, pb, fleet)
	require.Equal(t, 80, sums[0].Stored+sums[1].Stored, "each batch stored by exactly one puller: %+v", sums)
	counts := streamCounts(t, sinkA)
	require.Len(t, counts, 80)
	for subj, n := range counts {
		require.Equal(t, 1, n, subj)
	}
	for _, b := range fleet {
		require.Zero(t, b.Store.Len())
	}
}

// The same with two pullers sharing one output directory.
func TestTwoPullersDirectory(t *testing.T) {
	fleet := newFleet(t, 10, 8)
	dir := t.TempDir()
	sinkA, err := vsync.NewDirSink(dir)
	require.NoError(t, err)
	sinkB, err := vsync.NewDirSink(dir)
	require.NoError(t, err)
	pa := newPuller(t, sinkA, filepath.Join(t.TempDir(), "a.json"))
	pb := newPuller(t, sinkB, filepath.Join(t.TempDir(), "b.json"))
	sums := twoPullers(t, pa, pb, fleet)
	require.Equal(t, 80, sums[0].Stored+sums[1].Stored, "%+v", sums)
	n := 0
	require.NoError(t, filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if strings.HasSuffix(p, ".manifest.json") {
			n++
		}
		if strings.Contains(filepath.Base(p), ".tmp-") {
			t.Errorf("temporary file left: %s", p)
		}
		return err
	}))
	require.Equal(t, 80, n)
}

// twoPullers runs both pullers over the fleet at once until the fleet is
// empty and returns their summaries.
func twoPullers(t *testing.T, pa, pb *vsync.Puller, fleet []*simBox) [2]vsync.Summary {
	t.Helper()
	var sums [2]vsync.Summary
	for range 5 {
		var wg gosync.WaitGroup
		for i, p := range []*vsync.Puller{pa, pb} {
			wg.Go(func() {
				s := vsync.Summarize(p.PullAll(context.Background(), boxesOf(fleet)))
				sums[i].Stored += s.Stored
				sums[i].Duplicates += s.Duplicates
				sums[i].Failed += s.Failed
				sums[i].BoxesFailed += s.BoxesFailed
				sums[i].Gone += s.Gone
			})
		}
		wg.Wait()
		left := 0
		for _, b := range fleet {
			left += b.Store.Len()
		}
		if left == 0 {
			break
		}
	}
	require.Zero(t, sums[0].Failed+sums[1].Failed)
	require.Zero(t, sums[0].BoxesFailed+sums[1].BoxesFailed, "a batch the other puller took is no failure")
	t.Logf("puller A %+v, puller B %+v", sums[0], sums[1])
	return sums
}
