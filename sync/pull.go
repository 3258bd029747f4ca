package sync

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"golang.org/x/sync/errgroup"
)

// Errors a puller returns, wrapped with details, besides the batch format's.
var (
	// ErrConflict: a sink already holds a different body under the same
	// device and batch id. The box is not acknowledged.
	ErrConflict = errors.New("a different batch is already stored under this id")
	// ErrWrongDevice: a manifest names another device or batch than the
	// one the box's pinned key and the list stated.
	ErrWrongDevice = errors.New("manifest names another device or batch")
	// ErrBox: the box answered with an error status.
	ErrBox = errors.New("the box answered with an error")

	// errGone: a listed batch is no longer on the box.
	errGone = errors.New("batch gone")
)

// Sink is where a puller stores batches. Store returns only once b is
// durably stored (a crash after it returns loses nothing), and stores it
// once: a batch already held with the same digest is reported as
// duplicate = true and not stored again; a different body under the same
// device and batch id is ErrConflict. Several pullers may call Store for
// the same batch at the same time.
type Sink interface {
	Store(ctx context.Context, b Batch) (duplicate bool, err error)
}

// Puller fetches sealed batches from boxes, verifies them, stores each in
// its Sink once and then acknowledges it. The zero value is not usable:
// Sink and Known are required.
type Puller struct {
	// Sink stores the batches.
	Sink Sink
	// Known pins each box's key on first use.
	Known *KnownDevices
	// Client does the HTTP requests; nil: a client with Timeout.
	Client *http.Client
	// Log receives progress; nil: discarded.
	Log *slog.Logger
	// MaxDecompressed caps a batch's decompressed size (≤ 0:
	// DefaultPullMaxDecompressed).
	MaxDecompressed int64
	// Concurrency bounds how many boxes are pulled at once (≤ 0: 4).
	Concurrency int
	// PageSize is the list page size (≤ 0: 100).
	PageSize int
	// Timeout bounds each request and each store (≤ 0: 60 s).
	Timeout time.Duration
}

// DefaultPullMaxDecompressed caps a batch's decompressed size in a puller
// unless it chooses another: a batch is checked whole in memory, and several
// boxes are pulled at once.
const DefaultPullMaxDecompressed = 64 << 20

// BoxResult is what pulling one box did.
type BoxResult struct {
	Box Box
	// Device is the box's device id (from its pinned key), or "".
	Device string
	// FirstUse is true when the box's key was pinned by this pull.
	FirstUse bool
	// Stored counts batches newly stored; Duplicates those the sink
	// already held (acknowledged again); Failed those refused (not
	// acknowledged).
	Stored, Duplicates, Failed int
	// Gone counts listed batches that were acknowledged (by another
	// puller) before this one fetched them.
	Gone int
	// Bytes counts the compressed bytes newly stored.
	Bytes int64
	// Errs holds each refused batch's error and, last, the error that
	// stopped the box, if any.
	Errs []error
}

// Err joins the box's errors, or nil.
func (r BoxResult) Err() error { return errors.Join(r.Errs...) }

// Summary adds up a pull over many boxes.
type Summary struct {
	Boxes, BoxesFailed               int
	Stored, Duplicates, Failed, Gone int
	Bytes                            int64
}

// Summarize adds up results.
func Summarize(rs []BoxResult) Summary {
	var s Summary
	for _, r := range rs {
		s.Boxes++
		if len(r.Errs) > 0 {
			s.BoxesFailed++
		}
		s.Stored += r.Stored
		s.Duplicates += r.Duplicates
		s.Failed += r.Failed
		s.Gone += r.Gone
		s.Bytes += r.Bytes
	}
	return s
}

func (p *Puller) log() *slog.Logger {
	if p.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return p.Log
}

func (p *Puller) timeout() time.Duration {
	if p.Timeout <= 0 {
		return 60 * time.Second
	}
	return p.Timeout
}

func (p *Puller) client() *http.Client {
	if p.Client == nil {
		return &http.Client{Timeout: p.timeout()}
	}
	return p.Client
}

// PullAll pulls every box, at most Concurrency at once, and returns one
// result per box in the order given. It drains each box once: what a box
// seals meanwhile is for the next call.
func (p *Puller) PullAll(ctx context.Context, boxes []Box) []BoxResult {
	out := make([]BoxResult, len(boxes))
	var g errgroup.Group
	n := p.Concurrency
	if n <= 0 {
		n = 4
	}
	g.SetLimit(n)
	for i, b := range boxes {
		g.Go(func() error {
			out[i] = p.PullBox(ctx, b)
			return nil
		})
	}
	_ = g.Wait()
	return out
}

