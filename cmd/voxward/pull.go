package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/nats-io/nats.go"

	vsync "github.com/voxward/voxward/sync"
)

func init() {
	register(&command{name: "pull", summary: "the central side: fetch, verify, store once, then acknowledge the boxes' sync batches", run: runPull})
}

const pullHelp = `
Pull the de-identified sync batches of one box (--url, --token) or of a
fleet (--boxes FILE), store each exactly once, and only then acknowledge
it, so that the box may drop it.

For each box: fetch its signing key (GET /v1/sync/key) and pin it on first
use in --known-devices, keyed by the box's name; a box that later serves
another key is refused loudly (box, device and both fingerprints named)
and nothing of it is stored or acknowledged until the old entry is
removed from that file by hand. Then, for each ready batch: verify the
Ed25519 signature over the manifest's exact bytes with the pinned key,
check that the manifest names the pinned key's device, check the body's
size and SHA-256, decompress it under --max-decompressed (a zstd bomb is
refused as "batch over its size limit"), store it, acknowledge it. A
refused batch is logged, counted and left on the box; the next batch is
tried. A box that cannot be reached stops only itself.

Sinks (one of):
  --out DIR   DIR/<device>/<batch_id>.zst, .manifest.json (the exact signed
              bytes) and .sig (base64), each written to a temporary name,
              fsynced and renamed, the directory fsynced, the manifest last;
              pullers on one host may share DIR (an flock per device)
  --nats URL  a NATS JetStream stream (default VOXWARD_BATCHES, file
              storage): one message per batch on
              voxward.batches.<device>.<batch_id>, body as data, manifest
              and signature in headers, published with Nats-Msg-Id and an
              expected-last-subject-sequence of 0, so several pullers may
              share a fleet and each batch lands once. Run the server with
              jetstream { sync_interval: always } so that an
              acknowledgement means fsynced (docs/pull.md).

A batch the sink already holds with the same digest (a retry, or another
puller first) is not stored again and is acknowledged again; a different
body under the same device and batch id is an error and is not
acknowledged.

Boxes file (--boxes): one box a line, "NAME URL TOKEN", '#' comments.
NAME keys the pinned key (letters, digits, '-', '_'); TOKEN is env:VAR
(the token is in that environment variable), file:PATH (alone in a file of
mode 0600), or the token itself (then the boxes file must be mode 0600):

  # name   url                      token
  hall-a   https://10.0.0.5:7480    file:/etc/voxward/pull/hall-a.token
  hall-b   http://10.0.0.6:7480     env:VOXWARD_TOKEN_HALL_B

With --url the box's name is --name (default: the URL) and the token is
--token, else $VOXWARD_TOKEN, else --token-file. Tokens are puller-role
tokens ("voxward token create --role puller") and are never printed.

Runs until SIGINT/SIGTERM (then exits 0; what was not acknowledged is
fetched again next time), a round every --interval; --once drains every
box once and exits. Progress goes to stderr (log/slog); the summary of
each round to stdout as one JSON object:
{"boxes","boxes_failed","stored","duplicates","failed","gone","bytes"}.
Exit status: 0 every box pulled cleanly (looping: stopped by a signal),
1 with --once some box failed, or the sink or a file could not be opened,
2 bad usage. While looping, a failing box is logged and retried the next
round.
`

