package agent

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
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
	return m
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

func (m *metrics) observe(route string, code int) {
	m.requests.WithLabelValues(route, strconv.Itoa(code)).Inc()
}
