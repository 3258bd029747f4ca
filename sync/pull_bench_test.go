package sync_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	vsync "github.com/voxward/voxward/sync"
)

// templateRecords makes n records shaped like de-identified templates: 192
// values of three decimals each (~1.3 kB of JSON a record).
func templateRecords(rng *rand.Rand, n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		b := []byte(`{"type":"template","model":"gsvfuse-v2","v":[`)
		for j := range 192 {
			if j > 0 {
				b = append(b, ',')
			}
			b = strconv.AppendFloat(b, rng.NormFloat64()*0.07, 'f', 3, 64)
		}
		out[i] = append(b, "]}"...)
	}
	return out
}

// BenchmarkPull10Boxes is the puller's throughput from 10 simulated boxes
// on loopback (real HTTP, the protocol handler, bearer tokens) into each
// sink: one op pulls 10 batches from each box (100 batches), verified,
// stored durably and acknowledged. Sealing the next batches is not timed.
// jetstream is a real in-process nats-server with file storage and
// sync_interval always (fsync before each publish acknowledgement);
// jetstream-nosync is the server's default sync interval, for comparison.
func BenchmarkPull10Boxes(b *testing.B) {
	for _, records := range []int{20, 200} {
		for _, sinkName := range []string{"dir", "jetstream", "jetstream-nosync"} {
			b.Run(fmt.Sprintf("%s/records=%d", sinkName, records), func(b *testing.B) {
				var sink vsync.Sink
				switch sinkName {
				case "dir":
					s, err := vsync.NewDirSink(b.TempDir())
					require.NoError(b, err)
					sink = s
				default:
					opts := natsOpts(b.TempDir(), -1)
					opts.SyncAlways = sinkName == "jetstream"
					srv := startNATS(b, opts)
					sink, _ = natsSink(b, srv.ClientURL())
				}
				fleet := newFleet(b, 10, 0)
				p := newPuller(b, sink, filepath.Join(b.TempDir(), "known.json"))
				rng := rand.New(rand.NewPCG(1, 2))
				recs := templateRecords(rng, records)
				var bytes int64
				ctx := context.Background()
				batches := 0
				for b.Loop() {
					b.StopTimer()
					for _, box := range fleet {
						for range 10 {
							box.seq++
							bt, err := vsync.Seal(box.Key, box.Device(), fmt.Sprintf("b-%06d", box.seq), time.Now(), recs)
							require.NoError(b, err)
							box.Store.Add(bt)
						}
					}
					b.StartTimer()
					s := vsync.Summarize(p.PullAll(ctx, boxesOf(fleet)))
					if s.Stored != 100 || s.BoxesFailed != 0 {
						b.Fatalf("a round stored %d batches, %d boxes failed", s.Stored, s.BoxesFailed)
					}
					bytes += s.Bytes
					batches += s.Stored
				}
				sec := b.Elapsed().Seconds()
				b.ReportMetric(float64(batches)/sec, "batches/s")
				b.ReportMetric(float64(bytes)/sec/1e6, "MB/s")
				b.ReportMetric(float64(bytes)/float64(batches), "bytes/batch")
			})
		}
	}
}
