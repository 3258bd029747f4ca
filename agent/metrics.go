package agent

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/voxward/voxward/vault"
)

// metrics is the daemon's Prometheus registry. Labels are route patterns
// and status codes only: never an id, a name or a token.
type metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
}

func newMetrics(a *App) *metrics {
	reg := prometheus.NewRegistry()
	m := &metrics{
		reg: reg,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "voxward_http_requests_total",
			Help: "Local API requests by route pattern and status code.",
		}, []string{"route", "code"}),
	}
	counter := func(name, help string, f func() float64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, f)
	}
	gauge := func(name, help string, f func() float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, f)
	}
	reg.MustRegister(
		m.requests,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		gauge("voxward_capture_open", "1 while the capture source is open (a consent lease is held), else 0.", func() float64 {
			if a.gate.Status().Open {
				return 1
			}
			return 0
		}),
		counter("voxward_capture_opens_total", "Times the consent gate opened the source.", func() float64 {
			return float64(a.gate.Status().Opens)
		}),
		counter("voxward_capture_overflows_total", "Reads that reported lost audio (the source or its ring buffer overflowed; capture does not say how many samples were lost).", func() float64 {
			return float64(a.gate.Status().Overflows)
		}),
		counter("voxward_capture_samples_total", "16 kHz samples read through the consent gate and processed.", func() float64 {
			return float64(a.pipe.samples.Load())
		}),
		counter("voxward_capture_frames_total", "Fbank frames computed from live audio (and dropped: nothing is stored).", func() float64 {
			return float64(a.pipe.frames.Load())
		}),
		counter("voxward_capture_read_errors_total", "Source reads that failed with an error other than overflow.", func() float64 {
			return float64(a.pipe.readErrors.Load())
		}),
		counter("voxward_fbank_seconds_total", "Wall-clock seconds spent computing fbank features; divided by samples_total/16000 it is the real-time factor.", func() float64 {
			return time.Duration(a.pipe.fbankNanos.Load()).Seconds()
		}),
		gauge("voxward_capture_rms_dbfs", "RMS level of the audio read through the gate, dBFS (about the last 300 ms).", func() float64 {
			return a.gate.Status().Levels.RMSDBFS
		}),
		gauge("voxward_sessions_live", "Live sessions (each holds a consent lease).", func() float64 {
			n, _ := a.sess.count()
			return float64(n)
		}),
		counter("voxward_sessions_started_total", "Sessions started since the daemon started.", func() float64 {
			_, n := a.sess.count()
			return float64(n)
		}),
	)
	reg.MustRegister(a.labels.collectors(a)...)
	reg.MustRegister(retentionMetrics(a.ret)...)
	reg.MustRegister(syncMetrics(a.sync)...)
	return m
}

