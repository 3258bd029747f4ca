package sync

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Headers a batch message carries in the JetStream sink. The message data
// is the compressed body.
const (
	// HeaderManifest: the manifest's exact signed bytes, base64.
	HeaderManifest = "Voxward-Manifest"
	// HeaderSignature: the Ed25519 signature over them, base64.
	HeaderSignature = "Voxward-Signature"
	// HeaderSHA256: the body's hex SHA-256 (the manifest's sha256).
	HeaderSHA256 = "Voxward-Sha256"
)

// NATSConfig names where the JetStream sink stores batches.
type NATSConfig struct {
	// Stream is the stream's name (default "VOXWARD_BATCHES").
	Stream string
	// Subject is the subject prefix (default "voxward.batches"); a batch
	// lands on PREFIX.<device>.<batch_id>.
	Subject string
	// Replicas is the stream's replica count (default 1; 3 in a
	// cluster).
	Replicas int
	// Duplicates is the stream's Nats-Msg-Id window (default 10 min).
	Duplicates time.Duration
}

// NATSSink stores batches in a JetStream stream with file storage: one
// message per batch on the subject PREFIX.<device>.<batch_id>, the body
// as data, the manifest and signature in headers. A batch is stored once
// because every publish carries Nats-Msg-Id <device>/<batch_id> (the server
// drops a resend within the window) and expects the subject to hold no
// message yet (Nats-Expected-Last-Subject-Sequence: 0, the check a
// key-value Create makes), which holds forever and for every puller of the
// fleet. The server acknowledges a publish after storing it; run it with
// jetstream { sync_interval: always } so that stored means fsynced
// (docs/pull.md).
type NATSSink struct {
	js     jetstream.JetStream
	stream jetstream.Stream
	cfg    NATSConfig
	maxPay int64
}

var _ Sink = (*NATSSink)(nil)

// NewNATSSink stores over the connection nc, which stays the caller's. It
// creates the stream (file storage, cfg's replicas and window) when it is
// missing and otherwise uses it as configured, refusing one that keeps
// messages in memory, does not take the subjects, or is not a limits
// stream.
func NewNATSSink(ctx context.Context, nc *nats.Conn, cfg *NATSConfig) (*NATSSink, error) {
	c := NATSConfig{Stream: "VOXWARD_BATCHES", Subject: "voxward.batches", Replicas: 1, Duplicates: 10 * time.Minute}
	if cfg != nil {
		if cfg.Stream != "" {
			c.Stream = cfg.Stream
		}
		if cfg.Subject != "" {
			c.Subject = cfg.Subject
		}
		if cfg.Replicas > 0 {
			c.Replicas = cfg.Replicas
		}
		if cfg.Duplicates > 0 {
			c.Duplicates = cfg.Duplicates
		}
	}
	if c.Subject == "" || strings.ContainsAny(c.Subject, " \t\r\n*>") || strings.HasPrefix(c.Subject, ".") || strings.HasSuffix(c.Subject, ".") || strings.Contains(c.Subject, "..") {
		return nil, fmt.Errorf("sync: subject prefix %q: want dot-separated tokens without wildcards", c.Subject)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("sync: jetstream: %w", err)
	}
	// An existing stream is used as the operator configured it (limits,
	// placement, replicas); only what exactly-once needs is checked.
	st, err := js.Stream(ctx, c.Stream)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		st, err = js.CreateStream(ctx, jetstream.StreamConfig{
			Name:        c.Stream,
			Description: "voxward sync batches: one message per device and batch id",
			Subjects:    []string{c.Subject + ".>"},
			Storage:     jetstream.FileStorage,
			Replicas:    c.Replicas,
			Duplicates:  c.Duplicates,
			Retention:   jetstream.LimitsPolicy,
			Discard:     jetstream.DiscardNew,
		})
		if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
			st, err = js.Stream(ctx, c.Stream) // another puller made it first
		}
	}
	if err != nil {
		return nil, fmt.Errorf("sync: stream %s: %w", c.Stream, err)
	}
	sc := st.CachedInfo().Config
	if sc.Storage != jetstream.FileStorage {
		return nil, fmt.Errorf("sync: stream %s keeps messages in memory: batches would not survive a restart of the server", c.Stream)
	}
	if !coversSubject(sc.Subjects, c.Subject) {
		return nil, fmt.Errorf("sync: stream %s takes subjects %q, not %s.>", c.Stream, sc.Subjects, c.Subject)
	}
	if sc.Retention != jetstream.LimitsPolicy {
		return nil, fmt.Errorf("sync: stream %s has retention %s: a consumer's acknowledgement would delete a batch, and a box serving it again would store it again", c.Stream, sc.Retention)
	}
	return &NATSSink{js: js, stream: st, cfg: c, maxPay: nc.MaxPayload()}, nil
}

