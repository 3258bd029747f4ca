package sync_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	gosync "sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/require"

	vsync "github.com/voxward/voxward/sync"
)

// The test binary doubles as the two processes the crash test kills with
// SIGKILL: a nats-server (VOXWARD_TEST_ROLE=natsd) and a puller
// (VOXWARD_TEST_ROLE=puller).
func TestMain(m *testing.M) {
	switch os.Getenv("VOXWARD_TEST_ROLE") {
	case "natsd":
		os.Exit(natsdChild())
	case "puller":
		os.Exit(pullerChild())
	}
	os.Exit(m.Run())
}

// natsdChild runs nats-server with JetStream on file storage, fsync before
// every acknowledgement, until it is killed.
func natsdChild() int {
	port, _ := strconv.Atoi(os.Getenv("VOXWARD_TEST_NATS_PORT"))
	s, err := server.NewServer(natsOpts(os.Getenv("VOXWARD_TEST_NATS_DIR"), port))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 3
	}
	s.Start()
	if !s.ReadyForConnections(20 * time.Second) {
		fmt.Fprintln(os.Stderr, "natsd: not ready")
		return 3
	}
	fmt.Println("ready")
	s.WaitForShutdown()
	return 0
}

// pullerChild drains the boxes once into the sink VOXWARD_TEST_SINK
// (dir:PATH or nats:URL), as "voxward pull --once" does.
func pullerChild() int {
	ctx := context.Background()
	boxes, err := vsync.LoadBoxes(os.Getenv("VOXWARD_TEST_BOXES"), os.Getenv)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 3
	}
	var sink vsync.Sink
	switch spec := os.Getenv("VOXWARD_TEST_SINK"); {
	case strings.HasPrefix(spec, "dir:"):
		sink, err = vsync.NewDirSink(spec[len("dir:"):])
	case strings.HasPrefix(spec, "nats:"):
		var nc *nats.Conn
		nc, err = nats.Connect(spec[len("nats:"):], nats.RetryOnFailedConnect(true), nats.ReconnectWait(50*time.Millisecond), nats.MaxReconnects(-1))
		if err == nil {
			defer nc.Close()
			sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			sink, err = vsync.NewNATSSink(sctx, nc, nil)
			cancel()
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 3
	}
	known, err := vsync.OpenKnownDevices(os.Getenv("VOXWARD_TEST_KNOWN"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 3
	}
	p := &vsync.Puller{Sink: sink, Known: known, Concurrency: 4, PageSize: 3, Timeout: 2 * time.Second}
	s := vsync.Summarize(p.PullAll(ctx, boxes))
	fmt.Printf("stored=%d duplicates=%d failed=%d\n", s.Stored, s.Duplicates, s.Failed)
	if s.BoxesFailed > 0 {
		return 1
	}
	return 0
}

// crashEvents are the points of a pull a fault may hit: fetch (list,
// manifest, body), store (just after the body was served, while the
// puller verifies and stores it) and ack (before or after the box applied
// it).
var crashEvents = []string{"list", "manifest", "body", "store", "ack-before", "ack-after"}

// crashActions are what a fault does.
var crashActions = []string{"kill-puller", "kill-box", "kill-nats"}

// fault is one iteration's plan: at the nth event, do action.
type fault struct {
	event, action string
	nth           int64
	delay         time.Duration
}

// crashHarness holds a fleet of simulated boxes whose batches survive their
// restarts, a nats-server child process, and the puller child of the
// iteration.
type crashHarness struct {
	t       *testing.T
	exe     string
	dir     string
	mode    string // "nats" or "dir"
	fleet   []*simBox
	boxMu   []gosync.Mutex
	sealed  map[string]string // subject-like device.batch → sha256
	natsURL string

	mu       gosync.Mutex
	plan     fault
	seen     atomic.Int64
	fired    atomic.Bool
	pullers  []*os.Process
	natsProc *exec.Cmd
	restarts gosync.WaitGroup // box and nats-server restarts, and delayed faults, not yet done
}

func (h *crashHarness) wrap(i int) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ev := ""
			switch {
			case r.Method == http.MethodGet && r.URL.Path == "/v1/sync/batches":
				ev = "list"
			case r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/manifest"):
				ev = "manifest"
			case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/v1/sync/batches/"):
				ev = "body"
			case r.Method == http.MethodPost:
				ev = "ack"
			}
			switch ev {
			case "list", "manifest", "body":
				h.hit(i, ev)
				next.ServeHTTP(w, r)
				if ev == "body" {
					h.hit(i, "store")
				}
			case "ack":
				h.hit(i, "ack-before")
				rec := &bufferedWriter{header: http.Header{}}
				next.ServeHTTP(rec, r) // applied…
				h.hit(i, "ack-after")  // …but the answer may be lost
				rec.flush(w)
			default:
				next.ServeHTTP(w, r)
			}
		})
	}
}