// retentionMetrics report the retention job (PRIVACY.md rules 9 and 11)
// as of its last run, and a run overdue now as a missed deadline. Alert on voxward_retention_missed_deadline, on
// increases of voxward_retention_failures_total, and on
// voxward_retention_last_success_timestamp_seconds falling behind.
func retentionMetrics(j *retentionJob) []prometheus.Collector {
	counter := func(name, help string, f func(s *retentionState) float64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, func() float64 {
			s := j.current()
			return f(&s)
		})
	}
	gauge := func(name, help string, f func(s *retentionState) float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, func() float64 {
			s := j.current()
			return f(&s)
		})
	}
	b := func(v bool) float64 {
		if v {
			return 1
		}
		return 0
	}
	unix := func(t time.Time) float64 {
		if t.IsZero() {
			return 0
		}
		return float64(t.UnixNano()) / 1e9
	}
	cs := []prometheus.Collector{
		counter("voxward_retention_runs_total", "Retention job runs (at start-up, then every retention_interval).", func(s *retentionState) float64 { return float64(s.runs) }),
		counter("voxward_retention_failures_total", "Retention job runs that ended with an error (see last_error in GET /v1/status).", func(s *retentionState) float64 { return float64(s.failures) }),
		gauge("voxward_retention_missed_deadline", "1 when the last retention run was behind its schedule by more than the slack (a missed deadline), else 0.", func(s *retentionState) float64 { return b(s.missed) }),
		counter("voxward_retention_missed_deadlines_total", "Retention runs that found a missed deadline.", func(s *retentionState) float64 { return float64(s.missedTotal) }),
		gauge("voxward_retention_late_seconds", "How far the last retention run was behind its schedule, seconds (0: on time).", func(s *retentionState) float64 { return s.late.Seconds() }),
		gauge("voxward_retention_last_success_timestamp_seconds", "When the last successful retention run started, Unix seconds (0: none yet).", func(s *retentionState) float64 { return unix(s.lastSuccess) }),
		gauge("voxward_vault_kek_epoch", "The vault's key-encryption epoch, as of the last retention run.", func(s *retentionState) float64 { return float64(s.epoch) }),
		gauge("voxward_vault_kek_rotated_timestamp_seconds", "When the current key-encryption epoch began, Unix seconds, as of the last retention run.", func(s *retentionState) float64 { return unix(s.rotated) }),
		gauge("voxward_vault_rotation_pending", "1 when a key rotation after an erasure failed and waits for a retry, as of the last retention run.", func(s *retentionState) float64 { return b(s.rotationPending) }),
		counter("voxward_retention_key_rotations_total", "Key rotations the retention job made: on schedule, retried, or after what it erased.", func(s *retentionState) float64 { return float64(s.rotations) }),
		gauge("voxward_vault_compaction_due", "1 when freed pages wait for compaction, as of the last retention run.", func(s *retentionState) float64 { return b(s.compactionDue) }),
		counter("voxward_retention_compactions_total", "Vault compactions the retention job made.", func(s *retentionState) float64 { return float64(s.compactions) }),
	}
	for _, a := range []struct {
		action string
		n      func(c *RetentionCounts) int
	}{
		{"deidentified", func(c *RetentionCounts) int { return c.Deidentified }},
		{"erased", func(c *RetentionCounts) int { return c.Erased }},
		{"deid_created", func(c *RetentionCounts) int { return c.DeidCreated }},
		{"deid_deleted", func(c *RetentionCounts) int { return c.DeidDeleted }},
		{"sessions_deleted", func(c *RetentionCounts) int { return c.SessionsDeleted }},
	} {
		cs = append(cs, prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name:        "voxward_retention_actions_total",
			Help:        "What retention did, by action: subjects de-identified or erased, de-identified templates created or deleted, sessions deleted.",
			ConstLabels: prometheus.Labels{"action": a.action},
		}, func() float64 {
			s := j.current()
			return float64(a.n(&s.total))
		}))
	}
	return cs
}

// syncMetrics report the sync outbox and its batches. Alert on
// voxward_outbox_full: new de-identified records are being refused.
func syncMetrics(j *syncJob) []prometheus.Collector {
	usage := func() vault.OutboxUsage {
		if j.store == nil {
			return vault.OutboxUsage{}
		}
		u, _ := j.store.OutboxUsage()
		return u
	}
	return []prometheus.Collector{
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "voxward_outbox_full", Help: "1 when the sync outbox has reached outbox_max_bytes: new de-identified records are refused (old ones kept) until a puller acknowledges batches."}, func() float64 {
			if usage().Full() {
				return 1
			}
			return 0
		}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "voxward_outbox_bytes", Help: "Bytes the sync outbox and the unacknowledged batches take in the vault."}, func() float64 { return float64(usage().Bytes) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "voxward_outbox_entries", Help: "De-identified records waiting to be sealed into a batch."}, func() float64 { return float64(usage().Entries) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "voxward_sync_batches_pending", Help: "Sealed batches no puller has acknowledged yet."}, func() float64 { return float64(usage().Batches) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "voxward_outbox_refused_total", Help: "De-identified records refused because the outbox was full."}, func() float64 { return float64(j.refused.Load()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "voxward_sync_batches_sealed_total", Help: "Sync batches sealed (on the interval and by POST /v1/sync/seal)."}, func() float64 { return float64(j.sealed.Load()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "voxward_sync_pulls_total", Help: "Batch bodies served to pullers (each audited)."}, func() float64 { return float64(j.pulls.Load()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "voxward_sync_acks_total", Help: "Batch acknowledgements from pullers."}, func() float64 { return float64(j.acks.Load()) }),
	}
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

func (m *metrics) observe(route string, code int) {
	m.requests.WithLabelValues(route, strconv.Itoa(code)).Inc()
}
