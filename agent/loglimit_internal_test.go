package agent

import (
	"bytes"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// stepClock is a clock the test moves by hand.
type stepClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *stepClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *stepClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func TestLogLimiter(t *testing.T) {
	var buf bytes.Buffer
	clk := &stepClock{t: time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)}
	base := slog.New(newLogLimiter(slog.NewTextHandler(&buf, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	}), 10*time.Second, clk.Now))
	api := base.With("component", "agent")
	vlt := base.With("component", "vault")
	lines := func() []string {
		out := strings.Split(strings.TrimSpace(buf.String()), "\n")
		buf.Reset()
		if len(out) == 1 && out[0] == "" {
			return nil
		}
		return out
	}

	// A burst: one line each for distinct messages and components.
	for range 2500 {
		api.Error("start session", "err", "no space left on device")
		vlt.Warn("audit of a failed access not written")
	}
	api.Warn("start session") // another level is another line
	vlt.Error("start session")
	api.Info("session started")
	api.Info("session started") // info is never limited
	assert.Equal(t, []string{
		`level=ERROR msg="start session" component=agent err="no space left on device"`,
		`level=WARN msg="audit of a failed access not written" component=vault`,
		`level=WARN msg="start session" component=agent`,
		`level=ERROR msg="start session" component=vault`,
		`level=INFO msg="session started" component=agent`,
		`level=INFO msg="session started" component=agent`,
	}, lines())

	// Within the interval: still nothing.
	clk.Add(9 * time.Second)
	api.Error("start session", "err", "x")
	assert.Empty(t, lines())

	// Past it: one line, with the count of those dropped.
	clk.Add(time.Second)
	api.Error("start session", "err", "no space left on device")
	api.Error("start session", "err", "no space left on device")
	assert.Equal(t, []string{
		`level=ERROR msg="start session" component=agent err="no space left on device" suppressed=2500`,
	}, lines())

	// After a quiet spell the count starts again from nothing.
	clk.Add(time.Minute)
	api.Error("start session")
	assert.Equal(t, []string{`level=ERROR msg="start session" component=agent suppressed=1`}, lines())
	clk.Add(time.Minute)
	api.Error("start session")
	assert.Equal(t, []string{`level=ERROR msg="start session" component=agent`}, lines())
}

// TestLogLimiterForgets: the limiter remembers a bounded number of
// distinct warnings.
func TestLogLimiterForgets(t *testing.T) {
	clk := &stepClock{t: time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)}
	h := newLogLimiter(slog.NewTextHandler(io.Discard, nil), time.Second, clk.Now)
	log := slog.New(h)
	for i := range maxLogKeys {
		log.Warn(strings.Repeat("x", i))
	}
	clk.Add(time.Second)
	log.Warn("one more")
	h.state.mu.Lock()
	defer h.state.mu.Unlock()
	require.Len(t, h.state.seen, 1, "entries quiet past the interval were not forgotten")
}
