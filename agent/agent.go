package agent

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime/debug"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/voxward/voxward/capture"
	"github.com/voxward/voxward/dsp/voiceprint"
	"github.com/voxward/voxward/vault"
)

// Version is the daemon's version as status reports it; the build may set
// it with -ldflags "-X github.com/voxward/voxward/agent.Version=...".
var Version = "dev"

// Errors returned by New and Run.
var (
	// ErrNotInitialised means the state directory holds no vault: run
	// "voxward init" first.
	ErrNotInitialised = errors.New("agent: state directory not initialised")
	// ErrAlreadyRun means Run was called twice on one App.
	ErrAlreadyRun = errors.New("agent: App.Run called twice")
)

// Clock is the time source the agent needs: the consent gate's lease
// expiry and the real-time pacing of generated and file sources. It is
// satisfied by capture.SystemClock and by the fake in tests.
type Clock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
}

var _ capture.Clock = Clock(nil)

// Option changes what New wires in; tests use it for a fake clock.
type Option func(*options)

type options struct {
	clock Clock
	stdin io.Reader
	key   vault.KeySource

	wrapRetention func(retentionStore) retentionStore // tests: a failing vault
}

// WithClock sets the clock (default capture.SystemClock).
func WithClock(c Clock) Option { return func(o *options) { o.clock = c } }

// WithStdin sets what the pcm:- source reads (the daemon passes os.Stdin).
func WithStdin(r io.Reader) Option { return func(o *options) { o.stdin = r } }

// WithKeySource sets the vault's master key source, overriding
// Config.KeyFile and the default (development and tests: vault.EnvKey).
func WithKeySource(k vault.KeySource) Option { return func(o *options) { o.key = k } }

// App is the voxward daemon: the consent gate over the audio source, the
// live pipeline reading through it, the sessions that hold its leases, the
// vault and the local HTTP API. New builds it; Run runs it until its
// context ends.
type App struct {
	cfg     Config
	base    *slog.Logger // the logger New was given
	log     *slog.Logger
	clock   Clock
	key     vault.KeySource
	gate    *capture.Gate
	pipe    *pipeline
	sess    *sessions
	metrics *metrics
	ret     *retentionJob
	sync    *syncJob
	disc    Disclosure // the consent text in force, generated from cfg

	speakers *speakerModel // the shipped voiceprint model
	labels   *labelStats

	ready chan struct{} // closed once the vault is open and the listener bound

	// inflight counts the API's running handlers, for shutdown.
	inflight inflight

	mu       sync.Mutex
	ran      bool
	addr     net.Addr
	syncAddr net.Addr // sync_listen's bound address, when configured
	store    *vault.Store
	deviceID string
}