func runPull(ctx context.Context, sio *stdio, args []string) error {
	flags := newFlags(sio, "pull", "pull (--url URL --token T | --boxes FILE) (--out DIR | --nats URL) [flags]", pullHelp)
	boxURL := flags.String("url", "", "one box: its daemon's address, http://HOST:PORT")
	token := flags.String("token", "", "with --url: a puller token; other users can see it in ps, so prefer $VOXWARD_TOKEN or --token-file")
	tokenFile := flags.String("token-file", "", "with --url: read the puller token from this file (mode 0600)")
	name := flags.String("name", "", "with --url: the box's name for its pinned key (default: the URL)")
	boxesFile := flags.String("boxes", "", "a fleet: the boxes file (see above)")
	out := flags.String("out", "", "store into this directory (the default sink)")
	natsURL := flags.String("nats", "", "store into NATS JetStream at this URL (nats://HOST:4222, tls://…)")
	natsCreds := flags.String("nats-creds", "", "with --nats: a NATS credentials file")
	natsStream := flags.String("nats-stream", "VOXWARD_BATCHES", "with --nats: the stream's name")
	natsSubject := flags.String("nats-subject", "voxward.batches", "with --nats: the subject prefix")
	natsReplicas := flags.Int("nats-replicas", 1, "with --nats: the stream's replicas when it is created (3 in a cluster)")
	known := flags.String("known-devices", "", "the pinned-keys file (default: DIR/known-devices.json with --out, ./voxward-known-devices.json with --nats)")
	concurrency := flags.Int("concurrency", 4, "pull at most this many boxes at once")
	once := flags.Bool("once", false, "drain every box once and exit")
	interval := flags.Duration("interval", time.Minute, "without --once: the time between rounds")
	maxDec := flags.Int64("max-decompressed", vsync.DefaultPullMaxDecompressed, "refuse a batch that decompresses past this many bytes")
	timeout := flags.Duration("timeout", time.Minute, "each request to a box and each store")
	logLevel := flags.String("log-level", "info", "debug, info, warn or error")
	logJSON := flags.Bool("log-json", false, "log JSON lines instead of text")
	pos, err := parseFlags(flags, args)
	if err != nil {
		return err
	}
	switch {
	case len(pos) != 0:
		return usagef("pull takes no arguments, got %q", pos[0])
	case (*boxURL == "") == (*boxesFile == ""):
		return usagef("give one box (--url and --token) or a fleet (--boxes FILE)")
	case (*out == "") == (*natsURL == ""):
		return usagef("give one sink: --out DIR or --nats URL")
	case *boxesFile != "" && (*token != "" || *tokenFile != "" || *name != ""):
		return usagef("--token, --token-file and --name go with --url; a boxes file names its own")
	case *concurrency < 1:
		return usagef("--concurrency must be at least 1")
	case !*once && *interval <= 0:
		return usagef("--interval must be positive")
	case *maxDec < 1<<10:
		return usagef("--max-decompressed must be at least 1024")
	case *timeout <= 0:
		return usagef("--timeout must be positive")
	case *natsURL == "" && (*natsCreds != "" || isSet(flags, "nats-stream") || isSet(flags, "nats-subject") || isSet(flags, "nats-replicas")):
		return usagef("--nats-* flags go with --nats")
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return usagef("--log-level %q: want debug, info, warn or error", *logLevel)
	}
	hopts := &slog.HandlerOptions{Level: level}
	var logger *slog.Logger
	if *logJSON {
		logger = slog.New(slog.NewJSONHandler(sio.err, hopts))
	} else {
		logger = slog.New(slog.NewTextHandler(sio.err, hopts))
	}
	logger = logger.With("component", "pull")

	boxes, err := pullBoxes(*boxURL, *token, *tokenFile, *name, *boxesFile)
	if err != nil {
		return err
	}

	var sink vsync.Sink
	knownPath := *known
	if *out != "" {
		ds, err := vsync.NewDirSink(*out)
		if err != nil {
			return err
		}
		sink = ds
		if knownPath == "" {
			knownPath = filepath.Join(*out, "known-devices.json")
		}
	} else {
		opts := []nats.Option{nats.Name("voxward pull"), nats.MaxReconnects(-1), nats.ReconnectWait(time.Second)}
		if *natsCreds != "" {
			opts = append(opts, nats.UserCredentials(*natsCreds))
		}
		nc, err := nats.Connect(*natsURL, opts...)
		if err != nil {
			return fmt.Errorf("--nats %s: %w", *natsURL, err)
		}
		defer nc.Close()
		sctx, cancel := context.WithTimeout(ctx, *timeout)
		ns, err := vsync.NewNATSSink(sctx, nc, &vsync.NATSConfig{Stream: *natsStream, Subject: *natsSubject, Replicas: *natsReplicas})
		cancel()
		if err != nil {
			return err
		}
		sink = ns
		if knownPath == "" {
			knownPath = "voxward-known-devices.json"
		}
	}
	kd, err := vsync.OpenKnownDevices(knownPath)
	if err != nil {
		return err
	}
	p := &vsync.Puller{Sink: sink, Known: kd, Log: logger, MaxDecompressed: *maxDec, Concurrency: *concurrency, Timeout: *timeout}

	for {
		rs := p.PullAll(ctx, boxes)
		s := vsync.Summarize(rs)
		printSummary(sio, s)
		logger.Info("round done", "boxes", s.Boxes, "boxes_failed", s.BoxesFailed, "stored", s.Stored,
			"duplicates", s.Duplicates, "failed", s.Failed, "bytes", s.Bytes)
		var failed error
		if s.BoxesFailed > 0 {
			var names []string
			for _, r := range rs {
				if len(r.Errs) > 0 {
					names = append(names, r.Box.Name)
				}
			}
			failed = fmt.Errorf("%d of %d boxes failed (%s); the log says why", s.BoxesFailed, s.Boxes, strings.Join(names, ", "))
			if errs := keyChanges(rs); errs != nil {
				failed = fmt.Errorf("%w\n%v", failed, errs)
			}
		}
		if *once {
			return failed
		}
		if ctx.Err() != nil {
			// SIGTERM or SIGINT: what was not acknowledged is fetched
			// again by the next run.
			logger.Info("stopped")
			return nil
		}
		select {
		case <-ctx.Done():
			logger.Info("stopped")
			return nil
		case <-time.After(*interval):
		}
	}
}