// PullBox drains one box: it pins or checks the box's key, lists its
// batches, and for each verifies the signature over the manifest's exact
// bytes with the pinned key, checks the body's size and digest, reads it
// with the decompression cap, stores it in the sink and only then
// acknowledges it. A refused batch (bad signature, digest, size, format,
// or a conflict in the sink) is counted, logged and left on the box; a key
// change, a box or network failure, or a sink failure stops the box.
func (p *Puller) PullBox(ctx context.Context, box Box) BoxResult {
	res := BoxResult{Box: box}
	log := p.log().With("box", box.Name)
	pub, err := p.key(ctx, box)
	if err == nil {
		res.FirstUse, err = p.Known.Pin(box.Name, pub)
	}
	if err != nil {
		res.Errs = append(res.Errs, err)
		log.Error("box not pulled", "err", err)
		return res
	}
	res.Device = DeviceID(pub)
	log = log.With("device", res.Device)
	if res.FirstUse {
		log.Warn("pinned the box's key on first use", "fingerprint", Fingerprint(pub))
	}
	limit := p.PageSize
	if limit <= 0 || limit > MaxListLimit {
		limit = 100
	}
	after := ""
	for {
		list, err := p.list(ctx, box, after, limit)
		if err != nil {
			res.Errs = append(res.Errs, err)
			log.Error("list failed", "err", err)
			return res
		}
		if len(list.Batches) == 0 {
			break
		}
		for _, e := range list.Batches {
			if err := ctx.Err(); err != nil {
				res.Errs = append(res.Errs, err)
				return res
			}
			n, dup, err := p.pullBatch(ctx, box, pub, e.BatchID)
			switch {
			case errors.Is(err, errGone):
				res.Gone++
				log.Debug("batch gone before it was fetched (another puller took it)", "batch", e.BatchID)
			case err == nil && dup:
				res.Duplicates++
				log.Info("batch already stored; acknowledged again", "batch", e.BatchID)
			case err == nil:
				res.Stored++
				res.Bytes += n
				log.Info("batch stored and acknowledged", "batch", e.BatchID, "bytes", n)
			case refusesBatch(err):
				res.Failed++
				res.Errs = append(res.Errs, fmt.Errorf("batch %s: %w", e.BatchID, err))
				log.Error("batch refused; not acknowledged", "batch", e.BatchID, "err", err)
			default:
				res.Errs = append(res.Errs, fmt.Errorf("batch %s: %w", e.BatchID, err))
				log.Error("pull stopped", "batch", e.BatchID, "err", err)
				return res
			}
		}
		if list.Next == "" || list.Next == after {
			break
		}
		after = list.Next
	}
	return res
}

