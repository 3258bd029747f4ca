package agent_test

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/voxward/voxward/agent"
	"github.com/voxward/voxward/internal/modeltest"
	"github.com/voxward/voxward/vault"
)

// TestLoadWhileLabelling: bounded clients hammer the API on loopback while
// a session labels the shipped conversation, played in real time
// VOXWARD_LOAD_ROUNDS times (25 s each). No request may fail, no label may
// be missed or wrong or later than 1.5 s, and the heap must not grow with
// the rounds. It logs the request latencies (p50, p99) and the label
// latency. It takes that long, so it runs under "make load" (CI runs it)
// and not in the default tests.
func TestLoadWhileLabelling(t *testing.T) {
	s := os.Getenv("VOXWARD_LOAD_ROUNDS")
	if s == "" {
		t.Skip("a real-time load test (25 s a round): run it with make load (VOXWARD_LOAD_ROUNDS=N)")
	}
	modeltest.Model(t)
	rounds, err := strconv.Atoi(s)
	require.NoError(t, err, "VOXWARD_LOAD_ROUNDS")
	const clients = 8
	st := newState(t)
	cfg := st.config()
	cfg.Source = "wav:" + filepath.Join(speakersDir, "conversation.wav") + "?loop=1"
	d := start(t, cfg)
	kiosk, tech := st.tokens[vault.RoleKiosk], st.tokens[vault.RoleTechnician]
	disc := disclosureOf(t, d, kiosk)
	var ids []vault.ID
	for i, file := range []string{"enrol-1688.wav", "enrol-1998.wav"} {
		r := d.do(t, "POST", "/v1/subjects", kiosk, consentBody(t, fmt.Sprintf("Speaker %d", i), disc.SHA256, true, "S", "recognition"))
		require.Equal(t, http.StatusCreated, r.code, "%s", r.body)
		var c agent.SubjectCreated
		r.json(t, &c)
		id, err := vault.ParseID(c.SubjectID)
		require.NoError(t, err)
		wav, err := os.ReadFile(filepath.Join(speakersDir, file))
		require.NoError(t, err)
		require.Equal(t, http.StatusCreated, d.enrol(t, tech, id, wav).code)
		ids = append(ids, id)
	}
	r := d.do(t, "POST", "/v1/sessions", tech, sessionBody(t, "load", ids...))
	require.Equal(t, http.StatusCreated, r.code, "%s", r.body)
	var sr agent.SessionResponse
	r.json(t, &sr)
	evs := d.events(t, tech, sr.SessionID)

	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapInuse
	}

	// The clients: status, metrics, the disclosure and consents, as a
	// technician's page and a kiosk would, until the audio is played.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	var lat []time.Duration
	var failed, total atomic.Int64
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			client := &http.Client{Timeout: 10 * time.Second}
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				method, path, token, body := "GET", "/v1/status", tech, ""
				switch (c + i) % 4 {
				case 1:
					path = "/metrics"
				case 2:
					path, token = "/v1/disclosure", kiosk
				case 3:
					method, path, token = "POST", "/v1/subjects", kiosk
					body = fmt.Sprintf(`{"display_name":"Load %d-%d","consent":{"disclosure_sha256":%q,"agreed":true,"signature":"L","purposes":["recognition"]}}`, c, i, disc.SHA256)
				}
				begin := time.Now()
				code, err := doOnce(client, d.base, method, path, token, body)
				el := time.Since(begin)
				total.Add(1)
				if err != nil || code/100 != 2 {
					failed.Add(1)
					t.Errorf("%s %s: %d %v", method, path, code, err)
				}
				mu.Lock()
				lat = append(lat, el)
				mu.Unlock()
			}
		}()
	}

	var got []agent.TurnEvent
	collect := func() {
		for {
			select {
			case ev := <-evs:
				got = append(got, ev)
			default:
				return
			}
		}
	}
	var heapAfterFirst uint64
	for round := 1; round <= rounds; round++ {
		want := 6 * round
		require.Eventually(t, func() bool {
			collect()
			return len(got) >= want
		}, 40*time.Second, 50*time.Millisecond, "round %d: %d labels", round, len(got))
		if round == 1 {
			heapAfterFirst = heap()
		}
	}
	close(stop)
	wg.Wait()
	heapEnd := heap()

	pattern := []string{"Speaker 0", "Speaker 1", "unknown", "Speaker 0", "Speaker 1", "unknown"}
	require.GreaterOrEqual(t, len(got), 6*rounds)
	for i, ev := range got[:6*rounds] {
		name := "unknown"
		if ev.DisplayName != nil {
			name = *ev.DisplayName
		}
		assert.Equal(t, pattern[i%6], name, "turn %d", i)
	}
	assert.Zero(t, failed.Load(), "failed requests")
	slices.Sort(lat)
	q := func(p float64) time.Duration { return lat[min(len(lat)-1, int(p*float64(len(lat))))] }
	m := d.do(t, "GET", "/metrics", tech, "")
	t.Logf("%d clients, %d requests, %d failed; request latency p50 %v, p99 %v, max %v", clients, total.Load(), failed.Load(), q(0.5), q(0.99), lat[len(lat)-1])
	t.Logf("%d labels over %d rounds; label latency: %s, %s", len(got), rounds,
		metricLine(string(m.body), "voxward_label_latency_seconds_sum"), metricLine(string(m.body), "voxward_label_latency_seconds_count"))
	count := strings.TrimPrefix(metricLine(string(m.body), "voxward_label_latency_seconds_count"), "voxward_label_latency_seconds_count ")
	assert.Equal(t, count, strings.TrimPrefix(metricLine(string(m.body), `voxward_label_latency_seconds_bucket{le="1.5"}`), `voxward_label_latency_seconds_bucket{le="1.5"} `),
		"a label came later than 1.5 s after its turn")
	t.Logf("heap in use: %.1f MB after the first round, %.1f MB after %d", float64(heapAfterFirst)/1e6, float64(heapEnd)/1e6, rounds)
	if rounds > 1 {
		// Flat memory: the rounds after the first add at most what the
		// consents the clients stored take (a few kB each) plus noise.
		assert.Less(t, float64(heapEnd), float64(heapAfterFirst)*1.5+16e6, "the heap grew with the rounds")
	}
}

func doOnce(c *http.Client, base, method, path, token, body string) (int, error) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, base+path, rd)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, err = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, err
}

// metricLine returns the line of a Prometheus text body that starts with
// name.
func metricLine(body, name string) string {
	for _, l := range strings.Split(body, "\n") {
		if strings.HasPrefix(l, name+" ") {
			return l
		}
	}
	return name + " (absent)"
}
