package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"

	"github.com/voxward/voxward/agent"
	"github.com/voxward/voxward/vault"
)

func init() {
	register(&command{name: "serve", summary: "run the daemon: consent-gated capture, vault and the local API", run: runServe})
}

const serveHelp = `
Run the voxward daemon: the consent gate over the audio source, the live
pipeline, the vault and the local HTTP API on a loopback address. The
state directory must have been made by "voxward init".

The source stays closed until a session (POST /v1/sessions) with at
least one participant whose consent grants recognition takes a consent
lease, and closes at once when the last session stops. Consent is given
at the kiosk (GET /v1/disclosure, POST /v1/subjects). While it
is open, live audio is turned into fbank features in memory and dropped:
no audio is stored and no voice is kept (speaker naming arrives with
voiceprints).

Configuration: an optional TOML file (--config); flags override it, so a
script can start the daemon without one. Keys, with their defaults:

  state_dir        = ""                (required) vault, keys, device key
  listen           = "127.0.0.1:7480"  loopback only; port 0 picks one
  source           = "tone"            tone[?freq=HZ&level=DBFS],
                                       wav:PATH[?loop=1], pcm:- (s16le mono
                                       16 kHz on stdin), portaudio[:DEVICE]
  key_file         = ""                master key file; default: systemd
                                       credential voxward-master-key, else
                                       STATE_DIR/master.key
  allowed_hosts    = []                Host names the API answers to besides
                                       localhost and loopback addresses
  metrics_role     = "technician"      role GET /metrics needs: none, admin,
                                       technician
  max_body_bytes   = 1048576           request body limit
  max_enroll_bytes = 16777216          an enrolment's WAV body limit
  vault_max_bytes  = 4294967296        the vault's disk budget in bytes (0:
                                       none; else at least 1048576); writes
                                       stop an eighth short of it, kept for
                                       erasures, and get 507 vault_full; set
                                       it below the disk's free space
  session_max      = "12h0m0s"         a session's consent lease ends after
                                       this unless stopped first ("0s": never)
  shutdown_timeout = "5s"              wait for open requests at shutdown
  operator         = ""                who runs the box, named in the
                                       disclosure speakers consent to
  operator_contact = ""                how to reach them (privacy contact)
  retain_identifiable = "30d"          names, contacts, recordings, linked
                                       voiceprints: 1d to 30d
  retain_sessions  = "30d"             session records (participants): 1d
                                       to retain_identifiable
  retain_deidentified = "1095d"        de-identified voiceprints after the
                                       last interaction: 1d to 1095d
  shutdown_timeout = "5s"              wait for open requests at shutdown;
                                       then cut them off (at most 1m)
  retention_interval = "1h"            the retention job's period (it also
                                       runs at start-up): 1m to 1h
  key_rotation_interval = "30d"        the vault's key-encryption key is
                                       rotated at least this often (and
                                       after erasures): 1h to 30d
  sync_listen      = ""                a second loopback address serving the
                                       pull protocol alone ("": none)
  sync_seal_interval = "1h"            seal the sync outbox into a signed
                                       batch this often: 1m to 24h
  outbox_max_bytes = 16777216          the outbox's budget (records and
                                       unacknowledged batches): 64 KiB to
                                       32 MiB; when full, new records are
                                       refused and status warns
  sync_min_group   = 5                 counts below it are suppressed: 2-100
  sync_epsilon     = 1.0               ε of the noise on counts: 0.1 to 5
  sync_min_templates = 10              research templates per batch at
                                       least (0: send none; else 5-1000)

Unknown keys are an error. Once the vault is open and the listener bound it
prints "listening on http://ADDR" on stdout and sends READY=1 to systemd
($NOTIFY_SOCKET, Type=notify); on SIGTERM or SIGINT it sends STOPPING=1,
drains requests, stops open sessions, closes the source and the vault, and
exits 0. Logs go to stderr.

Under a unit with WatchdogSec= ($WATCHDOG_USEC) it asks its own API for
GET /v1/health every half interval and sends WATCHDOG=1 after each answer
of 200; while the API does not answer, it sends nothing, and systemd
aborts and restarts it when the interval runs out. packaging/voxward.service
is the unit; docs/systemd.md explains it.
drains requests for up to shutdown_timeout and cuts off any still open
(stalled clients), stops open sessions, closes the source and the vault,
and exits 0, within shutdown_timeout plus about a second. Logs go to
stderr; a warning or error that repeats is logged once per 10 s, the
next line carrying suppressed=N.
`

