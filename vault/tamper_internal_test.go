package vault

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	bolt "go.etcd.io/bbolt"
)

var actor = Actor{TokenID: "t1", Role: "technician", Purpose: "test"}

func testConsent() Consent {
	return Consent{Kind: ConsentGrant, DisclosureSHA256: strings.Repeat("cd", 32), Signature: "Sig", Purposes: []Purpose{PurposeRecognition, PurposeResearch}}
}

// fixture opens a vault holding one record of every kind.
func fixture(t *testing.T) (*Store, string, *Options) {
	t.Helper()
	dir := t.TempDir()
	kp := filepath.Join(dir, MasterKeyFile)
	require.NoError(t, CreateKeyFile(kp))
	o := &Options{Key: FileKey(kp)}
	path := filepath.Join(dir, VaultFile)
	s, err := Open(path, o)
	require.NoError(t, err)
	sub, tok, err := s.CreateSubject(actor, NewSubject{DisplayName: "Dana", Contact: "dana@example.org", Consent: testConsent()})
	require.NoError(t, err)
	emb := []float32{0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8}
	_, err = s.AddTemplate(actor, sub.ID, Template{Embedding: emb, ModelID: "m1"})
	require.NoError(t, err)
	_, err = s.AddRecording(actor, sub.ID, Recording{Format: "wav", SampleRate: 16000, Audio: bytes.Repeat([]byte{7}, 300)})
	require.NoError(t, err)
	_, err = s.CreateSession(actor, "Panel", []ID{sub.ID})
	require.NoError(t, err)
	_, _, err = s.CreateToken(actor, RoleKiosk)
	require.NoError(t, err)
	_, err = s.AppendOutbox(OutboxEntry{Kind: "stats", Payload: []byte(`{"n":2}`)})
	require.NoError(t, err)
	// A sealed sync batch, of the first entry.
	_, _, err = s.SealOutbox(actor, SealOutboxOptions{}, func(in SealInput) (SealedBatch, error) {
		return SealedBatch{ID: "b1", Manifest: []byte("m"), Signature: []byte("s"), Body: in.Entries[0].Payload, Entries: []uint64{in.Entries[0].Seq}}, nil
	})
	require.NoError(t, err)
	_, err = s.AppendOutbox(OutboxEntry{Kind: "stats", Payload: []byte(`{"n":3}`)})
	require.NoError(t, err)
	require.NoError(t, s.PutSystemSecret(actor, "sync.signing_key", []byte("seed")))
	// A de-identified template: a second subject past its window.
	sub2, _, err := s.CreateSubject(actor, NewSubject{DisplayName: "Eve", Consent: testConsent()})
	require.NoError(t, err)
	_, err = s.AddTemplate(actor, sub2.ID, Template{Embedding: emb, ModelID: "m1"})
	require.NoError(t, err)
	_, err = s.deidentify(actor, sub2.ID)
	require.NoError(t, err)
	_, err = s.rotate(actor)
	require.NoError(t, err)
	_ = tok
	return s, path, o
}

// rawValues returns each kind's first stored (key, value).
func rawValues(t *testing.T, s *Store) map[string][2][]byte {
	out := map[string][2][]byte{}
	require.NoError(t, s.db.Load().View(func(tx *bolt.Tx) error {
		for _, k := range kinds {
			key, v := tx.Bucket([]byte(k.bucket)).Cursor().First()
			require.NotNilf(t, key, "fixture lacks a %s", k.name)
			out[k.name] = [2][]byte{bytes.Clone(key), bytes.Clone(v)}
		}
		return nil
	}))
	return out
}

// flipAll flips one byte of needle wherever it occurs in the file and
// returns how many occurrences there were.
func flipAll(t *testing.T, path string, needle []byte, at int) int {
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	n := 0
	for i := 0; ; {
		j := bytes.Index(raw[i:], needle)
		if j < 0 {
			break
		}
		raw[i+j+at] ^= 0x01
		i += j + len(needle)
		n++
	}
	require.NoError(t, os.WriteFile(path, raw, 0o600))
	return n
}