// keyChanges joins the key-change errors, which deserve more than a log
// line.
func keyChanges(rs []vsync.BoxResult) error {
	var errs []error
	for _, r := range rs {
		for _, e := range r.Errs {
			if errors.Is(e, vsync.ErrKeyChanged) {
				errs = append(errs, e)
			}
		}
	}
	return errors.Join(errs...)
}

func printSummary(sio *stdio, s vsync.Summary) {
	b, _ := json.Marshal(map[string]any{
		"boxes": s.Boxes, "boxes_failed": s.BoxesFailed, "stored": s.Stored, "duplicates": s.Duplicates,
		"failed": s.Failed, "gone": s.Gone, "bytes": s.Bytes,
	})
	fmt.Fprintln(sio.out, string(b))
}

// pullBoxes is the fleet: the one box of --url or the boxes file.
func pullBoxes(boxURL, token, tokenFile, name, boxesFile string) ([]vsync.Box, error) {
	if boxesFile != "" {
		return vsync.LoadBoxes(boxesFile, os.Getenv)
	}
	boxURL = strings.TrimSuffix(boxURL, "/")
	if err := vsync.CheckBoxURL(boxURL); err != nil {
		return nil, usagef("--url: %v", err)
	}
	if token != "" && tokenFile != "" {
		return nil, usagef("give --token or --token-file, not both")
	}
	if token == "" && tokenFile == "" {
		token = os.Getenv("VOXWARD_TOKEN")
	}
	if token == "" && tokenFile != "" {
		t, err := vsync.ReadTokenFile(tokenFile)
		if err != nil {
			return nil, err
		}
		token = t
	}
	if token == "" {
		return nil, usagef("--url needs a puller token: --token, $VOXWARD_TOKEN or --token-file")
	}
	if name == "" {
		name = boxURL
	}
	return []vsync.Box{{Name: name, URL: boxURL, Token: token}}, nil
}

// isSet reports whether the flag name was given on the command line.
func isSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}
