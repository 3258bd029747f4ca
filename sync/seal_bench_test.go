package sync_test

import (
	"crypto/ed25519"
	"math/rand/v2"
	"testing"
	"time"

	vsync "github.com/voxward/voxward/sync"
)

// benchRecords is a batch's worth of records: aggregates (the session
// and audio records of sessions sessions, an hour's device health) and
// templates research templates of dimension dim.
func benchRecords(b *testing.B, sessions, templates, dim int) (recs [][]byte, plain int) {
	d := vsync.Deidentifier{Rand: chacha(9)}
	at := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	for i := range sessions {
		l, err := d.SessionStats(vsync.SessionObservation{Started: at, Stopped: at.Add(time.Duration(i) * time.Minute), Participants: 20 + i%30, Enrolled: 5 + i%7, Turns: 100 + i})
		if err != nil {
			b.Fatal(err)
		}
		recs = append(recs, l)
		l, err = d.AudioQuality(vsync.AudioObservation{Started: at, Seconds: float64(60 * i), RMSDBFS: -20 - float64(i%9)})
		if err != nil {
			b.Fatal(err)
		}
		recs = append(recs, l)
	}
	l, _ := d.DeviceHealth(vsync.HealthObservation{At: at, Version: "v1.0.0", Uptime: 30 * time.Hour, VaultBytes: 64 << 20})
	recs = append(recs, l)
	if templates > 0 {
		r := rand.New(rand.NewPCG(1, 2))
		vecs := make([][]float32, templates)
		for i := range vecs {
			vecs[i] = make([]float32, dim)
			for k := range vecs[i] {
				vecs[i][k] = float32(r.NormFloat64() / 175)
			}
		}
		tr, err := vsync.TemplateRecords("m1", vecs, 1, chacha(3))
		if err != nil {
			b.Fatal(err)
		}
		recs = append(recs, tr...)
	}
	for _, r := range recs {
		plain += len(r) + 1
	}
	return recs, plain
}

// BenchmarkSeal measures sealing on the box: JSON Lines → zstd → SHA-256
// → signed manifest. MB/s is of the uncompressed JSON Lines; batches/s
// and the compressed size are reported beside.
func BenchmarkSeal(b *testing.B) {
	_, key, _ := ed25519.GenerateKey(nil)
	for _, c := range []struct {
		name                     string
		sessions, templates, dim int
	}{
		{"aggregates=24", 24, 0, 0},
		{"aggregates=24/templates=10/dim=512", 24, 10, 512},
		{"aggregates=24/templates=10/dim=30720", 24, 10, 30720},
	} {
		b.Run(c.name, func(b *testing.B) {
			recs, plain := benchRecords(b, c.sessions, c.templates, c.dim)
			b.SetBytes(int64(plain))
			b.ReportAllocs()
			var size int
			n := 0
			for b.Loop() {
				bt, err := vsync.Seal(key, "vx-0123456789abcdef", vsync.NewBatchID(), time.Now(), recs)
				if err != nil {
					b.Fatal(err)
				}
				size = len(bt.Body)
				n++
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "batches/s")
			b.ReportMetric(float64(size), "body-bytes")
			b.ReportMetric(float64(plain)/float64(size), "ratio")
		})
	}
}
