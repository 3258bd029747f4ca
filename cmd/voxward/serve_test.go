package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/voxward/voxward/agent"
)

// syncBuffer is a bytes.Buffer safe to write from the command's goroutine
// while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// notifySocket listens where systemd would, and returns the messages.
func notifySocket(t *testing.T) <-chan string {
	t.Helper()
	dir, err := os.MkdirTemp("", "vxn")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(dir) })
	path := filepath.Join(dir, "notify")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	require.NoError(t, err)
	t.Setenv("NOTIFY_SOCKET", path)
	msgs := make(chan string, 8)
	go func() {
		defer close(msgs)
		buf := make([]byte, 4096)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				return
			}
			msgs <- string(buf[:n])
		}
	}()
	t.Cleanup(func() { conn.Close() })
	return msgs
}

func nextMessage(t *testing.T, msgs <-chan string) string {
	t.Helper()
	select {
	case m := <-msgs:
		return m
	case <-time.After(10 * time.Second):
		t.Fatal("no systemd notification within 10 s")
		return ""
	}
}

func TestServe(t *testing.T) {
	dir, admin := initState(t)
	msgs := notifySocket(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errb syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, &stdio{in: strings.NewReader(""), out: &out, err: &errb},
			[]string{"serve", "--state-dir", dir, "--listen", "127.0.0.1:0", "--source", "tone"})
	}()

	ready := nextMessage(t, msgs)
	assert.Contains(t, ready, "READY=1")
	addr := regexp.MustCompile(`STATUS=listening on (\S+)`).FindStringSubmatch(ready)
	require.Len(t, addr, 2, "READY message %q names no address", ready)
	assert.Contains(t, out.String(), "listening on http://"+addr[1])

	// The daemon holds the vault: offline commands say so, and the same
	// commands go through its API with --url and an admin token.
	code, _, errOut := runCLI(t, "", "token", "list", "--state-dir", dir)
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "is voxward serve running?")
	assert.Contains(t, errOut, "--url")
	url := "http://" + addr[1]
	code, created, errOut := runCLI(t, "", "token", "create", "--role", "kiosk", "--url", url, "--token", admin)
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, created, "created kiosk token")
	kioskID := regexp.MustCompile(`token ([0-9a-f]{32})`).FindStringSubmatch(created)
	require.Len(t, kioskID, 2)
	code, listed, errOut := runCLI(t, "", "token", "list", "--url", url, "--token", admin)
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, listed, kioskID[1]+" kiosk")
	code, _, errOut = runCLI(t, "", "token", "revoke", kioskID[1], "--url", url, "--token", admin)
	require.Equal(t, 0, code, errOut)
	code, verified, errOut := runCLI(t, "", "vault", "verify", "--url", url, "--token", admin)
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, verified, "ok: the audit chain")
	kiosk := lastLine(created)
	code, _, errOut = runCLI(t, "", "token", "list", "--url", url, "--token", kiosk)
	assert.Equal(t, 1, code, "a revoked token listed tokens")
	assert.Contains(t, errOut, "401")
	code, _, errOut = runCLI(t, "", "token", "list", "--url", url)
	assert.Equal(t, 2, code, errOut)

	req, err := http.NewRequest("GET", "http://"+addr[1]+"/v1/status", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+admin)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
	var st struct {
		Capture struct{ Open bool } `json:"capture"`
		Source  struct{ Kind string }
	}
	require.NoError(t, json.Unmarshal(body, &st))
	assert.False(t, st.Capture.Open)
	assert.Equal(t, "tone", st.Source.Kind)
	http.DefaultClient.CloseIdleConnections()

	// SIGTERM is the context ending: STOPPING=1, then exit 0.
	cancel()
	assert.Equal(t, "STOPPING=1", nextMessage(t, msgs))
	select {
	case code := <-done:
		assert.Equal(t, 0, code, "stderr: %s", errb.String())
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not exit within 10 s of SIGTERM")
	}
	assert.Contains(t, errb.String(), "msg=stopped")

	code, _, errOut = runCLI(t, "", "vault", "verify", "--state-dir", dir)
	assert.Equal(t, 0, code, errOut)
}