func runServe(ctx context.Context, sio *stdio, args []string) error {
	flags := newFlags(sio, "serve", "serve [--config FILE] [--state-dir DIR] [--listen HOST:PORT] [--source SPEC]", serveHelp)
	configPath := flags.String("config", "", "TOML configuration file (optional)")
	stateDir := flags.String("state-dir", "", "state directory (overrides state_dir)")
	listen := flags.String("listen", "", "API address, loopback only (overrides listen)")
	source := flags.String("source", "", "audio source spec (overrides source)")
	keyFile := flags.String("key-file", "", "master key file, mode 0600 (overrides key_file)")
	keyEnv := flags.String("key-env", "", "read the master key (hex) from this environment variable: development only")
	logLevel := flags.String("log-level", "info", "log level: debug, info, warn or error")
	pos, err := parseFlags(flags, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return usagef("unexpected argument %q", pos[0])
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return usagef("--log-level %q: want debug, info, warn or error", *logLevel)
	}
	if *keyFile != "" && *keyEnv != "" {
		return usagef("--key-file and --key-env exclude each other")
	}

	cfg := agent.DefaultConfig()
	if *configPath != "" {
		if cfg, err = agent.LoadConfigFile(*configPath); err != nil {
			return err
		}
	}
	flags.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "state-dir":
			cfg.StateDir = *stateDir
		case "listen":
			cfg.Listen = *listen
		case "source":
			cfg.Source = *source
		case "key-file":
			cfg.KeyFile = *keyFile
		}
	})
	if cfg.StateDir == "" {
		return usagef("--state-dir (or state_dir in --config) is required")
	}
	opts := []agent.Option{agent.WithStdin(sio.in)}
	if *keyEnv != "" {
		opts = append(opts, agent.WithKeySource(vault.EnvKey(*keyEnv)))
	}
	logger := slog.New(slog.NewTextHandler(sio.err, &slog.HandlerOptions{Level: level}))
	app, err := agent.New(cfg, logger, opts...)
	if err != nil {
		return err
	}

	errc := make(chan error, 1)
	go func() { errc <- app.Run(ctx) }()
	select {
	case <-app.Ready():
	case err := <-errc:
		return err
	}
	addr := app.Addr().String()
	fmt.Fprintf(sio.out, "listening on http://%s\n", addr)
	if _, err := daemon.SdNotify(false, "READY=1\nSTATUS=listening on "+addr); err != nil {
		logger.Warn("systemd notify failed", "component", "serve", "err", err)
	}
	stopWatchdog := startWatchdog(ctx, addr, logger.With("component", "watchdog"))
	defer stopWatchdog()
	select {
	case <-ctx.Done():
		stopWatchdog()
		if _, err := daemon.SdNotify(false, daemon.SdNotifyStopping); err != nil {
			logger.Warn("systemd notify failed", "component", "serve", "err", err)
		}
		return <-errc
	case err := <-errc:
		return err
	}
}

// startWatchdog starts the systemd watchdog when the unit asks for one
// ($WATCHDOG_USEC, for this process if $WATCHDOG_PID is set): a goroutine
// that pings every half interval while the API at addr is healthy. It
// returns a function that stops the goroutine and waits for it; calling it
// more than once is fine. Without a watchdog it starts nothing.
func startWatchdog(ctx context.Context, addr string, log *slog.Logger) (stop func()) {
	interval, err := daemon.SdWatchdogEnabled(false)
	if err != nil {
		log.Warn("systemd watchdog not started", "err", err)
		return func() {}
	}
	if interval <= 0 {
		return func() {}
	}
	log.Info("systemd watchdog", "interval", interval.String(), "ping_every", (interval / 2).String())
	wctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		watchdog(wctx, interval/2, healthProbe(addr), sdNotify, log)
	}()
	return sync.OnceFunc(func() {
		cancel()
		<-done
	})
}

// watchdog sends WATCHDOG=1 through notify each time probe succeeds: at
// once, then every tick until ctx ends. A probe gets half a tick to
// answer. A failed probe withholds that ping and logs why, so a daemon
// whose API has stopped answering misses its deadline and systemd
// restarts it. It watches the HTTP server and, through it, the process;
// a silent microphone is /v1/status's business, not a reason to restart.
func watchdog(ctx context.Context, every time.Duration, probe func(context.Context) error, notify func(state string) error, log *slog.Logger) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		pctx, cancel := context.WithTimeout(ctx, every/2)
		err := probe(pctx)
		cancel()
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			log.Warn("health check failed, watchdog ping withheld", "err", err)
		default:
			if err := notify(daemon.SdNotifyWatchdog); err != nil {
				log.Warn("systemd notify failed", "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// healthProbe returns a probe that asks the API at addr for
// GET /v1/health and wants 200. It opens a new connection each time
// (no keep-alive, no proxy), so a listener that stopped accepting fails.
func healthProbe(addr string) func(context.Context) error {
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	url := "http://" + addr + "/v1/health"
	return func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET /v1/health: %s", resp.Status)
		}
		return nil
	}
}

// sdNotify sends one state to systemd ($NOTIFY_SOCKET; nothing without it).
func sdNotify(state string) error {
	_, err := daemon.SdNotify(false, state)
	return err
}
