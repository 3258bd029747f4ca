package vault

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

const benchPlainBucket = "bench_plain"

// benchStore opens a vault with one subject and a plaintext bucket beside
// the sealed ones, so that both kinds of write go to the same file.
func benchStore(b *testing.B) (*Store, ID) {
	b.Helper()
	dir := b.TempDir()
	kp := filepath.Join(dir, MasterKeyFile)
	if err := CreateKeyFile(kp); err != nil {
		b.Fatal(err)
	}
	s, err := Open(filepath.Join(dir, VaultFile), &Options{Key: FileKey(kp)})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	sub, _, err := s.CreateSubject(SystemActor, NewSubject{DisplayName: "Bench", Consent: Consent{
		Kind: ConsentGrant, DisclosureSHA256: strings.Repeat("ab", 32), Signature: "B", Purposes: []Purpose{PurposeRecognition}}})
	if err != nil {
		b.Fatal(err)
	}
	if err := s.db.Load().Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists([]byte(benchPlainBucket))
		return err
	}); err != nil {
		b.Fatal(err)
	}
	return s, sub.ID
}

// writeRecords writes n template records (192-dim) in one transaction,
// sealed under the subject's data key or as plaintext JSON.
func writeRecords(s *Store, subject ID, n int, sealed bool, emb []float32) error {
	now := time.Now().UTC()
	return s.update(func(t *txn) error {
		for range n {
			w := templateWire{Template: Template{ID: NewID(), SubjectID: subject, ModelID: "bench-v1", Created: now, LastUsed: now}, Vec: float32sToBytes(emb)}
			key := pairKey(subject, w.ID)
			if sealed {
				if err := t.put(kTemplate, key, &w); err != nil {
					return err
				}
				continue
			}
			pt, err := json.Marshal(&w)
			if err != nil {
				return err
			}
			if err := t.tx.Bucket([]byte(benchPlainBucket)).Put(key, pt); err != nil {
				return err
			}
		}
		return nil
	})
}

func benchEmbedding() []float32 {
	v := make([]float32, 192)
	for i := range v {
		v[i] = float32(i%17) / 17
	}
	return v
}

var benchBatches = []struct {
	name string
	n    int
}{{"unbatched", 1}, {"batched100", 100}}

// BenchmarkWrite measures record writes per second, sealed and plaintext,
// one record per transaction (each an fsync) and 100 per transaction.
func BenchmarkWrite(b *testing.B) {
	emb := benchEmbedding()
	for _, bt := range benchBatches {
		for _, mode := range []string{"sealed", "plain"} {
			b.Run(bt.name+"/"+mode, func(b *testing.B) {
				s, sub := benchStore(b)
				b.ReportAllocs()
				start := time.Now()
				n := 0
				for b.Loop() {
					if err := writeRecords(s, sub, bt.n, mode == "sealed", emb); err != nil {
						b.Fatal(err)
					}
					n += bt.n
				}
				b.ReportMetric(float64(n)/time.Since(start).Seconds(), "writes/s")
			})
		}
	}
}

// BenchmarkSealCost interleaves sealed and plaintext transactions of the
// same records in one run and reports the cost of encryption as the ratio
// of their times (sealed/plain; 1.0 means free).
func BenchmarkSealCost(b *testing.B) {
	emb := benchEmbedding()
	for _, bt := range benchBatches {
		b.Run(bt.name, func(b *testing.B) {
			s, sub := benchStore(b)
			var sealed, plain time.Duration
			for b.Loop() {
				t0 := time.Now()
				if err := writeRecords(s, sub, bt.n, true, emb); err != nil {
					b.Fatal(err)
				}
				t1 := time.Now()
				if err := writeRecords(s, sub, bt.n, false, emb); err != nil {
					b.Fatal(err)
				}
				sealed += t1.Sub(t0)
				plain += time.Since(t1)
			}
			b.ReportMetric(float64(sealed)/float64(plain), "sealed/plain")
		})
	}
}

// BenchmarkAddTemplate is the whole public path: subject check, seal,
// audit entry, signed checkpoint, fsync.
func BenchmarkAddTemplate(b *testing.B) {
	s, sub := benchStore(b)
	emb := benchEmbedding()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.AddTemplate(SystemActor, sub, Template{Embedding: emb, ModelID: "bench-v1"}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSeal is the envelope alone: seal and open one template-sized
// record (the JSON of a 192-dim template) under a data key.
func BenchmarkSeal(b *testing.B) {
	dek := randomBytes(keySize)
	w := templateWire{Template: Template{ID: NewID(), ModelID: "bench-v1"}, Vec: float32sToBytes(benchEmbedding())}
	pt, err := json.Marshal(&w)
	if err != nil {
		b.Fatal(err)
	}
	key := pairKey(NewID(), w.ID)
	b.SetBytes(int64(len(pt)))
	b.ReportAllocs()
	for b.Loop() {
		v, err := sealValue(dek, kTemplate.bucket, key, kTemplate.typ, SchemaVersion, pt)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := openValue(dek, kTemplate.bucket, key, kTemplate.typ, SchemaVersion, v); err != nil {
			b.Fatal(err)
		}
	}
}
