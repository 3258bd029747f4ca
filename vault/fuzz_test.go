package vault

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
	"time"
)

func sampleRecords() []any {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	id := ID{1, 2, 3}
	return []any{
		&Subject{ID: id, DisplayName: "N", Contact: "C", Status: StatusActive, Created: now, LastInteraction: now, DeletionTokenHash: make([]byte, 32)},
		&Consent{ID: id, SubjectID: id, Seq: 1, Kind: ConsentGrant, DisclosureSHA256: "ab", Purposes: []Purpose{PurposeRecognition}, Signature: "S", Time: now},
		&templateWire{Template: Template{ID: id, SubjectID: id, ModelID: "m", Quality: map[string]float64{"snr": 3}, Created: now}, Vec: float32sToBytes([]float32{1, 2, 3})},
		&Recording{ID: id, SubjectID: id, Format: "wav", SampleRate: 16000, Bytes: 2, Chunks: 1, Created: now},
		&deidWire{DeidTemplate: DeidTemplate{ID: id, ModelID: "m", LastInteraction: now, DeletionTokenHash: make([]byte, 32)}, Vec: float32sToBytes([]float32{1})},
		&Session{ID: id, Title: "T", Participants: []ID{id}, Started: now, Turns: map[string]TurnStats{"x": {Turns: 2, Seconds: 3}}},
		&tokenWire{Token: Token{ID: id, Role: RoleAdmin, Created: now}, Hash: make([]byte, 32)},
		&OutboxEntry{Seq: 9, Kind: "stats", Payload: []byte("{}"), Created: now},
	}
}

// FuzzDecodeRecord feeds arbitrary plaintext to every record decoder: a
// typed error (ErrCorrupt) or a value that survives a round trip, never a
// panic.
func FuzzDecodeRecord(f *testing.F) {
	for _, r := range sampleRecords() {
		b, err := json.Marshal(r)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		f.Add(b[:len(b)/2])
	}
	f.Add([]byte(`{"vec":"AAE="}`))
	f.Add([]byte(`null`))
	f.Add([]byte{0xff, 0xfe})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 1<<16 {
			return
		}
		for _, k := range kinds {
			if k.raw {
				continue // sealed bytes, no decoder
			}
			v := newRecord(k)
			err := decodeRecord(data, v)
			if err != nil {
				if !errors.Is(err, ErrCorrupt) {
					t.Fatalf("decode %s: untyped error %v", k.name, err)
				}
				continue
			}
			switch w := v.(type) {
			case *templateWire:
				_ = w.template()
			case *deidWire:
				_ = w.deid()
			}
			b, err := json.Marshal(v)
			if err != nil {
				continue // e.g. a NaN that JSON cannot hold; decoding was still safe
			}
			if err := decodeRecord(b, newRecord(k)); err != nil {
				t.Fatalf("decode %s: round trip of %q fails: %v", k.name, b, err)
			}
		}
	})
}

// FuzzOpenValue feeds arbitrary sealed values to the envelope: only the
// exact sealed bytes open; anything else is ErrCorrupt or ErrSchemaTooNew.
func FuzzOpenValue(f *testing.F) {
	dek := bytes.Repeat([]byte{7}, keySize)
	key := bytes.Repeat([]byte{1}, 32)
	pt := []byte(`{"id":"01020300000000000000000000000000"}`)
	sealed, err := sealValue(dek, kTemplate.bucket, key, kTemplate.typ, SchemaVersion, pt)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(sealed)
	f.Add(sealed[:recHeader])
	f.Add(sealed[:len(sealed)-1])
	f.Add([]byte{formatV1, 0xff, 0xff})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 1<<16 {
			return
		}
		got, err := openValue(dek, kTemplate.bucket, key, kTemplate.typ, SchemaVersion, data)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrSchemaTooNew) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if !bytes.Equal(got, pt) {
			t.Fatalf("forged value opened to %q", got)
		}
		// The same bytes under another key, bucket or type must not open.
		other := append(bytes.Clone(key[:16]), bytes.Repeat([]byte{2}, 16)...)
		if _, err := openValue(dek, kTemplate.bucket, other, kTemplate.typ, SchemaVersion, data); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("moved value opened: %v", err)
		}
		if _, err := openValue(dek, kRecording.bucket, key, kTemplate.typ, SchemaVersion, data); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("value in another bucket opened: %v", err)
		}
		if _, err := openValue(dek, kTemplate.bucket, key, kRecording.typ, SchemaVersion, data); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("value as another type opened: %v", err)
		}
	})
}