// New checks cfg (Config.Validate) and builds the daemon without touching
// the disk or the network: Run opens the vault and binds the listener.
// logger nil discards; warnings and errors that repeat reach it once per
// 10 s, the next one carrying suppressed=N. It returns ErrConfig for a bad configuration.
func New(cfg Config, logger *slog.Logger, opts ...Option) (*App, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	var o options
	for _, f := range opts {
		f(&o)
	}
	if o.clock == nil {
		o.clock = capture.SystemClock{}
	}
	if o.stdin == nil {
		o.stdin = eofReader{}
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	// A failure that repeats (a full disk, a client retrying) is logged
	// once per logEvery with a count, not once per attempt.
	logger = slog.New(newLogLimiter(logger.Handler(), logEvery, o.clock.Now))
	if o.key == nil {
		if cfg.KeyFile != "" {
			o.key = vault.FileKey(cfg.KeyFile)
		} else {
			o.key = vault.DefaultKeySource(cfg.StateDir)
		}
	}
	dev, err := capture.ParseSource(cfg.Source, &capture.Options{
		Clock: o.clock, Stdin: o.stdin, Logger: logger.With("component", "capture"),
	})
	if err != nil {
		return nil, fmt.Errorf("%w: source: %v", ErrConfig, err)
	}
	a := &App{
		cfg:   cfg,
		base:  logger,
		log:   logger.With("component", "agent"),
		clock: o.clock,
		key:   o.key,
		gate:  capture.NewGate(dev, &capture.GateConfig{Clock: o.clock, Logger: logger}),
		ready: make(chan struct{}),
	}
	a.labels = newLabelStats()
	switch vm, err := voiceprint.DefaultModel(); {
	case errors.Is(err, voiceprint.ErrNoModel):
		// Consent, sessions and the gate work; enrolment answers 503 and
		// no turn is labelled. Status and the log say why.
		a.log.Warn("no voiceprint model in this build: enrolment and live labels are off", "fix", err.Error())
	case err != nil:
		return nil, fmt.Errorf("agent: voiceprint model: %w", err)
	default:
		a.speakers = newSpeakerModel(vm)
	}
	a.sess = newSessions(a.gate, o.clock, time.Duration(cfg.SessionMax), a.speakers, logger.With("component", "sessions"))
	a.pipe, err = newPipeline(a.gate, o.clock, a.sess.changed, logger.With("component", "pipeline"))
	if err != nil {
		return nil, err
	}
	if a.speakers != nil {
		ex := a.speakers.extractor() // the pipeline goroutine's own
		var emb []float32
		a.pipe.onTurn = func(t turn) { emb, _ = a.labelTurn(ex, emb, t) }
	}
	a.ret = newRetentionJob(&a.cfg, o.clock, o.wrapRetention, logger.With("component", "retention"))
	a.sync = newSyncJob(&a.cfg, o.clock, logger.With("component", "sync"))
	a.sync.health = a.syncHealth
	a.sess.onStart, a.sess.onStop = a.syncSessionStarted, a.syncSessionStopped
	a.metrics = newMetrics(a)
	a.disc = a.cfg.disclosure()
	return a, nil
}

type eofReader struct{}

func (eofReader) Read([]byte) (int, error) { return 0, io.EOF }

// Ready is closed once Run has opened the vault, bound the listener and
// made the start-up retention run: the moment to tell systemd READY=1.
func (a *App) Ready() <-chan struct{} { return a.ready }

// Addr returns the API's bound address (nil before Ready).
func (a *App) Addr() net.Addr {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.addr
}

// Run opens the vault (ErrNotInitialised without one; vault.ErrLocked when
// another process holds it), closes the sessions an earlier run left open
// there (recorded as stopped at start-up and interrupted, audited), binds
// the API's listener, makes the start-up retention run, closes Ready, and
// then runs the consent gate, the live pipeline, the retention job and the
// HTTP server under one errgroup until ctx ends or one of them fails. On
// the way out the server drains its requests for at most
// Config.ShutdownTimeout (event streams end at once), then closes the
// connections still open (stalled clients, hung handlers), cancels their
// requests' contexts and waits a second for their handlers; open sessions
// are stopped and recorded, the gate closes the source and the vault is
// closed. A shutdown that had to cut requests off is still clean: it is
// logged and Run returns nil.
func (a *App) Run(ctx context.Context) (err error) {
	a.mu.Lock()
	if a.ran {
		a.mu.Unlock()
		return ErrAlreadyRun
	}
	a.ran = true
	a.mu.Unlock()
	defer a.gate.Close()

	store, deviceID, pub, err := a.openState()
	if err != nil {
		return err
	}
	defer func() {
		if cerr := store.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("agent: close vault: %w", cerr)
		}
	}()
	a.closeInterruptedSessions(store)
	ln, err := net.Listen("tcp", a.cfg.Listen)
	if err != nil {
		return fmt.Errorf("agent: listen on %s: %w", a.cfg.Listen, err)
	}
	// Requests' contexts end when shutdown gives up on them (not when it
	// starts: requests in flight get ShutdownTimeout to finish).
	hctx, cancelRequests := context.WithCancel(context.Background())
	defer cancelRequests()
	srv := a.httpServer(a.handler(), hctx)
	// Event streams never finish on their own: end them when shutdown
	// starts, so that the graceful drain does not wait for them.
	srv.RegisterOnShutdown(a.sess.endStreams)
	a.mu.Lock()
	a.addr, a.store, a.deviceID = ln.Addr(), store, deviceID
	a.mu.Unlock()
	a.ret.open(store) // retention runs before the API serves (PRIVACY.md rule 9)
	a.sync.open(store, deviceID, pub)
	var syncLn net.Listener
	if a.cfg.SyncListen != "" {
		if syncLn, err = net.Listen("tcp", a.cfg.SyncListen); err != nil {
			ln.Close()
			return fmt.Errorf("agent: listen on %s (sync_listen): %w", a.cfg.SyncListen, err)
		}
		a.mu.Lock()
		a.syncAddr = syncLn.Addr()
		a.mu.Unlock()
	}
	a.log.Info("ready", "listen", ln.Addr().String(), "source", a.gate.Info().Spec, "device_id", deviceID, "version", Version)
	close(a.ready)

	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return a.gate.Run(gctx) })
	g.Go(func() error { return a.pipe.Run(gctx) })
	g.Go(func() error { return a.ret.Run(gctx) })
	g.Go(func() error { return a.sync.Run(gctx) })
	if syncLn != nil {
		syncSrv := a.httpServer(a.syncHandler(), hctx)
		// Batch bodies are bounded (sync.MaxBodyBytes); a puller that
		// stalls longer than this loses its connection.
		syncSrv.WriteTimeout = 5 * time.Minute
		a.serveHTTP(g, gctx, syncSrv, syncLn, "sync", cancelRequests)
	}
	a.serveHTTP(g, gctx, srv, ln, "API", cancelRequests)
	err = g.Wait()
	a.sess.stopAll(store)
	a.log.Info("stopped", "err", err)
	return err
}

// httpServer is a server of the daemon's: its timeouts and header cap,
// requests' contexts derived from hctx, errors logged through slog.
func (a *App) httpServer(h http.Handler, hctx context.Context) *http.Server {
	return &http.Server{
		Handler:           h,
		BaseContext:       func(net.Listener) context.Context { return hctx },
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(a.base.With("component", "http").Handler(), slog.LevelWarn),
	}
}

