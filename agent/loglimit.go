package agent

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"time"
)

// logEvery is how often one repeated warning or error reaches the log.
const logEvery = 10 * time.Second

// maxLogKeys bounds the distinct warnings the limiter remembers; past it,
// those quiet for longer than the interval are forgotten.
const maxLogKeys = 1024

// logLimiter is a slog.Handler that lets through at most one record per
// interval of each distinct warning or error — the same level, message
// and logger attributes (component) — and drops the rest, counting them:
// the next one let through carries suppressed=N. A client that retries a
// failing request a thousand times a second thus costs one log line per
// interval, not a thousand. Info and debug records pass untouched.
type logLimiter struct {
	next  slog.Handler
	scope string // the attributes and groups added with With, as text
	state *limitState
}

type limitState struct {
	every time.Duration
	now   func() time.Time

	mu   sync.Mutex
	seen map[string]*limitEntry
}

type limitEntry struct {
	last       time.Time // when one was last let through
	suppressed int       // dropped since then
}

// newLogLimiter wraps next; now is the clock.
func newLogLimiter(next slog.Handler, every time.Duration, now func() time.Time) *logLimiter {
	return &logLimiter{next: next, state: &limitState{every: every, now: now, seen: map[string]*limitEntry{}}}
}

func (h *logLimiter) Enabled(ctx context.Context, l slog.Level) bool { return h.next.Enabled(ctx, l) }

func (h *logLimiter) Handle(ctx context.Context, r slog.Record) error {
	if r.Level < slog.LevelWarn {
		return h.next.Handle(ctx, r)
	}
	n, ok := h.state.admit(h.scope + "\x00" + r.Level.String() + "\x00" + r.Message)
	if !ok {
		return nil
	}
	if n > 0 {
		r = r.Clone()
		r.AddAttrs(slog.Int("suppressed", n))
	}
	return h.next.Handle(ctx, r)
}

// admit reports whether a record with this key may pass now, and how many
// were dropped since the last that passed.
func (s *limitState) admit(key string) (suppressed int, ok bool) {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.seen[key]
	if e != nil && now.Sub(e.last) < s.every {
		e.suppressed++
		return 0, false
	}
	if e == nil {
		if len(s.seen) >= maxLogKeys {
			s.forgetLocked(now)
		}
		e = &limitEntry{}
		s.seen[key] = e
	}
	n := e.suppressed
	e.last, e.suppressed = now, 0
	return n, true
}

// forgetLocked drops the entries quiet for longer than the interval.
func (s *limitState) forgetLocked(now time.Time) {
	for k, e := range s.seen {
		if now.Sub(e.last) >= s.every {
			delete(s.seen, k)
		}
	}
}

func (h *logLimiter) WithAttrs(as []slog.Attr) slog.Handler {
	var b strings.Builder
	b.WriteString(h.scope)
	for _, a := range as {
		b.WriteString(a.String())
		b.WriteByte(' ')
	}
	return &logLimiter{next: h.next.WithAttrs(as), scope: b.String(), state: h.state}
}

func (h *logLimiter) WithGroup(name string) slog.Handler {
	return &logLimiter{next: h.next.WithGroup(name), scope: h.scope + name + ".", state: h.state}
}
