package sync

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"time"
)

// Record types: the "type" of each JSON line of a batch body.
const (
	TypeSessionStats = "session_stats"
	TypeAudioQuality = "audio_quality"
	TypeDeviceHealth = "device_health"
	TypeTemplate     = "template"
)

// De-identification defaults (docs/sync.md explains them).
const (
	// DefaultMinGroup is the minimum group size: a count below it is
	// suppressed (sent as null).
	DefaultMinGroup = 5
	// DefaultEpsilon is the privacy parameter ε of the noise added to each
	// count: two-sided geometric noise, P(k) ∝ exp(-ε·|k|).
	DefaultEpsilon = 1.0
	// DefaultMinTemplates is the fewest templates a batch carries: fewer
	// are held back until there are enough.
	DefaultMinTemplates = 10
	// TemplateTransformName names the transform research templates went
	// through (dsp/voiceprint.TemplateTransform, version 1) and their
	// encoding (int8 values times a per-batch scale).
	TemplateTransformName = "voxward.tt/1;int8"
)

// ErrDeid means a record cannot be de-identified or decoded: bad
// parameters, a malformed observation, a malformed or unknown record.
var ErrDeid = errors.New("sync: de-identification")

// ErrTooFewTemplates means fewer templates than the minimum batch size
// were given: they are held back, never sent in a small batch.
var ErrTooFewTemplates = errors.New("sync: too few templates for a batch")

// Deidentifier turns what the box observed into de-identified records:
// times truncated to the hour, durations to the minute, quality figures
// rounded, counts noised and those below the minimum group size
// suppressed. Its zero value uses the defaults and crypto/rand.
type Deidentifier struct {
	// MinGroup: a count whose exact or noisy value is below it is
	// suppressed (≤ 0: DefaultMinGroup).
	MinGroup int
	// Epsilon is the noise's ε per count (≤ 0: DefaultEpsilon).
	Epsilon float64
	// Rand is the noise's randomness (nil: crypto/rand). Tests set it.
	Rand io.Reader
}

func (d *Deidentifier) minGroup() int {
	if d.MinGroup <= 0 {
		return DefaultMinGroup
	}
	return d.MinGroup
}

func (d *Deidentifier) rand() io.Reader {
	if d.Rand == nil {
		return rand.Reader
	}
	return d.Rand
}

// uniform returns a uniform float64 in (0, 1].
func uniform(r io.Reader) (float64, error) {
	var b [8]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return 0, fmt.Errorf("sync: randomness: %w", err)
	}
	return float64(binary.BigEndian.Uint64(b[:])>>11+1) / (1 << 53), nil
}

// geometric draws a two-sided geometric variate: P(k) = (1-α)/(1+α)·α^|k|
// with α = exp(-ε), the discrete Laplace mechanism for a count of
// sensitivity 1.
func geometric(r io.Reader, eps float64) (int, error) {
	lnA := -eps
	one := func() (int, error) {
		u, err := uniform(r)
		if err != nil {
			return 0, err
		}
		return int(math.Floor(math.Log(u) / lnA)), nil
	}
	a, err := one()
	if err != nil {
		return 0, err
	}
	b, err := one()
	if err != nil {
		return 0, err
	}
	return a - b, nil
}

// Count is what a record says of a count: its noisy value, or nothing
// (null) when suppressed.
type Count = *int

// count noises n and suppresses it when n or its noisy value is below the
// minimum group size. It returns nil (suppressed) or the noisy value.
func (d *Deidentifier) count(n int) (Count, error) {
	if n < 0 {
		return nil, fmt.Errorf("%w: negative count", ErrDeid)
	}
	eps := d.Epsilon
	if eps <= 0 {
		eps = DefaultEpsilon
	}
	z, err := geometric(d.rand(), eps)
	if err != nil {
		return nil, err
	}
	k := d.minGroup()
	v := n + z
	if n < k || v < k {
		return nil, nil
	}
	return &v, nil
}

// Hour truncates t to its UTC hour, the finest time a record holds.
func Hour(t time.Time) time.Time { return t.UTC().Truncate(time.Hour) }

func round(x float64, step float64) float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return 0
	}
	return math.Round(x/step) * step
}

// SessionObservation is what the box knows of one session when it stops.
// It is not de-identified: SessionStats is.
type SessionObservation struct {
	Started, Stopped time.Time
	Participants     int // people in the session
	Enrolled         int // of them, people with a voiceprint
	Turns            int // speaker turns labelled
	UnknownTurns     int // of them, turns of voices nobody enrolled
	Interrupted      bool
}

// SessionStats is a de-identified session_stats record. A nil count was
// suppressed.
type SessionStats struct {
	Type            string    `json:"type"`
	Hour            time.Time `json:"hour"`
	DurationMinutes int       `json:"duration_minutes"`
	Participants    Count     `json:"participants"`
	Enrolled        Count     `json:"enrolled"`
	Turns           Count     `json:"turns"`
	UnknownTurns    Count     `json:"unknown_turns"`
	Interrupted     bool      `json:"interrupted"`
}