func TestServeConfigFileAndFlags(t *testing.T) {
	dir, _ := initState(t)
	conf := filepath.Join(t.TempDir(), "voxward.toml")
	// The file names a state directory that does not exist and a public
	// address; the flags override both.
	require.NoError(t, os.WriteFile(conf, []byte(`
state_dir = "/nonexistent"
listen = "0.0.0.0:7480"
source = "tone?freq=1000"
`), 0o600))
	msgs := notifySocket(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan int, 1)
	var out, errb syncBuffer
	go func() {
		done <- run(ctx, &stdio{in: strings.NewReader(""), out: &out, err: &errb},
			[]string{"serve", "--config", conf, "--state-dir", dir, "--listen", "127.0.0.1:0"})
	}()
	assert.Contains(t, nextMessage(t, msgs), "READY=1")
	assert.Contains(t, errb.String(), `source="tone?freq=1000"`, "the file's source was not used")
	cancel()
	assert.Equal(t, 0, <-done, errb.String())
}

func TestServeErrors(t *testing.T) {
	dir, _ := initState(t)
	badConf := filepath.Join(t.TempDir(), "bad.toml")
	require.NoError(t, os.WriteFile(badConf, []byte("state_dir = \"/s\"\nlisten_on = \"x\"\n"), 0o600))
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"serve"}, 2, "--state-dir"},
		{[]string{"serve", "--state-dir", dir, "--log-level", "loud"}, 2, "--log-level"},
		{[]string{"serve", "--state-dir", dir, "--listen", "0.0.0.0:1"}, 1, "loopback"},
		{[]string{"serve", "--state-dir", dir, "--source", "mic"}, 1, "source"},
		{[]string{"serve", "--config", badConf}, 1, "listen_on"},
		{[]string{"serve", "--state-dir", t.TempDir(), "--listen", "127.0.0.1:0"}, 1, "voxward init"},
	} {
		code, _, errOut := runCLI(t, "", tc.args...)
		assert.Equal(t, tc.code, code, "voxward %v: %s", tc.args, errOut)
		assert.Contains(t, errOut, tc.want, "voxward %v", tc.args)
	}
}

func TestServeWatchdog(t *testing.T) {
	dir, _ := initState(t)
	msgs := notifySocket(t)
	t.Setenv("WATCHDOG_USEC", "200000") // WatchdogSec=200ms: a ping every 100 ms
	t.Setenv("WATCHDOG_PID", "")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errb syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, &stdio{in: strings.NewReader(""), out: &out, err: &errb},
			[]string{"serve", "--state-dir", dir, "--listen", "127.0.0.1:0", "--source", "tone"})
	}()

	assert.Contains(t, nextMessage(t, msgs), "READY=1")
	for i := range 3 {
		assert.Equal(t, "WATCHDOG=1", nextMessage(t, msgs), "message %d after READY=1", i+1)
	}
	assert.Contains(t, errb.String(), "ping_every=100ms")

	// SIGTERM: the pings stop before STOPPING=1, none follows it.
	cancel()
	for m := nextMessage(t, msgs); m != "STOPPING=1"; m = nextMessage(t, msgs) {
		assert.Equal(t, "WATCHDOG=1", m)
	}
	select {
	case code := <-done:
		assert.Equal(t, 0, code, "stderr: %s", errb.String())
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not exit within 10 s of SIGTERM")
	}
	select {
	case m, ok := <-msgs:
		assert.False(t, ok && m != "", "message %q after STOPPING=1", m)
	default:
	}
	assert.NotContains(t, errb.String(), "watchdog ping withheld")
}

func TestWatchdogFollowsHealth(t *testing.T) {
	down := errors.New("connection refused")
	// The probe's answers, in order; after the last one the run ends.
	script := []error{nil, down, down, nil, nil}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	probes := 0
	probe := func(pctx context.Context) error {
		_, hasDeadline := pctx.Deadline()
		assert.True(t, hasDeadline, "probe %d has no deadline", probes)
		if probes == len(script) {
			cancel()
			return pctx.Err()
		}
		probes++
		return script[probes-1]
	}
	var sent []string
	notify := func(state string) error {
		sent = append(sent, state)
		return nil
	}
	var logs bytes.Buffer
	watchdog(ctx, time.Millisecond, probe, notify, slog.New(slog.NewTextHandler(&logs, nil)))

	assert.Equal(t, []string{"WATCHDOG=1", "WATCHDOG=1", "WATCHDOG=1"}, sent, "pings for %d probes, 2 failing", len(script))
	assert.Equal(t, 2, strings.Count(logs.String(), "watchdog ping withheld"), "log:\n%s", logs.String())
	assert.Contains(t, logs.String(), "connection refused")
}