func TestVerifyCatchesFlippedRecordByte(t *testing.T) {
	s, path, o := fixture(t)
	vals := rawValues(t, s)
	rep, err := s.Verify()
	require.NoError(t, err)
	require.True(t, rep.OK(), rep.Problems)
	require.NoError(t, s.Close())
	pristine, err := os.ReadFile(path)
	require.NoError(t, err)

	for _, k := range kinds {
		for _, at := range []int{0, 2, recHeader + 1, -1} { // format, schema, ciphertext, tag
			t.Run(fmt.Sprintf("%s/%d", k.bucket, at), func(t *testing.T) {
				require.NoError(t, os.WriteFile(path, pristine, 0o600))
				v := vals[k.name][1]
				pos := at
				if at < 0 {
					pos = len(v) - 1
				}
				require.Positive(t, flipAll(t, path, v, pos))
				s, err := Open(path, o)
				require.NoError(t, err)
				defer s.Close()
				rep, err := s.Verify()
				require.NoError(t, err)
				require.False(t, rep.OK())
				assert.Contains(t, strings.Join(rep.Problems, "\n"), k.name+" "+recordName(vals[k.name][0]))
			})
		}
	}
}

func TestMovedOrSwappedCiphertextFails(t *testing.T) {
	s, _, _ := fixture(t)
	defer s.Close()
	// Copy the subject's sealed template to a new key under the same
	// subject, and its subject record into the template bucket: both are
	// sealed with the right key, but the additional data no longer fits.
	require.NoError(t, s.db.Load().Update(func(tx *bolt.Tx) error {
		tb := tx.Bucket([]byte(kTemplate.bucket))
		k, v := tb.Cursor().First()
		moved := append(bytes.Clone(k[:16]), bytes.Repeat([]byte{0xee}, 16)...)
		if err := tb.Put(moved, bytes.Clone(v)); err != nil {
			return err
		}
		sv := tx.Bucket([]byte(kSubject.bucket)).Get(k[:16])
		return tb.Put(append(bytes.Clone(k[:16]), bytes.Repeat([]byte{0xdd}, 16)...), bytes.Clone(sv))
	}))
	rep, err := s.Verify()
	require.NoError(t, err)
	require.Len(t, rep.Problems, 2, rep.Problems)
	for _, p := range rep.Problems {
		assert.Contains(t, p, "corrupt or tampered")
	}
	require.NoError(t, s.db.Load().Update(func(tx *bolt.Tx) error {
		tb := tx.Bucket([]byte(kTemplate.bucket))
		k, _ := tb.Cursor().First()
		if err := tb.Delete(append(bytes.Clone(k[:16]), bytes.Repeat([]byte{0xee}, 16)...)); err != nil {
			return err
		}
		return tb.Delete(append(bytes.Clone(k[:16]), bytes.Repeat([]byte{0xdd}, 16)...))
	}))
}

func TestVerifyCatchesFlippedAuditByte(t *testing.T) {
	s, path, o := fixture(t)
	entries, err := s.AuditEntries(0, 0)
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(entries), 10)
	require.NoError(t, s.Close())
	pristine, err := os.ReadFile(path)
	require.NoError(t, err)

	for _, seq := range []int{1, len(entries) / 2, len(entries)} {
		e := entries[seq-1]
		canon, err := jsonMarshal(e)
		require.NoError(t, err)
		// Flip a byte in the action, in the time and in the stored hash.
		for _, field := range []string{`"action":"`, `"time":"`, `"hash":"`} {
			t.Run(fmt.Sprintf("%d/%s", seq, strings.Trim(field, `":`)), func(t *testing.T) {
				require.NoError(t, os.WriteFile(path, pristine, 0o600))
				at := bytes.Index(canon, []byte(field)) + len(field) + 2
				require.Positive(t, flipAll(t, path, canon, at))
				s, err := Open(path, o)
				require.NoError(t, err)
				defer s.Close()
				rep, err := s.Verify()
				require.NoError(t, err)
				require.NotNil(t, rep.FirstBrokenAudit, rep.Problems)
				assert.Equal(t, uint64(seq), rep.FirstBrokenAudit.Seq)
				_, err = s.VerifyAudit()
				var ae *AuditError
				require.True(t, errors.As(err, &ae))
				assert.Equal(t, uint64(seq), ae.Seq)
				assert.ErrorIs(t, err, ErrAuditBroken)
			})
		}
	}
}