// SessionStats de-identifies o into one JSON line.
func (d *Deidentifier) SessionStats(o SessionObservation) ([]byte, error) {
	if o.Stopped.Before(o.Started) || o.Started.IsZero() {
		return nil, fmt.Errorf("%w: session stops before it starts", ErrDeid)
	}
	r := SessionStats{Type: TypeSessionStats, Hour: Hour(o.Started), Interrupted: o.Interrupted,
		DurationMinutes: int(o.Stopped.Sub(o.Started).Round(time.Minute) / time.Minute)}
	var err error
	for _, c := range []struct {
		dst *Count
		n   int
	}{{&r.Participants, o.Participants}, {&r.Enrolled, o.Enrolled}, {&r.Turns, o.Turns}, {&r.UnknownTurns, o.UnknownTurns}} {
		if *c.dst, err = d.count(c.n); err != nil {
			return nil, err
		}
	}
	return json.Marshal(r)
}

// AudioObservation is the audio of one session as the box measured it.
type AudioObservation struct {
	Started    time.Time
	Seconds    float64 // audio read through the consent gate
	Overflows  uint64  // reads that lost audio
	ReadErrors uint64
	RMSDBFS    float64 // level at the end of the session
}

// AudioQuality is a de-identified audio_quality record: figures of the
// device's audio, no count of people.
type AudioQuality struct {
	Type       string    `json:"type"`
	Hour       time.Time `json:"hour"`
	Minutes    float64   `json:"minutes"` // to 0.1 min
	Overflows  uint64    `json:"overflows"`
	ReadErrors uint64    `json:"read_errors"`
	RMSDBFS    float64   `json:"rms_dbfs"` // to 1 dB
}

// AudioQuality de-identifies o into one JSON line.
func (d *Deidentifier) AudioQuality(o AudioObservation) ([]byte, error) {
	if o.Started.IsZero() || o.Seconds < 0 {
		return nil, fmt.Errorf("%w: audio observation", ErrDeid)
	}
	return json.Marshal(AudioQuality{
		Type: TypeAudioQuality, Hour: Hour(o.Started),
		Minutes:   round(o.Seconds/60, 0.1),
		Overflows: o.Overflows, ReadErrors: o.ReadErrors, RMSDBFS: round(max(o.RMSDBFS, -200), 1),
	})
}

// HealthObservation is the device's state at a moment.
type HealthObservation struct {
	At               time.Time
	Version          string
	Uptime           time.Duration
	VaultBytes       int64
	VaultMaxBytes    int64
	OutboxEntries    int
	OutboxBatches    int
	OutboxFull       bool
	OutboxRefused    uint64
	RetentionOK      bool
	CaptureOverflows uint64
}

// DeviceHealth is a de-identified device_health record.
type DeviceHealth struct {
	Type             string    `json:"type"`
	Hour             time.Time `json:"hour"`
	Version          string    `json:"version"`
	UptimeHours      int       `json:"uptime_hours"`
	VaultMiB         int64     `json:"vault_mib"`
	VaultMaxMiB      int64     `json:"vault_max_mib"`
	OutboxEntries    int       `json:"outbox_entries"`
	OutboxBatches    int       `json:"outbox_batches"`
	OutboxFull       bool      `json:"outbox_full"`
	OutboxRefused    uint64    `json:"outbox_refused"`
	RetentionOK      bool      `json:"retention_ok"`
	CaptureOverflows uint64    `json:"capture_overflows"`
}

// DeviceHealth de-identifies o into one JSON line. The version is kept
// only when it is a short plain label.
func (d *Deidentifier) DeviceHealth(o HealthObservation) ([]byte, error) {
	if o.At.IsZero() {
		return nil, fmt.Errorf("%w: health observation without a time", ErrDeid)
	}
	v := o.Version
	if !versionOK(v) {
		v = "unknown"
	}
	return json.Marshal(DeviceHealth{
		Type: TypeDeviceHealth, Hour: Hour(o.At), Version: v, UptimeHours: int(o.Uptime / time.Hour),
		VaultMiB: o.VaultBytes >> 20, VaultMaxMiB: o.VaultMaxBytes >> 20,
		OutboxEntries: o.OutboxEntries, OutboxBatches: o.OutboxBatches, OutboxFull: o.OutboxFull, OutboxRefused: o.OutboxRefused,
		RetentionOK: o.RetentionOK, CaptureOverflows: o.CaptureOverflows,
	})
}

func versionOK(s string) bool {
	if s == "" || len(s) > 40 {
		return false
	}
	for _, c := range s {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '-' || c == '+') {
			return false
		}
	}
	return true
}

// Template is a template record: a research subject's de-identified
// template after the batch's secret transform, as int8 values Q (base64)
// times Scale. Its order in the batch is random; it carries no time, no
// id and no quality figures.
type Template struct {
	Type      string  `json:"type"`
	Model     string  `json:"model"`
	Transform string  `json:"transform"`
	Dim       int     `json:"dim"`
	Scale     float64 `json:"scale"`
	Q         []byte  `json:"q"`
}

// Vector returns the template's values (Q times Scale).
func (t *Template) Vector() []float32 {
	v := make([]float32, len(t.Q))
	for i, q := range t.Q {
		v[i] = float32(float64(int8(q)) * t.Scale)
	}
	return v
}

