// Package agent is the voxward daemon: configuration, lifecycle, the local
// HTTP API, consent flow, enrolment, live sessions and retention. It wires
// capture, dsp, vault and sync together; policy lives here, mechanism below.
//
// # What runs
//
// New checks a Config (defaults in DefaultConfig, an optional TOML file
// through LoadConfigFile, unknown keys refused) and builds the parts
// without touching disk or network. Run opens the vault in the state
// directory (ErrNotInitialised without one, vault.ErrLocked when another
// process holds it), loads the device's Ed25519 key, binds the loopback
// listener, makes the start-up retention run and closes Ready; then,
// under one errgroup, it runs
//
//   - the consent gate (capture.Gate) over the configured source: closed
//     until a session takes a consent lease, closed again within
//     capture.MaxCloseDelay of the last lease ending (at once on stop);
//   - the live pipeline: reads 100 ms blocks through the gate while it is
//     open (the gate's level meter sees them), cuts them into speaker
//     turns with dsp's VAD, embeds each turn with the shipped voiceprint
//     model and matches it in memory against the voiceprints of each live
//     session's enrolled participants (open set, LabelFAR); the labels go
//     out as Server-Sent Events. No audio and nothing derived from it is
//     stored, and unknown voices' embeddings are dropped at once
//     (PRIVACY.md rules 1, 5, 12). It also feeds enrolments that record
//     from the live source;
//   - the retention job, every Config.RetentionInterval (at most an hour)
//     on the injected clock: vault.Store.ApplyRetention with
//     Config.RetentionPolicy, a key rotation when Config.KeyRotationInterval
//     has passed or an erasure's rotation failed, and an online compaction
//     when erasures left freed pages. A run more than RetentionSlack behind
//     the schedule is a missed deadline: an error in GET /v1/status, in
//     /metrics, in the log and in the audit chain (PRIVACY.md rules 9, 11);
//   - the HTTP server, stopped with Shutdown when the context ends.
//
// On the way out, live sessions are stopped and recorded, the gate closes
// the source and the vault is closed.
//
// # Local API
//
// GET /v1/health needs no token; everything else needs a bearer token from
// the vault (stored as a hash) with the route's role, admin passing
// everywhere. Requests whose Host is not localhost, a loopback address or a
// configured name are refused (421, DNS rebinding); browser requests from
// another Origin are refused (403, CSRF); bodies are capped
// (Config.MaxBodyBytes; Config.MaxEnrollBytes for an enrolment's WAV) and
// are application/json but for that WAV. Errors are
// {"error":{"code","message"}}. The routes are the table in routes();
// docs/api.md documents each, and a test keeps the two equal: consent at
// the kiosk (disclosure, retention schedule, subjects, withdrawal),
// enrolment, sessions and their event streams, the subject's rights,
// the audit log, tokens, status and metrics.
//
// # State directory
//
// Besides the vault's files (see package vault) it holds DeviceKeyFile,
// the device's Ed25519 signing key (PKCS#8 PEM, mode 0600), made by
// CreateDeviceKey at "voxward init". Its public key gives the device its
// pseudonymous id (DeviceID).
package agent
