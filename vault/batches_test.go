package vault_test

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/voxward/voxward/vault"
)

var syncer = vault.Actor{TokenID: "system", Role: "system", Purpose: "sync"}

// sealAll is a build function that puts every entry (and template) into
// one batch whose body is the payloads joined.
func sealAll(id string) func(vault.SealInput) (vault.SealedBatch, error) {
	return func(in vault.SealInput) (vault.SealedBatch, error) {
		if len(in.Entries) == 0 && len(in.Templates) == 0 {
			return vault.SealedBatch{}, nil
		}
		sb := vault.SealedBatch{ID: id, Manifest: []byte(`{"m":1}`), Signature: []byte("sig")}
		for _, e := range in.Entries {
			sb.Body = append(sb.Body, e.Payload...)
			sb.Entries = append(sb.Entries, e.Seq)
		}
		for _, d := range in.Templates {
			sb.Templates = append(sb.Templates, d.ID)
		}
		return sb, nil
	}
}

func TestSealOutboxMovesEntriesIntoOneBatch(t *testing.T) {
	s, _ := openVault(t)
	_, err := s.AppendOutbox(vault.OutboxEntry{Kind: "session_stats", Payload: []byte(`{"a":1}`)}, vault.OutboxEntry{Kind: "audio_quality", Payload: []byte(`{"b":2}`)})
	require.NoError(t, err)

	b, ok, err := s.SealOutbox(syncer, vault.SealOutboxOptions{}, sealAll("batch-1"))
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, `{"a":1}{"b":2}`, string(b.Body))
	ob, err := s.Outbox(0, 0)
	require.NoError(t, err)
	assert.Empty(t, ob, "sealed entries are still in the outbox")

	// Nothing left: build sees nothing and nothing is written.
	_, ok, err = s.SealOutbox(syncer, vault.SealOutboxOptions{}, sealAll("batch-2"))
	require.NoError(t, err)
	assert.False(t, ok)

	// Served byte-identical until acknowledged, by id and in the list.
	got, err := s.Batch("batch-1")
	require.NoError(t, err)
	assert.Equal(t, b, got)
	list, err := s.Batches(0, 10)
	require.NoError(t, err)
	require.Len(t, list, 1)
	assert.Equal(t, b, list[0])
	list, err = s.Batches(b.Seq, 10)
	require.NoError(t, err)
	assert.Empty(t, list, "Batches(after=its seq) = %d batches, want none", len(list))

	require.NoError(t, s.AckBatch(syncer, "batch-1"))
	require.NoError(t, s.AckBatch(syncer, "batch-1"), "a second ack is not an error")
	_, err = s.Batch("batch-1")
	require.ErrorIs(t, err, vault.ErrNotFound)
	u, err := s.OutboxUsage()
	require.NoError(t, err)
	assert.Equal(t, vault.OutboxUsage{}, u)

	// Seal and ack are audited, once each.
	entries, err := s.AuditEntries(0, 0)
	require.NoError(t, err)
	var seals, acks int
	for _, e := range entries {
		switch e.Action {
		case "sync.seal":
			seals++
		case "sync.ack":
			acks++
		}
	}
	assert.Equal(t, 1, seals, "sync.seal audit entries")
	assert.Equal(t, 1, acks, "sync.ack audit entries")
}

func TestSealOutboxBuildFailureWritesNothing(t *testing.T) {
	s, _ := openVault(t)
	_, err := s.AppendOutbox(vault.OutboxEntry{Kind: "device_health", Payload: []byte(`{}`)})
	require.NoError(t, err)
	boom := fmt.Errorf("boom")
	_, _, err = s.SealOutbox(syncer, vault.SealOutboxOptions{}, func(vault.SealInput) (vault.SealedBatch, error) { return vault.SealedBatch{}, boom })
	require.ErrorIs(t, err, boom)
	// A build that claims what it was not given is refused.
	_, _, err = s.SealOutbox(syncer, vault.SealOutboxOptions{}, func(vault.SealInput) (vault.SealedBatch, error) {
		return vault.SealedBatch{ID: "x", Manifest: []byte("m"), Signature: []byte("s"), Entries: []uint64{99}}, nil
	})
	require.ErrorIs(t, err, vault.ErrInvalid)
	_, _, err = s.SealOutbox(syncer, vault.SealOutboxOptions{}, func(vault.SealInput) (vault.SealedBatch, error) {
		return vault.SealedBatch{ID: "bad id/..", Manifest: []byte("m"), Signature: []byte("s")}, nil
	})
	require.ErrorIs(t, err, vault.ErrInvalid)
	ob, err := s.Outbox(0, 0)
	require.NoError(t, err)
	assert.Len(t, ob, 1)
	bs, err := s.Batches(0, 0)
	require.NoError(t, err)
	assert.Empty(t, bs)
}