// serveHTTP serves srv on ln in g, and shuts it down gracefully when gctx
// ends.
func (a *App) serveHTTP(g *errgroup.Group, gctx context.Context, srv *http.Server, ln net.Listener, what string, cancelRequests context.CancelFunc) {
	g.Go(func() error {
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("agent: serve %s: %w", what, err)
		}
		return nil
	})
	g.Go(func() error {
		<-gctx.Done()
		a.log.Info("shutting down", "server", what)
		a.shutdownHTTP(srv, cancelRequests)
		return nil
	})
}

// handlerGrace is how long shutdown waits for handlers to return once it
// has closed their connections and cancelled their contexts. Shutdown
// therefore takes at most Config.ShutdownTimeout + handlerGrace before
// sessions are stopped and the vault closed, whatever clients do: 6 s
// with the defaults, 61 s at most, within systemd's default
// TimeoutStopSec of 90 s.
const handlerGrace = time.Second

// shutdownHTTP stops the API server: a graceful Shutdown bounded by
// Config.ShutdownTimeout, then, for whatever is still open, Close (which
// cuts the connections), cancelRequests (which ends the requests'
// contexts) and a wait of handlerGrace for the handlers to return. Either
// way is a normal stop; a forced one is logged.
func (a *App) shutdownHTTP(srv *http.Server, cancelRequests context.CancelFunc) {
	timeout := time.Duration(a.cfg.ShutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	err := srv.Shutdown(sctx)
	if err == nil {
		return
	}
	cancelRequests()
	if cerr := srv.Close(); cerr != nil {
		a.log.Warn("closing the API listener", "err", cerr)
	}
	left := a.inflight.wait(handlerGrace)
	a.log.Warn("requests still open at shutdown were cut off",
		"shutdown_timeout", timeout.String(), "cause", err.Error(), "handlers_still_running", left)
}

// inflight counts running handlers; wait lets shutdown wait for them.
type inflight struct {
	mu   sync.Mutex
	n    int
	idle chan struct{} // closed when n drops to 0
}

func (f *inflight) start() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.n == 0 {
		f.idle = make(chan struct{})
	}
	f.n++
}

func (f *inflight) done() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n--
	if f.n == 0 {
		close(f.idle)
	}
}

// wait waits up to d for every handler to return and reports how many
// are still running.
func (f *inflight) wait(d time.Duration) int {
	f.mu.Lock()
	if f.n == 0 {
		f.mu.Unlock()
		return 0
	}
	idle := f.idle
	f.mu.Unlock()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-idle:
	case <-t.C:
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.n
}

// closeInterruptedSessions closes the sessions an earlier run left open
// in the vault (it was killed, or the box lost power): none of them is
// live now, no lease holds the source for them, so the vault must not
// say they run. Each is recorded as stopped at start-up time (the last
// moment the daemon can vouch for; capture ended earlier, when that run
// died) and marked interrupted, with an audit entry. A failure is logged,
// not fatal: the next start tries again.
func (a *App) closeInterruptedSessions(store *vault.Store) {
	ids, err := store.InterruptOpenSessions(vault.SystemActor)
	if err != nil {
		a.log.Error("sessions an earlier run left open could not be closed", "err", err)
		return
	}
	for _, id := range ids {
		a.log.Warn("closed a session an earlier run left open (interrupted)", "session", id.String())
	}
}

// openState opens the vault and loads the device key's public half.
func (a *App) openState() (*vault.Store, string, ed25519.PublicKey, error) {
	path := filepath.Join(a.cfg.StateDir, vault.VaultFile)
	if _, err := os.Stat(path); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, "", nil, fmt.Errorf("%w: no vault at %s (run \"voxward init --state-dir %s\")", ErrNotInitialised, path, a.cfg.StateDir)
		}
		return nil, "", nil, fmt.Errorf("agent: %w", err)
	}
	priv, err := LoadDeviceKey(filepath.Join(a.cfg.StateDir, DeviceKeyFile))
	if err != nil {
		return nil, "", nil, err
	}
	pub := priv.Public().(ed25519.PublicKey)
	deviceID := DeviceID(pub)
	clear(priv)
	store, err := vault.Open(path, &vault.Options{
		Key:     a.key,
		MaxSize: a.cfg.VaultMaxBytes,
		// The outbox budget: records and batches waiting for a puller.
		OutboxMaxBytes: a.cfg.OutboxMaxBytes,
		Now:            a.clock.Now,
		Logger:         a.base.With("component", "vault"),
	})
	if err != nil {
		return nil, "", nil, fmt.Errorf("agent: open vault: %w", err)
	}
	return store, deviceID, pub, nil
}

// SyncAddr returns the bound address of sync_listen (nil when it is not
// configured, or before Ready).
func (a *App) SyncAddr() net.Addr {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.syncAddr
}

// vaultStore returns the open vault (nil before Run has opened it).
func (a *App) vaultStore() *vault.Store {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.store
}

// version returns Version, or the module version when the build set one.
func version() string {
	if Version != "dev" {
		return Version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return Version
}
