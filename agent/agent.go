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
	disc    Disclosure // the consent text in force, generated from cfg

	ready chan struct{} // closed once the vault is open and the listener bound

	mu       sync.Mutex
	ran      bool
	addr     net.Addr
	store    *vault.Store
	deviceID string
}

// New checks cfg (Config.Validate) and builds the daemon without touching
// the disk or the network: Run opens the vault and binds the listener.
// logger nil discards. It returns ErrConfig for a bad configuration.
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
	a.sess = newSessions(a.gate, o.clock, time.Duration(cfg.SessionMax), logger.With("component", "sessions"))
	a.pipe, err = newPipeline(a.gate, o.clock, a.sess.changed, logger.With("component", "pipeline"))
	if err != nil {
		return nil, err
	}
	a.ret = newRetentionJob(&a.cfg, o.clock, o.wrapRetention, logger.With("component", "retention"))
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
// another process holds it), binds the API's listener, makes the start-up
// retention run, closes Ready, and then runs the consent gate, the live
// pipeline, the retention job and the HTTP server under one errgroup
// until ctx ends or one of them fails. On the way out the server drains
// its requests (Shutdown, Config.ShutdownTimeout), open sessions are
// stopped and recorded, the gate closes the source and the vault is
// closed. A clean shutdown returns nil.
func (a *App) Run(ctx context.Context) (err error) {
	a.mu.Lock()
	if a.ran {
		a.mu.Unlock()
		return ErrAlreadyRun
	}
	a.ran = true
	a.mu.Unlock()
	defer a.gate.Close()

	store, deviceID, err := a.openState()
	if err != nil {
		return err
	}
	defer func() {
		if cerr := store.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("agent: close vault: %w", cerr)
		}
	}()
	ln, err := net.Listen("tcp", a.cfg.Listen)
	if err != nil {
		return fmt.Errorf("agent: listen on %s: %w", a.cfg.Listen, err)
	}
	srv := &http.Server{
		Handler:           a.handler(),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(a.base.With("component", "http").Handler(), slog.LevelWarn),
	}
	a.mu.Lock()
	a.addr, a.store, a.deviceID = ln.Addr(), store, deviceID
	a.mu.Unlock()
	a.ret.open(store) // retention runs before the API serves (PRIVACY.md rule 9)
	a.log.Info("ready", "listen", ln.Addr().String(), "source", a.gate.Info().Spec, "device_id", deviceID, "version", Version)
	close(a.ready)

	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return a.gate.Run(gctx) })
	g.Go(func() error { return a.pipe.Run(gctx) })
	g.Go(func() error { return a.ret.Run(gctx) })
	g.Go(func() error {
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("agent: serve: %w", err)
		}
		return nil
	})
	g.Go(func() error {
		<-gctx.Done()
		a.log.Info("shutting down")
		sctx, cancel := context.WithTimeout(context.WithoutCancel(gctx), time.Duration(a.cfg.ShutdownTimeout))
		defer cancel()
		if err := srv.Shutdown(sctx); err != nil {
			srv.Close()
			return fmt.Errorf("agent: http shutdown: %w", err)
		}
		return nil
	})
	err = g.Wait()
	a.sess.stopAll(store)
	a.log.Info("stopped", "err", err)
	return err
}

// openState opens the vault and loads the device key.
func (a *App) openState() (*vault.Store, string, error) {
	path := filepath.Join(a.cfg.StateDir, vault.VaultFile)
	if _, err := os.Stat(path); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, "", fmt.Errorf("%w: no vault at %s (run \"voxward init --state-dir %s\")", ErrNotInitialised, path, a.cfg.StateDir)
		}
		return nil, "", fmt.Errorf("agent: %w", err)
	}
	priv, err := LoadDeviceKey(filepath.Join(a.cfg.StateDir, DeviceKeyFile))
	if err != nil {
		return nil, "", err
	}
	deviceID := DeviceID(priv.Public().(ed25519.PublicKey))
	clear(priv)
	store, err := vault.Open(path, &vault.Options{
		Key:    a.key,
		Now:    a.clock.Now,
		Logger: a.base.With("component", "vault"),
	})
	if err != nil {
		return nil, "", fmt.Errorf("agent: open vault: %w", err)
	}
	return store, deviceID, nil
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
