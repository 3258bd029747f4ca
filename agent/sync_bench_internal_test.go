package agent

import (
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/voxward/voxward/capture"
	vsync "github.com/voxward/voxward/sync"
	"github.com/voxward/voxward/vault"
)

// BenchmarkSyncSeal measures the box's whole seal: a real vault file,
// records appended to the outbox, then one transaction that reads them,
// compresses, digests, signs, stores the batch and deletes them. Each
// batch holds an hour of a busy box: 24 sessions' two records and a
// device_health record.
func BenchmarkSyncSeal(b *testing.B) {
	dir := b.TempDir()
	kp := filepath.Join(dir, vault.MasterKeyFile)
	if err := vault.CreateKeyFile(kp); err != nil {
		b.Fatal(err)
	}
	pub, err := CreateDeviceKey(filepath.Join(dir, DeviceKeyFile))
	if err != nil {
		b.Fatal(err)
	}
	s, err := vault.Open(filepath.Join(dir, vault.VaultFile), &vault.Options{Key: vault.FileKey(kp), OutboxMaxBytes: DefaultOutboxMaxBytes})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	cfg := DefaultConfig()
	cfg.StateDir = dir
	j := newSyncJob(&cfg, capture.SystemClock{}, slog.New(slog.DiscardHandler))
	j.open(s, DeviceID(pub), pub)
	at := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	var lines [][]byte
	for i := range 24 {
		l, _ := j.deid.SessionStats(vsync.SessionObservation{Started: at, Stopped: at.Add(time.Duration(i) * time.Minute), Participants: 30, Enrolled: 6, Turns: 100 + i})
		lines = append(lines, l)
		l, _ = j.deid.AudioQuality(vsync.AudioObservation{Started: at, Seconds: float64(60 * i), RMSDBFS: -21})
		lines = append(lines, l)
	}
	l, _ := j.deid.DeviceHealth(vsync.HealthObservation{At: at, Version: "v1"})
	lines = append(lines, l)
	var body int
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		for _, l := range lines {
			j.append(vsync.TypeSessionStats, l)
		}
		b.StartTimer()
		st, ok, err := j.seal(syncActor)
		if err != nil || !ok {
			b.Fatal(ok, err)
		}
		body = len(st.Body)
		b.StopTimer()
		if err := s.AckBatch(syncActor, st.ID); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "batches/s")
	b.ReportMetric(float64(body), "body-bytes")
}