func TestHealthProbe(t *testing.T) {
	healthy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/health" {
			http.NotFound(w, r)
			return
		}
		io.WriteString(w, `{"status":"ok"}`)
	}))
	defer healthy.Close()
	failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "stuck", http.StatusServiceUnavailable)
	}))
	defer failing.Close()
	closed := httptest.NewServer(http.NotFoundHandler())
	closedAddr := closed.Listener.Addr().String()
	closed.Close()

	for _, tc := range []struct {
		name, addr, wantErr string
	}{
		{"healthy", healthy.Listener.Addr().String(), ""},
		{"503", failing.Listener.Addr().String(), "503"},
		{"not listening", closedAddr, "refused"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			err := healthProbe(tc.addr)(ctx)
			if tc.wantErr == "" {
				assert.NoError(t, err)
			} else {
				assert.ErrorContains(t, err, tc.wantErr)
			}
		})
	}
}

// TestServeSIGTERMWithStalledClient: a client that declares a body and
// sends part of it, keeping the connection open, must not make SIGTERM
// wait past shutdown_timeout or exit 1 (systemd would mark the unit
// failed). Exit 0, promptly.
func TestServeSIGTERMWithStalledClient(t *testing.T) {
	dir, admin := initState(t)
	conf := filepath.Join(t.TempDir(), "voxward.toml")
	require.NoError(t, os.WriteFile(conf, []byte("shutdown_timeout = \"1s\"\n"), 0o600))
	msgs := notifySocket(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errb syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, &stdio{in: strings.NewReader(""), out: &out, err: &errb},
			[]string{"serve", "--config", conf, "--state-dir", dir, "--listen", "127.0.0.1:0"})
	}()
	ready := nextMessage(t, msgs)
	addr := regexp.MustCompile(`STATUS=listening on (\S+)`).FindStringSubmatch(ready)
	require.Len(t, addr, 2, "READY message %q names no address", ready)

	c, err := net.Dial("tcp", addr[1])
	require.NoError(t, err)
	defer c.Close()
	stallRequest(t, c, "POST /v1/sessions HTTP/1.1\r\nHost: "+addr[1]+"\r\nAuthorization: Bearer "+admin+
		"\r\nContent-Type: application/json\r\nContent-Length: 100\r\nExpect: 100-continue\r\n\r\n", `{"title":`)

	begin := time.Now()
	cancel() // SIGTERM
	assert.Equal(t, "STOPPING=1", nextMessage(t, msgs))
	select {
	case code := <-done:
		assert.Equal(t, 0, code, "exit status after SIGTERM with a stalled client; stderr: %s", errb.String())
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not exit within 30 s of SIGTERM")
	}
	// The bound is shutdown_timeout (1 s) plus one second for handlers to
	// return; the rest is slack for a loaded machine.
	elapsed := time.Since(begin)
	assert.Less(t, elapsed, 6*time.Second, "exit took %v", elapsed)
	assert.Contains(t, errb.String(), "msg=stopped")
}

// stallRequest sends head (which asks for 100-continue), waits until the
// handler starts reading the body (the server then says 100 Continue),
// and sends part of the body; the connection stays open.
func stallRequest(t *testing.T, c net.Conn, head, part string) {
	t.Helper()
	require.NoError(t, c.SetDeadline(time.Now().Add(10*time.Second)))
	_, err := c.Write([]byte(head))
	require.NoError(t, err)
	line, err := bufio.NewReader(c).ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "HTTP/1.1 100 Continue\r\n", line)
	_, err = c.Write([]byte(part))
	require.NoError(t, err)
	require.NoError(t, c.SetDeadline(time.Time{}))
}

// TestServeHelpListsEveryConfigKey: "voxward serve --help" documents every
// key of the configuration file, with its default.
func TestServeHelpListsEveryConfigKey(t *testing.T) {
	code, out, _ := runCLI(t, "", "serve", "--help")
	require.Equal(t, 0, code)
	def := reflect.ValueOf(agent.DefaultConfig())
	typ := def.Type()
	for i := range typ.NumField() {
		key := strings.Split(typ.Field(i).Tag.Get("toml"), ",")[0]
		require.NotEmpty(t, key, "agent.Config.%s has no toml key", typ.Field(i).Name)
		line := regexp.MustCompile(`(?m)^  ` + key + ` +=.*$`).FindString(out)
		if !assert.NotEmpty(t, line, "serve --help does not list %s", key) {
			continue
		}
		if v := def.Field(i); v.Kind() == reflect.Int64 && v.Type() == reflect.TypeFor[int64]() {
			assert.Contains(t, line, fmt.Sprintf("= %d ", v.Int()), "serve --help: the default of %s", key)
		}
	}
}