// Subject is the subject batch id of device lands on.
func (s *NATSSink) Subject(device, batchID string) string {
	return s.cfg.Subject + "." + device + "." + batchID
}

// Stream returns the sink's stream, for reading what it holds.
func (s *NATSSink) Stream() jetstream.Stream { return s.stream }

// Store implements Sink. It returns after the server's publish
// acknowledgement, or, for a batch the stream already holds, after
// comparing its digest: the same is a duplicate, another is ErrConflict.
// A batch over the server's max_payload is ErrTooLarge.
func (s *NATSSink) Store(ctx context.Context, b Batch) (bool, error) {
	m := b.Manifest
	if !ValidID(m.Device) || !ValidID(m.BatchID) {
		return false, fmt.Errorf("%w: device %q or batch id %q", ErrMalformed, m.Device, m.BatchID)
	}
	subj := s.Subject(m.Device, m.BatchID)
	msg := nats.NewMsg(subj)
	msg.Data = b.Body
	msg.Header.Set(HeaderManifest, base64.StdEncoding.EncodeToString(b.ManifestBytes))
	msg.Header.Set(HeaderSignature, base64.StdEncoding.EncodeToString(b.Signature))
	msg.Header.Set(HeaderSHA256, m.SHA256)
	if size := int64(len(b.Body) + 2*MaxManifestBytes + 1024); size > s.maxPay {
		return false, fmt.Errorf("%w: batch %s of device %s is %d bytes, over the NATS server's max_payload of %d (raise the server's max_payload; it warns above 8 MB)",
			ErrTooLarge, m.BatchID, m.Device, len(b.Body), s.maxPay)
	}
	ack, err := s.js.PublishMsg(ctx, msg,
		jetstream.WithMsgID(m.Device+"/"+m.BatchID),
		jetstream.WithExpectStream(s.cfg.Stream),
		jetstream.WithExpectLastSequencePerSubject(0))
	if err == nil && !ack.Duplicate {
		return false, nil
	}
	if err != nil && !wrongLastSequence(err) {
		return false, fmt.Errorf("sync: publish %s: %w", subj, err)
	}
	// Already there (a retry, or another puller first): same digest?
	held, gerr := s.stream.GetLastMsgForSubject(ctx, subj)
	if gerr != nil {
		return false, fmt.Errorf("sync: read back %s: %w", subj, gerr)
	}
	if got := held.Header.Get(HeaderSHA256); got != m.SHA256 {
		return false, fmt.Errorf("%w: stream %s holds batch %s of device %s (seq %d) with sha256 %s; the box now serves sha256 %s",
			ErrConflict, s.cfg.Stream, m.BatchID, m.Device, held.Sequence, got, m.SHA256)
	}
	return true, nil
}

// coversSubject reports whether one of a stream's subjects is prefix.>.
func coversSubject(subjects []string, prefix string) bool {
	for _, s := range subjects {
		if s == prefix+".>" || s == ">" {
			return true
		}
	}
	return false
}

func wrongLastSequence(err error) bool {
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence ||
			apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant
	}
	return strings.Contains(err.Error(), "wrong last sequence")
}

// StoredBatch is a batch as the JetStream sink holds it.
type StoredBatch struct {
	Sequence uint64
	Batch    Batch
}

// Get reads one stored batch back (jetstream.ErrMsgNotFound when absent)
// and parses its manifest; it does not verify the signature.
func (s *NATSSink) Get(ctx context.Context, device, batchID string) (StoredBatch, error) {
	raw, err := s.stream.GetLastMsgForSubject(ctx, s.Subject(device, batchID))
	if err != nil {
		return StoredBatch{}, err
	}
	return decodeStored(raw)
}

func decodeStored(raw *jetstream.RawStreamMsg) (StoredBatch, error) {
	mb, err := base64.StdEncoding.DecodeString(raw.Header.Get(HeaderManifest))
	if err != nil {
		return StoredBatch{}, fmt.Errorf("%w: message %d: manifest header", ErrMalformed, raw.Sequence)
	}
	sig, err := base64.StdEncoding.DecodeString(raw.Header.Get(HeaderSignature))
	if err != nil {
		return StoredBatch{}, fmt.Errorf("%w: message %d: signature header", ErrMalformed, raw.Sequence)
	}
	m, err := ParseManifest(mb)
	if err != nil {
		return StoredBatch{}, err
	}
	return StoredBatch{Sequence: raw.Sequence, Batch: Batch{Manifest: m, ManifestBytes: mb, Signature: sig, Body: raw.Data}}, nil
}