// refusesBatch tells a fault of one batch (the next may be fine) from a
// fault of the box, the network or the sink.
func refusesBatch(err error) bool {
	for _, e := range []error{ErrMalformed, ErrSignature, ErrDigest, ErrTooLarge, ErrConflict, ErrWrongDevice} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// pullBatch fetches, verifies, stores and acknowledges one batch. It
// returns the compressed size and whether the sink already held it.
func (p *Puller) pullBatch(ctx context.Context, box Box, pub ed25519.PublicKey, id string) (int64, bool, error) {
	if !ValidID(id) {
		return 0, false, fmt.Errorf("%w: the list names batch id %q", ErrMalformed, id)
	}
	path := "/v1/sync/batches/" + id
	mb, hdr, err := p.get(ctx, box, path+"/manifest", MaxManifestBytes)
	if err != nil {
		return 0, false, gone(err)
	}
	sig, err := base64.StdEncoding.DecodeString(hdr.Get(SignatureHeader))
	if err != nil {
		return 0, false, fmt.Errorf("%w: %s is not base64", ErrSignature, SignatureHeader)
	}
	m, err := VerifyManifest(pub, mb, sig)
	if err != nil {
		return 0, false, err
	}
	if m.BatchID != id || m.Device != DeviceID(pub) {
		return 0, false, fmt.Errorf("%w: manifest of batch %q from device %q, want batch %q from %q", ErrWrongDevice, m.BatchID, m.Device, id, DeviceID(pub))
	}
	body, _, err := p.get(ctx, box, path, m.Bytes)
	if err != nil {
		return 0, false, gone(err)
	}
	max := p.MaxDecompressed
	if max <= 0 {
		max = DefaultPullMaxDecompressed
	}
	if _, err := ReadRecords(m, body, max); err != nil {
		return 0, false, fmt.Errorf("read %d compressed bytes with a cap of %d decompressed: %w", len(body), max, err)
	}
	b := Batch{Manifest: m, ManifestBytes: mb, Signature: sig, Body: body}
	sctx, cancel := context.WithTimeout(ctx, p.timeout())
	dup, err := p.Sink.Store(sctx, b)
	cancel()
	if err != nil {
		return 0, false, fmt.Errorf("store: %w", err)
	}
	if err := p.ack(ctx, box, id); err != nil {
		return 0, false, err
	}
	if dup {
		return 0, true, nil
	}
	return int64(len(body)), false, nil
}

func (p *Puller) key(ctx context.Context, box Box) (ed25519.PublicKey, error) {
	b, _, err := p.get(ctx, box, "/v1/sync/key", 8<<10)
	if err != nil {
		return nil, err
	}
	pub, err := ParsePublicKeyPEM(b)
	if err != nil {
		return nil, fmt.Errorf("box %s: /v1/sync/key: %w", box.Name, err)
	}
	return pub, nil
}

func (p *Puller) list(ctx context.Context, box Box, after string, limit int) (ListResponse, error) {
	q := url.Values{"limit": {strconv.Itoa(limit)}}
	if after != "" {
		q.Set("after", after)
	}
	b, _, err := p.get(ctx, box, "/v1/sync/batches?"+q.Encode(), int64(limit)*(MaxManifestBytes*2+256)+4096)
	if err != nil {
		return ListResponse{}, err
	}
	var l ListResponse
	if err := json.Unmarshal(b, &l); err != nil {
		return ListResponse{}, fmt.Errorf("box %s: the batch list is not JSON: %v", box.Name, err)
	}
	return l, nil
}

func (p *Puller) ack(ctx context.Context, box Box, id string) error {
	b, err := p.do(ctx, box, http.MethodPost, "/v1/sync/batches/"+id+"/ack", 64<<10, nil)
	if err != nil {
		return fmt.Errorf("acknowledge (the batch is stored; the next pull acknowledges it again): %w", err)
	}
	var a AckResponse
	if err := json.Unmarshal(b, &a); err != nil || !a.Acknowledged || a.BatchID != id {
		return fmt.Errorf("%w: box %s: acknowledgement of %s not confirmed", ErrBox, box.Name, id)
	}
	return nil
}

func (p *Puller) get(ctx context.Context, box Box, path string, limit int64) ([]byte, http.Header, error) {
	var hdr http.Header
	b, err := p.do(ctx, box, http.MethodGet, path, limit, &hdr)
	return b, hdr, err
}

// do sends one request with the box's token and reads at most limit bytes
// of a 2xx answer; more is ErrTooLarge.
func (p *Puller) do(ctx context.Context, box Box, method, path string, limit int64, hdr *http.Header) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, p.timeout())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, box.URL+path, nil)
	if err != nil {
		return nil, fmt.Errorf("box %s: %w", box.Name, err)
	}
	req.Header.Set("Authorization", "Bearer "+box.Token)
	resp, err := p.client().Do(req)
	if err != nil {
		return nil, fmt.Errorf("box %s: %w", box.Name, redactURLError(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		raw, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		var e struct {
			Error struct{ Code, Message string }
		}
		msg := fmt.Sprintf("box %s: %s %s: status %d", box.Name, method, path, resp.StatusCode)
		if json.Unmarshal(raw, &e) == nil && e.Error.Message != "" {
			msg = fmt.Sprintf("box %s: %s %s: %d %s: %s", box.Name, method, path, resp.StatusCode, e.Error.Code, e.Error.Message)
		}
		return nil, &statusError{status: resp.StatusCode, msg: msg}
	}
	if resp.ContentLength > limit {
		return nil, fmt.Errorf("%w: box %s: %s answers %d bytes (cap %d)", ErrTooLarge, box.Name, path, resp.ContentLength, limit)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("box %s: %s: %w", box.Name, path, err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%w: box %s: %s answers over %d bytes", ErrTooLarge, box.Name, path, limit)
	}
	if hdr != nil {
		*hdr = resp.Header
	}
	return b, nil
}

// statusError is a box's error answer; it is ErrBox.
type statusError struct {
	status int
	msg    string
}

func (e *statusError) Error() string        { return ErrBox.Error() + ": " + e.msg }
func (e *statusError) Is(target error) bool { return target == ErrBox }

// gone turns a 404 for a listed batch into errGone.
func gone(err error) error {
	var se *statusError
	if errors.As(err, &se) && se.status == 404 {
		return errGone
	}
	return err
}

// redactURLError drops the URL from a transport error's text (it may
// carry user information); the box's name says which box.
func redactURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s: %w", ue.Op, ue.Err)
	}
	return err
}