// hit counts an event and fires the plan's fault on its nth occurrence.
// A fault that kills the box or hits before an answer aborts the request.
func (h *crashHarness) hit(i int, ev string) {
	h.mu.Lock()
	plan := h.plan
	h.mu.Unlock()
	if ev != plan.event || h.seen.Add(1) != plan.nth || !h.fired.CompareAndSwap(false, true) {
		return
	}
	do := func() {
		switch plan.action {
		case "kill-puller":
			h.mu.Lock()
			if len(h.pullers) > 0 {
				_ = h.pullers[rand.IntN(len(h.pullers))].Signal(syscall.SIGKILL)
			}
			h.mu.Unlock()
		case "kill-nats":
			h.killNATS(true)
		case "kill-box":
			h.killBox(i)
		}
	}
	if plan.delay > 0 {
		// The iteration waits for a delayed fault as for the restarts it
		// starts: counted now, while the pull that triggered it is still
		// running, so that it cannot fire (and Add a restart) during or
		// after the iteration's Wait.
		h.pending()
		time.AfterFunc(plan.delay, func() {
			defer h.restarts.Done()
			do()
		})
		return
	}
	do()
	if plan.action != "kill-nats" {
		panic(http.ErrAbortHandler) // the connection dies with the process
	}
}

// killBox closes the box's listener and connections at once and serves
// its (kept) batches again a little later on the same address.
func (h *crashHarness) killBox(i int) {
	h.pending() // before the kill: the pull it ends cannot reach the iteration's wait first
	h.boxMu[i].Lock()
	h.fleet[i].kill()
	h.boxMu[i].Unlock()
	time.AfterFunc(time.Duration(rand.IntN(50))*time.Millisecond, func() {
		defer h.restarts.Done()
		h.boxMu[i].Lock()
		defer h.boxMu[i].Unlock()
		for try := 0; ; try++ {
			err := h.tryServe(i)
			if err == nil || try == 100 {
				if err != nil {
					h.t.Errorf("restart box %d: %v", i, err)
				}
				return
			}
			time.Sleep(10 * time.Millisecond) // the port is still held
		}
	})
}

// pending counts a restart or a delayed fault the iteration must wait
// for. It is called before the kill that ends the pull, and under h.mu,
// which waitRestarts takes before it waits: the count never rises from
// zero during or after an iteration's wait (a WaitGroup's rule), and the
// race detector sees the order, which otherwise runs through a child
// process's exit.
func (h *crashHarness) pending() {
	h.mu.Lock()
	h.restarts.Add(1)
	h.mu.Unlock()
}

// waitRestarts waits for the restarts and delayed faults pending counted.
func (h *crashHarness) waitRestarts() {
	h.mu.Lock()
	//lint:ignore SA2001 the empty critical section orders every pending call before the wait
	h.mu.Unlock()
	h.restarts.Wait()
}

func (h *crashHarness) tryServe(i int) (err error) {
	ln, err := net.Listen("tcp", strings.TrimPrefix(h.fleet[i].URL, "http://"))
	if err != nil {
		return err
	}
	ln.Close()
	h.fleet[i].serve(h.t, h.wrap(i))
	return nil
}