// MaxTemplateDim caps a template record's dimension.
const MaxTemplateDim = 1 << 17

// TemplateRecords encodes transformed templates (all of one model and
// dimension, already through the batch's transform) as template records:
// int8 with one scale for the batch, in an order drawn from rnd (nil:
// crypto/rand). Fewer than minBatch templates are refused with
// ErrTooFewTemplates, so that they wait for more.
func TemplateRecords(model string, vecs [][]float32, minBatch int, rnd io.Reader) ([][]byte, error) {
	if len(vecs) == 0 || len(vecs) < minBatch {
		return nil, fmt.Errorf("%w: %d (the minimum is %d)", ErrTooFewTemplates, len(vecs), minBatch)
	}
	if !versionOK(model) {
		return nil, fmt.Errorf("%w: model id %q", ErrDeid, model)
	}
	if rnd == nil {
		rnd = rand.Reader
	}
	dim := len(vecs[0])
	var peak float64
	for _, v := range vecs {
		if len(v) != dim || dim == 0 || dim > MaxTemplateDim {
			return nil, fmt.Errorf("%w: templates of different or bad dimensions", ErrDeid)
		}
		for _, x := range v {
			if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
				return nil, fmt.Errorf("%w: a template value is not finite", ErrDeid)
			}
			peak = max(peak, math.Abs(float64(x)))
		}
	}
	if peak == 0 {
		peak = 1
	}
	scale := peak / 127
	order := make([]int, len(vecs))
	for i := range order {
		order[i] = i
	}
	for i := len(order) - 1; i > 0; i-- { // Fisher–Yates
		u, err := uniform(rnd)
		if err != nil {
			return nil, err
		}
		j := min(int(u*float64(i+1)), i)
		order[i], order[j] = order[j], order[i]
	}
	out := make([][]byte, 0, len(vecs))
	q := make([]byte, dim)
	defer clear(q)
	for _, i := range order {
		for k, x := range vecs[i] {
			q[k] = byte(int8(math.Round(float64(x) / scale)))
		}
		b, err := json.Marshal(Template{Type: TypeTemplate, Model: model, Transform: TemplateTransformName, Dim: dim, Scale: scale, Q: q})
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, nil
}

// Record is one decoded JSON line of a batch: Type and the one field of
// that type set.
type Record struct {
	Type         string
	SessionStats *SessionStats
	AudioQuality *AudioQuality
	DeviceHealth *DeviceHealth
	Template     *Template
}

// DecodeRecord decodes one JSON line of a batch body strictly: a known
// type, its fields only, hours on the hour, a template whose values fit
// its dimension. Errors: ErrDeid (wrapped), ErrTooLarge.
func DecodeRecord(line []byte) (Record, error) {
	if len(line) > MaxRecordBytes {
		return Record{}, fmt.Errorf("%w: a record of %d bytes", ErrTooLarge, len(line))
	}
	var head struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(line, &head); err != nil {
		return Record{}, fmt.Errorf("%w: record: %v", ErrDeid, err)
	}
	r := Record{Type: head.Type}
	var v any
	switch head.Type {
	case TypeSessionStats:
		r.SessionStats = &SessionStats{}
		v = r.SessionStats
	case TypeAudioQuality:
		r.AudioQuality = &AudioQuality{}
		v = r.AudioQuality
	case TypeDeviceHealth:
		r.DeviceHealth = &DeviceHealth{}
		v = r.DeviceHealth
	case TypeTemplate:
		r.Template = &Template{}
		v = r.Template
	default:
		return Record{}, fmt.Errorf("%w: unknown record type %q", ErrDeid, head.Type)
	}
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return Record{}, fmt.Errorf("%w: %s record: %v", ErrDeid, head.Type, err)
	}
	if dec.More() {
		return Record{}, fmt.Errorf("%w: data after the record", ErrDeid)
	}
	onHour := func(t time.Time) bool { return !t.IsZero() && t.Equal(Hour(t)) }
	var ok bool
	switch {
	case r.SessionStats != nil:
		s := r.SessionStats
		ok = onHour(s.Hour) && s.DurationMinutes >= 0 &&
			!slices.ContainsFunc([]Count{s.Participants, s.Enrolled, s.Turns, s.UnknownTurns}, func(c Count) bool { return c != nil && *c < 0 })
	case r.AudioQuality != nil:
		ok = onHour(r.AudioQuality.Hour) && r.AudioQuality.Minutes >= 0
	case r.DeviceHealth != nil:
		ok = onHour(r.DeviceHealth.Hour) && r.DeviceHealth.UptimeHours >= 0
	case r.Template != nil:
		t := r.Template
		ok = t.Dim > 0 && t.Dim <= MaxTemplateDim && len(t.Q) == t.Dim && t.Scale > 0 && !math.IsInf(t.Scale, 0) && t.Transform != ""
	}
	if !ok {
		return Record{}, fmt.Errorf("%w: %s record out of range (times must be on the hour)", ErrDeid, head.Type)
	}
	return r, nil
}