func TestAuditRewriteDetectedByCheckpoint(t *testing.T) {
	s, _, _ := fixture(t)
	defer s.Close()
	// Rewrite the chain consistently from entry 3 on (what an attacker
	// without the signing key could do): the links hold, the signed
	// checkpoint does not.
	require.NoError(t, s.db.Load().Update(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte(bAudit))
		prev := ""
		return b.ForEach(func(k, v []byte) error {
			var e AuditEntry
			if err := jsonUnmarshal(v, &e); err != nil {
				return err
			}
			if e.Seq >= 3 {
				e.Prev = prev
				if e.Seq == 3 {
					e.Result = "denied"
				}
				e.Hash = entryHash(e)
				nb, _ := jsonMarshal(e)
				if err := b.Put(bytes.Clone(k), nb); err != nil {
					return err
				}
			}
			prev = e.Hash
			return nil
		})
	}))
	_, err := s.VerifyAudit()
	var ae *AuditError
	require.True(t, errors.As(err, &ae), "%v", err)
	assert.Contains(t, ae.Reason, "checkpoint")

	// Truncating the tail is caught too.
	require.NoError(t, s.db.Load().Update(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte(bAudit))
		k, _ := b.Cursor().Last()
		return b.Delete(bytes.Clone(k))
	}))
	_, err = s.VerifyAudit()
	require.ErrorIs(t, err, ErrAuditBroken)
}

func TestMigrationHook(t *testing.T) {
	s, path, o := fixture(t)
	before, err := s.Stats()
	require.NoError(t, err)
	ran := 0
	err = s.migrate([]migration{{from: 1, apply: func(t *txn) error {
		ran++
		return t.meta().Put([]byte("migrated"), []byte{1})
	}}}, 2)
	require.NoError(t, err)
	require.Equal(t, 1, ran)
	// Records sealed under schema 1 still open under 2; new ones carry 2.
	rep, err := s.Verify()
	require.NoError(t, err)
	require.True(t, rep.OK(), rep.Problems)
	_, err = s.AppendOutbox(OutboxEntry{Kind: "stats", Payload: []byte("{}")})
	require.NoError(t, err)
	require.NoError(t, s.db.Load().View(func(tx *bolt.Tx) error {
		_, v := tx.Bucket([]byte(kOutbox.bucket)).Cursor().Last()
		assert.Equal(t, uint16(2), binary.BigEndian.Uint16(v[1:3]))
		return nil
	}))
	entries, err := s.AuditEntries(0, 0)
	require.NoError(t, err)
	assert.Equal(t, "schema.migrate", entries[len(entries)-1].Action)
	assert.Equal(t, "1-2", entries[len(entries)-1].RecordID)
	require.NoError(t, s.Close())

	// This program knows schema 1 only: it refuses the upgraded vault.
	_, err = Open(path, o)
	require.ErrorIs(t, err, ErrSchemaTooNew)
	_ = before
}

// TestVerifyCatchesEditedMiddleEntry edits one entry in the middle of the
// chain and recomputes that entry's own hash, so that it verifies on its
// own: only the next entry's link to it (Prev) shows the edit. The signed
// checkpoint names the last entry, which is untouched, so without the
// previous-hash check this edit would pass.
func TestVerifyCatchesEditedMiddleEntry(t *testing.T) {
	s, _, _ := fixture(t)
	defer s.Close()
	entries, err := s.AuditEntries(0, 0)
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(entries), 10)
	mid := uint64(len(entries) / 2)
	_, err = s.VerifyAudit()
	require.NoError(t, err)

	require.NoError(t, s.db.Load().Update(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte(bAudit))
		k := binary.BigEndian.AppendUint64(nil, mid)
		var e AuditEntry
		if err := jsonUnmarshal(b.Get(k), &e); err != nil {
			return err
		}
		e.Result = "denied" // hide what happened
		e.Hash = entryHash(e)
		nb, err := jsonMarshal(e)
		if err != nil {
			return err
		}
		return b.Put(k, nb)
	}))
	_, err = s.VerifyAudit()
	var ae *AuditError
	require.True(t, errors.As(err, &ae), "VerifyAudit after an edit in the middle = %v, want an *AuditError", err)
	assert.Equal(t, mid+1, ae.Seq, "the first broken entry is the one after the edit")
	assert.Contains(t, ae.Reason, "does not link")
	rep, err := s.Verify()
	require.NoError(t, err)
	require.NotNil(t, rep.FirstBrokenAudit)
	assert.Equal(t, mid+1, rep.FirstBrokenAudit.Seq)
}