// startNATS starts the nats-server child on the harness's port and store.
func (h *crashHarness) startNATS() {
	port := strings.TrimPrefix(h.natsURL, "nats://127.0.0.1:")
	for try := 0; ; try++ {
		cmd := exec.Command(h.exe, "-test.run=^$")
		cmd.Env = append(os.Environ(), "VOXWARD_TEST_ROLE=natsd", "VOXWARD_TEST_NATS_PORT="+port, "VOXWARD_TEST_NATS_DIR="+filepath.Join(h.dir, "jetstream"))
		out, err := cmd.StdoutPipe()
		require.NoError(h.t, err)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		require.NoError(h.t, cmd.Start())
		line, _ := bufio.NewReader(out).ReadString('\n')
		if line == "ready\n" {
			h.mu.Lock()
			h.natsProc = cmd
			h.mu.Unlock()
			go func() { _, _ = io.Copy(io.Discard, out) }()
			return
		}
		_ = cmd.Wait()
		if try == 50 {
			h.t.Fatalf("nats-server child did not start: %s", stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// killNATS kills the nats-server child with SIGKILL and, when restart is
// set, starts it again on the same store a little later.
func (h *crashHarness) killNATS(restart bool) {
	h.mu.Lock()
	cmd := h.natsProc
	h.natsProc = nil
	h.mu.Unlock()
	if cmd == nil {
		return
	}
	if restart {
		h.pending() // before the kill, as in killBox
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	_ = cmd.Wait()
	if restart {
		time.AfterFunc(time.Duration(rand.IntN(100))*time.Millisecond, func() {
			defer h.restarts.Done()
			h.startNATS()
		})
	}
}

// runPullers runs n puller children at once, on the same boxes and sink,
// to their end (or their kill) and returns their outputs.
func (h *crashHarness) runPullers(n int) string {
	outs := make([]string, n)
	var wg gosync.WaitGroup
	for i := range n {
		wg.Go(func() { outs[i] = h.runPuller(i) })
	}
	wg.Wait()
	return strings.Join(outs, " | ")
}

// runPuller runs one puller child to its end (or its kill) and returns
// its combined output.
// Each puller keeps its own pinned keys, as pullers on separate hosts do.
func (h *crashHarness) runPuller(i int) string {
	sink := "dir:" + filepath.Join(h.dir, "out")
	if h.mode == "nats" {
		sink = "nats:" + h.natsURL
	}
	cmd := exec.Command(h.exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), "VOXWARD_TEST_ROLE=puller",
		"VOXWARD_TEST_BOXES="+filepath.Join(h.dir, "boxes"),
		"VOXWARD_TEST_KNOWN="+filepath.Join(h.dir, fmt.Sprintf("known-devices-%d.json", i)),
		"VOXWARD_TEST_SINK="+sink)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	require.NoError(h.t, cmd.Start())
	h.mu.Lock()
	h.pullers = append(h.pullers, cmd.Process)
	h.mu.Unlock()
	done := make(chan struct{})
	timer := time.AfterFunc(60*time.Second, func() { _ = cmd.Process.Kill(); close(done) })
	_ = cmd.Wait()
	if !timer.Stop() {
		<-done
		h.t.Fatalf("puller child hung for 60 s: %s", out.String())
	}
	h.mu.Lock()
	h.pullers = slices.DeleteFunc(h.pullers, func(p *os.Process) bool { return p == cmd.Process })
	h.mu.Unlock()
	if strings.Contains(out.String(), "panic:") {
		h.t.Fatalf("puller child panicked:\n%s", out.String())
	}
	return out.String()
}

func newCrashHarness(t *testing.T, mode string, boxes int) *crashHarness {
	exe, err := os.Executable()
	require.NoError(t, err)
	h := &crashHarness{t: t, exe: exe, dir: t.TempDir(), mode: mode, sealed: map[string]string{}, boxMu: make([]gosync.Mutex, boxes)}
	var lines strings.Builder
	for i := range boxes {
		b := newSimBox(t, fmt.Sprintf("box%02d", i))
		b.kill()
		require.NoError(t, h.tryServe0(b, i))
		h.fleet = append(h.fleet, b)
		fmt.Fprintf(&lines, "%s %s env:VOXWARD_TEST_TOKEN_%d\n", b.Name, b.URL, i)
		t.Setenv(fmt.Sprintf("VOXWARD_TEST_TOKEN_%d", i), b.Token)
	}
	require.NoError(t, os.WriteFile(filepath.Join(h.dir, "boxes"), []byte(lines.String()), 0o600))
	if mode == "nats" {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		h.natsURL = "nats://" + ln.Addr().String()
		ln.Close()
		h.startNATS()
		t.Cleanup(func() { h.waitRestarts(); h.killNATS(false) })
	}
	return h
}

func (h *crashHarness) tryServe0(b *simBox, i int) error {
	b.URL = strings.TrimSuffix(b.URL, "/")
	b.serve(h.t, h.wrap(i))
	return nil
}

func (h *crashHarness) seal(i, n int) {
	b := h.fleet[i]
	bt := b.seal(h.t, n)
	h.sealed[b.Device()+"."+bt.Manifest.BatchID] = bt.Manifest.SHA256
}

// crashIterations is VOXWARD_CRASH_ITER, or 2 in the default run.
func crashIterations(t *testing.T) int {
	if s := os.Getenv("VOXWARD_CRASH_ITER"); s != "" {
		n, err := strconv.Atoi(s)
		require.NoError(t, err)
		return n
	}
	if testing.Short() {
		return 1
	}
	return 2
}

// TestCrashPull runs two pullers at once on a fleet of 10 boxes and kills
// one of the pullers, a box or the nats-server (SIGKILL for the
// processes; closed listener and connections for a box) at a random point
// of fetch, store or acknowledgement, while the boxes keep sealing; then
// a pull without faults, and every sealed batch must be
// stored upstream exactly once, none lost, none duplicated, and no box
// may hold one. "make crash" runs it with VOXWARD_CRASH_ITER iterations
// per sink; the default run does a few.
func TestCrashPull(t *testing.T) {
	iters := crashIterations(t)
	for _, mode := range []string{"nats", "dir"} {
		t.Run(mode, func(t *testing.T) {
			h := newCrashHarness(t, mode, 10)
			rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 12))
			fired := map[string]int{}
			for it := range iters {
				for range 2 + rng.IntN(3) {
					h.seal(rng.IntN(len(h.fleet)), 1+rng.IntN(30))
				}
				actions := crashActions
				if mode == "dir" {
					actions = actions[:2]
				}
				plan := fault{event: crashEvents[rng.IntN(len(crashEvents))], action: actions[rng.IntN(len(actions))], nth: 1 + rng.Int64N(3)}
				if plan.event == "store" {
					plan.delay = time.Duration(rng.IntN(3000)) * time.Microsecond
				}
				h.mu.Lock()
				h.plan = plan
				h.mu.Unlock()
				h.seen.Store(0)
				h.fired.Store(false)
				out := h.runPullers(2)
				h.waitRestarts()
				if h.fired.Load() {
					fired[plan.action+"@"+plan.event]++
				}
				if testing.Verbose() && it < 3 {
					t.Logf("iteration %d: %+v fired=%v: %s", it, plan, h.fired.Load(), strings.TrimSpace(out))
				}
			}
			// No faults: drain what is left.
			h.mu.Lock()
			h.plan = fault{}
			h.mu.Unlock()
			for range 3 {
				out := h.runPullers(2)
				if h.left() == 0 {
					break
				}
				t.Logf("after the faults, a pull left %d batches: %s", h.left(), out)
			}
			require.Zero(t, h.left(), "every sealed batch acknowledged")
			total := 0
			for _, n := range fired {
				total += n
			}
			t.Logf("%d iterations, %d faults fired: %v; %d batches sealed", iters, total, fired, len(h.sealed))
			if iters >= 20 {
				require.GreaterOrEqual(t, total, iters/2, "most iterations must hit their fault")
			}
			h.verify()
		})
	}
}

func (h *crashHarness) left() int {
	n := 0
	for _, b := range h.fleet {
		n += b.Store.Len()
	}
	return n
}

// verify checks that the sink holds every sealed batch exactly once, with
// its digest, and nothing else.
func (h *crashHarness) verify() {
	t := h.t
	got := map[string]int{}
	digest := map[string]string{}
	switch h.mode {
	case "nats":
		nc, err := nats.Connect(h.natsURL)
		require.NoError(t, err)
		defer nc.Close()
		sink, err := vsync.NewNATSSink(context.Background(), nc, nil)
		require.NoError(t, err)
		ctx := context.Background()
		info, err := sink.Stream().Info(ctx)
		require.NoError(t, err)
		for seq := info.State.FirstSeq; seq <= info.State.LastSeq && info.State.Msgs > 0; seq++ {
			m, err := sink.Stream().GetMsg(ctx, seq)
			require.NoError(t, err)
			key := strings.TrimPrefix(m.Subject, "voxward.batches.")
			got[key]++
			digest[key] = vsync.Digest(m.Data)
			require.Equal(t, m.Header.Get(vsync.HeaderSHA256), digest[key])
		}
	case "dir":
		root := filepath.Join(h.dir, "out")
		require.NoError(t, filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
			if err != nil || !strings.HasSuffix(p, ".manifest.json") {
				return err
			}
			rel, _ := filepath.Rel(root, strings.TrimSuffix(p, ".manifest.json"))
			key := strings.Replace(rel, string(filepath.Separator), ".", 1)
			got[key]++
			body, err := os.ReadFile(strings.TrimSuffix(p, ".manifest.json") + ".zst")
			require.NoError(t, err, "a committed batch has its body")
			digest[key] = vsync.Digest(body)
			return nil
		}))
	}
	for key, sum := range h.sealed {
		require.Equal(t, 1, got[key], "batch %s stored once", key)
		require.Equal(t, sum, digest[key], "batch %s stored whole", key)
	}
	require.Len(t, got, len(h.sealed), "nothing stored that was not sealed")
}

// bufferedWriter holds an answer so that a fault can drop it after the
// handler ran.
type bufferedWriter struct {
	header http.Header
	code   int
	body   bytes.Buffer
}

func (b *bufferedWriter) Header() http.Header         { return b.header }
func (b *bufferedWriter) WriteHeader(code int)        { b.code = code }
func (b *bufferedWriter) Write(p []byte) (int, error) { return b.body.Write(p) }

func (b *bufferedWriter) flush(w http.ResponseWriter) {
	for k, v := range b.header {
		w.Header()[k] = v
	}
	if b.code == 0 {
		b.code = http.StatusOK
	}
	w.WriteHeader(b.code)
	_, _ = w.Write(b.body.Bytes())
}