func TestOutboxBudgetRefusesNewKeepsOld(t *testing.T) {
	e := newEnv(t)
	o := e.opts()
	o.OutboxMaxBytes = 4 << 10
	s, err := vault.Open(e.path, o)
	require.NoError(t, err)
	defer s.Close()
	payload := make([]byte, 300)
	for i := range payload {
		payload[i] = 'x'
	}
	var held, refused int
	for range 40 {
		_, err := s.AppendOutbox(vault.OutboxEntry{Kind: "session_stats", Payload: payload})
		if err != nil {
			require.ErrorIs(t, err, vault.ErrOutboxFull)
			refused++
			continue
		}
		held++
	}
	require.Positive(t, refused, "a 4 KiB budget took 40 records of 300 bytes")
	require.Positive(t, held)
	u, err := s.OutboxUsage()
	require.NoError(t, err)
	assert.Equal(t, held, u.Entries, "old records were dropped")
	assert.LessOrEqual(t, u.Bytes, u.MaxBytes)
	assert.True(t, u.Full())

	// Sealing still works when full; the sealed batch counts too until
	// it is acknowledged.
	_, ok, err := s.SealOutbox(syncer, vault.SealOutboxOptions{}, func(in vault.SealInput) (vault.SealedBatch, error) {
		sb := vault.SealedBatch{ID: "b1", Manifest: []byte("m"), Signature: []byte("s"), Body: []byte("compressed")}
		for _, e := range in.Entries {
			sb.Entries = append(sb.Entries, e.Seq)
		}
		return sb, nil
	})
	require.NoError(t, err)
	require.True(t, ok)
	u, err = s.OutboxUsage()
	require.NoError(t, err)
	assert.Equal(t, 0, u.Entries)
	assert.Equal(t, 1, u.Batches)
	assert.False(t, u.Full())
}

func TestSealOutboxTemplatesOnlyResearchOnce(t *testing.T) {
	s, e := openVault(t)
	r := rand.New(rand.NewPCG(1, 2))
	research := consent()
	research.Purposes = []vault.Purpose{vault.PurposeRecognition, vault.PurposeResearch}
	for i := range 4 {
		c := consent()
		if i%2 == 0 {
			c = research
		}
		sub, _, err := s.CreateSubject(tech, vault.NewSubject{DisplayName: fmt.Sprint("S", i), Consent: c})
		require.NoError(t, err)
		_, err = s.AddTemplate(tech, sub.ID, vault.Template{Embedding: embedding(r, 16), ModelID: "m1"})
		require.NoError(t, err)
	}
	e.clock.Add(vault.MaxIdentifiable + time.Hour)
	_, err := s.ApplyRetention(vault.SystemActor, vault.RetentionPolicy{Deidentified: 1000 * time.Hour})
	require.NoError(t, err)

	var seen int
	_, ok, err := s.SealOutbox(syncer, vault.SealOutboxOptions{Templates: true}, func(in vault.SealInput) (vault.SealedBatch, error) {
		seen = len(in.Templates)
		for _, d := range in.Templates {
			require.True(t, d.Research)
			require.Len(t, d.Embedding, 16)
		}
		return sealAll("t1")(in)
	})
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, 2, seen, "templates handed to build: only the research subjects'")

	_, ok, err = s.SealOutbox(syncer, vault.SealOutboxOptions{Templates: true}, func(in vault.SealInput) (vault.SealedBatch, error) {
		assert.Empty(t, in.Templates, "a synced template was handed out again")
		return sealAll("t2")(in)
	})
	require.NoError(t, err)
	assert.False(t, ok)
	// Without Templates, none are read.
	_, _, err = s.SealOutbox(syncer, vault.SealOutboxOptions{}, func(in vault.SealInput) (vault.SealedBatch, error) {
		assert.Empty(t, in.Templates)
		return vault.SealedBatch{}, nil
	})
	require.NoError(t, err)
}
