package sync_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"
	"github.com/stretchr/testify/require"

	vsync "github.com/voxward/voxward/sync"
)

func sealed(t testing.TB, records ...string) (ed25519.PublicKey, vsync.Batch) {
	t.Helper()
	pub, key, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	var rs [][]byte
	for _, r := range records {
		rs = append(rs, []byte(r))
	}
	b, err := vsync.Seal(key, "vx-0123456789abcdef", "b-000001", time.Date(2026, 11, 29, 18, 42, 7, 0, time.UTC), rs)
	require.NoError(t, err)
	return pub, b
}

func TestSealRoundTrip(t *testing.T) {
	pub, b := sealed(t, `{"type":"session_stats","sessions":3}`, `{"type":"device_health","uptime_h":12}`)
	m, err := vsync.VerifyManifest(pub, b.ManifestBytes, b.Signature)
	require.NoError(t, err)
	require.Equal(t, b.Manifest, m)
	require.Equal(t, time.Date(2026, 11, 29, 18, 0, 0, 0, time.UTC), m.Created, "created is truncated to the hour")
	require.Equal(t, 2, m.Records)
	recs, err := vsync.ReadRecords(m, b.Body, 0)
	require.NoError(t, err)
	require.JSONEq(t, `{"type":"device_health","uptime_h":12}`, string(recs[1]))
}

func TestVerifyRefuses(t *testing.T) {
	pub, b := sealed(t, `{"type":"x"}`)
	other, _, _ := ed25519.GenerateKey(rand.Reader)
	_, err := vsync.VerifyManifest(other, b.ManifestBytes, b.Signature)
	require.ErrorIs(t, err, vsync.ErrSignature)

	changed := bytes.Replace(b.ManifestBytes, []byte(`"records":1`), []byte(`"records":2`), 1)
	_, err = vsync.VerifyManifest(pub, changed, b.Signature)
	require.ErrorIs(t, err, vsync.ErrSignature)

	body := bytes.Clone(b.Body)
	body[len(body)-1] ^= 1
	_, err = vsync.ReadRecords(b.Manifest, body, 0)
	require.ErrorIs(t, err, vsync.ErrDigest)
	_, err = vsync.ReadRecords(b.Manifest, b.Body[:len(b.Body)-1], 0)
	require.ErrorIs(t, err, vsync.ErrDigest, "a truncated body")
}

func TestSealRefusesMultiLineRecords(t *testing.T) {
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	_, err := vsync.Seal(key, "vx-1", "b1", time.Now(), [][]byte{[]byte("{\n}")})
	require.ErrorIs(t, err, vsync.ErrMalformed)
	_, err = vsync.Seal(key, "vx-1", "../b1", time.Now(), nil)
	require.ErrorIs(t, err, vsync.ErrMalformed)
}

// A small body that inflates past the cap is refused, never inflated whole.
func TestZstdBombRefused(t *testing.T) {
	enc, _ := zstd.NewWriter(nil)
	line := append(bytes.Repeat([]byte(" "), 1000), []byte("{}\n")...)
	plain := bytes.Repeat(line, 64<<10) // 64 MB of whitespace-padded records
	body := enc.EncodeAll(plain, nil)
	require.Less(t, len(body), 1<<20)
	m := vsync.Manifest{BatchID: "b1", Schema: vsync.Schema, Device: "vx-1", Records: 64 << 10, Bytes: int64(len(body)), SHA256: vsync.Digest(body)}
	_, err := vsync.ReadRecords(m, body, 8<<20)
	require.ErrorIs(t, err, vsync.ErrTooLarge)
}

func FuzzParseManifest(f *testing.F) {
	_, b := sealed(f, `{"type":"x"}`)
	f.Add(b.ManifestBytes)
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"batch_id":"a","schema":"voxward.batch/1","device":"d","records":-1}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := vsync.ParseManifest(data)
		if err != nil {
			return
		}
		again, err := json.Marshal(m)
		require.NoError(t, err)
		m2, err := vsync.ParseManifest(again)
		require.NoError(t, err, "a parsed manifest re-encodes to a valid one")
		require.Equal(t, m, m2)
	})
}

func FuzzReadRecords(f *testing.F) {
	_, b := sealed(f, `{"type":"x"}`, `[1,2]`)
	f.Add(b.Body, 2)
	f.Add([]byte{0x28, 0xb5, 0x2f, 0xfd}, 0)
	f.Fuzz(func(t *testing.T, body []byte, records int) {
		m := vsync.Manifest{BatchID: "b", Schema: vsync.Schema, Device: "d", Records: records, Bytes: int64(len(body)), SHA256: vsync.Digest(body)}
		recs, err := vsync.ReadRecords(m, body, 1<<20)
		if err == nil {
			require.Len(t, recs, records)
		}
	})
}
