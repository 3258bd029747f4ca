package agent_test

import (
	"math"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/voxward/voxward/agent"
	"github.com/voxward/voxward/capture"
	"github.com/voxward/voxward/internal/clocktest"
	"github.com/voxward/voxward/vault"
)

// writeWAV writes seconds of a 300 Hz sine at 16 kHz.
func writeWAV(t *testing.T, seconds float64) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "room.wav")
	f, err := os.Create(path)
	require.NoError(t, err)
	w, err := capture.NewWAVWriter(f, capture.SampleRate)
	require.NoError(t, err)
	x := make([]float32, int(seconds*capture.SampleRate))
	for i := range x {
		x[i] = float32(8000 * math.Sin(2*math.Pi*300*float64(i)/capture.SampleRate))
	}
	require.NoError(t, w.Write(x))
	require.NoError(t, w.Close())
	require.NoError(t, f.Close())
	return path
}

// A finite WAV source ends; the pipeline waits (no busy loop on EOF) and
// the next session reopens the file from its start.
func TestWAVSourceEndsAndReopens(t *testing.T) {
	st := newState(t)
	clk := clocktest.New(time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC))
	cfg := st.config()
	cfg.Source = "wav:" + writeWAV(t, 0.5)
	cfg.SessionMax = 0
	speaker := st.consenting(t)
	d := start(t, cfg, agent.WithClock(clk))
	tech := st.tokens[vault.RoleTechnician]

	var perSession uint64
	for round := 1; round <= 2; round++ {
		r := d.do(t, "POST", "/v1/sessions", tech, sessionBody(t, "", speaker))
		require.Equal(t, http.StatusCreated, r.code, "%s", r.body)
		var sr agent.SessionResponse
		r.json(t, &sr)
		// Until this round's audio has ended: right after the session
		// starts, the status can still show the last round's end (the
		// pipeline has not woken yet), so the count must have moved too.
		advanceUntil(t, clk, func() bool {
			s := d.status(t, tech)
			return s.Pipeline.State == "source ended" && s.Pipeline.Samples > uint64(round-1)*perSession
		})
		s := d.status(t, tech)
		assert.True(t, s.Capture.Open, "the gate closed when the file ended; the session still holds it")
		if round == 1 {
			perSession = s.Pipeline.Samples
			// 0.5 s of audio, give or take the resampler-free stream's blocks.
			assert.InDelta(t, 8000, float64(perSession), 1024)
		} else {
			assert.Equal(t, 2*perSession, s.Pipeline.Samples, "the second session did not replay the file from its start")
		}
		// No timer of the pipeline's is pending while it waits: it is not
		// polling. The timers are the retention job's next run and the
		// sync job's next seal.
		assert.Equal(t, retentionTimers, clk.Waiters(), "the pipeline polls after the end of the source")
		r = d.do(t, "POST", "/v1/sessions/"+sr.SessionID+"/stop", tech, "")
		require.Equal(t, http.StatusOK, r.code, "%s", r.body)
		assert.False(t, d.status(t, tech).Capture.Open)
	}
}
